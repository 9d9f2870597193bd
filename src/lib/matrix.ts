// The cross-app view (--matrix): one row per flag, one column per app, each cell the flag's state
// on that app, so a flag live on staging but missing on prod, or tracked with another value, shows
// at a glance.
import {type Palette} from './color.js'
import type {Report} from './report.js'
import {renderTable} from './table.js'

/**
 * new: no deployed row, apply inserts one · unsynced: apply marks the row(s) synced · synced:
 * nothing to do · mismatch: a deployed row's target_value differs from the live value (apply
 * still syncs it; the value is for a person to judge) · missing: not set on this app ·
 * unknown: the app could not be fetched.
 */
export type CellState = 'missing' | 'mismatch' | 'new' | 'synced' | 'unknown' | 'unsynced'

export interface MatrixRow {
  flag: string
  cells: CellState[]
  /** Per app: a deployed, unsynced row tracks this flag although the app no longer has it. */
  orphaned: boolean[]
}

export interface FlagMatrix {
  apps: string[]
  rows: MatrixRow[]
}

export const MATRIX_LEGEND = 'new = apply inserts a row · unsynced = apply syncs the row · synced = nothing to do · mismatch = tracked value differs from the live one · missing = not set on the app'

export function flagMatrix(report: Report): FlagMatrix {
  const states = report.apps.map(app => {
    const byFlag = new Map<string, CellState>()
    for (const insert of app.inserts) byFlag.set(insert.flag, 'new')
    for (const update of app.updates) byFlag.set(update.flag, 'unsynced')
    for (const skip of app.skips) byFlag.set(skip.flag, 'synced')
    for (const warning of app.warnings) if (warning.kind === 'value_mismatch') byFlag.set(warning.flag, 'mismatch')
    const orphans = new Set(app.warnings.filter(warning => warning.kind === 'unsynced_orphan').map(warning => warning.flag))
    return {byFlag, failed: app.error !== null, orphans}
  })
  const flags = new Set(states.flatMap(state => [...state.byFlag.keys(), ...state.orphans]))
  return {
    apps: report.apps.map(app => app.app),
    rows: [...flags].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(flag => ({
      cells: states.map(state => (state.failed ? 'unknown' : state.byFlag.get(flag) ?? 'missing')),
      flag,
      orphaned: states.map(state => state.orphans.has(flag)),
    })),
  }
}

function cell(state: CellState, orphaned: boolean, colors: Palette): string {
  switch (state) {
    case 'new': {
      return colors.info('new')
    }

    case 'unsynced': {
      return colors.warning('unsynced')
    }

    case 'synced': {
      return colors.success('synced')
    }

    case 'mismatch': {
      return colors.failure('mismatch')
    }

    case 'missing': {
      return orphaned ? colors.warning('missing (unsynced row)') : colors.inactive('missing')
    }

    case 'unknown': {
      return colors.inactive('?')
    }
  }
}

export function matrixLines(report: Report, colors: Palette): string[] {
  const matrix = flagMatrix(report)
  if (matrix.rows.length === 0) return [colors.label('=== flags × apps'), '', colors.inactive('no FLAG_ config vars on these apps')]
  return [
    colors.label('=== flags × apps'),
    colors.inactive(MATRIX_LEGEND),
    '',
    ...renderTable(
      [{header: 'Flag'}, ...matrix.apps.map(app => ({header: app}))],
      matrix.rows.map(row => [row.flag, ...row.cells.map((state, index) => cell(state, row.orphaned[index], colors))]),
      colors,
    ),
  ]
}
