// Where the database URL comes from: --db-app (a config var of a Heroku app, read with the same
// Heroku login, so nobody pastes credentials into a shell), --database-url, or $DATABASE_URL.
// The URL itself is never printed; only user@host:port/database and where it came from.
import type {APIClient} from '@heroku-cli/command'

import {type DatabaseTarget, parseDatabaseUrl} from './database-url.js'
import {BackfillError, databaseError, usageError} from './exit-codes.js'
import {fetchAppSnapshots, type FetchOptions} from './heroku.js'

export const DEFAULT_DB_CONFIG_VAR = 'DATABASE_URL'

// Config var names, as the Platform API's schema allows them.
const CONFIG_VAR_NAME = /^\w+$/

export interface DatabaseFlags {
  'database-url'?: string
  'db-app'?: string
  'db-config-var'?: string
}

export interface ResolvedDatabase {
  target: DatabaseTarget
  /** Where the URL came from, safe to print: `--database-url`, `$DATABASE_URL`, `DATABASE_URL of my-app`. */
  source: string
}

export async function resolveDatabase(flags: DatabaseFlags, env: Record<string, string | undefined>, heroku: APIClient, fetch: FetchOptions): Promise<ResolvedDatabase> {
  if (flags['db-app']) {
    const configVar = flags['db-config-var'] ?? DEFAULT_DB_CONFIG_VAR
    const source = `${configVar} of ${flags['db-app']}`
    const url = await databaseUrlFromApp(heroku, flags['db-app'], configVar, fetch)
    return {source, target: withSource(source, () => parseDatabaseUrl(url))}
  }

  if (flags['database-url']?.trim()) return {source: '--database-url', target: parseDatabaseUrl(flags['database-url'])}
  const url = env.DATABASE_URL
  if (!url?.trim()) throw databaseError('no database URL: set DATABASE_URL or pass --database-url, or read it from an app with --db-app APP')
  return {source: '$DATABASE_URL', target: parseDatabaseUrl(url)}
}

/** The value of one config var of `app`, read-only, the way the apps are read (login, retries, time limits). */
export async function databaseUrlFromApp(heroku: APIClient, app: string, configVar: string, fetch: FetchOptions): Promise<string> {
  if (!CONFIG_VAR_NAME.test(configVar)) throw usageError(`invalid --db-config-var ${JSON.stringify(configVar)}: config var names are letters, digits and underscores`)
  const [snapshot] = await fetchAppSnapshots(heroku, [app], fetch)
  if ('error' in snapshot) throw databaseError(`cannot read ${configVar} of ${app}: ${snapshot.error}`)
  const {vars} = snapshot
  const url = vars[configVar]
  if (url) return url
  // Names only: the values are credentials.
  const candidates = Object.keys(vars).filter(name => /^postgres(ql)?:\/\//.test(vars[name] ?? '')).sort()
  const hint = candidates.length > 0 ? `; its database URLs are in ${candidates.join(', ')} (choose one with --db-config-var)` : ''
  throw databaseError(`${app} has no config var ${configVar}${hint}`)
}

// A malformed URL says where it came from, so the operator knows which config var to fix.
function withSource<T>(source: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (error instanceof BackfillError) throw new BackfillError(`${source}: ${error.message}`, error.exitCode)
    throw error
  }
}
