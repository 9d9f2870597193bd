// Progress while the apps' config vars are fetched: one line per app as it finishes, under a
// spinner when stderr is a terminal. The failure line is the runbook's `fetch failed for <app>:
// <reason>` in every mode, --quiet included.
import {ux} from '@oclif/core'

import {type Palette} from './color.js'
import {type AppSnapshot, liveFlags} from './reconcile.js'

export type ProgressMode = 'lines' | 'quiet' | 'spinner'

export interface FetchProgress {
  settled(snapshot: AppSnapshot): void
  /** Ends the spinner; safe to call more than once and after a failure. */
  stop(): void
}

export function fetchedLine(snapshot: AppSnapshot, colors: Palette): string {
  if ('error' in snapshot) return colors.failure(`fetch failed for ${snapshot.app}: ${snapshot.error}`)
  const flags = liveFlags(snapshot.vars).length
  const vars = Object.keys(snapshot.vars).length
  return `fetched ${colors.app(snapshot.app)}: ${flags} FLAG_ var${flags === 1 ? '' : 's'} ${colors.inactive(`of ${vars} config var${vars === 1 ? '' : 's'}`)}`
}

/** ux.action's spinner is what heroku CLI commands show; it is only chosen for a terminal (oclif checks TTY, CI and TERM). */
export function progressMode(quiet: boolean): ProgressMode {
  return quiet ? 'quiet' : ux.action.type === 'spinner' ? 'spinner' : 'lines'
}

export function startFetchProgress(mode: ProgressMode, apps: string[], log: (line: string) => void, colors: Palette): FetchProgress {
  let done = 0
  let failed = 0
  let running = mode === 'spinner'
  if (running) ux.action.start(`Fetching config vars of ${apps.length} app${apps.length === 1 ? '' : 's'}`, `0/${apps.length}`)
  return {
    settled(snapshot) {
      done++
      if ('error' in snapshot) failed++
      // While the spinner runs, ux.action holds back stderr writes and prints them above it.
      if (mode !== 'quiet' || 'error' in snapshot) log(fetchedLine(snapshot, colors))
      if (running) ux.action.status = `${done}/${apps.length}`
    },
    stop() {
      if (!running) return
      running = false
      ux.action.stop(failed === 0 ? colors.success('done') : colors.failure(`${failed} failed`))
    },
  }
}
