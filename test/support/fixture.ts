// One real PostgreSQL server per test file, one fresh database per test, one Heroku API stand-in
// per test: every test starts from exactly the state it names.
import {after} from 'node:test'
import {Ajv} from 'ajv'
import {readFileSync} from 'node:fs'

import {startHerokuApiStub, type HerokuApiStub, type StubFault} from '../../tools/heroku-api-stub.js'
import {type PostgresServer, type SchemaFlavour, startPostgresServer, withSql} from '../../tools/postgres-server.js'
import {insertSeedRows, type SeedRow} from '../../tools/seed.js'

export {withSql}

export const TOKEN = 'hrku-test-token-0123456789abcdef'

let server: Promise<PostgresServer> | undefined
const stubs: HerokuApiStub[] = []

// Registered when the test file imports this module, so it runs once, after the file's last test.
after(async () => {
  await Promise.all(stubs.map(stub => stub.close()))
  if (server) await (await server).stop()
})

/** The file's Postgres server: TEST_DATABASE_URL's when set, else an embedded one. */
export function postgresServer(): Promise<PostgresServer> {
  server ??= startPostgresServer({externalUrl: process.env.TEST_DATABASE_URL || undefined})
  return server
}

export interface Scenario {
  databaseUrl: string
  heroku: HerokuApiStub
  env: Record<string, string>
}

export async function scenario(options: {
  apps: Record<string, Record<string, string | null>>
  rows?: SeedRow[]
  schema?: SchemaFlavour
  faults?: Record<string, StubFault>
  latencyMs?: number
}): Promise<Scenario> {
  const databaseUrl = await (await postgresServer()).createDatabase(options.schema ?? 'full')
  if (options.rows?.length) await insertSeedRows(databaseUrl, options.rows)
  const apps = Object.fromEntries(Object.entries(options.apps).map(([name, configVars]) => [name, {configVars}]))
  const heroku = await startHerokuApiStub({apps, faults: options.faults, latencyMs: options.latencyMs, token: TOKEN})
  stubs.push(heroku)
  return {
    databaseUrl,
    env: {DATABASE_URL: databaseUrl, FLAGS_BACKFILL_APPS: Object.keys(options.apps).join(','), HEROKU_API_KEY: TOKEN, HEROKU_HOST: heroku.url},
    heroku,
  }
}

export function seedRow(partial: Partial<SeedRow> & Pick<SeedRow, 'app_name' | 'flag_name'>): SeedRow {
  return {created_by: 'ops@example.com', last_heroku_value: null, state: 'deployed', synced: false, target_value: 'true', ...partial}
}

export interface TableRow {
  id: string
  app_name: string
  flag_name: string
  target_value: string | null
  state: string
  created_by: string
  created_at: Date
  updated_at: Date
  synced: boolean
  last_heroku_value: string | null
  last_synced_at: Date | null
  drift_detected_at: Date | null
  drift_reason: string | null
  sync_source: string | null
}

/** The whole table, in id order, for before/after comparisons. */
export function dumpTable(databaseUrl: string): Promise<TableRow[]> {
  return withSql(databaseUrl, async sql => [...await sql<TableRow[]>`SELECT *, id::text AS id FROM console_flag_promotions ORDER BY console_flag_promotions.id`])
}

const validateReport = new Ajv({allErrors: true}).compile(JSON.parse(readFileSync(new URL('../../schemas/report.schema.json', import.meta.url), 'utf8')))

/** stdout must be exactly one JSON document, valid against the schema the package ships. */
export function parseReport(stdout: string): any {
  const report = JSON.parse(stdout)
  if (!validateReport(report)) throw new Error(`report breaks the shipped schema: ${JSON.stringify(validateReport.errors)}`)
  return report
}

/** The whole table as PostgreSQL's own text for each row, in id order: equal dumps mean byte-for-byte equal rows. */
export function dumpTableText(databaseUrl: string): Promise<string[]> {
  return withSql(databaseUrl, async sql => (await sql<Array<{row: string}>>`SELECT p::text AS row FROM console_flag_promotions AS p ORDER BY p.id`).map(r => r.row))
}

const validateRollback = new Ajv({allErrors: true}).compile(JSON.parse(readFileSync(new URL('../../schemas/rollback.schema.json', import.meta.url), 'utf8')))

/** A rollback's stdout: exactly one JSON document, valid against the shipped rollback schema. */
export function parseRollbackReport(stdout: string): any {
  const report = JSON.parse(stdout)
  if (!validateRollback(report)) throw new Error(`rollback report breaks the shipped schema: ${JSON.stringify(validateRollback.errors)}`)
  return report
}
