// The class itself, not the package's entry point: the entry point also loads completions, git
// and flag helpers this plugin never uses.
import {Command} from '@heroku-cli/command/lib/command.js'
import {Errors, Flags, type Interfaces} from '@oclif/core'

import {colorLevel, palette, type Palette} from './color.js'
import {type DatabaseOptions} from './database.js'
import {resolveDatabase as resolveDatabaseSource} from './database-source.js'
import {type DatabaseTarget} from './database-url.js'
import {BackfillError, ExitCode, usageError} from './exit-codes.js'
import {fetchAccountEmail, fetchAppSnapshots, type FetchOptions} from './heroku.js'
import {runsDirectory} from './journal.js'
import {progressMode, startFetchProgress} from './progress.js'
import type {AppSnapshot} from './reconcile.js'
import {DEFAULT_BASE_MS} from './retry.js'
import type {Report} from './report.js'
import {assertValidReport} from './report-schema.js'
import {contextLines, type HumanOutputOptions, reportLines, type RunContext} from './summary.js'

export const DEFAULT_APPS = ['raxx-api-prod', 'raxx-console-prod', 'raxx-api-staging', 'raxx-console-staging']
export const APPS_ENV = 'FLAGS_BACKFILL_APPS'
// 200 apps at 100 ms take 0.7 s at 32, 2.5 s at 8. The API's limit is per hour (4 500
// requests), not per connection, so fetching more at once costs no more of it.
export const DEFAULT_CONCURRENCY = 32

// Heroku app names are lowercase letters, digits and dashes; ids are UUIDs. Anything else
// (a slash, a space) would change the request path, so it is refused before any request.
const APP_NAME = /^[\da-z][\da-z-]{0,99}$|^[\da-f]{8}(-[\da-f]{4}){3}-[\da-f]{12}$/

function assertAppNames(apps: string[]): string[] {
  const bad = apps.filter(app => !APP_NAME.test(app))
  if (bad.length > 0) throw usageError(`invalid app name${bad.length > 1 ? 's' : ''}: ${bad.map(app => JSON.stringify(app)).join(', ')}`)
  return apps
}

// Durations in seconds; fractions allowed (0.5), so short limits can be set where they matter.
const seconds = Flags.custom<number>({
  async parse(input) {
    const value = Number(input)
    if (!/^\d+(\.\d+)?$/.test(input.trim()) || !(value > 0)) throw usageError(`expected a number of seconds greater than 0, got ${JSON.stringify(input)}`)
    return value
  },
})

export const sharedFlags = {
  app: Flags.string({
    char: 'a',
    description: `app whose FLAG_* config vars are read; repeat for several (default: $${APPS_ENV}, comma-separated, else the runbook's four apps)`,
    helpValue: '<app>',
    multiple: true,
  }),
  concurrency: Flags.integer({
    default: DEFAULT_CONCURRENCY,
    description: 'how many apps to fetch from the Heroku API at once',
    helpValue: '<n>',
    max: 64,
    min: 1,
  }),
  'database-url': Flags.string({
    description: 'console database URL (default: $DATABASE_URL); prefer --db-app or the variable, they keep the password out of shell history',
    exclusive: ['db-app'],
    helpValue: '<url>',
  }),
  'db-app': Flags.string({
    description: 'read the console database URL from this app\'s config vars (with your Heroku login); it is never printed',
    helpValue: '<app>',
  }),
  'db-config-var': Flags.string({
    dependsOn: ['db-app'],
    description: 'the config var of --db-app that holds the database URL [default: DATABASE_URL]',
    helpValue: '<name>',
  }),
  'fetch-timeout': seconds({
    default: 120,
    description: 'seconds one app may take on the Heroku API, retries of 429/5xx answers and their waits included',
    helpValue: '<seconds>',
  }),
  matrix: Flags.boolean({
    default: false,
    description: 'also print a flag × app grid on stderr: each flag\'s state (new, unsynced, synced, missing, mismatch) on each app',
  }),
  'max-retry-wait': seconds({
    default: 20,
    description: 'the longest wait between two tries of one app, whatever Retry-After asks for',
    helpValue: '<seconds>',
  }),
  quiet: Flags.boolean({
    char: 'q',
    default: false,
    description: 'print only errors on stderr (the JSON report on stdout is unchanged)',
    exclusive: ['matrix'],
  }),
  'request-timeout': seconds({
    default: 30,
    description: 'seconds to wait for one Heroku API answer before counting it as a timeout',
    helpValue: '<seconds>',
  }),
}

// oclif's FlagOutput and ArgOutput, which the package does not export by name.
type Output = {[name: string]: any}

interface SharedFlagValues {
  app?: string[]
  concurrency: number
  'database-url'?: string
  'db-app'?: string
  'db-config-var'?: string
  'fetch-timeout': number
  matrix?: boolean
  'max-retry-wait': number
  quiet?: boolean
  'request-timeout': number
}

export abstract class BackfillCommand extends Command {
  // --prompt would start interactive prompts; this tool must be safe to run unattended.
  static baseFlags = Command.baseFlagsWithoutPrompt()

  // Colour for stderr only, decided once: off when stderr is not a terminal or NO_COLOR is set.
  protected readonly colors: Palette = palette(colorLevel(process.env, Boolean(process.stderr.isTTY)))
  private human: HumanOutputOptions = {matrix: false, quiet: false}
  private context: RunContext | undefined
  private contextShown = false

  /** Every command's parse also picks up the human-output flags, so emit() needs nothing from the command. */
  protected async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    const flags = parsed.flags as SharedFlagValues
    this.human = {matrix: Boolean(flags.matrix), quiet: Boolean(flags.quiet)}
    return parsed
  }

  /** The apps in the order given, each once: --app, else $FLAGS_BACKFILL_APPS, else the runbook's four. */
  protected resolveApps(flags: SharedFlagValues): string[] {
    const fromEnv = process.env[APPS_ENV]?.split(',').map(app => app.trim()).filter(Boolean)
    const apps = assertAppNames([...new Set(flags.app?.length ? flags.app : fromEnv?.length ? fromEnv : DEFAULT_APPS)])
    this.context = {...this.context, apps}
    return apps
  }

  /** --db-app (the app's config var), else --database-url, else $DATABASE_URL. */
  protected async resolveDatabase(flags: SharedFlagValues): Promise<DatabaseTarget> {
    if (flags['db-app']) assertAppNames([flags['db-app']])
    const {source, target} = await resolveDatabaseSource(flags, process.env, this.heroku, this.fetchOptions(flags))
    this.context = {apps: this.context?.apps ?? [], database: {display: target.display, source}}
    return target
  }

  protected databaseOptions(): DatabaseOptions {
    return {onNotice: message => this.logToStderr(message)}
  }

  /** Fetches every app's config vars with a progress line per app; failures are logged as the runbook documents. */
  protected async fetchSnapshots(apps: string[], flags: SharedFlagValues): Promise<AppSnapshot[]> {
    this.showContext()
    const progress = startFetchProgress(progressMode(this.human.quiet), apps, line => this.logToStderr(line), this.colors)
    try {
      return await fetchAppSnapshots(this.heroku, apps, {...this.fetchOptions(flags), onSettled: snapshot => progress.settled(snapshot)})
    } finally {
      progress.stop()
    }
  }

  /** The time limits and retries of Heroku API reads, the same for the apps and for --db-app. */
  private fetchOptions(flags: SharedFlagValues): FetchOptions {
    return {
      budgetMs: flags['fetch-timeout'] * 1000,
      concurrency: flags.concurrency,
      requestTimeoutMs: flags['request-timeout'] * 1000,
      retry: {baseMs: DEFAULT_BASE_MS, capMs: flags['max-retry-wait'] * 1000},
    }
  }

  /** Who is running this, for the journal: the Heroku account's email, or null when unknown. */
  protected accountEmail(): Promise<string | null> {
    return fetchAccountEmail(this.heroku, 10_000)
  }

  /** Where journal runs live: the data directory of the CLI (e.g. ~/.local/share/heroku/flags-backfill/runs). */
  protected runsDirectory(): string {
    return runsDirectory(this.config.dataDir)
  }

  /** The report alone on stdout, validated first; the human summary (or, with --quiet, its errors) on stderr. */
  protected emit(report: Report): void {
    const json = JSON.stringify(assertValidReport(report), null, 2)
    this.showContext()
    for (const line of reportLines(report, this.colors, this.human)) this.logToStderr(line)
    process.stdout.write(`${json}\n`)
  }

  /** A fetch failure (1) wins over every outcome code; usage and database errors never reach here. */
  protected exitFor(report: Report, workLeft: boolean): void {
    const code = report.apps.some(app => app.error !== null) ? ExitCode.FetchFailed : workLeft ? ExitCode.WorkLeft : ExitCode.Ok
    if (code !== ExitCode.Ok) this.exit(code)
  }

  /**
   * The heroku CLI recognises an exit by `instanceof` its own copy of oclif's ExitError; a plugin
   * brings another copy, so without this flag every exit code would also print "Error: EEXIT: n".
   */
  public exit(code = 0): never {
    const exit = new Errors.ExitError(code)
    exit.skipOclifErrorHandling = true
    throw exit
  }

  protected async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (error instanceof BackfillError) {
      this.logToStderr(`Error: ${error.message}`)
      this.exit(error.exitCode)
    }

    return super.catch(error)
  }

  /** The apps and the database (never its password) at the top of the human output, once. */
  private showContext(): void {
    if (this.contextShown || this.human.quiet || !this.context) return
    this.contextShown = true
    for (const line of contextLines(this.context, this.colors)) this.logToStderr(line)
  }
}
