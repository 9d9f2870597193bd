// The inputs and the human output of every command, through the real command classes against a
// real PostgreSQL and the Heroku API stand-in: --db-app, --quiet, --matrix, the context header.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {runCommand} from './support/cli.js'
import {parseReport, scenario, seedRow} from './support/fixture.js'

const APP = 'raxx-api-staging'
const DB_APP = 'raxx-console-db'

/**
 * A scenario whose database URL lives only in the config vars of DB_APP, not in the environment.
 * The URL always carries a password, so the tests can look for it: a server of one's own
 * (TEST_DATABASE_URL) that trusts local connections ignores it.
 */
async function dbAppScenario(dbVars: (databaseUrl: string) => Record<string, string | null>) {
  const base = await scenario({apps: {[APP]: {FLAG_A: 'on'}}})
  const url = new URL(base.databaseUrl)
  url.password ||= 'Trusted-Anyway-7'
  base.heroku.setApp(DB_APP, {configVars: dbVars(url.toString())})
  return {...base, databaseUrl: url.toString(), env: {...base.env, DATABASE_URL: undefined as unknown as string}}
}

describe('--db-app', () => {
  test('reads DATABASE_URL of the app with the same Heroku login; the URL and password are never printed', async () => {
    const {databaseUrl, env, heroku} = await dbAppScenario(url => ({DATABASE_URL: url, OTHER: 'x'}))
    const result = await runCommand(['flags:backfill:plan', '--db-app', DB_APP], env)
    assert.equal(result.code, 0, result.stderr)
    assert.equal(parseReport(result.stdout).totals.planned_inserts, 1)
    const {password, port} = new URL(databaseUrl)
    assert.match(result.stderr, new RegExp(`^Database: +\\S+@127\\.0\\.0\\.1:${port}/\\w+ \\(DATABASE_URL of ${DB_APP}\\)$`, 'm'))
    for (const output of [result.stderr, result.stdout]) {
      assert.ok(!output.includes(databaseUrl) && !output.includes(password), 'neither the URL nor its password is printed')
    }

    assert.deepEqual(heroku.requests.map(request => `${request.method} ${request.path}`).sort(),
      [`GET /apps/${APP}/config-vars`, `GET /apps/${DB_APP}/config-vars`])
    for (const request of heroku.requests) assert.equal(request.headers.authorization, `Bearer ${env.HEROKU_API_KEY}`)
  })

  test('--db-config-var picks another config var', async () => {
    const {env} = await dbAppScenario(url => ({DATABASE_URL: 'postgres://wrong:wrong@127.0.0.1:1/none', HEROKU_POSTGRESQL_RED_URL: url}))
    const result = await runCommand(['flags:backfill:verify', '--db-app', DB_APP, '--db-config-var', 'HEROKU_POSTGRESQL_RED_URL'], env)
    assert.equal(result.code, 3, result.stderr)
    assert.match(result.stderr, /\(HEROKU_POSTGRESQL_RED_URL of raxx-console-db\)/)
  })

  test('a missing config var: exit 4 naming the vars that hold database URLs, never their values', async () => {
    const {databaseUrl, env} = await dbAppScenario(url => ({HEROKU_POSTGRESQL_RED_URL: url, NODE_ENV: 'production'}))
    const result = await runCommand(['flags:backfill:plan', '--db-app', DB_APP], env)
    assert.equal(result.code, 4)
    assert.equal(result.stdout, '')
    assert.equal(result.stderr, `Error: ${DB_APP} has no config var DATABASE_URL; its database URLs are in HEROKU_POSTGRESQL_RED_URL (choose one with --db-config-var)\n`)
    assert.ok(!result.stderr.includes(new URL(databaseUrl).password))
  })

  test('an app that cannot be read: exit 4 with the Heroku error, before the database is touched', async () => {
    const {env} = await dbAppScenario(url => ({DATABASE_URL: url}))
    const result = await runCommand(['flags:backfill:apply', '--confirm', '--db-app', 'raxx-no-such-app'], env)
    assert.equal(result.code, 4)
    assert.match(result.stderr, /^Error: cannot read DATABASE_URL of raxx-no-such-app: HTTP 404: Couldn't find that app\. \[not_found\]/)
  })

  test('a wrong password in the config var: exit 4, the password never printed', async () => {
    const {env} = await dbAppScenario(url => ({DATABASE_URL: Object.assign(new URL(url), {password: 'Pr0d-S3cret%21', username: 'nobody_here'}).toString()}))
    const result = await runCommand(['flags:backfill:plan', '--db-app', DB_APP], env)
    assert.equal(result.code, 4, result.stderr)
    assert.match(result.stderr, /authentication failed for nobody_here@127\.0\.0\.1/)
    assert.ok(!result.stderr.includes('Pr0d-S3cret') && !result.stderr.includes('Pr0d-S3cret!'))
  })

  test('a malformed URL in the config var says which var to fix', async () => {
    const {env} = await dbAppScenario(() => ({DATABASE_URL: 'mysql://u:Pr0d-S3cret@db/x'}))
    const result = await runCommand(['flags:backfill:plan', '--db-app', DB_APP], env)
    assert.equal(result.code, 4)
    assert.match(result.stderr, /^Error: DATABASE_URL of raxx-console-db: the database URL must start with postgres:\/\//)
    assert.ok(!result.stderr.includes('Pr0d-S3cret'))
  })

  test('usage errors: with --database-url, --db-config-var alone, a bad name (exit 2, no request)', async () => {
    const {env, heroku} = await dbAppScenario(url => ({DATABASE_URL: url}))
    for (const argv of [
      ['--db-app', DB_APP, '--database-url', 'postgres://u@127.0.0.1/x'],
      ['--db-config-var', 'DATABASE_URL'],
      ['--db-app', DB_APP, '--db-config-var', 'DATABASE-URL'],
      ['--db-app', 'Not/An/App'],
    ]) {
      const result = await runCommand(['flags:backfill:plan', ...argv], env)
      assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`)
      assert.equal(result.stdout, '')
    }

    assert.equal(heroku.requests.length, 0)
  })
})

describe('human output on stderr', () => {
  test('the apps and the database at the top, a progress line per app, then the table', async () => {
    const {databaseUrl, env} = await scenario({apps: {'raxx-api-prod': {FLAG_X: '1'}, [APP]: {FLAG_A: 'on', FLAG_B: 'off'}}})
    const result = await runCommand(['flags:backfill:plan', '--app', APP, '-a', 'raxx-api-prod'], env)
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stderr.split('\n')
    assert.equal(lines[0], `Apps:      ${APP}, raxx-api-prod (2)`)
    assert.equal(lines[1], `Database:  ${new URL(databaseUrl).username}@127.0.0.1:${new URL(databaseUrl).port}${new URL(databaseUrl).pathname} ($DATABASE_URL)`)
    assert.deepEqual(lines.filter(line => line.startsWith('fetched ')).sort(),
      ['fetched raxx-api-prod: 1 FLAG_ var of 1 config var', `fetched ${APP}: 2 FLAG_ vars of 2 config vars`])
    assert.match(result.stderr, /^=== DRY-RUN \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/m)
    assert.match(result.stderr, /^ raxx-api-staging +2 +2 +0 +0 +0$/m)
    assert.match(result.stderr, /^ total +3 +3 +0 +0 +0$/m)
    assert.doesNotMatch(result.stderr, /\u001B\[/, 'no colour when stderr is not a terminal')
  })

  test('--quiet: nothing on stderr when all is well; only the failure lines when not', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: 'on'}}, rows: [seedRow({app_name: APP, flag_name: 'FLAG_GONE'})]})
    const ok = await runCommand(['flags:backfill:plan', '--quiet'], env)
    assert.equal(ok.code, 0)
    assert.equal(ok.stderr, '')
    assert.equal(parseReport(ok.stdout).totals.planned_inserts, 1, 'the report is unchanged')

    const failed = await runCommand(['flags:backfill:plan', '-q', '--app', APP, '--app', 'raxx-gone'], env)
    assert.equal(failed.code, 1)
    assert.equal(failed.stderr.trim().split('\n').length, 1, failed.stderr)
    assert.match(failed.stderr, /^fetch failed for raxx-gone: HTTP 404: Couldn't find that app\. \[not_found\]/)

    const verify = await runCommand(['flags:backfill:verify', '--quiet'], env)
    assert.equal(verify.code, 3)
    assert.deepEqual(verify.stderr.trim().split('\n').map(line => line.trim().split(':')[0]),
      ['FAIL plan_empty', 'FAIL no_unsynced_deployed_rows', 'verify failed'])
  })

  test('--matrix: each flag\'s state on each app', async () => {
    const {env} = await scenario({
      apps: {'raxx-api-prod': {FLAG_NEW: '1', FLAG_SYNCED: 'a'}, [APP]: {FLAG_MISMATCH: 'live', FLAG_SYNCED: 'b', FLAG_UNSYNCED: 'x'}},
      rows: [
        seedRow({app_name: 'raxx-api-prod', flag_name: 'FLAG_SYNCED', synced: true, target_value: 'a'}),
        seedRow({app_name: APP, flag_name: 'FLAG_SYNCED', synced: true, target_value: 'b'}),
        seedRow({app_name: APP, flag_name: 'FLAG_UNSYNCED', target_value: 'x'}),
        seedRow({app_name: APP, flag_name: 'FLAG_MISMATCH', synced: true, target_value: 'tracked'}),
        seedRow({app_name: 'raxx-api-prod', flag_name: 'FLAG_UNSYNCED', target_value: 'x'}),
      ],
    })
    const result = await runCommand(['flags:backfill:plan', '--matrix', '--app', 'raxx-api-prod', '--app', APP], env)
    assert.equal(result.code, 0, result.stderr)
    const grid = result.stderr.slice(result.stderr.indexOf('=== flags × apps'))
    assert.match(grid, /^ Flag +raxx-api-prod +raxx-api-staging$/m)
    assert.match(grid, /^ FLAG_MISMATCH +missing +mismatch$/m)
    assert.match(grid, /^ FLAG_NEW +new +missing$/m)
    assert.match(grid, /^ FLAG_SYNCED +synced +synced$/m)
    assert.match(grid, /^ FLAG_UNSYNCED +missing \(unsynced row\) +unsynced$/m)
  })
})
