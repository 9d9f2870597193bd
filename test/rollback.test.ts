// flags:backfill:rollback end to end: one run undone exactly (the table back byte for byte), rows
// changed after the run left alone, the runbook's broad rollback, and the journal's bookkeeping.
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, test} from 'node:test'

import {RUNS_DIR, runCli, runCommand, tempDir} from './support/cli.js'
import {dumpTableText, parseReport, parseRollbackReport, scenario, seedRow, withSql} from './support/fixture.js'

const APP = 'raxx-api-staging'
const OTHER = 'raxx-console-staging'

/** A table with rows the backfill updates, skips and leaves alone, and flags it inserts. */
function mixedScenario() {
  return scenario({
    apps: {
      [APP]: {FLAG_NEW: 'on', FLAG_OLD: '0.25', FLAG_DONE: '1', FLAG_EMPTY: ''},
      [OTHER]: {FLAG_X: 'Grüße — 取引 ✓', FLAG_Y: '{\n "a": 1\n}'},
    },
    rows: [
      seedRow({app_name: APP, flag_name: 'FLAG_OLD', target_value: '0.25'}),
      seedRow({app_name: APP, flag_name: 'FLAG_DONE', last_heroku_value: '1', synced: true, target_value: '1'}),
      seedRow({app_name: APP, flag_name: 'FLAG_PENDING', state: 'pending'}),
      seedRow({app_name: OTHER, flag_name: 'FLAG_Y', last_synced_at: '2026-01-02T03:04:05.123456Z', sync_source: 'console', target_value: 'old'}),
      seedRow({app_name: OTHER, flag_name: 'FLAG_Y', target_value: 'older'}),
    ],
  })
}

async function applyRun(env: Record<string, string>, extra: string[] = []) {
  const result = await runCommand(['flags:backfill:apply', '--confirm', ...extra], env)
  assert.equal(result.code, 0, result.stderr)
  const report = parseReport(result.stdout)
  assert.match(report.run_id, /^run-/)
  return report
}

const journalOf = (runId: string) => JSON.parse(readFileSync(join(RUNS_DIR, `${runId}.json`), 'utf8'))

describe('rollback of one run', () => {
  test('a run that inserted and updated: dry run first, then the table returns byte for byte to its prior state', async () => {
    const {databaseUrl, env} = await mixedScenario()
    const before = await dumpTableText(databaseUrl)
    const applied = await applyRun(env)
    assert.deepEqual([applied.totals.applied_inserts, applied.totals.applied_updates], [3, 2])
    const afterApply = await dumpTableText(databaseUrl)
    assert.notDeepEqual(afterApply, before)

    const dry = await runCommand(['flags:backfill:rollback', '--run', applied.run_id], env)
    assert.equal(dry.code, 0, dry.stderr)
    const planned = parseRollbackReport(dry.stdout)
    assert.equal(planned.dry_run, true)
    assert.deepEqual(planned.totals, {already_undone: 0, applied_deletes: null, applied_restores: null, conflicts: 0, deletes: 3, restores: 3})
    assert.deepEqual(planned.apps.map((app: any) => [app.app, app.deletes.map((row: any) => row.flag), app.restores.map((row: any) => row.flag)]),
      [[APP, ['FLAG_EMPTY', 'FLAG_NEW'], ['FLAG_OLD']], [OTHER, ['FLAG_X'], ['FLAG_Y', 'FLAG_Y']]])
    assert.deepEqual(Object.keys(planned.apps[0].restores[0].restore), ['last_heroku_value', 'last_synced_at', 'sync_source', 'synced', 'updated_at'])
    assert.equal(planned.apps[0].restores[0].restore.synced, 'false')
    assert.match(dry.stderr, /dry run: nothing was changed; add --confirm/)
    assert.deepEqual(await dumpTableText(databaseUrl), afterApply, 'a dry run changes nothing')

    const done = await runCommand(['flags:backfill:rollback', '--run', applied.run_id, '--confirm'], env)
    assert.equal(done.code, 0, done.stderr)
    const report = parseRollbackReport(done.stdout)
    assert.equal(report.dry_run, false)
    assert.deepEqual([report.totals.applied_deletes, report.totals.applied_restores], [3, 3])
    assert.equal(report.run.run_id, applied.run_id)
    assert.deepEqual(await dumpTableText(databaseUrl), before)

    const journal = journalOf(applied.run_id)
    assert.equal(journal.rollbacks.length, 1)
    assert.equal(journal.rollbacks[0].user, 'operator@raxx.example')
    assert.equal(journal.rollbacks[0].deleted.length, 3)

    // Again: nothing left to do, nothing changed, still exit 0.
    const again = await runCommand(['flags:backfill:rollback', '--run', applied.run_id, '--confirm'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(parseRollbackReport(again.stdout).totals, {already_undone: 6, applied_deletes: 0, applied_restores: 0, conflicts: 0, deletes: 0, restores: 0})
    assert.deepEqual(await dumpTableText(databaseUrl), before)
  })

  test('rows edited after the run are listed and left alone (exit 5); the rest is undone', async () => {
    const {databaseUrl, env} = await mixedScenario()
    const applied = await applyRun(env)
    const journal = journalOf(applied.run_id)
    const insertedNew = journal.inserted.find((row: any) => row.flag === 'FLAG_NEW').id
    const updatedOld = journal.updated.find((row: any) => row.flag === 'FLAG_OLD').id
    await withSql(databaseUrl, async sql => {
      await sql`UPDATE console_flag_promotions SET target_value = 'off', updated_at = now() WHERE id = ${insertedNew}`
      await sql`UPDATE console_flag_promotions SET drift_reason = 'edited in the console' WHERE id = ${updatedOld}`
    })
    const edited = (await dumpTableText(databaseUrl)).filter(row => row.startsWith(`(${insertedNew},`) || row.startsWith(`(${updatedOld},`))

    const result = await runCommand(['flags:backfill:rollback', '--run', applied.run_id, '--confirm'], env)
    assert.equal(result.code, 5, result.stderr)
    const report = parseRollbackReport(result.stdout)
    assert.deepEqual(report.apps[0].conflicts, [
      {action: 'delete', changed_columns: ['target_value', 'updated_at'], flag: 'FLAG_NEW', id: insertedNew, reason: 'changed since the run inserted it'},
      {action: 'restore', changed_columns: ['drift_reason'], flag: 'FLAG_OLD', id: updatedOld, reason: 'changed since the run updated it'},
    ])
    assert.deepEqual([report.totals.applied_deletes, report.totals.applied_restores, report.totals.conflicts], [2, 2, 2])
    assert.match(result.stderr, new RegExp(`row ${insertedNew} \\(FLAG_NEW\\): changed since the run inserted it \\(target_value, updated_at\\)`))

    const rows = await dumpTableText(databaseUrl)
    assert.deepEqual(rows.filter(row => row.startsWith(`(${insertedNew},`) || row.startsWith(`(${updatedOld},`)), edited, 'the edited rows are untouched')
    const [{count}] = await withSql(databaseUrl, sql => sql`SELECT count(*)::int AS count FROM console_flag_promotions WHERE created_by = 'system_backfill'`)
    assert.equal(count, 1, 'only the edited inserted row is left')
  })

  test('a saved plan may be applied again once its run is rolled back', async () => {
    const {databaseUrl, env} = await mixedScenario()
    const planFile = join(tempDir(), 'plan.json')
    assert.equal((await runCommand(['flags:backfill:plan', '--out', planFile], env)).code, 0)
    const first = await applyRun(env, ['--plan', planFile])
    const afterFirst = await dumpTableText(databaseUrl)
    assert.equal((await runCommand(['flags:backfill:rollback', '--run', first.run_id, '--confirm'], env)).code, 0)

    const second = await applyRun(env, ['--plan', planFile])
    assert.equal(second.saved_plan.status, 'applied')
    assert.notEqual(second.run_id, first.run_id)
    const strip = (rows: string[]) => rows.map(row => row.split(',').slice(1, 5).join(','))
    assert.deepEqual(strip(await dumpTableText(databaseUrl)), strip(afterFirst), 'the same rows written again (new ids and times)')
  })

  test('--journal FILE on apply and on rollback', async () => {
    const {databaseUrl, env} = await mixedScenario()
    const before = await dumpTableText(databaseUrl)
    const journal = join(tempDir(), 'run.json')
    const applied = await applyRun(env, ['--journal', journal])
    assert.equal(JSON.parse(readFileSync(journal, 'utf8')).run_id, applied.run_id)

    const refused = await runCommand(['flags:backfill:apply', '--confirm', '--journal', journal], env)
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /journal file .* exists/)

    const result = await runCommand(['flags:backfill:rollback', '--journal', journal, '--confirm'], env)
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(await dumpTableText(databaseUrl), before)
  })

  test('an apply that writes nothing records no run', async () => {
    const {env} = await scenario({apps: {[APP]: {FLAG_A: '1'}}, rows: [seedRow({app_name: APP, flag_name: 'FLAG_A', synced: true})]})
    const report = parseReport((await runCommand(['flags:backfill:apply', '--confirm'], env)).stdout)
    assert.equal(report.run_id, null)
  })
})

describe('rollback refusals', () => {
  test('usage: no selector, two selectors, a malformed or unknown run id, a damaged journal: exit 2', async () => {
    const {env} = await mixedScenario()
    const cases: Array<[string[], RegExp]> = [
      [[], /say what to roll back/],
      [['--run', 'run-20260101T000000Z-00000000', '--all-backfilled'], /choose one of --run, --all-backfilled/],
      [['--run', '../../etc/passwd'], /invalid run id/],
      [['--run', 'run-20260101T000000Z-00000000'], /cannot read journal run .*: no such file/],
    ]
    const damaged = join(tempDir(), 'run.json')
    const applied = await applyRun(env, ['--journal', damaged])
    const text = readFileSync(damaged, 'utf8')
    const document = JSON.parse(text)
    document.inserted[0].after = 'gone'
    writeFileSync(damaged, JSON.stringify(document))
    cases.push([['--journal', damaged], /is not a usable journal run: \/inserted\/0\/after must be object/])
    assert.match(applied.run_id, /^run-/)

    for (const [argv, message] of cases) {
      const result = await runCommand(['flags:backfill:rollback', ...argv], env)
      assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
      assert.equal(result.stdout, '')
    }
  })

  test('a run recorded on another database: exit 4, nothing changed', async () => {
    const first = await mixedScenario()
    const applied = await applyRun(first.env)
    const second = await mixedScenario()
    const table = await dumpTableText(second.databaseUrl)
    const result = await runCommand(['flags:backfill:rollback', '--run', applied.run_id, '--confirm'], second.env)
    assert.equal(result.code, 4, result.stderr)
    assert.match(result.stderr, /was applied to database fb_\w+, not fb_\w+: check --db-app, --database-url or DATABASE_URL/)
    assert.deepEqual(await dumpTableText(second.databaseUrl), table)
  })
})

describe('rollback --all-backfilled (the runbook\'s broad DELETE)', () => {
  test('dry run lists every backfilled row; --confirm deletes exactly those, across runs', async () => {
    const {databaseUrl, env, heroku} = await mixedScenario()
    const handMade = seedRow({app_name: APP, created_by: 'system_backfill', flag_name: 'FLAG_PENDING_BACKFILL', state: 'pending', sync_source: 'heroku_cli_backfill'})
    await withSql(databaseUrl, sql => sql`INSERT INTO console_flag_promotions (app_name, flag_name, state, created_by, sync_source)
      VALUES (${handMade.app_name}, ${handMade.flag_name}, ${handMade.state}, ${handMade.created_by}, ${handMade.sync_source!})`)
    await applyRun(env)
    heroku.setApp(APP, {configVars: {FLAG_NEW: 'on', FLAG_OLD: '0.25', FLAG_DONE: '1', FLAG_EMPTY: '', FLAG_LATER: 'x'}})
    await applyRun(env)
    const afterApplies = await dumpTableText(databaseUrl)

    const dry = await runCommand(['flags:backfill:rollback', '--all-backfilled'], env)
    assert.equal(dry.code, 0, dry.stderr)
    const planned = parseRollbackReport(dry.stdout)
    assert.equal(planned.scope, 'all-backfilled')
    assert.equal(planned.run, null)
    assert.deepEqual(planned.apps.map((app: any) => [app.app, app.deletes.map((row: any) => row.flag)]), [[APP, ['FLAG_EMPTY', 'FLAG_LATER', 'FLAG_NEW']], [OTHER, ['FLAG_X']]])
    assert.deepEqual(await dumpTableText(databaseUrl), afterApplies)

    const done = await runCommand(['flags:backfill:rollback', '--all-backfilled', '--confirm'], env)
    assert.equal(done.code, 0, done.stderr)
    assert.equal(parseRollbackReport(done.stdout).totals.applied_deletes, 4)
    const left = await withSql(databaseUrl, sql => sql`SELECT flag_name, created_by, synced FROM console_flag_promotions ORDER BY id`)
    assert.deepEqual(left.map(row => row.flag_name), ['FLAG_OLD', 'FLAG_DONE', 'FLAG_PENDING', 'FLAG_Y', 'FLAG_Y', 'FLAG_PENDING_BACKFILL'],
      'updated rows stay updated and a non-deployed row stays: the broad DELETE only removes deployed backfilled rows')
  })
})

test('through bin/run.js: plan --out → apply --plan → rollback --run, journal in the CLI data directory', async () => {
  const {databaseUrl, env} = await mixedScenario()
  const before = await dumpTableText(databaseUrl)
  const planFile = join(tempDir(), 'plan.json')
  assert.equal((await runCli(['flags:backfill:plan', '--out', planFile], env)).code, 0)
  const apply = await runCli(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
  assert.equal(apply.code, 0, apply.stderr)
  const runId = parseReport(apply.stdout).run_id
  assert.equal(journalOf(runId).run_id, runId)
  const rollback = await runCli(['flags:backfill:rollback', '--run', runId, '--confirm'], env)
  assert.equal(rollback.code, 0, rollback.stderr)
  parseRollbackReport(rollback.stdout)
  assert.deepEqual(await dumpTableText(databaseUrl), before)
})
