// The database misbehaving: bad URLs, unreachable or hung servers, missing rights, failures in the
// middle of apply, signals. Each: exit 4 (or the signal's code), one line, no password, no partial write.
import assert from 'node:assert/strict'
import {createServer, type Socket} from 'node:net'
import {describe, test} from 'node:test'

import {ADVISORY_LOCK_KEY} from '../src/lib/database.js'
import {runCli, runCommand, withoutProgress} from './support/cli.js'
import {createRole, holdBackfillLock, pluginBackends, urlAs, waitFor} from './support/database.js'
import {dumpTable, parseReport, scenario, seedRow, withSql} from './support/fixture.js'

const APP = 'raxx-api-staging'
const SECRET = 'Sup3r-S3cret'
const EXTERNAL = process.env.TEST_DATABASE_URL ? 'the external server may trust local connections' : false

// The error is one line; the human output's context and progress lines may precede it.
function assertOneLine(stderr: string, pattern: RegExp) {
  const error = withoutProgress(stderr).trim()
  assert.equal(error.split('\n').length, 1, stderr)
  assert.match(error, pattern)
  assert.ok(!stderr.includes(SECRET), 'the password is never printed')
}

// A plan with one insert (FLAG_NEW) and one update (FLAG_OLD), so a failure can land between them.
const insertAndUpdate = () => scenario({apps: {[APP]: {FLAG_NEW: 'on', FLAG_OLD: 'boom'}}, rows: [seedRow({app_name: APP, flag_name: 'FLAG_OLD'})]})

describe('database URLs', () => {
  test('malformed, wrong scheme, no database, bad sslmode: exit 4 before any request, no password', async () => {
    const {env, heroku} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    for (const url of [`postgres//u:${SECRET}@127.0.0.1/db`, `mysql://u:${SECRET}@127.0.0.1/db`, `postgres://u:${SECRET}@127.0.0.1:5432`, `postgres://u:${SECRET}@127.0.0.1/db?sslmode=no-such`]) {
      const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: url})
      assert.equal(result.code, 4, url)
      assertOneLine(result.stderr, /^Error: the database URL /)
      assert.equal(result.stdout, '')
    }

    assert.equal(heroku.requests.length, 0)
  })

  test('postgres:// and postgresql://, sslmode absent or disable on a local server: both work', async () => {
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    for (const url of [databaseUrl, databaseUrl.replace(/^postgres:/, 'postgresql:'), `${databaseUrl}?sslmode=disable`]) {
      const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: url})
      assert.equal(result.code, 0, `${url}: ${result.stderr}`)
    }
  })

  test('sslmode=require or verify-full against a server without TLS: exit 4 saying so', async () => {
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    for (const mode of ['require', 'verify-full']) {
      const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: `${databaseUrl}?sslmode=${mode}`})
      assert.equal(result.code, 4, result.stderr)
      assertOneLine(result.stderr, /^Error: TLS to .+ failed .*sslmode=disable/)
    }
  })

  test('a raw % in the password and a percent-encoded password both log in', async () => {
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    const grants = ['GRANT SELECT ON console_flag_promotions TO $ROLE']
    const raw = await createRole(databaseUrl, '100%pure', grants)
    const encoded = await createRole(databaseUrl, 'p@ss/w%rd:x', grants)
    try {
      for (const url of [urlAs(databaseUrl, raw.name, '100%pure'), urlAs(databaseUrl, encoded.name, encodeURIComponent('p@ss/w%rd:x'))]) {
        const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: url})
        assert.equal(result.code, 0, result.stderr)
      }
    } finally {
      await raw.drop()
      await encoded.drop()
    }
  })

  test('a wrong password for a real role: exit 4, authentication named, password never printed', {skip: EXTERNAL}, async () => {
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    const role = await createRole(databaseUrl, 'the-right-one', [])
    try {
      const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: urlAs(databaseUrl, role.name, SECRET)})
      assert.equal(result.code, 4)
      assertOneLine(result.stderr, new RegExp(`^Error: authentication failed for ${role.name}@`))
    } finally {
      await role.drop()
    }
  })

  test('a database that does not exist: exit 4 naming it', async () => {
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    const url = new URL(databaseUrl)
    url.pathname = '/fb_no_such_database'
    const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: url.toString()})
    assert.equal(result.code, 4)
    assertOneLine(result.stderr, /^Error: database does not exist: .+\/fb_no_such_database$/)
  })

  test('a closed port: connection refused, exit 4 at once', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: `postgres://u:${SECRET}@127.0.0.1:1/db`})
    assert.equal(result.code, 4)
    assertOneLine(result.stderr, /^Error: connection refused by u@127\.0\.0\.1:1\/db$/)
  })

  test('a server that accepts and never answers: bounded by connect_timeout, and the process exits', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
    const sockets = new Set<Socket>()
    const hung = createServer(socket => sockets.add(socket))
    await new Promise<void>(resolve => hung.listen(0, '127.0.0.1', resolve))
    const {port} = hung.address() as {port: number}
    try {
      const started = Date.now()
      const result = await runCli(['flags:backfill:plan'], {...env, DATABASE_URL: `postgres://u:${SECRET}@127.0.0.1:${port}/db?connect_timeout=1`}, {timeoutMs: 30_000})
      assert.ok(Date.now() - started < 15_000, 'finished within 15 s')
      assert.equal(result.code, 4)
      assertOneLine(result.stderr, /^Error: timed out connecting to u@127\.0\.0\.1:\d+\/db after 1 s/)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise(resolve => hung.close(resolve))
    }
  })
})

describe('the table and the rights', () => {
  test('a column of the wrong type: exit 4 naming it, nothing written', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    await withSql(databaseUrl, sql => sql`ALTER TABLE console_flag_promotions ALTER COLUMN synced TYPE text`)
    const before = await dumpTable(databaseUrl)
    const result = await runCommand(['flags:backfill:apply', '--confirm'], env)
    assert.equal(result.code, 4)
    assertOneLine(result.stderr, /column synced has type text, expected boolean/)
    assert.deepEqual(await dumpTable(databaseUrl), before)
  })

  test('a read-only role: exit 4 naming the missing right, nothing written', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    const role = await createRole(databaseUrl, 'read-only', ['GRANT SELECT ON console_flag_promotions TO $ROLE'])
    try {
      const before = await dumpTable(databaseUrl)
      const result = await runCommand(['flags:backfill:apply', '--confirm'], {...env, DATABASE_URL: urlAs(databaseUrl, role.name, 'read-only')})
      assert.equal(result.code, 4)
      assertOneLine(result.stderr, /^Error: permission denied on .+: permission denied for table console_flag_promotions \(the database role needs SELECT, INSERT, UPDATE.+; the transaction was rolled back, nothing was written$/)
      assert.deepEqual(await dumpTable(databaseUrl), before)
    } finally {
      await role.drop()
    }
  })

  test('INSERT allowed but UPDATE denied: the insert is rolled back with the failed update', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    const role = await createRole(databaseUrl, 'no-update', [
      'GRANT SELECT, INSERT ON console_flag_promotions TO $ROLE',
      'GRANT USAGE ON SEQUENCE console_flag_promotions_id_seq TO $ROLE',
    ])
    try {
      const before = await dumpTable(databaseUrl)
      const result = await runCommand(['flags:backfill:apply', '--confirm'], {...env, DATABASE_URL: urlAs(databaseUrl, role.name, 'no-update')})
      assert.equal(result.code, 4)
      assertOneLine(result.stderr, /permission denied for table console_flag_promotions.+nothing was written$/)
      assert.deepEqual(await dumpTable(databaseUrl), before)
    } finally {
      await role.drop()
    }
  })
})

describe('failures in the middle of apply', () => {
  test('a constraint violated by the update: rolled back (the insert too), exit 4; once fixed, apply completes', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    await withSql(databaseUrl, sql => sql`ALTER TABLE console_flag_promotions ADD CONSTRAINT no_boom CHECK (last_heroku_value IS DISTINCT FROM 'boom')`)
    const before = await dumpTable(databaseUrl)
    const result = await runCommand(['flags:backfill:apply', '--confirm'], env)
    assert.equal(result.code, 4)
    assertOneLine(result.stderr, /violates check constraint "no_boom".*the transaction was rolled back, nothing was written$/)
    assert.equal(result.stdout, '')
    assert.deepEqual(await dumpTable(databaseUrl), before)

    await withSql(databaseUrl, sql => sql`ALTER TABLE console_flag_promotions DROP CONSTRAINT no_boom`)
    const again = await runCommand(['flags:backfill:apply', '--confirm'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual([parseReport(again.stdout).totals.applied_inserts, parseReport(again.stdout).totals.applied_updates], [1, 1])
  })

  test('the backend terminated while the inserted rows wait in the transaction: rolled back, exit 4; a later apply completes', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    // Holds apply inside its transaction, right after the INSERT, until the backend is terminated.
    await withSql(databaseUrl, sql => sql.unsafe(`
      CREATE FUNCTION hold_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
      CREATE TRIGGER hold AFTER INSERT ON console_flag_promotions FOR EACH STATEMENT EXECUTE FUNCTION hold_after_insert();`))
    const before = await dumpTable(databaseUrl)
    const running = runCli(['flags:backfill:apply', '--confirm'], env, {timeoutMs: 30_000})
    const backend = await waitFor('apply to sit in the trigger', async () => (await pluginBackends(databaseUrl)).find(b => b.wait_event === 'PgSleep'))
    await withSql(databaseUrl, sql => sql`SELECT pg_terminate_backend(${backend.pid})`)
    const result = await running
    assert.equal(result.code, 4, result.stderr)
    assertOneLine(result.stderr, /^Error: (the connection to .+ was closed by the server: terminating connection due to administrator command|the connection to .+ was lost); the transaction was rolled back, nothing was written$/)
    assert.deepEqual(await dumpTable(databaseUrl), before)

    await withSql(databaseUrl, sql => sql`DROP TRIGGER hold ON console_flag_promotions`)
    const again = await runCommand(['flags:backfill:apply', '--confirm'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(parseReport(again.stdout).totals.applied_inserts, 1)
  })

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${signal} while apply waits for the lock: rolled back, connection closed, exit ${code}`, async () => {
      const {databaseUrl, env} = await insertAndUpdate()
      const lock = await holdBackfillLock(databaseUrl)
      try {
        const before = await dumpTable(databaseUrl)
        let child: import('node:child_process').ChildProcess | undefined
        const running = runCli(['flags:backfill:apply', '--confirm', '--lock-timeout', '60'], env, {onSpawn: spawned => (child = spawned), timeoutMs: 30_000})
        await waitFor('apply to wait on the lock', async () => (await pluginBackends(databaseUrl)).find(b => b.wait_event_type === 'Lock'))
        const started = Date.now()
        child!.kill(signal)
        const result = await running
        assert.ok(Date.now() - started < 10_000, 'exited within 10 s of the signal')
        assert.equal(result.code, code, result.stderr)
        assertOneLine(result.stderr, new RegExp(`^Error: interrupted by ${signal}: the database connection was closed and its open transaction rolled back`))
        assert.equal(result.stdout, '')
        await waitFor('the connection to be gone', async () => ((await pluginBackends(databaseUrl)).length === 0 ? true : undefined), 5000)
        assert.deepEqual(await dumpTable(databaseUrl), before)
      } finally {
        await lock.release()
      }
    })
  }
})

describe('the lock', () => {
  test('--lock-timeout 1 with the lock held: exit 4, and the message\'s query finds the holder', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    const lock = await holdBackfillLock(databaseUrl)
    try {
      const result = await runCommand(['flags:backfill:apply', '--confirm', '--lock-timeout', '1'], env)
      assert.equal(result.code, 4)
      assertOneLine(result.stderr, /^Error: another apply holds the backfill lock on .+; wait for it or raise --lock-timeout; find it with: SELECT .+$/)
      const query = /find it with: (SELECT .+)$/.exec(result.stderr.trim())![1]
      const holders = await withSql(databaseUrl, sql => sql.unsafe(query))
      assert.deepEqual(holders.map(row => row.pid), [lock.pid])
    } finally {
      await lock.release()
    }
  })

  test('--lock-timeout 0 does not wait at all (PostgreSQL would read 0 as "forever")', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    const lock = await holdBackfillLock(databaseUrl)
    try {
      const result = await runCli(['flags:backfill:apply', '--confirm', '--lock-timeout', '0'], env, {timeoutMs: 20_000})
      assert.equal(result.code, 4, result.stderr)
      assert.match(result.stderr, /another apply holds the backfill lock/)
    } finally {
      await lock.release()
    }
  })
})

describe('PgBouncer transaction mode and server notices', () => {
  test('no named prepared statements; NOTICEs go to stderr, stdout stays one JSON document', async () => {
    const {databaseUrl, env} = await insertAndUpdate()
    // Runs inside apply's own session: what it sees there is what PgBouncer would have to carry.
    await withSql(databaseUrl, sql => sql.unsafe(`
      CREATE TABLE seen (prepared int);
      CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        RAISE NOTICE 'audit: % %', TG_OP, NEW.flag_name;
        INSERT INTO seen SELECT count(*) FROM pg_prepared_statements;
        RETURN NEW; END $$;
      CREATE TRIGGER audit BEFORE INSERT OR UPDATE ON console_flag_promotions FOR EACH ROW EXECUTE FUNCTION audit();`))
    const result = await runCli(['flags:backfill:apply', '--confirm'], env)
    assert.equal(result.code, 0, result.stderr)
    assert.equal(parseReport(result.stdout).totals.applied_inserts, 1)
    assert.match(result.stderr, /database notice: audit: INSERT FLAG_NEW/)
    assert.match(result.stderr, /database notice: audit: UPDATE FLAG_OLD/)
    const seen = await withSql(databaseUrl, sql => sql<Array<{prepared: number}>>`SELECT prepared FROM seen`)
    assert.deepEqual(seen.map(row => row.prepared), [0, 0])
  })
})

test('the lock key the README and the message name is the one apply takes', () => {
  assert.equal(ADVISORY_LOCK_KEY, 20_120_078)
})
