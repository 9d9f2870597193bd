import {Flags} from '@oclif/core'

import {BackfillCommand, sharedFlags} from '../../../lib/backfill-command.js'
import {assertSchema, readRowImages, type Sql, withBackfillLock, withDatabase} from '../../../lib/database.js'
import {ExitCode, preconditionError, usageError} from '../../../lib/exit-codes.js'
import {readRunFile, RUN_ID, runFile, type RunRecord, writeRunFile} from '../../../lib/journal.js'
import {formatRunAt, runTimestamp} from '../../../lib/report.js'
import {assertValidDocument} from '../../../lib/report-schema.js'
import {buildRollbackReport, planBroadRollback, planRollback, type RollbackPlan, type RollbackReport, rollbackIds, rollbackSummaryLines} from '../../../lib/rollback.js'
import {deleteBackfilledRows, deleteRows, readBackfilledRows, restoreRows} from '../../../lib/rollback-database.js'

export default class Rollback extends BackfillCommand {
  static summary = 'undo one apply exactly, or every backfilled row; a dry run unless --confirm'

  static description = `Reads the run to undo from the journal (--run ID, or --journal FILE) and the rows it wrote from console_flag_promotions. With --confirm it deletes exactly the rows that run inserted and writes back the recorded pre-image of every row it updated, in one transaction behind the backfill's advisory lock, but only where a row is still exactly as the run left it: rows changed since are listed and left alone (exit 5). With --all-backfilled it is the runbook's rollback: every row with created_by = 'system_backfill', sync_source = 'heroku_cli_backfill' and state = 'deployed' is deleted. Without --confirm nothing is written: it prints what it would do. Prints one JSON document (mode ROLLBACK) on stdout. Never writes Heroku config vars.`

  static examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --run run-20261203T163526Z-3f9a1c2b --db-app raxx-console-prod',
      description: 'Show what undoing one apply would delete and restore (its run_id is in the APPLY report):',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --run run-20261203T163526Z-3f9a1c2b --db-app raxx-console-prod --confirm',
      description: 'Undo it:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --journal apply-run.json --db-app raxx-console-prod --confirm',
      description: 'Undo the run saved by apply --journal apply-run.json:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --all-backfilled --db-app raxx-console-prod',
      description: 'Show every row the runbook\'s broad DELETE would remove:',
    },
  ]

  static flags = {
    'all-backfilled': Flags.boolean({
      default: false,
      description: "the runbook's broad rollback: every row created by the backfill, table-wide",
    }),
    confirm: Flags.boolean({
      default: false,
      description: 'do it: without this flag rollback only prints what it would do',
    }),
    'database-url': sharedFlags['database-url'],
    'db-app': sharedFlags['db-app'],
    'db-config-var': sharedFlags['db-config-var'],
    'fetch-timeout': sharedFlags['fetch-timeout'],
    journal: Flags.string({
      description: 'the journal run file to undo (as written by `apply --journal FILE`)',
      helpValue: '<file>',
    }),
    'lock-timeout': Flags.integer({
      default: 5,
      description: 'seconds to wait for another apply or rollback to release the backfill lock',
      helpValue: '<seconds>',
      min: 0,
    }),
    'max-retry-wait': sharedFlags['max-retry-wait'],
    quiet: sharedFlags.quiet,
    'request-timeout': sharedFlags['request-timeout'],
    run: Flags.string({
      description: 'the id of the run to undo (the run_id of its APPLY report), from the journal in the data directory',
      helpValue: '<run_id>',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Rollback)
    const chosen = [flags.run && '--run', flags.journal && '--journal', flags['all-backfilled'] && '--all-backfilled'].filter(Boolean)
    if (chosen.length !== 1) {
      throw usageError(chosen.length === 0 ? 'say what to roll back: --run ID, --journal FILE or --all-backfilled' : `choose one of ${chosen.join(', ')}`)
    }

    if (flags.run && !RUN_ID.test(flags.run)) throw usageError(`invalid run id ${JSON.stringify(flags.run)}: expected run-YYYYMMDDTHHMMSSZ-xxxxxxxx`)
    const runAt = runTimestamp()
    const journalPath = flags.journal ?? (flags.run ? runFile(this.config.dataDir, flags.run) : undefined)
    const run = journalPath ? readRunFile(journalPath) : undefined
    // --db-app reads one config var: one app at a time is all it needs.
    const target = await this.resolveDatabase({...flags, concurrency: 1})
    if (run && run.database !== target.database) {
      throw preconditionError(`run ${run.run_id} was applied to database ${run.database}, not ${target.database}: check --db-app, --database-url or DATABASE_URL`)
    }

    const lockTimeout = flags['lock-timeout']
    const user = flags.confirm && run ? await this.accountEmail() : null
    const outcome = await withDatabase(target, this.databaseOptions(), async sql => {
      await assertSchema(sql)
      return run ? this.rollbackRun(sql, run, flags.confirm, lockTimeout) : this.rollbackAllBackfilled(sql, flags.confirm, lockTimeout)
    })

    const report = buildRollbackReport({
      applied: outcome.applied,
      plan: outcome.plan,
      run: run ? {journal: journalPath!, plan_hash: run.plan_hash, plan_id: run.plan_id, run_at_utc: run.run_at_utc, run_id: run.run_id, user: run.user} : null,
      runAtUtc: formatRunAt(runAt),
      scope: run ? 'run' : 'all-backfilled',
    })
    if (run && outcome.applied) this.recordRollback(journalPath!, run, report, user, flags.quiet)
    this.emitRollback(report, flags.quiet)
    if (report.totals.conflicts > 0) this.exit(ExitCode.StalePlan)
  }

  /** Undo one run: compare each of its rows with what it left, under row locks when confirmed. */
  private async rollbackRun(sql: Sql, run: RunRecord, confirm: boolean, lockTimeout: number): Promise<{plan: RollbackPlan; applied?: {deletes: number; restores: number}}> {
    if (!confirm) return {plan: planRollback(run, await readRowImages(sql, rollbackIds(run), false))}
    return withBackfillLock(sql, lockTimeout, async tx => {
      const plan = planRollback(run, await readRowImages(tx, rollbackIds(run), true))
      const deletes = plan.apps.flatMap(app => app.deletes.map(row => row.id))
      const restores = plan.apps.flatMap(app => app.restores.map(row => row.before))
      const deleted = await deleteRows(tx, deletes)
      const restored = await restoreRows(tx, restores)
      // The rows are locked since they were compared; anything else is a bug, and rolls everything back.
      if (deleted.length !== deletes.length || restored.length !== restores.length) {
        throw new Error(`internal error: rollback touched ${deleted.length}/${deletes.length} deletes and ${restored.length}/${restores.length} restores`)
      }

      return {applied: {deletes: deleted.length, restores: restored.length}, plan}
    })
  }

  private async rollbackAllBackfilled(sql: Sql, confirm: boolean, lockTimeout: number): Promise<{plan: RollbackPlan; applied?: {deletes: number; restores: number}}> {
    if (!confirm) return {plan: planBroadRollback(await readBackfilledRows(sql))}
    const deleted = await withBackfillLock(sql, lockTimeout, tx => deleteBackfilledRows(tx))
    return {applied: {deletes: deleted.length, restores: 0}, plan: planBroadRollback(deleted)}
  }

  /** Marks the run as rolled back in its journal file, after COMMIT: the database is the truth. */
  private recordRollback(path: string, run: RunRecord, report: RollbackReport, user: string | null, quiet: boolean): void {
    const ids = (pick: (app: RollbackReport['apps'][number]) => Array<{id: string}>) => report.apps.flatMap(app => pick(app).map(row => row.id))
    const record = {at_utc: report.run_at_utc, conflicts: ids(app => app.conflicts), deleted: ids(app => app.deletes), restored: ids(app => app.restores), user}
    try {
      writeRunFile(path, {...run, rollbacks: [...run.rollbacks, record]}, 'replace')
    } catch (error) {
      this.emitRollback(report, quiet)
      throw preconditionError(`the rollback is committed, but recording it in ${path} failed: ${(error as Error).message}; run the same rollback again to record it (it will find nothing left to do)`)
    }
  }

  /** The rollback report alone on stdout, validated first; its summary on stderr (with --quiet, only what was left alone). */
  private emitRollback(report: RollbackReport, quiet: boolean): void {
    const json = JSON.stringify(assertValidDocument('rollback', report), null, 2)
    for (const line of rollbackSummaryLines(report, quiet)) this.logToStderr(line)
    process.stdout.write(`${json}\n`)
  }
}
