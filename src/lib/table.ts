// A plain text table in the heroku CLI's shape: bold headers, a rule under them, columns two
// spaces apart. Cells may carry colour; widths are measured on the visible text.
import {type Palette, visibleWidth} from './color.js'

export interface Column {
  header: string
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right'
}

function pad(text: string, width: number, align: Column['align']): string {
  const fill = ' '.repeat(Math.max(0, width - visibleWidth(text)))
  return align === 'right' ? `${fill}${text}` : `${text}${fill}`
}

/** One line per row plus two header lines; trailing spaces are trimmed. `footer` rows follow a second rule. */
export function renderTable(columns: Column[], rows: string[][], colors: Palette, footer: string[][] = []): string[] {
  const widths = columns.map((column, index) =>
    Math.max(visibleWidth(column.header), ...[...rows, ...footer].map(row => visibleWidth(row[index] ?? ''))))
  const line = (cells: string[]) => ` ${cells.map((cell, index) => pad(cell, widths[index], columns[index].align)).join('  ')}`.trimEnd()
  const rule = colors.inactive(` ${widths.map(width => '─'.repeat(width)).join('  ')}`)
  return [
    line(columns.map(column => colors.label(column.header))),
    rule,
    ...rows.map(row => line(row)),
    ...(footer.length > 0 ? [rule, ...footer.map(row => line(row))] : []),
  ]
}
