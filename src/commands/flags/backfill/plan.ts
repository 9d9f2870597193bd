import {Flags} from '@oclif/core'

import {BackfillCommand, sharedFlags} from '../../../lib/backfill-command.js'
import {assertSchema, readTrackingRows, withDatabase} from '../../../lib/database.js'
import {hasChanges, planBackfill} from '../../../lib/reconcile.js'
import {buildReport, runTimestamp} from '../../../lib/report.js'

export default class Plan extends BackfillCommand {
  static description = `print the backfill plan: the tracking rows apply would insert, update or skip
Reads the FLAG_* config vars of each app (Heroku API, read-only) and the console_flag_promotions rows of those apps, and prints the plan as one JSON document (mode DRY-RUN) on stdout. Writes nothing anywhere.`

  static examples = [
    '$ DATABASE_URL=postgres://... heroku flags:backfill:plan',
    '$ heroku flags:backfill:plan --app raxx-api-staging --app raxx-console-staging | jq .totals',
    '$ heroku flags:backfill:plan --detailed-exitcode  # exit 3 when changes are planned',
  ]

  static flags = {
    ...sharedFlags,
    'detailed-exitcode': Flags.boolean({
      default: false,
      description: 'exit 3 when the plan has inserts or updates, 0 when there is nothing to do',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Plan)
    const runAt = runTimestamp()
    const apps = this.resolveApps(flags)
    const target = await this.resolveDatabase(flags)
    const plan = await withDatabase(target, this.databaseOptions(), async sql => {
      await assertSchema(sql)
      const [snapshots, rows] = await Promise.all([this.fetchSnapshots(apps, flags), readTrackingRows(sql, apps)])
      return planBackfill(snapshots, rows)
    })
    const report = buildReport('DRY-RUN', runAt, plan)
    this.emit(report)
    this.exitFor(report, flags['detailed-exitcode'] && hasChanges(plan))
  }
}
