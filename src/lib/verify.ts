import type {UnsyncedDeployedRow} from './database.js'
import type {Plan} from './reconcile.js'
import type {VerifySection} from './report.js'

const LISTED = 20

function listed(items: string[]): string {
  return items.length > LISTED ? `${items.slice(0, LISTED).join(', ')} and ${items.length - LISTED} more` : items.join(', ')
}

/**
 * The kill-switch gate: every app fetched, nothing left to insert or update, and no deployed row
 * unsynced anywhere in the table. Rows still in flight (pending, approved, …) are reported as a
 * separate check and fail the gate only when `strict`.
 */
export function evaluateVerify(plan: Plan, unsynced: {count: number; rows: UnsyncedDeployedRow[]}, strict: boolean): VerifySection {
  const failedApps = plan.apps.filter(app => app.error !== null).map(app => app.app)
  const work = plan.apps.flatMap(app => [
    ...app.inserts.map(insert => `${app.app}/${insert.flag} (insert)`),
    ...app.updates.map(update => `${app.app}/${update.flag} (update)`),
  ])
  const pending = plan.apps.flatMap(app => app.warnings
    .filter(warning => warning.kind === 'pending_row')
    .map(warning => ({app: app.app, flag: warning.flag, id: warning.row_ids![0], state: warning.state!})))
  const checks = [
    {
      detail: failedApps.length === 0 ? 'every app fetched' : `fetch failed for ${listed(failedApps)}`,
      name: 'all_apps_fetched',
      passed: failedApps.length === 0,
      required: true,
    },
    {
      detail: work.length === 0 ? 'the plan has zero inserts and zero updates' : `${work.length} flag(s) left: ${listed(work)}`,
      name: 'plan_empty',
      passed: work.length === 0,
      required: true,
    },
    {
      detail: unsynced.count === 0
        ? 'no deployed row has synced = false'
        : `${unsynced.count} deployed row(s) with synced = false: ${listed(unsynced.rows.map(row => `${row.app_name}/${row.flag_name} (id ${row.id})`))}`,
      name: 'no_unsynced_deployed_rows',
      passed: unsynced.count === 0,
      required: true,
    },
    {
      detail: (pending.length === 0 ? 'no rows in a pending state' : `${pending.length} row(s) in a pending state: ${listed(pending.map(row => `${row.app}/${row.flag} (id ${row.id}, ${row.state})`))}`)
        + (strict ? '' : ' (reported only; --strict makes this check count)'),
      name: 'no_pending_rows',
      passed: pending.length === 0,
      required: strict,
    },
  ]
  return {
    checks,
    passed: checks.every(check => check.passed || !check.required),
    pending_rows: pending,
    strict,
    unsynced_deployed_count: unsynced.count,
    unsynced_deployed_rows: unsynced.rows,
  }
}
