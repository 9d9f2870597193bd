import {Flags} from '@oclif/core'

import {BackfillCommand, sharedFlags} from '../../../lib/backfill-command.js'
import {assertSchema, readTrackingRows, withDatabase} from '../../../lib/database.js'
import {hasChanges, planBackfill} from '../../../lib/reconcile.js'
import {buildReport, runTimestamp} from '../../../lib/report.js'

export default class Plan extends BackfillCommand {
  static summary = 'print the backfill plan: the tracking rows apply would insert, update or skip'

  static description = `Reads the FLAG_* config vars of each app from the Heroku API (read-only, with your Heroku login) and the console_flag_promotions rows of those apps, and prints the plan as one JSON document (mode DRY-RUN) on stdout. Progress, a summary table and, with --matrix, a flag × app grid go to stderr. Writes nothing, to Heroku or to the database.`

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
