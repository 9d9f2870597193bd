import {Flags} from '@oclif/core'
import {existsSync, readFileSync, unlinkSync} from 'node:fs'

import {BackfillCommand, sharedFlags} from '../../../lib/backfill-command.js'
import {assertSchema, readTrackingRows, type Sql, withBackfillLock, withDatabase, type WriteResult, writePlan} from '../../../lib/database.js'
import {ExitCode, usageError} from '../../../lib/exit-codes.js'
import {appMoves, type AppMoves, describeMoves, type ReadRow} from '../../../lib/fingerprint.js'
import {findLiveRun, newRunId, RUN_FORMAT_VERSION, readRunFile, runFile, saveNewRun} from '../../../lib/journal.js'
import {parsePlanDocument, type PlanDocument, plannedFlags, planOf} from '../../../lib/plan-file.js'
import {type AppSnapshot, type Plan, planBackfill} from '../../../lib/reconcile.js'
import {buildReport, formatRunAt, runTimestamp, type SavedPlanStatus} from '../../../lib/report.js'

interface RunContext {
  /** The database name from the URL, recorded so a rollback against another database is refused. */
  database: string
  runAt: Date
  runId: string
  journalPath: string
  user: string | null
  planDocument?: PlanDocument
}

export default class Apply extends BackfillCommand {
  static summary = 'write the backfill: insert and update tracking rows so every live FLAG_* var is tracked and synced'

  static description = `Reads the FLAG_* config vars of each app from the Heroku API (read-only), then in one database transaction behind an advisory lock re-reads the console_flag_promotions rows, recomputes the plan and writes it: inserts rows for untracked flags, marks unsynced deployed rows synced. Prints the report (mode APPLY) on stdout and a summary on stderr. Never writes Heroku config vars; never deletes rows. Safe to re-run: what is already written is skipped. With --plan FILE it writes exactly the plan saved by plan --out FILE, or nothing (exit 5) if Heroku or the table changed since it was made. Every apply that writes records a run in the journal (its run_id is in the report), which rollback can undo exactly.`

  static examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --confirm --db-app raxx-console-prod',
      description: 'Write the plan for the runbook\'s four apps to the database of raxx-console-prod:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --confirm --app raxx-api-staging --db-app raxx-console-staging --lock-timeout 30',
      description: 'Write one app\'s plan, waiting up to 30 seconds for another apply to finish:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --plan reviewed-plan.json --confirm --db-app raxx-console-prod',
      description: 'Write exactly the plan saved and reviewed earlier with plan --out reviewed-plan.json:',
    },
  ]

  static flags = {
    ...sharedFlags,
    confirm: Flags.boolean({
      default: false,
      description: 'required: write to the database (takes no value; choose apps with --app)',
    }),
    journal: Flags.string({
      description: 'write the journal run to this file instead of the data directory (it must not exist yet)',
      helpValue: '<file>',
    }),
    'lock-timeout': Flags.integer({
      default: 5,
      description: 'seconds to wait for another apply to release the backfill lock',
      helpValue: '<seconds>',
      min: 0,
    }),
    plan: Flags.string({
      description: 'apply this saved plan (from `plan --out`) exactly, if neither Heroku nor the table changed since; the apps come from the plan',
      helpValue: '<file>',
    }),
  }

  // Heroku's own commands take `--confirm APP`; accept the stray word so we can say what went wrong.
  static strict = false

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Apply)
    if (argv.length > 0) {
      throw usageError(`unexpected argument ${JSON.stringify(argv[0])}: --confirm takes no value here (choose apps with --app)`)
    }

    if (!flags.confirm) throw usageError('apply writes to the database and needs --confirm; review `heroku flags:backfill:plan` first')
    if (flags.plan && flags.app?.length) throw usageError('--plan takes its apps from the plan file; leave out --app')
    const planDocument = flags.plan ? parsePlanDocument(readPlanFile(flags.plan), flags.plan) : undefined
    const runAt = runTimestamp()
    const runId = newRunId(runAt)
    const journalPath = flags.journal ?? runFile(this.config.dataDir, runId)
    // A saved plan names its apps; they are checked and shown like --app's.
    const apps = this.resolveApps(planDocument ? {...flags, app: planDocument.apps.map(app => app.app)} : flags)

    const target = await this.resolveDatabase(flags)
    if (planDocument) {
      const prior = findLiveRun(this.runsDirectory(), flags.journal, planDocument.plan.plan_hash, message => this.logToStderr(message))
      // Only a run on this database counts: the same plan against another database is a new apply.
      if (prior && prior.database === target.database) return this.reportAlreadyApplied(planDocument, runAt, prior.run_id, flags.quiet)
    }

    // A --journal file that exists holds another run (or this plan's rolled-back one): never overwrite a journal.
    if (flags.journal && existsSync(flags.journal)) {
      throw usageError(`journal file ${flags.journal} exists (run ${readRunFile(flags.journal).run_id}); choose another --journal`)
    }

    const outcome = await withDatabase(target, this.databaseOptions(), async sql => {
      await assertSchema(sql)
      const [snapshots, user] = await Promise.all([this.fetchSnapshots(apps, flags), this.accountEmail()])
      const context: RunContext = {database: target.database, journalPath, planDocument, runAt, runId, user}
      // A reviewed plan is applied whole or not at all: an app that cannot be read cannot be checked.
      if (planDocument && snapshots.some(snapshot => 'error' in snapshot)) return {plan: withFetchErrors(planOf(planDocument), snapshots)}
      return this.writeLocked(sql, flags['lock-timeout'], snapshots, context)
    })

    const savedPlan = planDocument && savedPlanStatus(planDocument, outcome)
    const report = {
      ...buildReport('APPLY', runAt, outcome.plan, outcome.written?.applied ?? new Map()),
      run_id: outcome.runId ?? null,
      ...(savedPlan ? {saved_plan: savedPlan} : {}),
    }
    this.emit(report)
    if (outcome.runId && !flags.quiet) this.logToStderr(`journal: run ${outcome.runId} recorded in ${journalPath}`)
    if (outcome.moves) {
      this.logToStderr(`Error: plan ${planDocument!.plan.plan_id} is stale: Heroku or the table changed since it was made; nothing was written. Make and review a new plan.`)
      for (const moves of outcome.moves) this.logToStderr(`  ${describeMoves(moves)}`)
      this.exit(ExitCode.StalePlan)
    }

    this.exitFor(report, false)
  }

  /**
   * Under the lock: re-read the rows, check a saved plan against both sides (or recompute the plan),
   * write it, and save the journal run before COMMIT. If COMMIT fails, the run file is removed.
   */
  private async writeLocked(sql: Sql, lockTimeout: number, snapshots: AppSnapshot[], context: RunContext): Promise<Outcome> {
    let saved = false
    try {
      return await withBackfillLock(sql, lockTimeout, async tx => {
        const apps = snapshots.map(snapshot => snapshot.app)
        const rows = await readTrackingRows(tx, apps)
        let plan: Plan
        if (context.planDocument) {
          plan = planOf(context.planDocument)
          const moves = staleApps(context.planDocument, snapshots, rows)
          if (moves.length > 0) return {moves, plan}
        } else {
          plan = planBackfill(snapshots, rows)
        }

        const written = await writePlan(tx, plan, context.runAt)
        if (written.inserted.length + written.updated.length === 0) return {plan, written}
        saveRun(context, apps, written)
        saved = true
        return {plan, runId: context.runId, written}
      })
    } catch (error) {
      if (saved) unlinkSync(context.journalPath)
      throw error
    }
  }

  private reportAlreadyApplied(document: PlanDocument, runAt: Date, runId: string, quiet: boolean): void {
    this.emit({
      ...buildReport('APPLY', runAt, planOf(document), new Map()),
      run_id: null,
      saved_plan: {applied_by_run: runId, moved: [], plan_hash: document.plan.plan_hash, plan_id: document.plan.plan_id, status: 'already_applied'},
    })
    if (!quiet) this.logToStderr(`plan ${document.plan.plan_id} was already applied by run ${runId} (not rolled back); nothing was written`)
  }
}

interface Outcome {
  plan: Plan
  written?: WriteResult
  runId?: string
  moves?: AppMoves[]
}

function saveRun(context: RunContext, apps: string[], written: WriteResult): void {
  saveNewRun(context.journalPath, {
    apps,
    database: context.database,
    inserted: written.inserted,
    plan_hash: context.planDocument?.plan.plan_hash ?? null,
    plan_id: context.planDocument?.plan.plan_id ?? null,
    rollbacks: [],
    run_at_utc: formatRunAt(context.runAt),
    run_id: context.runId,
    updated: written.updated,
    user: context.user,
    version: RUN_FORMAT_VERSION,
  })
}

function readPlanFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw usageError(`cannot read plan file ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
  }
}

/** Per app, what moved on either side since the plan was made; empty when the plan is current. */
function staleApps(document: PlanDocument, snapshots: AppSnapshot[], rows: ReadRow[]): AppMoves[] {
  return document.plan.apps.flatMap((fingerprint, index) => {
    const snapshot = snapshots[index]
    if (!('vars' in snapshot)) return []
    const moves = appMoves(fingerprint, plannedFlags(document.apps[index]), snapshot.vars, rows)
    return moves ? [moves] : []
  })
}

/** The saved plan as reported when some app could not be fetched: those apps carry their error. */
function withFetchErrors(plan: Plan, snapshots: AppSnapshot[]): Plan {
  const errors = new Map(snapshots.flatMap(snapshot => ('error' in snapshot ? [[snapshot.app, snapshot.error]] : [])))
  return {
    apps: plan.apps.map(app => (errors.has(app.app) ? {...app, error: errors.get(app.app)!, flags_found: 0, inserts: [], skips: [], updates: [], warnings: []} : app)),
  }
}

function savedPlanStatus(document: PlanDocument, outcome: Outcome): SavedPlanStatus {
  const status = outcome.moves ? 'stale' : outcome.written ? 'applied' : 'not_applied'
  return {applied_by_run: outcome.runId ?? null, moved: outcome.moves ?? [], plan_hash: document.plan.plan_hash, plan_id: document.plan.plan_id, status}
}
