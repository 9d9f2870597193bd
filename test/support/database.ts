// Database-side helpers for fault tests: hold the backfill lock, watch the plugin's backend.
import {randomBytes} from 'node:crypto'
import postgres from 'postgres'

import {ADVISORY_LOCK_KEY, APPLICATION_NAME} from '../../src/lib/database.js'
import {withSql} from './fixture.js'

/** Holds the backfill's advisory lock on its own connection until released. */
export async function holdBackfillLock(databaseUrl: string): Promise<{pid: number; release: () => Promise<void>}> {
  const sql = postgres(databaseUrl, {max: 1, onnotice: () => {}})
  const [{pid}] = await sql<[{pid: number}]>`SELECT pg_backend_pid() AS pid, pg_advisory_lock(${ADVISORY_LOCK_KEY})`
  return {pid, release: () => sql.end({timeout: 1})}
}

export interface Backend {
  pid: number
  state: string | null
  wait_event_type: string | null
  wait_event: string | null
  query: string
}

/** The plugin's connections to this database, as pg_stat_activity sees them. */
export function pluginBackends(databaseUrl: string): Promise<Backend[]> {
  return withSql(databaseUrl, async sql => [...await sql<Backend[]>`
    SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity
    WHERE application_name = ${APPLICATION_NAME} AND datname = current_database()`])
}

/** Polls until `check` returns a value; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** A login role with a password, dropped by the returned function (roles are cluster-wide). */
export async function createRole(databaseUrl: string, password: string, grants: string[]): Promise<{name: string; drop: () => Promise<void>}> {
  const name = `fb_role_${randomBytes(4).toString('hex')}`
  await withSql(databaseUrl, async sql => {
    await sql.unsafe(`CREATE ROLE ${name} LOGIN PASSWORD '${password.replaceAll("'", "''")}'`)
    for (const grant of grants) await sql.unsafe(grant.replaceAll('$ROLE', name))
  })
  return {
    drop: () => withSql(databaseUrl, async sql => {
      await sql.unsafe(`DROP OWNED BY ${name}`)
      await sql.unsafe(`DROP ROLE ${name}`)
    }),
    name,
  }
}

/** The same URL with another user and password (the password as given, not encoded). */
export function urlAs(databaseUrl: string, user: string, rawPassword: string): string {
  const url = new URL(databaseUrl)
  return `${url.protocol}//${user}:${rawPassword}@${url.host}${url.pathname}${url.search}`
}
