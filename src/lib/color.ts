// Colours for the human output on stderr, following the heroku CLI's palette (apps purple,
// success green, failure red, warnings orange, labels bold), decided from stderr rather than
// stdout: stdout carries the JSON report and is usually piped even when a person is watching.
import {Ansis} from 'ansis'

export type ColorLevel = 0 | 1 | 2 | 3

export interface Palette {
  app(text: string): string
  datastore(text: string): string
  failure(text: string): string
  inactive(text: string): string
  info(text: string): string
  label(text: string): string
  success(text: string): string
  warning(text: string): string
}

/**
 * 0 (no colour) unless stderr is a terminal; NO_COLOR always wins (https://no-color.org), then
 * FORCE_COLOR, then TERM=dumb. Otherwise as many colours as the terminal says it has.
 */
export function colorLevel(env: Record<string, string | undefined>, stderrIsTTY: boolean): ColorLevel {
  if (env.NO_COLOR) return 0
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false'
  if (!forced && (!stderrIsTTY || env.TERM === 'dumb')) return 0
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3
  return /256/.test(env.TERM ?? '') ? 2 : 1
}

// ANSI 256 codes of the heroku CLI's palette; ansis maps them down on 16-colour terminals.
const PURPLE = 147
const GREEN = 40
const RED = 210
const ORANGE = 214
const YELLOW = 185
const TEAL = 43
const GRAY = 248

export function palette(level: ColorLevel): Palette {
  const ansis = new Ansis(level)
  return {
    // Purple has no 16-colour neighbour but white; the heroku CLI falls back to magenta there.
    app: text => (level >= 2 ? ansis.fg(PURPLE) : ansis.magenta)(text),
    datastore: text => ansis.fg(YELLOW)(text),
    failure: text => ansis.fg(RED)(text),
    inactive: text => ansis.fg(GRAY)(text),
    info: text => ansis.fg(TEAL)(text),
    label: text => ansis.bold(text),
    success: text => ansis.fg(GREEN)(text),
    warning: text => ansis.fg(ORANGE)(text),
  }
}

export const PLAIN = palette(0)

/** Visible width: escape codes take no room on screen. */
export function visibleWidth(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B\[[\d;]*m/g, '').length
}
