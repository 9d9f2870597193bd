// The human output on stderr, as pure functions from data to lines: the run's context, the
// summary table and verify's checks. stdout never sees any of it.
import {type Palette} from './color.js'
import {matrixLines} from './matrix.js'
import type {AppReport, Report} from './report.js'
import {renderTable} from './table.js'

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`

export interface RunContext {
  apps: string[]
  /** Where the connection goes (user@host:port/database, never the password) and where the URL came from. */
  database?: {display: string; source: string}
}

/** The top of the human output: which apps are read and which database is used. */
export function contextLines(context: RunContext, colors: Palette): string[] {
  const lines = [`${colors.label('Apps:')}      ${context.apps.map(app => colors.app(app)).join(', ')} ${colors.inactive(`(${context.apps.length})`)}`]
  if (context.database) {
    lines.push(`${colors.label('Database:')}  ${colors.datastore(context.database.display)} ${colors.inactive(`(${context.database.source})`)}`)
  }

  return lines
}

const COLUMNS = [
  {header: 'App'},
  {align: 'right' as const, header: 'Flags'},
  {align: 'right' as const, header: 'Inserts'},
  {align: 'right' as const, header: 'Updates'},
  {align: 'right' as const, header: 'Skips'},
  {align: 'right' as const, header: 'Warnings'},
  {header: 'Error'},
]

function count(value: number, colors: Palette, style: (text: string) => string = text => text): string {
  return value === 0 ? colors.inactive('0') : style(String(value))
}

function appRow(app: AppReport, colors: Palette): string[] {
  if (app.error !== null) return [colors.app(app.app), '', '', '', '', '', colors.failure(app.error)]
  return [
    colors.app(app.app),
    String(app.flags_found),
    count(app.planned_inserts, colors),
    count(app.planned_updates, colors),
    count(app.skipped_existing, colors),
    count(app.warnings.length, colors, colors.warning),
    '',
  ]
}

export interface HumanOutputOptions {
  matrix: boolean
  quiet: boolean
}

/** Everything printed after a run: the summary, the matrix when asked for, verify's checks last; with quiet, only what failed. */
export function reportLines(report: Report, colors: Palette, options: HumanOutputOptions): string[] {
  if (options.quiet) return verifyLines(report, colors, true)
  return [
    '',
    ...summaryLines(report, colors),
    ...(options.matrix ? ['', ...matrixLines(report, colors)] : []),
    ...(report.verify ? ['', ...verifyLines(report, colors, false)] : []),
  ]
}

/** The summary after a run: a table of the apps with totals, what was applied, warnings by kind. */
export function summaryLines(report: Report, colors: Palette): string[] {
  const {totals} = report
  const failed = report.apps.filter(app => app.error !== null).length
  const lines = [
    colors.label(`=== ${report.mode} ${report.run_at_utc}`),
    '',
    ...renderTable(COLUMNS, report.apps.map(app => appRow(app, colors)), colors, [[
      colors.label('total'),
      String(totals.flags_found),
      count(totals.planned_inserts, colors),
      count(totals.planned_updates, colors),
      count(totals.skipped_existing, colors),
      count(totals.warnings, colors, colors.warning),
      failed === 0 ? '' : colors.failure(`${failed} of ${report.apps.length} apps failed`),
    ]]),
  ]
  if (totals.applied_inserts !== null) {
    lines.push('', colors.success(`applied ${plural(totals.applied_inserts, 'insert')} and ${plural(totals.applied_updates ?? 0, 'update')} in one transaction`))
  }

  const kinds = new Map<string, number>()
  for (const warning of report.apps.flatMap(app => app.warnings)) kinds.set(warning.kind, (kinds.get(warning.kind) ?? 0) + 1)
  if (kinds.size > 0) {
    lines.push('', `${colors.warning('warnings:')} ${[...kinds].map(([kind, n]) => `${n} ${kind}`).join(', ')} ${colors.inactive('(listed in the JSON report under apps[].warnings)')}`)
  }

  return lines
}

/** Verify's checks and verdict; `errorsOnly` keeps the failed required checks and a failed verdict (for --quiet). */
export function verifyLines(report: Report, colors: Palette, errorsOnly: boolean): string[] {
  if (!report.verify) return []
  const checks = report.verify.checks.filter(check => !errorsOnly || (!check.passed && check.required))
  const lines = checks.map(check => {
    const mark = check.passed ? colors.success('ok  ') : check.required ? colors.failure('FAIL') : colors.warning('note')
    return `  ${mark} ${check.name}: ${check.detail}`
  })
  if (!errorsOnly || !report.verify.passed) {
    lines.push(report.verify.passed ? colors.success('verify passed') : colors.failure('verify failed'))
  }

  return lines
}
