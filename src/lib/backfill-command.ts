// The class itself, not the package's entry point: the entry point also loads completions, git
// and flag helpers this plugin never uses.
import {Command} from '@heroku-cli/command/lib/command.js'
import {Flags} from '@oclif/core'

import {type DatabaseOptions} from './database.js'
import {type DatabaseTarget, parseDatabaseUrl} from './database-url.js'
import {BackfillError, databaseError, ExitCode, usageError} from './exit-codes.js'
import {fetchAppSnapshots} from './heroku.js'
import {DEFAULT_BASE_MS} from './retry.js'
import type {AppSnapshot} from './reconcile.js'
import type {Report} from './report.js'
import {assertValidReport} from './report-schema.js'
import {summaryLines} from './summary.js'

export const DEFAULT_APPS = ['raxx-api-prod', 'raxx-console-prod', 'raxx-api-staging', 'raxx-console-staging']
export const APPS_ENV = 'FLAGS_BACKFILL_APPS'
// 200 apps at 100 ms take 0.7 s at 32, 2.5 s at 8. The API's limit is per hour (4 500
// requests), not per connection, so fetching more at once costs no more of it.
export const DEFAULT_CONCURRENCY = 32

// Heroku app names are lowercase letters, digits and dashes; ids are UUIDs. Anything else
// (a slash, a space) would change the request path, so it is refused before any request.
const APP_NAME = /^[\da-z][\da-z-]{0,99}$|^[\da-f]{8}(-[\da-f]{4}){3}-[\da-f]{12}$/

// Durations in seconds; fractions allowed (0.5), so short limits can be set where they matter.
const seconds = Flags.custom<number>({
  async parse(input) {
    const value = Number(input)
    if (!/^\d+(\.\d+)?$/.test(input.trim()) || !(value > 0)) throw new Error(`expected a number of seconds greater than 0, got ${JSON.stringify(input)}`)
    return value
  },
})

export const sharedFlags = {
  app: Flags.string({
    char: 'a',
    description: `app to read; repeat for several (default: $${APPS_ENV}, comma-separated, or the runbook's four apps)`,
    multiple: true,
  }),
  concurrency: Flags.integer({
    default: DEFAULT_CONCURRENCY,
    description: 'how many apps to fetch from the Heroku API at once',
    max: 64,
    min: 1,
  }),
  'database-url': Flags.string({
    description: 'console database URL (default: $DATABASE_URL; prefer the variable, it keeps the password out of shell history)',
  }),
  'fetch-timeout': seconds({
    default: 120,
    description: 'seconds one app may take on the Heroku API, retries of 429/5xx answers and their waits included',
  }),
  'max-retry-wait': seconds({
    default: 20,
    description: 'the longest wait between two tries of one app, whatever Retry-After asks for',
  }),
  'request-timeout': seconds({
    default: 30,
    description: 'seconds to wait for one Heroku API answer before counting it as a timeout',
  }),
}

interface SharedFlagValues {
  app?: string[]
  concurrency: number
  'database-url'?: string
  'fetch-timeout': number
  'max-retry-wait': number
  'request-timeout': number
}

export abstract class BackfillCommand extends Command {
  // --prompt would start interactive prompts; this tool must be safe to run unattended.
  static baseFlags = Command.baseFlagsWithoutPrompt()

  /** The apps in the order given, each once: --app, else $FLAGS_BACKFILL_APPS, else the runbook's four. */
  protected resolveApps(flags: SharedFlagValues): string[] {
    const fromEnv = process.env[APPS_ENV]?.split(',').map(app => app.trim()).filter(Boolean)
    const apps = [...new Set(flags.app?.length ? flags.app : fromEnv?.length ? fromEnv : DEFAULT_APPS)]
    const bad = apps.filter(app => !APP_NAME.test(app))
    if (bad.length > 0) throw usageError(`invalid app name${bad.length > 1 ? 's' : ''}: ${bad.map(app => JSON.stringify(app)).join(', ')}`)
    return apps
  }

  protected resolveDatabase(flags: SharedFlagValues): DatabaseTarget {
    const url = flags['database-url'] ?? process.env.DATABASE_URL
    if (!url?.trim()) throw databaseError('no database URL: set DATABASE_URL or pass --database-url')
    return parseDatabaseUrl(url)
  }

  protected databaseOptions(): DatabaseOptions {
    return {onNotice: message => this.logToStderr(message)}
  }

  /** Fetches every app's config vars, logging each failure on stderr as the runbook documents. */
  protected async fetchSnapshots(apps: string[], flags: SharedFlagValues): Promise<AppSnapshot[]> {
    const snapshots = await fetchAppSnapshots(this.heroku, apps, {
      budgetMs: flags['fetch-timeout'] * 1000,
      concurrency: flags.concurrency,
      requestTimeoutMs: flags['request-timeout'] * 1000,
      retry: {baseMs: DEFAULT_BASE_MS, capMs: flags['max-retry-wait'] * 1000},
    })
    for (const snapshot of snapshots) {
      if ('error' in snapshot) this.logToStderr(`fetch failed for ${snapshot.app}: ${snapshot.error}`)
    }

    return snapshots
  }

  /** The report alone on stdout, validated first; the human summary on stderr. */
  protected emit(report: Report): void {
    const json = JSON.stringify(assertValidReport(report), null, 2)
    for (const line of summaryLines(report)) this.logToStderr(line)
    process.stdout.write(`${json}\n`)
  }

  /** A fetch failure (1) wins over every outcome code; usage and database errors never reach here. */
  protected exitFor(report: Report, workLeft: boolean): void {
    const code = report.apps.some(app => app.error !== null) ? ExitCode.FetchFailed : workLeft ? ExitCode.WorkLeft : ExitCode.Ok
    if (code !== ExitCode.Ok) this.exit(code)
  }

  protected async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (error instanceof BackfillError) {
      this.logToStderr(`Error: ${error.message}`)
      this.exit(error.exitCode)
    }

    return super.catch(error)
  }
}
