// The commands end to end through their real classes, against a real PostgreSQL and the local
// Heroku API stand-in over HTTP (HEROKU_HOST), the same code path users run.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {runCommand} from './support/cli.js'
import {dumpTable, parseReport, scenario, seedRow, withSql} from './support/fixture.js'

const APP = 'raxx-api-staging'

describe('the runbook walk-through', () => {
  test('plan counts → apply writes them → re-plan is 0/0 → verify exits 0', async () => {
    const {databaseUrl, env, heroku} = await scenario({
      apps: {
        'raxx-api-prod': {DATABASE_URL: 'postgres://x', FLAG_NEW: 'on', FLAG_OLD: 'off', FLAG_SYNCED: '1', flag_lower: 'x'},
        [APP]: {FLAG_A: 'true', FLAG_B: '0.25', NODE_ENV: 'staging'},
      },
      rows: [
        seedRow({app_name: 'raxx-api-prod', flag_name: 'FLAG_OLD', target_value: 'off'}),
        seedRow({app_name: 'raxx-api-prod', flag_name: 'FLAG_SYNCED', last_heroku_value: '1', synced: true, target_value: '1'}),
        seedRow({app_name: APP, flag_name: 'FLAG_A', state: 'pending'}),
        seedRow({app_name: APP, flag_name: 'FLAG_B', target_value: '0.5'}),
      ],
    })

    const plan = await runCommand(['flags:backfill:plan'], env)
    assert.equal(plan.code, 0, plan.stderr)
    const planned = parseReport(plan.stdout)
    assert.equal(planned.mode, 'DRY-RUN')
    assert.deepEqual(planned.apps.map((a: any) => [a.app, a.flags_found, a.planned_inserts, a.planned_updates, a.skipped_existing, a.applied_inserts]),
      [['raxx-api-prod', 3, 1, 1, 1, null], [APP, 2, 1, 1, 0, null]])
    assert.deepEqual(planned.totals, {applied_inserts: null, applied_updates: null, flags_found: 5, planned_inserts: 2, planned_updates: 2, skipped_existing: 1, warnings: 3})
    assert.deepEqual(planned.apps[1].warnings.map((w: any) => w.kind).sort(), ['pending_row', 'value_mismatch'])
    assert.match(plan.stderr, /^ raxx-api-prod +3 +1 +1 +1 +1$/m, 'the summary table: flags, inserts, updates, skips, warnings')
    const before = await dumpTable(databaseUrl)

    const apply = await runCommand(['flags:backfill:apply', '--confirm'], env)
    assert.equal(apply.code, 0, apply.stderr)
    const applied = parseReport(apply.stdout)
    assert.equal(applied.mode, 'APPLY')
    assert.deepEqual(applied.apps.map((a: any) => [a.applied_inserts, a.applied_updates]), [[1, 1], [1, 1]])

    const after = await dumpTable(databaseUrl)
    assert.equal(after.length, before.length + 2)
    const inserted = after.find(row => row.app_name === 'raxx-api-prod' && row.flag_name === 'FLAG_NEW')!
    assert.deepEqual(
      {...inserted, created_at: undefined, id: undefined, last_synced_at: undefined, updated_at: undefined},
      {
        app_name: 'raxx-api-prod', created_at: undefined, created_by: 'system_backfill', drift_detected_at: null, drift_reason: null, flag_name: 'FLAG_NEW',
        id: undefined, last_heroku_value: 'on', last_synced_at: undefined, state: 'deployed', sync_source: 'heroku_cli_backfill', synced: true, target_value: 'on', updated_at: undefined,
      },
    )
    assert.equal(inserted.last_synced_at!.toISOString().replace('.000Z', '+00:00'), applied.run_at_utc)

    // An update changes exactly synced, last_heroku_value, last_synced_at, sync_source, updated_at.
    const oldBefore = before.find(row => row.flag_name === 'FLAG_B')!
    const oldAfter = after.find(row => row.id === oldBefore.id)!
    assert.deepEqual({...oldAfter, last_heroku_value: null, last_synced_at: null, sync_source: null, synced: false, updated_at: null},
      {...oldBefore, updated_at: null})
    assert.equal(oldAfter.last_heroku_value, '0.25')
    assert.equal(oldAfter.target_value, '0.5', 'target_value is left alone (reported as value_mismatch)')
    assert.ok(oldAfter.updated_at > oldBefore.updated_at)
    // The pending row is never written.
    assert.deepEqual(after.find(row => row.state === 'pending'), before.find(row => row.state === 'pending'))

    const replan = parseReport((await runCommand(['flags:backfill:plan'], env)).stdout)
    assert.deepEqual([replan.totals.planned_inserts, replan.totals.planned_updates, replan.totals.skipped_existing], [0, 0, 5])

    const verify = await runCommand(['flags:backfill:verify'], env)
    assert.equal(verify.code, 0, verify.stderr)
    const verified = parseReport(verify.stdout)
    assert.equal(verified.mode, 'VERIFY')
    assert.equal(verified.verify.passed, true)
    assert.match(verify.stderr, /verify passed/)

    // Read-only towards Heroku: only GETs of config vars (and of the account, for the journal) ever left the plugin.
    assert.ok(heroku.requests.length > 0)
    assert.ok(heroku.requests.every(request => request.method === 'GET' && /^\/apps\/[^/]+\/config-vars$|^\/account$/.test(request.path)))
  })

  test('a second apply writes nothing and reports 0 applied', async () => {
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}, rows: [seedRow({app_name: APP, flag_name: 'FLAG_B'})]})
    assert.equal((await runCommand(['flags:backfill:apply', '--confirm'], env)).code, 0)
    const once = await dumpTable(databaseUrl)
    const again = await runCommand(['flags:backfill:apply', '--confirm'], env)
    assert.equal(again.code, 0)
    assert.deepEqual(parseReport(again.stdout).totals, {applied_inserts: 0, applied_updates: 0, flags_found: 1, planned_inserts: 0, planned_updates: 0, skipped_existing: 1, warnings: 1})
    assert.deepEqual(await dumpTable(databaseUrl), once)
  })
})

describe('refusals and failures', () => {
  test('apply without --confirm: exit 2, nothing fetched, nothing written', async () => {
    const {databaseUrl, env, heroku} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}})
    const result = await runCommand(['flags:backfill:apply'], env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /needs --confirm/)
    assert.equal(result.stdout, '')
    assert.equal(heroku.requests.length, 0)
    assert.deepEqual(await dumpTable(databaseUrl), [])
  })

  test('apply --confirm APP (the heroku habit) is explained, exit 2', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}})
    const result = await runCommand(['flags:backfill:apply', '--confirm', APP], env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--confirm takes no value/)
  })

  test('one app answering 404 among good ones: exit 1, named on stderr, the others applied', async () => {
    const {databaseUrl, env} = await scenario({apps: {'raxx-api-prod': {FLAG_A: '1'}, [APP]: {FLAG_B: '2'}}})
    const result = await runCommand(['flags:backfill:apply', '--confirm', '--app', 'raxx-api-prod', '--app', 'raxx-gone', '--app', APP], env)
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^fetch failed for raxx-gone: HTTP 404: Couldn't find that app\. \[not_found\]/m)
    const report = parseReport(result.stdout)
    assert.deepEqual(report.apps.map((a: any) => a.app), ['raxx-api-prod', 'raxx-gone', APP])
    assert.match(report.apps[1].error, /404/)
    assert.deepEqual((await dumpTable(databaseUrl)).map(row => `${row.app_name}/${row.flag_name}`), ['raxx-api-prod/FLAG_A', `${APP}/FLAG_B`])
  })

  test('a bad token: exit 1, hint at heroku login, token never printed', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}})
    const result = await runCommand(['flags:backfill:plan'], {...env, HEROKU_API_KEY: 'wrong-token-value'})
    assert.equal(result.code, 1)
    assert.match(result.stderr, /fetch failed for raxx-api-staging: HTTP 401.*heroku login/)
    assert.ok(!result.stderr.includes('wrong-token-value') && !result.stdout.includes('wrong-token-value'))
  })

  test('no Heroku login at all: exit 1 without prompting', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}})
    const result = await runCommand(['flags:backfill:plan'], {...env, HEROKU_API_KEY: undefined})
    assert.equal(result.code, 1)
    assert.match(result.stderr, /not logged in to Heroku; run `heroku login`/)
  })

  test('a missing 0078 column: exit 4 naming the columns, before any fetch', async () => {
    const {env, heroku} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}, schema: 'pre-0078'})
    const result = await runCommand(['flags:backfill:apply', '--confirm'], env)
    assert.equal(result.code, 4)
    assert.match(result.stderr, /missing columns drift_detected_at, drift_reason, last_heroku_value, last_synced_at, sync_source, synced \(added by migration 0078/)
    assert.equal(result.stdout, '')
    assert.equal(heroku.requests.length, 0)
  })

  test('a missing table: exit 4', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}, schema: 'none'})
    const result = await runCommand(['flags:backfill:plan'], env)
    assert.equal(result.code, 4)
    assert.match(result.stderr, /table console_flag_promotions does not exist/)
  })

  test('no database URL: exit 4 before any network call', async () => {
    const {env, heroku} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}})
    const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: undefined})
    assert.equal(result.code, 4)
    assert.match(result.stderr, /no database URL: set DATABASE_URL or pass --database-url/)
    assert.equal(heroku.requests.length, 0)
  })

  test('a wrong password: exit 4, password never printed', async () => {
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}})
    const url = new URL(databaseUrl)
    url.password = 'Sup3r-S3cret'
    url.username = 'nobody_here'
    const result = await runCommand(['flags:backfill:plan'], {...env, DATABASE_URL: url.toString()})
    assert.equal(result.code, 4, result.stderr)
    assert.ok(!result.stderr.includes('Sup3r-S3cret'))
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
  })

  test('an invalid app name is a usage error', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: 'x'}}})
    const result = await runCommand(['flags:backfill:plan', '--app', '../account'], env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /invalid app name/)
  })
})

describe('verify', () => {
  test('work left: exit 3 listing the flags and the unsynced rows', async () => {
    const {env} = await scenario({
      apps: {[APP]: {FLAG_NEW: '1'}},
      rows: [seedRow({app_name: APP, flag_name: 'FLAG_GONE'})],
    })
    const result = await runCommand(['flags:backfill:verify'], env)
    assert.equal(result.code, 3, result.stderr)
    const report = parseReport(result.stdout)
    assert.equal(report.verify.passed, false)
    assert.deepEqual(report.verify.checks.map((c: any) => [c.name, c.passed]),
      [['all_apps_fetched', true], ['plan_empty', false], ['no_unsynced_deployed_rows', false], ['no_pending_rows', true]])
    assert.match(result.stderr, /raxx-api-staging\/FLAG_NEW \(insert\)/)
    assert.match(result.stderr, /raxx-api-staging\/FLAG_GONE \(id \d+\)/)
  })

  test('pending rows fail verify only with --strict', async () => {
    const {env} = await scenario({
      apps: {[APP]: {FLAG_A: '1'}},
      rows: [seedRow({app_name: APP, flag_name: 'FLAG_A', synced: true, target_value: '1'}), seedRow({app_name: APP, flag_name: 'FLAG_A', state: 'approved'})],
    })
    assert.equal((await runCommand(['flags:backfill:verify'], env)).code, 0)
    const strict = await runCommand(['flags:backfill:verify', '--strict'], env)
    assert.equal(strict.code, 3)
    assert.deepEqual(parseReport(strict.stdout).verify.pending_rows.map((r: any) => r.state), ['approved'])
  })

  test('a fetch failure wins over work left: exit 1', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_NEW: '1'}}})
    const result = await runCommand(['flags:backfill:verify', '--app', APP, '--app', 'raxx-gone'], env)
    assert.equal(result.code, 1)
  })
})

test('plan --detailed-exitcode: 3 with changes, 0 without', async () => {
  const {env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}})
  assert.equal((await runCommand(['flags:backfill:plan', '--detailed-exitcode'], env)).code, 3)
  assert.equal((await runCommand(['flags:backfill:apply', '--confirm'], env)).code, 0)
  assert.equal((await runCommand(['flags:backfill:plan', '--detailed-exitcode'], env)).code, 0)
})

test('values are kept byte-exact end to end, and a re-plan after apply is empty', async () => {
  const values: Record<string, string> = {
    FLAG_CRLF: 'a\r\nb',
    FLAG_EMPTY: '',
    FLAG_JSON: '{"rollout":0.25,"segments":["beta","staff"]}',
    FLAG_LARGE: 'x'.repeat(30_000),
    FLAG_MULTILINE: 'line one\nline two\n',
    FLAG_QUOTES: `it's "quoted" \\ back\\slash {braces,commas} NULL`,
    FLAG_SPACES: '  padded  ',
    FLAG_SQL: "'); DROP TABLE console_flag_promotions; --",
    FLAG_UNICODE: 'café ✓ 旗 🚩',
  }
  const {databaseUrl, env} = await scenario({
    apps: {[APP]: values},
    rows: [seedRow({app_name: APP, flag_name: 'FLAG_EMPTY', target_value: ''}), seedRow({app_name: APP, flag_name: 'FLAG_UNICODE', target_value: 'old'})],
  })
  const apply = await runCommand(['flags:backfill:apply', '--confirm'], env)
  assert.equal(apply.code, 0, apply.stderr)
  const report = parseReport(apply.stdout)
  for (const entry of [...report.apps[0].inserts, ...report.apps[0].updates]) assert.equal(entry.value, values[entry.flag])
  const rows = await withSql(databaseUrl, sql => sql<Array<{flag_name: string; last_heroku_value: string}>>`
    SELECT flag_name, last_heroku_value FROM console_flag_promotions WHERE state = 'deployed'`)
  assert.equal(rows.length, Object.keys(values).length)
  for (const row of rows) assert.equal(row.last_heroku_value, values[row.flag_name], row.flag_name)
  const replan = parseReport((await runCommand(['flags:backfill:plan'], env)).stdout)
  assert.deepEqual([replan.totals.planned_inserts, replan.totals.planned_updates], [0, 0])
})
