// The reconcile core: two snapshots in (the apps' config vars, the table's rows), a plan out.
// No I/O, no clock, no environment — everything it needs is an argument.

export type ConfigVars = Record<string, string | null>

/** One app as fetched from Heroku: its config vars, or why they could not be read. */
export type AppSnapshot = {app: string; error: string} | {app: string; vars: ConfigVars}

/** The columns of console_flag_promotions the plan depends on. Ids stay strings (bigint). */
export interface TrackingRow {
  id: string
  app_name: string
  flag_name: string
  target_value: string | null
  state: string
  synced: boolean
  last_heroku_value: string | null
}

export interface PlannedInsert {flag: string; value: string}
export interface PlannedUpdate {flag: string; value: string; row_ids: string[]}
export interface PlannedSkip {flag: string; value: string; row_ids: string[]}

export type WarningKind = 'duplicate_deployed' | 'near_miss' | 'pending_row' | 'unsynced_orphan' | 'value_mismatch'

export interface PlanWarning {
  kind: WarningKind
  flag: string
  message: string
  row_ids?: string[]
  state?: string
}

export interface AppPlan {
  app: string
  error: string | null
  flags_found: number
  inserts: PlannedInsert[]
  updates: PlannedUpdate[]
  skips: PlannedSkip[]
  warnings: PlanWarning[]
}

export interface Plan {
  apps: AppPlan[]
}

export const FLAG_PREFIX = 'FLAG_'
export const DEPLOYED = 'deployed'
// Terminal states are history, not work in flight: they are neither written nor warned about.
const TERMINAL_STATES = new Set(['failed', 'rolled_back'])

// Code-unit order, not locale order: the same plan on every machine.
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export function isFlagName(name: string): boolean {
  return name.startsWith(FLAG_PREFIX) && name.length > FLAG_PREFIX.length
}

/** Names an operator may have meant as flags but that the rule does not track (flag_x, Flag_X, FLAGS_X, XFLAG_Y). */
export function isNearMissFlagName(name: string): boolean {
  return !isFlagName(name) && /^.?flags?_/i.test(name)
}

/** The app's live flags, sorted by name so plans are stable; a null value means the var is unset. */
export function liveFlags(vars: ConfigVars): Array<[string, string]> {
  const flags: Array<[string, string]> = []
  for (const [name, value] of Object.entries(vars)) {
    if (isFlagName(name) && value !== null) flags.push([name, value])
  }

  return flags.sort(([a], [b]) => byName(a, b))
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const group = groups.get(key(item))
    if (group) group.push(item)
    else groups.set(key(item), [item])
  }

  return groups
}

const ids = (rows: TrackingRow[]) => rows.map(row => row.id)

function planApp(app: string, vars: ConfigVars, appRows: TrackingRow[]): AppPlan {
  const plan: AppPlan = {app, error: null, flags_found: 0, inserts: [], skips: [], updates: [], warnings: []}
  const rowsByFlag = groupBy(appRows, row => row.flag_name)
  const flags = liveFlags(vars)
  const live = new Map(flags)

  for (const [flag, value] of flags) {
    plan.flags_found++
    const deployed = (rowsByFlag.get(flag) ?? []).filter(row => row.state === DEPLOYED)
    const unsynced = deployed.filter(row => !row.synced)
    if (deployed.length === 0) plan.inserts.push({flag, value})
    else if (unsynced.length > 0) plan.updates.push({flag, row_ids: ids(unsynced), value})
    else plan.skips.push({flag, row_ids: ids(deployed), value})
  }

  plan.warnings = warningsFor(vars, live, rowsByFlag)
  return plan
}

function warningsFor(vars: ConfigVars, live: Map<string, string>, rowsByFlag: Map<string, TrackingRow[]>): PlanWarning[] {
  const warnings: PlanWarning[] = []
  for (const name of Object.keys(vars).sort(byName)) {
    if (isNearMissFlagName(name)) {
      warnings.push({flag: name, kind: 'near_miss', message: `config var ${name} looks like a flag but does not start with exactly ${FLAG_PREFIX}; it is not tracked`})
    }
  }

  for (const [flag, rows] of [...rowsByFlag].sort(([a], [b]) => byName(a, b))) {
    const deployed = rows.filter(row => row.state === DEPLOYED)
    const value = live.get(flag)
    const orphans = deployed.filter(row => !row.synced)
    if (value === undefined && orphans.length > 0) {
      warnings.push({flag, kind: 'unsynced_orphan', message: `deployed, unsynced row(s) for ${flag}, which is no longer set on the app`, row_ids: ids(orphans)})
    }

    if (deployed.length > 1) {
      warnings.push({flag, kind: 'duplicate_deployed', message: `${deployed.length} deployed rows for ${flag}`, row_ids: ids(deployed)})
    }

    const mismatched = value === undefined ? [] : deployed.filter(row => row.target_value !== value)
    if (mismatched.length > 0) {
      warnings.push({flag, kind: 'value_mismatch', message: `deployed row target_value differs from the live value of ${flag}`, row_ids: ids(mismatched)})
    }

    for (const row of rows) {
      if (row.state !== DEPLOYED && !TERMINAL_STATES.has(row.state)) {
        warnings.push({flag, kind: 'pending_row', message: `row ${row.id} for ${flag} is in state '${row.state}'`, row_ids: [row.id], state: row.state})
      }
    }
  }

  return warnings
}

/**
 * The backfill rule, one outcome per app and flag: no deployed row → insert; some deployed row
 * unsynced → update those rows; all deployed rows synced → skip. Apps whose fetch failed get no
 * outcomes at all (their rows are not judged against a config we could not read).
 */
export function planBackfill(snapshots: AppSnapshot[], rows: TrackingRow[]): Plan {
  const rowsByApp = groupBy(rows, row => row.app_name)
  return {
    apps: snapshots.map(snapshot =>
      'error' in snapshot
        ? {app: snapshot.app, error: snapshot.error, flags_found: 0, inserts: [], skips: [], updates: [], warnings: []}
        : planApp(snapshot.app, snapshot.vars, rowsByApp.get(snapshot.app) ?? [])),
  }
}

export function hasChanges(plan: Plan): boolean {
  return plan.apps.some(app => app.inserts.length > 0 || app.updates.length > 0)
}

export function fetchFailed(plan: Plan): boolean {
  return plan.apps.some(app => app.error !== null)
}
