// Rollback planning, pure: a journal run and the rows as they are now in, what to delete, what to
// restore, and what to leave alone because someone changed it after the run.
import type {RowRef} from './fingerprint.js'
import type {RowImage, RunRecord} from './journal.js'

export interface RowRestore extends RowRef {
  /** The columns the restore changes back (those the run changed). */
  columns: string[]
  before: RowImage
}

export interface RowConflict extends RowRef {
  action: 'delete' | 'restore'
  /** The columns that differ from what the run left; empty when the row is gone. */
  changed_columns: string[]
  reason: string
}

export interface AppRollback {
  app: string
  deletes: RowRef[]
  restores: RowRestore[]
  conflicts: RowConflict[]
  /** Rows already as the rollback would leave them (deleted, or back to their pre-image): nothing to do. */
  already_undone: RowRef[]
}

export interface RollbackPlan {
  apps: AppRollback[]
}

/** Columns whose values differ, over the union of both images' columns. */
export function differingColumns(a: RowImage, b: RowImage): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(column => !(column in a && column in b && a[column] === b[column])).sort()
}

const same = (a: RowImage, b: RowImage) => differingColumns(a, b).length === 0

/**
 * Undo only what is still exactly as the run left it. `current` holds the rows of the run's ids that
 * still exist. A row deleted since, or already back to its pre-image, needs nothing; a row changed
 * since is a conflict and is left alone.
 */
export function planRollback(run: RunRecord, current: Map<string, RowImage>): RollbackPlan {
  const apps = new Map<string, AppRollback>()
  const appOf = (app: string) => {
    if (!apps.has(app)) apps.set(app, {already_undone: [], app, conflicts: [], deletes: [], restores: []})
    return apps.get(app)!
  }

  for (const app of run.apps) appOf(app)
  for (const row of run.inserted) {
    const ref = {flag: row.flag, id: row.id}
    const now = current.get(row.id)
    if (!now) appOf(row.app).already_undone.push(ref)
    else if (same(now, row.after)) appOf(row.app).deletes.push(ref)
    else appOf(row.app).conflicts.push({...ref, action: 'delete', changed_columns: differingColumns(now, row.after), reason: 'changed since the run inserted it'})
  }

  for (const row of run.updated) {
    const ref = {flag: row.flag, id: row.id}
    const now = current.get(row.id)
    if (!now) appOf(row.app).conflicts.push({...ref, action: 'restore', changed_columns: [], reason: 'deleted since the run updated it'})
    else if (same(now, row.after)) appOf(row.app).restores.push({...ref, before: row.before, columns: differingColumns(row.before, row.after)})
    else if (same(now, row.before)) appOf(row.app).already_undone.push(ref)
    else appOf(row.app).conflicts.push({...ref, action: 'restore', changed_columns: differingColumns(now, row.after), reason: 'changed since the run updated it'})
  }

  return {apps: [...apps.values()]}
}

export const rollbackIds = (run: RunRecord) => [...run.inserted, ...run.updated].map(row => row.id)

export interface RollbackReportApp {
  app: string
  deletes: RowRef[]
  /** Each restored row with the values its changed columns go back to. */
  restores: Array<RowRef & {restore: RowImage}>
  conflicts: RowConflict[]
  already_undone: RowRef[]
}

export interface RunSummary {
  run_id: string
  plan_id: string | null
  plan_hash: string | null
  run_at_utc: string
  user: string | null
  journal: string
}

/** What `flags:backfill:rollback` prints (schemas/rollback.schema.json). */
export interface RollbackReport {
  mode: 'ROLLBACK'
  dry_run: boolean
  run_at_utc: string
  scope: 'all-backfilled' | 'run'
  run: RunSummary | null
  apps: RollbackReportApp[]
  totals: {
    deletes: number
    restores: number
    conflicts: number
    already_undone: number
    applied_deletes: number | null
    applied_restores: number | null
  }
}

const count = (apps: RollbackReportApp[], pick: (app: RollbackReportApp) => unknown[]) => apps.reduce((total, app) => total + pick(app).length, 0)

/** The report of a rollback; `applied` is given when it was confirmed (null counts otherwise, as in APPLY). */
export function buildRollbackReport(options: {
  plan: RollbackPlan
  runAtUtc: string
  scope: RollbackReport['scope']
  run: RunSummary | null
  applied?: {deletes: number; restores: number}
}): RollbackReport {
  const apps = options.plan.apps.map((app): RollbackReportApp => ({
    already_undone: app.already_undone,
    app: app.app,
    conflicts: app.conflicts,
    deletes: app.deletes,
    restores: app.restores.map(({before, columns, flag, id}) => ({flag, id, restore: Object.fromEntries(columns.map(column => [column, before[column] ?? null]))})),
  }))
  return {
    apps,
    dry_run: options.applied === undefined,
    mode: 'ROLLBACK',
    run: options.run,
    run_at_utc: options.runAtUtc,
    scope: options.scope,
    totals: {
      already_undone: count(apps, app => app.already_undone),
      applied_deletes: options.applied?.deletes ?? null,
      applied_restores: options.applied?.restores ?? null,
      conflicts: count(apps, app => app.conflicts),
      deletes: count(apps, app => app.deletes),
      restores: count(apps, app => app.restores),
    },
  }
}

/** The broad rollback as a plan: every listed row deleted, grouped by app in first-seen order. */
export function planBroadRollback(rows: Array<RowRef & {app: string}>): RollbackPlan {
  const apps = new Map<string, AppRollback>()
  for (const row of rows) {
    if (!apps.has(row.app)) apps.set(row.app, {already_undone: [], app: row.app, conflicts: [], deletes: [], restores: []})
    apps.get(row.app)!.deletes.push({flag: row.flag, id: row.id})
  }

  return {apps: [...apps.values()]}
}

/** The stderr summary: one line per app with the rows left alone under it, then the totals; with `quiet`, only the rows left alone. */
export function rollbackSummaryLines(report: RollbackReport, quiet = false): string[] {
  const what = report.dry_run ? 'would' : 'did'
  const conflictLines = (app: RollbackReportApp) => app.conflicts.map(conflict =>
    `    row ${conflict.id} (${conflict.flag}): ${conflict.reason}${conflict.changed_columns.length > 0 ? ` (${conflict.changed_columns.join(', ')})` : ''}`)
  if (quiet) return report.apps.flatMap(app => conflictLines(app))
  const lines = [`ROLLBACK${report.dry_run ? ' (dry run)' : ''} ${report.run_at_utc}${report.run ? ` of run ${report.run.run_id}` : ' of every backfilled row'}`]
  for (const app of report.apps) {
    lines.push(`  ${app.app}: ${what} delete ${app.deletes.length}, restore ${app.restores.length}; ${app.conflicts.length} changed since (left alone), ${app.already_undone.length} already undone`, ...conflictLines(app))
  }

  const {totals} = report
  lines.push(`  total: ${what} delete ${totals.deletes}, restore ${totals.restores}; ${totals.conflicts} left alone, ${totals.already_undone} already undone`)
  if (report.dry_run) lines.push('  dry run: nothing was changed; add --confirm to do it')
  return lines
}
