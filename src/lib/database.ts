import postgres from 'postgres'

import {type DatabaseTarget, redact} from './database-url.js'
import {BackfillError, databaseError, ExitCode} from './exit-codes.js'
import type {ReadRow} from './fingerprint.js'
import type {InsertedRow, RowImage, UpdatedRow} from './journal.js'
import type {Plan} from './reconcile.js'

export type Sql = postgres.Sql
export type TransactionSql = postgres.TransactionSql

export const TABLE = 'console_flag_promotions'
export const BACKFILL_CREATED_BY = 'system_backfill'
export const BACKFILL_SYNC_SOURCE = 'heroku_cli_backfill'

// One well-known key so an operator can find the holder: pg_locks.objid = 20120078 (classid 0).
export const ADVISORY_LOCK_KEY = 20_120_078

// Types as format_type() prints them; text-like columns also accept unbounded varchar.
const REQUIRED_COLUMNS: Record<string, string[]> = {
  app_name: ['text', 'character varying'],
  flag_name: ['text', 'character varying'],
  id: ['bigint', 'integer'],
  state: ['text', 'character varying'],
  target_value: ['text', 'character varying'],
  created_by: ['text', 'character varying'],
  updated_at: ['timestamp with time zone'],
}

const MIGRATION_0078_COLUMNS: Record<string, string[]> = {
  drift_detected_at: ['timestamp with time zone'],
  drift_reason: ['text', 'character varying'],
  last_heroku_value: ['text', 'character varying'],
  last_synced_at: ['timestamp with time zone'],
  sync_source: ['text', 'character varying'],
  synced: ['boolean'],
}

export interface DatabaseOptions {
  lockTimeoutSeconds?: number
  /** Where server NOTICEs go: never stdout, which carries the report. */
  onNotice?: (message: string) => void
}

export const APPLICATION_NAME = 'heroku-flags-backfill'

const SIGNAL_EXIT_CODES = {SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated} as const

// postgres.js 3.4.9 crashes from a setImmediate when a transaction's backend dies mid-query
// (its own ROLLBACK is written to the closed socket; porsager/postgres#1208): uncatchable by
// the caller, and the transaction's promise never settles. Recognised narrowly, by its frame.
function isDriverNullSocketCrash(error: unknown): boolean {
  return error instanceof TypeError && /reading 'write'/.test(error.message) && /postgres[/\\]src[/\\]connection\.js/.test(error.stack ?? '')
}

/**
 * Rejects when the work cannot go on: the process is asked to stop, or the driver crashed on a
 * lost connection. Either way the connection is closed at once, so the server rolls back the
 * open transaction (and releases the advisory lock with it).
 */
function onAbort(sql: Sql, target: DatabaseTarget): {aborted: Promise<never>; dispose: () => void} {
  const listeners: Array<[string, (...args: any[]) => void]> = []
  const aborted = new Promise<never>((_, reject) => {
    const abort = (error: BackfillError) => {
      sql.end({timeout: 0}).finally(() => reject(error))
    }

    for (const signal of Object.keys(SIGNAL_EXIT_CODES) as Array<keyof typeof SIGNAL_EXIT_CODES>) {
      listeners.push([signal, () => abort(new BackfillError(
        `interrupted by ${signal}: the database connection was closed and its open transaction rolled back; re-running is safe`,
        SIGNAL_EXIT_CODES[signal],
      ))])
    }

    listeners.push(['uncaughtException', (error: unknown) => {
      if (isDriverNullSocketCrash(error)) {
        abort(databaseError(`the connection to ${target.display} was lost during the transaction; the server rolls back what it did not commit, so nothing was written; re-running is safe`))
        return
      }

      // Not ours: behave as if this listener did not exist.
      if (process.listenerCount('uncaughtException') === 1) {
        process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`)
        process.exit(1)
      }
    }])
  })
  for (const [event, listener] of listeners) process.on(event, listener)
  return {aborted, dispose: () => listeners.forEach(([event, listener]) => process.removeListener(event, listener))}
}

/**
 * A bound on connecting as a whole. postgres.js's connect_timeout bounds one attempt, but a server
 * that accepts and then closes every connection (not PostgreSQL, or a proxy with nothing behind it)
 * makes it retry without end; this turns that into the same error as a timed-out connect.
 */
function connectDeadline(target: DatabaseTarget): {expired: Promise<never>; connected(): void; clear(): void} {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('connect deadline'), {code: 'CONNECT_TIMEOUT'})), (target.connectTimeoutSeconds + 1) * 1000)
    timer.unref()
  })
  expired.catch(() => {})
  return {clear: () => clearTimeout(timer), connected: () => clearTimeout(timer), expired}
}

/** Opens the one connection a command uses, runs `work`, and closes it on every path. */
export async function withDatabase<T>(target: DatabaseTarget, options: DatabaseOptions, work: (sql: Sql) => Promise<T>): Promise<T> {
  const connecting = connectDeadline(target)
  const sql = postgres({
    connect_timeout: target.connectTimeoutSeconds,
    // UTC sessions: row images and fingerprints hold timestamps as text, and must read the same
    // whatever the server's or the operator's time zone.
    connection: {application_name: APPLICATION_NAME, TimeZone: 'UTC'},
    database: target.database,
    host: target.host,
    max: 1,
    onnotice: notice => options.onNotice?.(`database notice: ${notice.message}`),
    // The server reports its parameters once a session is up: proof that connecting succeeded.
    onparameter: () => connecting.connected(),
    pass: target.password,
    port: target.port,
    // Unnamed statements only: behind PgBouncer in transaction mode a named prepared statement
    // may meet another server connection; the few queries here gain nothing from preparing.
    prepare: false,
    ssl: target.ssl,
    user: target.user,
  })
  const abort = onAbort(sql, target)
  try {
    return await Promise.race([work(sql), abort.aborted, connecting.expired])
  } catch (error) {
    throw describeDatabaseError(error, target)
  } finally {
    connecting.clear()
    // A server that closes every connection cleanly keeps postgres.js reconnecting: never wait on it.
    await Promise.race([sql.end({timeout: 5}), new Promise(resolve => setTimeout(resolve, 6000).unref())])
    // The driver's crash comes from a setImmediate queued as the connection died: keep the guard
    // until that has run.
    await new Promise(resolve => setImmediate(resolve))
    abort.dispose()
  }
}

/** Turns a postgres.js or socket error into one line that names the problem and never the password. */
export function describeDatabaseError(error: unknown, target: DatabaseTarget): BackfillError {
  if (error instanceof BackfillError) return error
  if (error instanceof RolledBackError) {
    const described = describeDatabaseError(error.cause, target)
    const code = (error.cause as {code?: unknown} | undefined)?.code
    // Without the lock nothing was started, so there is nothing to say about a rollback.
    if (code === LOCK_BUSY || code === '55P03') return described
    return databaseError(`${described.message}; the transaction was rolled back, nothing was written`)
  }

  const err = error as {code?: unknown; message?: string}
  // Only database and socket failures are translated; anything else is a bug and keeps its stack.
  if (!(error instanceof postgres.PostgresError) && typeof err.code !== 'string') throw error
  const where = target.display
  const reason = (() => {
    switch (err.code) {
      case '28P01':
      case '28000': {
        return `authentication failed for ${where}`
      }

      case '3D000': {
        return `database does not exist: ${where}`
      }

      case '42501': {
        return `permission denied on ${where}: ${err.message} (the database role needs SELECT, INSERT, UPDATE on ${TABLE} and USAGE on its id sequence)`
      }

      case '57P01':
      case '57P02':
      case '57P03': {
        return `the connection to ${where} was closed by the server: ${err.message}`
      }

      case 'CONNECT_TIMEOUT': {
        return `timed out connecting to ${where} after ${target.connectTimeoutSeconds} s (connect_timeout in the URL changes this)`
      }

      case 'ECONNREFUSED': {
        return `connection refused by ${where}`
      }

      case 'ENOTFOUND':
      case 'EAI_AGAIN': {
        return `cannot resolve the database host of ${where}`
      }

      case 'CONNECTION_CLOSED':
      case 'CONNECTION_ENDED':
      case 'CONNECTION_DESTROYED':
      case 'ECONNRESET': {
        if (target.ssl && /TLS|SSL/.test(err.message ?? '')) {
          return `TLS to ${where} failed (${err.message}); the server may not offer TLS: add sslmode=disable to the URL for a server on a trusted network`
        }

        return `the connection to ${where} was lost`
      }

      case LOCK_BUSY:
      case '55P03': {
        return `another apply holds the backfill lock on ${where}; wait for it or raise --lock-timeout; find it with: ${LOCK_HOLDER_QUERY}`
      }

      default: {
        if (target.ssl && typeof err.code === 'string' && /CERT|TLS|SSL/.test(err.code)) {
          return `TLS to ${where} failed certificate checks (${err.code}); sslmode=require encrypts without verifying, as Heroku Postgres needs`
        }

        return `database error on ${where}: ${err.message ?? String(error)}${err.code ? ` (${err.code})` : ''}`
      }
    }
  })()
  return databaseError(redact(reason, target))
}

/** Fails with every missing or mistyped column named, before anything reads or writes the table. */
export async function assertSchema(sql: Sql): Promise<void> {
  // One round trip: a missing table is a query that finds no columns (a table always has some here,
  // since it needs at least the required ones to pass).
  const columns = await sql<Array<{name: string; type: string}>>`
    SELECT attname AS name, format_type(atttypid, atttypmod) AS type
    FROM pg_attribute
    WHERE attrelid = to_regclass(${TABLE}) AND attnum > 0 AND NOT attisdropped`
  if (columns.length === 0) throw databaseError(`table ${TABLE} does not exist in this database`)
  const types = new Map(columns.map(column => [column.name, column.type]))
  const problems = [
    ...columnProblems(types, REQUIRED_COLUMNS, ''),
    ...columnProblems(types, MIGRATION_0078_COLUMNS, ' (added by migration 0078 — has it run on this database?)'),
  ]
  if (problems.length > 0) throw databaseError(`${TABLE} is not ready: ${problems.join('; ')}`)
}

function columnProblems(types: Map<string, string>, wanted: Record<string, string[]>, hint: string): string[] {
  const missing = Object.keys(wanted).filter(name => !types.has(name))
  const mistyped = Object.entries(wanted)
    .filter(([name, accepted]) => types.has(name) && !accepted.includes(types.get(name)!))
    .map(([name, accepted]) => `column ${name} has type ${types.get(name)}, expected ${accepted[0]}`)
  return [...(missing.length > 0 ? [`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${hint}`] : []), ...mistyped]
}

/**
 * Every row of the given apps, in one query. Ids are returned as text: they are bigints. updated_at
 * is text at full microsecond precision, for a saved plan's fingerprint.
 */
export function readTrackingRows(sql: Sql | TransactionSql, apps: string[]): Promise<ReadRow[]> {
  return sql<ReadRow[]>`
    SELECT id::text AS id, app_name, flag_name, target_value, state, synced, last_heroku_value,
           to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at
    FROM console_flag_promotions
    WHERE app_name = ANY(${sql.array(apps)}::text[])
    ORDER BY id`
}

export interface UnsyncedDeployedRow {
  id: string
  app_name: string
  flag_name: string
}

/** The runbook's final check, table-wide: deployed rows the reconciler would read as drift. */
export async function readUnsyncedDeployedRows(sql: Sql, limit: number): Promise<{count: number; rows: UnsyncedDeployedRow[]}> {
  const [{count}] = await sql<[{count: string}]>`
    SELECT count(*) AS count FROM console_flag_promotions WHERE synced = false AND state = 'deployed'`
  const rows = await sql<UnsyncedDeployedRow[]>`
    SELECT id::text AS id, app_name, flag_name FROM console_flag_promotions
    WHERE synced = false AND state = 'deployed' ORDER BY app_name, flag_name, id LIMIT ${limit}`
  return {count: Number(count), rows}
}

// A bigint advisory key is stored as classid (high 32 bits, here 0) and objid (low 32 bits).
export const LOCK_HOLDER_QUERY = `SELECT pid, usename, application_name, client_addr, xact_start FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE locktype = 'advisory' AND classid = 0 AND objid = ${ADVISORY_LOCK_KEY} AND granted`
const LOCK_BUSY = 'LOCK_BUSY'

/** A failure inside the write transaction, which the server has rolled back. */
export class RolledBackError extends Error {
  constructor(readonly cause: unknown) {
    super('rolled back')
  }
}

/**
 * One transaction behind the backfill's advisory lock. The lock is transaction-scoped, so it is
 * released by COMMIT, by ROLLBACK and by a dropped connection alike. A lock timeout of 0 means
 * "do not wait" (for PostgreSQL lock_timeout = 0 would mean "wait forever").
 */
export async function withBackfillLock<T>(sql: Sql, lockTimeoutSeconds: number, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  try {
    return await (sql.begin(async tx => {
      // Transaction-local settings, so nothing leaks to a pooled server connection (PgBouncer).
      // client_connection_check_interval (PostgreSQL 14+) makes a server blocked on our behalf
      // (waiting for the lock, or in a slow trigger) notice a vanished client within 1 s; it is
      // armed when a statement starts, so it needs a statement of its own before the lock wait.
      // lock_timeout 0 would mean "wait forever" to PostgreSQL; ours means "do not wait".
      await tx`
        SELECT set_config('lock_timeout', ${`${Math.max(1, Math.round(lockTimeoutSeconds * 1000))}ms`}, true),
               CASE WHEN current_setting('server_version_num')::int >= 140000
                    THEN set_config('client_connection_check_interval', '1000', true) END`
      if (lockTimeoutSeconds > 0) {
        await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY})`
      } else {
        const [{locked}] = await tx<[{locked: boolean}]>`SELECT pg_try_advisory_xact_lock(${ADVISORY_LOCK_KEY}) AS locked`
        if (!locked) throw Object.assign(new Error('the backfill lock is held'), {code: LOCK_BUSY})
      }

      return work(tx)
    }) as Promise<T>)
  } catch (error) {
    throw error instanceof BackfillError ? error : new RolledBackError(error)
  }
}

// A row as a journal image: every column as PostgreSQL's own text for it (exact, timestamps in
// the session's UTC), so jsonb_populate_record can put it back unchanged. The alias must be `p`.
const rowImage = (sql: Sql | TransactionSql) => sql`(SELECT jsonb_object_agg(key, value #>> '{}') FROM jsonb_each(to_jsonb(p)))`

/** Whole-row images of the given ids that still exist; `forUpdate` locks them until the transaction ends. */
export async function readRowImages(sql: Sql | TransactionSql, ids: string[], forUpdate: boolean): Promise<Map<string, RowImage>> {
  if (ids.length === 0) return new Map()
  const rows = await sql<Array<{id: string; image: RowImage}>>`
    SELECT p.id::text AS id, ${rowImage(sql)} AS image FROM console_flag_promotions AS p
    WHERE p.id = ANY(${sql.array(ids)}::bigint[]) ORDER BY p.id ${forUpdate ? sql`FOR UPDATE` : sql``}`
  return new Map(rows.map(row => [row.id, row.image]))
}

export interface AppliedCounts {
  inserts: number
  updates: number
}

export interface WriteResult {
  applied: Map<string, AppliedCounts>
  /** For the journal: every inserted row as written, every updated row before and after. */
  inserted: InsertedRow[]
  updated: UpdatedRow[]
}

/**
 * Writes a plan with two set-based statements, whatever its size: arrays travel as single
 * parameters, so there is no per-row round trip and no 65 534-parameter limit to chunk around.
 * The update re-checks `synced = false` so a row synced meanwhile is not touched again.
 */
export async function writePlan(tx: TransactionSql, plan: Plan, runAt: Date): Promise<WriteResult> {
  const inserts = plan.apps.flatMap(app => app.inserts.map(insert => ({app: app.app, ...insert})))
  const updates = plan.apps.flatMap(app => app.updates.flatMap(update => update.row_ids.map(id => ({app: app.app, id, value: update.value, flag: update.flag}))))
  const applied = new Map(plan.apps.map(app => [app.app, {inserts: 0, updates: 0}]))
  const result: WriteResult = {applied, inserted: [], updated: []}

  if (inserts.length > 0) {
    const written = await tx<Array<{id: string; app_name: string; flag_name: string; image: RowImage}>>`
      INSERT INTO console_flag_promotions AS p
        (app_name, flag_name, target_value, state, created_by, sync_source, synced, last_heroku_value, last_synced_at)
      SELECT t.app_name, t.flag_name, t.value, 'deployed', ${BACKFILL_CREATED_BY}, ${BACKFILL_SYNC_SOURCE}, true, t.value, ${runAt}
      FROM unnest(${tx.array(inserts.map(i => i.app))}::text[], ${tx.array(inserts.map(i => i.flag))}::text[],
                  ${tx.array(inserts.map(i => i.value))}::text[]) AS t(app_name, flag_name, value)
      RETURNING p.id::text AS id, p.app_name, p.flag_name, ${rowImage(tx)} AS image`
    for (const row of written) {
      applied.get(row.app_name)!.inserts++
      result.inserted.push({after: row.image, app: row.app_name, flag: row.flag_name, id: row.id})
    }
  }

  if (updates.length > 0) {
    // The pre-images come from the same statement (a CTE sees the rows as they were before it),
    // so the journal costs no extra round trip; FOR UPDATE makes them the versions updated.
    const ids = tx.array(updates.map(u => u.id))
    const written = await tx<Array<{id: string; app_name: string; flag_name: string; before: RowImage; after: RowImage}>>`
      WITH before AS (
        SELECT p.id, ${rowImage(tx)} AS image FROM console_flag_promotions AS p
        WHERE p.id = ANY(${ids}::bigint[]) AND p.state = 'deployed' AND p.synced = false
        FOR UPDATE
      )
      UPDATE console_flag_promotions AS p
      SET synced = true, last_heroku_value = t.value, last_synced_at = ${runAt},
          sync_source = ${BACKFILL_SYNC_SOURCE}, updated_at = now()
      FROM unnest(${ids}::bigint[], ${tx.array(updates.map(u => u.value))}::text[]) AS t(id, value), before AS b
      WHERE p.id = t.id AND b.id = p.id AND p.state = 'deployed' AND p.synced = false
      RETURNING p.id::text AS id, p.app_name, p.flag_name, b.image AS before, ${rowImage(tx)} AS after`
    for (const row of written) {
      result.updated.push({after: row.after, app: row.app_name, before: row.before, flag: row.flag_name, id: row.id})
    }

    // applied_updates counts flags, like planned_updates; one flag may own several unsynced rows.
    const flagsPerApp = new Map<string, Set<string>>()
    for (const row of written) {
      if (!flagsPerApp.has(row.app_name)) flagsPerApp.set(row.app_name, new Set())
      flagsPerApp.get(row.app_name)!.add(row.flag_name)
    }

    for (const [app, flags] of flagsPerApp) applied.get(app)!.updates = flags.size
  }

  return result
}
