// Fingerprints of both sides a plan was computed from, and what moved since. Pure: the caller reads
// Heroku and the table, this module only hashes and compares.
import {hashOf} from './canonical.js'
import {type ConfigVars, liveFlags, type TrackingRow} from './reconcile.js'

/** A row as the plan read it: the columns the rule depends on, plus updated_at at microsecond precision (UTC text). */
export type ReadRow = TrackingRow & {updated_at: string}

export interface RowFingerprint {
  id: string
  flag: string
  target_value: string | null
  state: string
  synced: boolean
  last_heroku_value: string | null
  updated_at: string
}

export interface AppFingerprint {
  app: string
  /** sha256 of the app's FLAG_ vars (names and values, sorted, canonical JSON). */
  config_sha256: string
  /** sha256 of `rows`, canonical JSON. */
  rows_sha256: string
  /** Every row of the app the plan read, so a stale plan can say which rows moved. */
  rows: RowFingerprint[]
}

export interface RowRef {id: string; flag: string}

export interface AppMoves {
  app: string
  config: {added: string[]; removed: string[]; changed: string[]}
  rows: {added: RowRef[]; removed: RowRef[]; changed: Array<RowRef & {fields: string[]}>}
}

// Ids are bigints as text: shorter is smaller, then code-unit order.
const byId = (a: {id: string}, b: {id: string}) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export function rowFingerprints(rows: ReadRow[]): RowFingerprint[] {
  return rows.map(row => ({
    flag: row.flag_name,
    id: row.id,
    last_heroku_value: row.last_heroku_value,
    state: row.state,
    synced: row.synced,
    target_value: row.target_value,
    updated_at: row.updated_at,
  })).sort(byId)
}

export function configHash(vars: ConfigVars): string {
  return hashOf(liveFlags(vars))
}

/** One app's fingerprint from its config vars and its rows (other apps' rows are ignored). */
export function fingerprintApp(app: string, vars: ConfigVars, rows: ReadRow[]): AppFingerprint {
  const fingerprints = rowFingerprints(rows.filter(row => row.app_name === app))
  return {app, config_sha256: configHash(vars), rows: fingerprints, rows_sha256: hashOf(fingerprints)}
}

/**
 * What moved in one app between the plan and now. `plannedFlags` are the flags the plan saw (its
 * inserts, updates and skips together); the hashes decide, the lists explain.
 */
export function appMoves(saved: AppFingerprint, plannedFlags: Array<[string, string]>, vars: ConfigVars, rows: ReadRow[]): AppMoves | undefined {
  const current = fingerprintApp(saved.app, vars, rows)
  const configMoved = current.config_sha256 !== saved.config_sha256
  const rowsMoved = current.rows_sha256 !== saved.rows_sha256
  if (!configMoved && !rowsMoved) return undefined

  const before = new Map(plannedFlags)
  const now = new Map(liveFlags(vars))
  const config = {
    added: [...now.keys()].filter(flag => !before.has(flag)),
    changed: [...now].filter(([flag, value]) => before.has(flag) && before.get(flag) !== value).map(([flag]) => flag),
    removed: [...before.keys()].filter(flag => !now.has(flag)),
  }

  const savedRows = new Map(saved.rows.map(row => [row.id, row]))
  const currentRows = new Map(current.rows.map(row => [row.id, row]))
  const ref = (row: RowFingerprint): RowRef => ({flag: row.flag, id: row.id})
  const changed = current.rows.flatMap(row => {
    const old = savedRows.get(row.id)
    if (!old) return []
    const fields = (Object.keys(row) as Array<keyof RowFingerprint>).filter(field => row[field] !== old[field])
    return fields.length > 0 ? [{...ref(row), fields}] : []
  })
  return {
    app: saved.app,
    config,
    rows: {
      added: current.rows.filter(row => !savedRows.has(row.id)).map(ref),
      changed,
      removed: saved.rows.filter(row => !currentRows.has(row.id)).map(ref),
    },
  }
}

/** One line per app for stderr: what moved, by name, never by value. */
export function describeMoves(moves: AppMoves): string {
  const parts = [
    ...(['added', 'removed', 'changed'] as const).filter(kind => moves.config[kind].length > 0)
      .map(kind => `config var${moves.config[kind].length > 1 ? 's' : ''} ${kind}: ${moves.config[kind].join(', ')}`),
    ...(['added', 'removed'] as const).filter(kind => moves.rows[kind].length > 0)
      .map(kind => `row${moves.rows[kind].length > 1 ? 's' : ''} ${kind}: ${moves.rows[kind].map(row => `${row.id} (${row.flag})`).join(', ')}`),
    ...(moves.rows.changed.length > 0
      ? [`row${moves.rows.changed.length > 1 ? 's' : ''} changed: ${moves.rows.changed.map(row => `${row.id} (${row.flag}: ${row.fields.join(', ')})`).join(', ')}`]
      : []),
  ]
  return `${moves.app}: ${parts.length > 0 ? parts.join('; ') : 'fingerprint differs'}`
}
