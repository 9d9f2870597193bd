import {Flags} from '@oclif/core'
import {existsSync, writeFileSync} from 'node:fs'

import {BackfillCommand, sharedFlags} from '../../../lib/backfill-command.js'
import {assertSchema, readTrackingRows, withDatabase} from '../../../lib/database.js'
import {usageError} from '../../../lib/exit-codes.js'
import {type AppFingerprint, fingerprintApp, type ReadRow} from '../../../lib/fingerprint.js'
import {buildPlanDocument, newPlanId, type PlanDocument} from '../../../lib/plan-file.js'
import {type AppSnapshot, hasChanges, planBackfill} from '../../../lib/reconcile.js'
import {buildReport, type Report, runTimestamp} from '../../../lib/report.js'
import {assertValidDocument} from '../../../lib/report-schema.js'

export default class Plan extends BackfillCommand {
  static summary = 'print the backfill plan: the tracking rows apply would insert, update or skip'

  static description = `Reads the FLAG_* config vars of each app from the Heroku API (read-only, with your Heroku login) and the console_flag_promotions rows of those apps, and prints the plan as one JSON document (mode DRY-RUN) on stdout. Progress, a summary table and, with --matrix, a flag × app grid go to stderr. Writes nothing, to Heroku or to the database. With --out FILE it also saves the plan, with a fingerprint of both sides, for review and for apply --plan FILE --confirm, which writes exactly that plan or nothing.`

  static examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --db-app raxx-console-prod > plan.json',
      description: 'Plan the runbook\'s four apps against the database of raxx-console-prod, keeping the JSON plan:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --app raxx-api-staging --app raxx-console-staging --db-app raxx-console-staging --matrix',
      description: 'Plan two apps and show each flag\'s state on each app:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --db-app raxx-console-prod --detailed-exitcode --quiet',
      description: 'Exit 3 when there is anything to insert or update, 0 when there is nothing to do:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --db-app raxx-console-prod --out reviewed-plan.json',
      description: 'Save the plan for review, then apply exactly it with apply --plan reviewed-plan.json --confirm:',
    },
  ]

  static flags = {
    ...sharedFlags,
    'detailed-exitcode': Flags.boolean({
      default: false,
      description: 'exit 3 when the plan has inserts or updates, 0 when there is nothing to do',
    }),
    // No default: oclif would then see --force as always given and demand --out.
    force: Flags.boolean({
      dependsOn: ['out'],
      description: 'with --out: overwrite the file if it exists',
    }),
    out: Flags.string({
      description: 'also save the plan, with fingerprints of both sides, to this file for `apply --plan FILE --confirm`; an existing file is refused unless --force',
      helpValue: '<file>',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Plan)
    if (flags.out && !flags.force && existsSync(flags.out)) throw usageError(`${flags.out} exists; pass --force to overwrite it`)
    const runAt = runTimestamp()
    const apps = this.resolveApps(flags)
    const target = await this.resolveDatabase(flags)
    const {fingerprints, plan} = await withDatabase(target, this.databaseOptions(), async sql => {
      await assertSchema(sql)
      const [snapshots, rows] = await Promise.all([this.fetchSnapshots(apps, flags), readTrackingRows(sql, apps)])
      // The fingerprints come from the very rows and vars the plan was computed from.
      return {fingerprints: fingerprintsOf(snapshots, rows), plan: planBackfill(snapshots, rows)}
    })
    const report = buildReport('DRY-RUN', runAt, plan)
    const saved = flags.out ? this.savePlan(report, fingerprints, runAt, flags.out, flags.force ?? false) : undefined
    this.emit(saved?.document ?? report)
    // Not saving is worth saying even with --quiet; saving is not.
    if (saved && !(flags.quiet && saved.document)) this.logToStderr(saved.message)
    this.exitFor(report, flags['detailed-exitcode'] && hasChanges(plan))
  }

  /** Saves the plan document; a plan missing an app that could not be read is not saved. */
  private savePlan(report: Report, fingerprints: AppFingerprint[] | undefined, runAt: Date, out: string, force: boolean): {document?: PlanDocument; message: string} {
    if (!fingerprints) return {message: `plan not saved to ${out}: an app could not be fetched, and a saved plan must cover every app`}
    const document = assertValidDocument('plan', buildPlanDocument(report, fingerprints, newPlanId(runAt)))
    try {
      writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`, {flag: force ? 'w' : 'wx'})
    } catch (error) {
      throw usageError(`cannot write the plan to ${out}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists; pass --force to overwrite it' : (error as Error).message}`)
    }

    return {document, message: `plan ${document.plan.plan_id} saved to ${out}; after review: heroku flags:backfill:apply --plan ${out} --confirm`}
  }
}

function fingerprintsOf(snapshots: AppSnapshot[], rows: ReadRow[]): AppFingerprint[] | undefined {
  const fingerprints: AppFingerprint[] = []
  for (const snapshot of snapshots) {
    if (!('vars' in snapshot)) return undefined
    fingerprints.push(fingerprintApp(snapshot.app, snapshot.vars, rows))
  }

  return fingerprints
}
