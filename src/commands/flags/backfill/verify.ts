import {Flags} from '@oclif/core'

import {BackfillCommand, sharedFlags} from '../../../lib/backfill-command.js'
import {assertSchema, readTrackingRows, readUnsyncedDeployedRows, withDatabase} from '../../../lib/database.js'
import {planBackfill} from '../../../lib/reconcile.js'
import {buildReport, runTimestamp} from '../../../lib/report.js'
import {evaluateVerify} from '../../../lib/verify.js'

const LISTED_ROWS = 100

export default class Verify extends BackfillCommand {
  static summary = 'check that the table is ready for the reconciler\'s kill-switch'

  static description = `Re-plans (read-only: Heroku API and console_flag_promotions) and checks that every app was fetched, the plan has zero inserts and zero updates, and no row in console_flag_promotions has state = 'deployed' and synced = false. Rows still pending or approved are listed as a separate check that fails only with --strict. Prints the report (mode VERIFY) on stdout and the checks on stderr; exits 3 when work is left. Writes nothing.`

  static examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --db-app raxx-console-prod',
      description: 'Check the runbook\'s four apps against the database of raxx-console-prod:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --db-app raxx-console-prod --strict --quiet && echo "ready for the kill-switch"',
      description: 'Also fail on rows still pending or approved, printing only what fails:',
    },
  ]

  static flags = {
    ...sharedFlags,
    strict: Flags.boolean({
      default: false,
      description: 'also fail when rows for the apps are still pending, approved or in another non-final state',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Verify)
    const runAt = runTimestamp()
    const apps = this.resolveApps(flags)
    const target = await this.resolveDatabase(flags)
    const {plan, unsynced} = await withDatabase(target, this.databaseOptions(), async sql => {
      await assertSchema(sql)
      const [snapshots, rows] = await Promise.all([this.fetchSnapshots(apps, flags), readTrackingRows(sql, apps)])
      return {plan: planBackfill(snapshots, rows), unsynced: await readUnsyncedDeployedRows(sql, LISTED_ROWS)}
    })
    const report = {...buildReport('VERIFY', runAt, plan), verify: evaluateVerify(plan, unsynced, flags.strict)}
    this.emit(report)
    this.exitFor(report, !report.verify.passed)
  }
}
