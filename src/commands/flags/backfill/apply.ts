import {Flags} from '@oclif/core'

import {BackfillCommand, sharedFlags} from '../../../lib/backfill-command.js'
import {assertSchema, readTrackingRows, withBackfillLock, withDatabase, writePlan} from '../../../lib/database.js'
import {usageError} from '../../../lib/exit-codes.js'
import {planBackfill} from '../../../lib/reconcile.js'
import {buildReport, runTimestamp} from '../../../lib/report.js'

export default class Apply extends BackfillCommand {
  static summary = 'write the backfill: insert and update tracking rows so every live FLAG_* var is tracked and synced'

  static description = `Reads the FLAG_* config vars of each app from the Heroku API (read-only), then in one database transaction behind an advisory lock re-reads the console_flag_promotions rows, recomputes the plan and writes it: inserts rows for untracked flags, marks unsynced deployed rows synced. Prints the report (mode APPLY) on stdout and a summary on stderr. Never writes Heroku config vars; never deletes rows. Safe to re-run: what is already written is skipped.`

  static examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --confirm --db-app raxx-console-prod',
      description: 'Write the plan for the runbook\'s four apps to the database of raxx-console-prod:',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --confirm --app raxx-api-staging --db-app raxx-console-staging --lock-timeout 30',
      description: 'Write one app\'s plan, waiting up to 30 seconds for another apply to finish:',
    },
  ]

  static flags = {
    ...sharedFlags,
    confirm: Flags.boolean({
      default: false,
      description: 'required: write to the database (takes no value; choose apps with --app)',
    }),
    'lock-timeout': Flags.integer({
      default: 5,
      description: 'seconds to wait for another apply to release the backfill lock',
      helpValue: '<seconds>',
      min: 0,
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
    const runAt = runTimestamp()
    const apps = this.resolveApps(flags)
    const target = await this.resolveDatabase(flags)
    const {applied, plan} = await withDatabase(target, this.databaseOptions(), async sql => {
      await assertSchema(sql)
      const snapshots = await this.fetchSnapshots(apps, flags)
      return withBackfillLock(sql, flags['lock-timeout'], async tx => {
        const lockedPlan = planBackfill(snapshots, await readTrackingRows(tx, apps))
        return {applied: await writePlan(tx, lockedPlan, runAt), plan: lockedPlan}
      })
    })
    const report = buildReport('APPLY', runAt, plan, applied)
    this.emit(report)
    this.exitFor(report, false)
  }
}
