// Self-check of the shared harness under tools/: if these fail, every other test's failure is suspect.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {after, before, describe, test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {startHerokuApiStub, type HerokuApiStub} from '../tools/heroku-api-stub.js'
import {type PostgresServer, startPostgresServer, withSql} from '../tools/postgres-server.js'
import {insertSeedRows, RUNBOOK_APPS, runbookDataset, syntheticDataset} from '../tools/seed.js'

const EXTERNAL_URL = process.env.TEST_DATABASE_URL || undefined
const SYNC_COLUMNS = ['synced', 'last_heroku_value', 'last_synced_at', 'drift_detected_at', 'drift_reason', 'sync_source']
const HEROKU_ACCEPT = 'application/vnd.heroku+json; version=3'

function tableColumns(url: string): Promise<string[]> {
  return withSql(url, async (sql) => {
    const rows = await sql<{column_name: string}[]>`
      SELECT column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'console_flag_promotions'`
    return rows.map((row) => row.column_name)
  })
}

describe('postgres-server', () => {
  let server: PostgresServer
  before(async () => {
    server = await startPostgresServer({externalUrl: EXTERNAL_URL})
  })
  after(() => server.stop())

  test('schema flavours: full has the 0078 columns, pre-0078 lacks them, none has no table', async () => {
    const [full, pre, none] = await Promise.all([server.createDatabase('full'), server.createDatabase('pre-0078'), server.createDatabase('none')])
    assert.notEqual(full, pre)
    const fullColumns = await tableColumns(full)
    for (const column of ['id', 'app_name', 'flag_name', 'target_value', 'state', 'created_by', 'created_at', 'updated_at', ...SYNC_COLUMNS]) {
      assert.ok(fullColumns.includes(column), `full schema lacks ${column}`)
    }
    const preColumns = await tableColumns(pre)
    assert.ok(preColumns.includes('flag_name'))
    for (const column of SYNC_COLUMNS) assert.ok(!preColumns.includes(column), `pre-0078 schema has ${column}`)
    assert.deepEqual(await tableColumns(none), [])
  })

  test('createDatabase defaults to the full schema and returns a 127.0.0.1-or-external URL', async () => {
    const url = await server.createDatabase()
    assert.match(url, /^postgres(ql)?:\/\/.+\/fb_[0-9a-f]{12}$/)
    if (!EXTERNAL_URL) assert.equal(new URL(url).hostname, '127.0.0.1')
    assert.ok((await tableColumns(url)).includes('synced'))
  })

  test('runbook rows: 64 inserted, values round-trip, the 0078 columns filled', async () => {
    const url = await server.createDatabase('full')
    const {rows} = runbookDataset()
    await insertSeedRows(url, rows)
    const stored = await withSql(url, (sql) => sql<{app_name: string; flag_name: string; target_value: string | null; synced: boolean}[]>`
      SELECT app_name, flag_name, target_value, synced FROM console_flag_promotions ORDER BY id`)
    assert.equal(stored.length, 64)
    assert.deepEqual(
      stored.map((row) => [row.app_name, row.flag_name, row.target_value, row.synced]),
      rows.map((row) => [row.app_name, row.flag_name, row.target_value, row.synced]),
    )
    const [{encoding}] = await withSql(url, (sql) => sql`SELECT current_setting('server_encoding') AS encoding`)
    if (!EXTERNAL_URL) assert.equal(encoding, 'UTF8')
  })

  test('runbook rows also seed a pre-0078 database (sync columns left out)', async () => {
    const url = await server.createDatabase('pre-0078')
    await insertSeedRows(url, runbookDataset().rows)
    const [{count}] = await withSql(url, (sql) => sql`SELECT count(*)::int AS count FROM console_flag_promotions`)
    assert.equal(count, 64)
  })

  test('a synthetic benchmark shape inserts in chunks', async () => {
    const url = await server.createDatabase()
    const dataset = syntheticDataset({apps: 2, flagsPerApp: 3000, trackedFraction: 0.5, seed: 9})
    assert.equal(dataset.rows.length, 3000)
    await insertSeedRows(url, dataset.rows)
    const [{count}] = await withSql(url, (sql) => sql`SELECT count(*)::int AS count FROM console_flag_promotions`)
    assert.equal(count, 3000)
  })

  test('a second embedded server runs beside the first and cleans up after itself', {skip: EXTERNAL_URL ? 'external server in use' : false}, async () => {
    const second = await startPostgresServer()
    assert.notEqual(second.adminUrl, server.adminUrl)
    const url = await second.createDatabase('pre-0078')
    assert.ok((await tableColumns(url)).includes('app_name'))
    await second.stop()
    await second.stop()
    await assert.rejects(withSql(url, (sql) => sql`SELECT 1`))
  })

  test('a script using the embedded server keeps its exit code and exits promptly', {skip: EXTERNAL_URL ? 'external server in use' : false}, () => {
    const moduleUrl = new URL('../tools/postgres-server.ts', import.meta.url).href
    const script = `
      const {startPostgresServer} = await import(${JSON.stringify(moduleUrl)})
      const server = await startPostgresServer()
      await server.createDatabase()
      await server.stop()
      process.exitCode = 3`
    const started = Date.now()
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 30_000,
    })
    assert.equal(child.status, 3, child.stderr)
    assert.equal(child.stdout, '')
    assert.equal(child.stderr, '')
    assert.ok(Date.now() - started < 15_000, 'child took too long to exit')
  })
})

describe('external server mode', {skip: EXTERNAL_URL ? false : 'TEST_DATABASE_URL not set'}, () => {
  test('stop() drops the databases it created', async () => {
    const server = await startPostgresServer({externalUrl: EXTERNAL_URL})
    const url = await server.createDatabase()
    const name = new URL(url).pathname.slice(1)
    await server.stop()
    const rows = await withSql(EXTERNAL_URL as string, (sql) => sql`SELECT 1 FROM pg_database WHERE datname = ${name}`)
    assert.equal(rows.length, 0)
  })
})

describe('seed', () => {
  test('runbook dataset: 5/53/38/76 flags, near misses, 64 rows, deterministic', () => {
    const dataset = runbookDataset()
    assert.deepEqual(Object.keys(dataset.apps), [...RUNBOOK_APPS])
    const flagCounts = RUNBOOK_APPS.map((app) => Object.keys(dataset.apps[app]).filter((name) => name.startsWith('FLAG_')).length)
    assert.deepEqual(flagCounts, [5, 53, 38, 76])
    for (const app of RUNBOOK_APPS) assert.ok('DATABASE_URL' in dataset.apps[app])
    assert.equal(dataset.apps['raxx-api-staging'].flag_lowercase_thing, 'true')
    assert.ok('FLAGS_LEGACY' in dataset.apps['raxx-api-staging'])

    const values = RUNBOOK_APPS.flatMap((app) => Object.entries(dataset.apps[app]).filter(([name]) => name.startsWith('FLAG_')).map(([, value]) => value))
    assert.equal(values.filter((value) => value === '').length, 1)
    assert.equal(values.filter((value) => value?.includes('\n')).length, 1)
    assert.equal(values.filter((value) => value !== null && /[^\x00-\x7f]/.test(value)).length, 1)

    assert.equal(dataset.rows.length, 64)
    const live = (app: string, flag: string) => flag in dataset.apps[app]
    const deployedUnsynced = dataset.rows.filter((row) => row.state === 'deployed' && !row.synced)
    assert.ok(deployedUnsynced.length > 40)
    assert.ok(dataset.rows.some((row) => row.state === 'deployed' && row.synced))
    assert.ok(dataset.rows.some((row) => row.state === 'pending'))
    assert.ok(dataset.rows.some((row) => row.state === 'approved'))
    assert.ok(dataset.rows.some((row) => row.state === 'rolled_back'))
    assert.equal(deployedUnsynced.filter((row) => !live(row.app_name, row.flag_name)).length, 0)
    const withOrphans = runbookDataset(2012, {orphans: true})
    assert.equal(withOrphans.rows.length, 64)
    assert.equal(withOrphans.rows.filter((row) => row.state === 'deployed' && !row.synced && !live(row.app_name, row.flag_name)).length, 2)
    assert.equal(
      dataset.rows.filter((row) => row.state === 'deployed' && live(row.app_name, row.flag_name) && row.target_value !== dataset.apps[row.app_name][row.flag_name]).length,
      1,
    )

    assert.deepEqual(runbookDataset(), dataset)
    assert.notDeepEqual(runbookDataset(7), dataset)
  })

  test('synthetic dataset has the asked shape', () => {
    const dataset = syntheticDataset({apps: 3, flagsPerApp: 40, trackedFraction: 0.25})
    assert.equal(Object.keys(dataset.apps).length, 3)
    for (const vars of Object.values(dataset.apps)) assert.equal(Object.keys(vars).filter((name) => name.startsWith('FLAG_')).length, 40)
    assert.equal(dataset.rows.length, 30)
    for (const row of dataset.rows) assert.ok(row.flag_name in dataset.apps[row.app_name])
    assert.deepEqual(syntheticDataset({apps: 3, flagsPerApp: 40, trackedFraction: 0.25}), dataset)
  })
})

describe('heroku-api-stub', () => {
  const token = 'hrku-stub-token'
  let stub: HerokuApiStub
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${stub.url}${path}`, {headers: {accept: HEROKU_ACCEPT, authorization: `Bearer ${token}`, ...headers}})

  before(async () => {
    stub = await startHerokuApiStub({
      token,
      apps: {'raxx-api-prod': {configVars: {FLAG_NEW_CHECKOUT: 'true', NODE_ENV: 'production', EMPTY: ''}}},
      faults: {'raxx-flaky': {status: 503, times: 1}},
    })
  })
  after(() => stub.close())

  test('config vars: 200, flat JSON, Heroku headers, Request-Id echoed', async () => {
    assert.match(stub.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await get('/apps/raxx-api-prod/config-vars', {'request-id': 'req-123'})
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
    assert.equal(res.headers.get('request-id'), 'req-123')
    assert.deepEqual(await res.json(), {FLAG_NEW_CHECKOUT: 'true', NODE_ENV: 'production', EMPTY: ''})
    const next = await get('/apps/raxx-api-prod/config-vars')
    await next.body?.cancel()
    assert.match(next.headers.get('request-id') ?? '', /^[0-9a-f-]{36}$/)
    assert.equal(Number(next.headers.get('ratelimit-remaining')), Number(res.headers.get('ratelimit-remaining')) - 1)
  })

  test('account and app endpoints', async () => {
    const account = await (await get('/account')).json()
    assert.equal(typeof account.email, 'string')
    const app = await (await get('/apps/raxx-api-prod')).json()
    assert.equal(app.name, 'raxx-api-prod')
    const byId = await get(`/apps/${app.id}/config-vars`)
    assert.equal(byId.status, 200)
    await byId.body?.cancel()
  })

  test('401 for a wrong or missing token, 400 without the version in Accept', async () => {
    const wrong = await get('/apps/raxx-api-prod/config-vars', {authorization: 'Bearer nope'})
    assert.equal(wrong.status, 401)
    assert.deepEqual(await wrong.json(), {id: 'unauthorized', message: 'Invalid credentials provided.'})
    const missing = await fetch(`${stub.url}/apps/raxx-api-prod/config-vars`, {headers: {accept: HEROKU_ACCEPT}})
    assert.equal(missing.status, 401)
    await missing.body?.cancel()
    const noVersion = await get('/apps/raxx-api-prod/config-vars', {accept: 'application/json'})
    assert.equal(noVersion.status, 400)
    assert.equal((await noVersion.json()).id, 'missing_version')
  })

  test('404 for an unknown app and an unknown endpoint', async () => {
    const app = await get('/apps/raxx-nope/config-vars')
    assert.equal(app.status, 404)
    assert.deepEqual(await app.json(), {id: 'not_found', message: "Couldn't find that app.", resource: 'app'})
    const path = await get('/apps/raxx-api-prod/releases')
    assert.equal(path.status, 404)
    const body = await path.json()
    assert.equal(body.id, 'not_found')
    assert.match(body.message, /API endpoint was not found/)
  })

  test('faults: counted, raw, dropped; then normal again', async () => {
    const flaky = await get('/apps/raxx-flaky/config-vars')
    assert.equal(flaky.status, 503)
    assert.equal((await flaky.json()).id, 'service_unavailable')
    const afterFault = await get('/apps/raxx-flaky/config-vars')
    assert.equal(afterFault.status, 404)
    await afterFault.body?.cancel()

    stub.setFault('raxx-api-prod', {status: 429, id: 'rate_limit', message: 'Slow down', headers: {'Retry-After': '5'}})
    const limited = await get('/apps/raxx-api-prod/config-vars')
    assert.equal(limited.status, 429)
    assert.equal(limited.headers.get('retry-after'), '5')
    assert.deepEqual(await limited.json(), {id: 'rate_limit', message: 'Slow down'})

    stub.setFault('raxx-api-prod', {status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html'})
    const raw = await get('/apps/raxx-api-prod/config-vars')
    assert.equal(raw.status, 502)
    assert.equal(raw.headers.get('content-type'), 'text/html')
    assert.equal(await raw.text(), '<html>Bad Gateway</html>')

    stub.setFault('raxx-api-prod', {status: 0, times: 1})
    await assert.rejects(get('/apps/raxx-api-prod/config-vars'))
    const recovered = await get('/apps/raxx-api-prod/config-vars')
    assert.equal(recovered.status, 200)
    await recovered.body?.cancel()
  })

  test('setApp changes what is served; config-var writes are refused and recorded', async () => {
    stub.setApp('raxx-new', {configVars: {FLAG_X: '1'}})
    assert.deepEqual(await (await get('/apps/raxx-new/config-vars')).json(), {FLAG_X: '1'})
    stub.setApp('raxx-new', undefined)
    const gone = await get('/apps/raxx-new/config-vars')
    assert.equal(gone.status, 404)
    await gone.body?.cancel()

    const write = await fetch(`${stub.url}/apps/raxx-api-prod/config-vars`, {
      method: 'PATCH',
      headers: {accept: HEROKU_ACCEPT, authorization: `Bearer ${token}`, 'content-type': 'application/json'},
      body: JSON.stringify({FLAG_NEW_CHECKOUT: 'false'}),
    })
    assert.equal(write.status, 405)
    await write.body?.cancel()
    assert.deepEqual(await (await get('/apps/raxx-api-prod/config-vars')).json(), {FLAG_NEW_CHECKOUT: 'true', NODE_ENV: 'production', EMPTY: ''})
    const writes = stub.requests.filter((request) => request.method !== 'GET')
    assert.deepEqual(writes.map((request) => [request.method, request.path, request.status]), [['PATCH', '/apps/raxx-api-prod/config-vars', 405]])
    assert.equal(stub.requests.at(-1)?.headers.authorization, `Bearer ${token}`)
  })

  test('latency delays answers and close() is prompt even with a request in flight', async () => {
    const slow = await startHerokuApiStub({token, apps: {a: {configVars: {}}}, latencyMs: 150})
    const started = Date.now()
    const res = await fetch(`${slow.url}/apps/a/config-vars`, {headers: {accept: HEROKU_ACCEPT, authorization: `Bearer ${token}`}})
    assert.equal(res.status, 200)
    await res.body?.cancel()
    assert.ok(Date.now() - started >= 140)

    const inFlight = fetch(`${slow.url}/apps/a/config-vars`, {headers: {accept: HEROKU_ACCEPT, authorization: `Bearer ${token}`}}).catch((error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const closing = Date.now()
    await slow.close()
    assert.ok(Date.now() - closing < 100)
    assert.ok((await inFlight) instanceof Error)
  })
})
