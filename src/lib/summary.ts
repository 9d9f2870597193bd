import type {Report} from './report.js'

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`

/** The short human summary for stderr: one line per app, the totals, and verify's checks. */
export function summaryLines(report: Report): string[] {
  const applied = (inserts: number | null, updates: number | null) =>
    inserts === null ? '' : `; applied ${plural(inserts, 'insert')}, ${plural(updates ?? 0, 'update')}`
  const lines = report.apps.map(app => app.error === null
    ? `  ${app.app}: ${plural(app.flags_found, 'flag')}, ${plural(app.planned_inserts, 'insert')}, ${plural(app.planned_updates, 'update')}, ${plural(app.skipped_existing, 'skip')}, ${plural(app.warnings.length, 'warning')}${applied(app.applied_inserts, app.applied_updates)}`
    : `  ${app.app}: error: ${app.error}`)
  const {totals} = report
  lines.unshift(`${report.mode} ${report.run_at_utc}`)
  lines.push(`  total: ${plural(totals.flags_found, 'flag')}, ${plural(totals.planned_inserts, 'insert')}, ${plural(totals.planned_updates, 'update')}, ${plural(totals.skipped_existing, 'skip')}${applied(totals.applied_inserts, totals.applied_updates)}`)
  if (report.verify) {
    for (const check of report.verify.checks) lines.push(`  ${check.passed ? 'ok  ' : check.required ? 'FAIL' : 'note'} ${check.name}: ${check.detail}`)
    lines.push(`  verify ${report.verify.passed ? 'passed' : 'failed'}`)
  }

  return lines
}
