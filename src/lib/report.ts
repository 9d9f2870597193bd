// The report document (README "Report"): built from a plan as data here, printed elsewhere.
import type {AppliedCounts} from './database.js'
import type {AppMoves} from './fingerprint.js'
import type {Plan, PlannedInsert, PlannedSkip, PlannedUpdate, PlanWarning} from './reconcile.js'

export type Mode = 'APPLY' | 'DRY-RUN' | 'VERIFY'

export interface AppReport {
  app: string
  flags_found: number
  planned_inserts: number
  planned_updates: number
  skipped_existing: number
  applied_inserts: number | null
  applied_updates: number | null
  inserts: PlannedInsert[]
  updates: PlannedUpdate[]
  skips: PlannedSkip[]
  warnings: PlanWarning[]
  error: string | null
}

export interface Totals {
  flags_found: number
  planned_inserts: number
  planned_updates: number
  skipped_existing: number
  applied_inserts: number | null
  applied_updates: number | null
  warnings: number
}

export interface VerifyCheck {
  name: string
  passed: boolean
  /** Whether this check decides the verdict; the pending-rows check does only with --strict. */
  required: boolean
  detail: string
}

export interface VerifySection {
  passed: boolean
  strict: boolean
  checks: VerifyCheck[]
  unsynced_deployed_count: number
  unsynced_deployed_rows: Array<{id: string; app_name: string; flag_name: string}>
  pending_rows: Array<{id: string; app: string; flag: string; state: string}>
}

/**
 * APPLY --plan: the saved plan, and whether it was applied now, had been before, was refused as
 * stale, or was not applied because an app could not be fetched.
 */
export interface SavedPlanStatus {
  plan_id: string
  plan_hash: string
  status: 'already_applied' | 'applied' | 'not_applied' | 'stale'
  applied_by_run: string | null
  moved: AppMoves[]
}

export interface Report {
  mode: Mode
  run_at_utc: string
  apps: AppReport[]
  totals: Totals
  verify?: VerifySection
  /** APPLY: the journal run this apply recorded, null when it wrote nothing. */
  run_id?: string | null
  saved_plan?: SavedPlanStatus
}

/**
 * The run's timestamp, truncated to whole seconds so that last_synced_at in the table equals the
 * report's run_at_utc exactly: an operator can find a run's rows from its report.
 */
export function runTimestamp(now = Date.now()): Date {
  return new Date(Math.floor(now / 1000) * 1000)
}

/** `2026-05-21T12:00:00+00:00`: UTC, whole seconds, the runbook's offset spelling. */
export function formatRunAt(runAt: Date): string {
  return `${runAt.toISOString().slice(0, 19)}+00:00`
}

const sum = (apps: AppReport[], pick: (app: AppReport) => number) => apps.reduce((total, app) => total + pick(app), 0)

/** `applied` is given for APPLY only; every other mode reports applied_* as null. */
export function buildReport(mode: Mode, runAt: Date, plan: Plan, applied?: Map<string, AppliedCounts>): Report {
  const apps = plan.apps.map((app): AppReport => ({
    app: app.app,
    flags_found: app.flags_found,
    planned_inserts: app.inserts.length,
    planned_updates: app.updates.length,
    skipped_existing: app.skips.length,
    applied_inserts: applied ? (applied.get(app.app)?.inserts ?? 0) : null,
    applied_updates: applied ? (applied.get(app.app)?.updates ?? 0) : null,
    inserts: app.inserts,
    updates: app.updates,
    skips: app.skips,
    warnings: app.warnings,
    error: app.error,
  }))
  return {
    mode,
    run_at_utc: formatRunAt(runAt),
    apps,
    totals: {
      flags_found: sum(apps, app => app.flags_found),
      planned_inserts: sum(apps, app => app.planned_inserts),
      planned_updates: sum(apps, app => app.planned_updates),
      skipped_existing: sum(apps, app => app.skipped_existing),
      applied_inserts: applied ? sum(apps, app => app.applied_inserts ?? 0) : null,
      applied_updates: applied ? sum(apps, app => app.applied_updates ?? 0) : null,
      warnings: sum(apps, app => app.warnings.length),
    },
  }
}
