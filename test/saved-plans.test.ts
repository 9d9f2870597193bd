// Reviewed plans end to end: `plan --out FILE` then `apply --plan FILE --confirm`, through the real
// command classes against real PostgreSQL and the Heroku API stand-in. Staleness on either side,
// damaged files and re-application are each refused or recognised without a single write.
import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, test} from 'node:test'

import {RUNS_DIR, runCommand, tempDir} from './support/cli.js'
import {dumpTableText, parseReport, scenario, seedRow, withSql} from './support/fixture.js'

const APP = 'raxx-api-staging'
const OTHER = 'raxx-console-staging'

/** Two apps, one flag to insert, one row to update, one to skip on each side. */
async function twoApps() {
  const setup = await scenario({
    apps: {
      [APP]: {FLAG_NEW: 'on', FLAG_OLD: '0.25', FLAG_DONE: '1', NODE_ENV: 'staging'},
      [OTHER]: {FLAG_X: 'x', FLAG_Y: 'y'},
    },
    rows: [
      seedRow({app_name: APP, flag_name: 'FLAG_OLD', target_value: '0.25'}),
      seedRow({app_name: APP, flag_name: 'FLAG_DONE', last_heroku_value: '1', synced: true, target_value: '1'}),
      seedRow({app_name: OTHER, flag_name: 'FLAG_Y', target_value: 'y'}),
    ],
  })
  const planFile = join(tempDir(), 'plan.json')
  return {...setup, planFile}
}

async function savePlan(env: Record<string, string>, planFile: string) {
  const result = await runCommand(['flags:backfill:plan', '--out', planFile], env)
  assert.equal(result.code, 0, result.stderr)
  return result
}

describe('plan --out', () => {
  test('saves the DRY-RUN report plus a plan block, the same document it prints', async () => {
    const {env, planFile} = await twoApps()
    const result = await savePlan(env, planFile)
    const printed = parseReport(result.stdout)
    const saved = JSON.parse(readFileSync(planFile, 'utf8'))
    assert.deepEqual(saved, printed)
    assert.equal(saved.mode, 'DRY-RUN')
    assert.equal(saved.plan.version, 1)
    assert.match(saved.plan.plan_id, /^plan-\d{8}T\d{6}Z-[\da-f]{8}$/)
    assert.match(saved.plan.plan_hash, /^[\da-f]{64}$/)
    assert.deepEqual(saved.plan.apps.map((app: any) => [app.app, app.rows.length]), [[APP, 2], [OTHER, 1]])
    assert.match(saved.plan.apps[0].rows[0].updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'microsecond precision, UTC')
    assert.match(result.stderr, /saved to .*plan\.json; after review: heroku flags:backfill:apply --plan/)
  })

  test('refuses to overwrite a file unless --force; two plans of the same content are two plans', async () => {
    const {env, planFile} = await twoApps()
    writeFileSync(planFile, 'keep me')
    const refused = await runCommand(['flags:backfill:plan', '--out', planFile], env)
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /exists; pass --force/)
    assert.equal(refused.stdout, '')
    assert.equal(readFileSync(planFile, 'utf8'), 'keep me')

    const first = parseReport((await runCommand(['flags:backfill:plan', '--out', planFile, '--force'], env)).stdout)
    const second = parseReport((await runCommand(['flags:backfill:plan', '--out', planFile, '--force'], env)).stdout)
    assert.deepEqual(first.apps, second.apps)
    assert.deepEqual(first.plan.apps, second.plan.apps, 'same fingerprints')
    assert.notEqual(first.plan.plan_id, second.plan.plan_id)
    assert.notEqual(first.plan.plan_hash, second.plan.plan_hash)
  })

  test('--force without --out is a usage error', async () => {
    const {env} = await twoApps()
    assert.equal((await runCommand(['flags:backfill:plan', '--force'], env)).code, 2)
  })

  test('a plan with an app that could not be fetched is not saved: exit 1', async () => {
    const {env, planFile} = await twoApps()
    const result = await runCommand(['flags:backfill:plan', '--out', planFile, '--app', APP, '--app', 'raxx-gone'], env)
    assert.equal(result.code, 1)
    assert.match(result.stderr, /plan not saved/)
    assert.equal(existsSync(planFile), false)
    assert.equal(parseReport(result.stdout).plan, undefined)
  })
})

describe('apply --plan', () => {
  test('writes exactly the reviewed plan, records the run, and a re-plan is 0/0', async () => {
    const {databaseUrl, env, planFile} = await twoApps()
    const planned = parseReport((await savePlan(env, planFile)).stdout)

    const result = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
    assert.equal(result.code, 0, result.stderr)
    const applied = parseReport(result.stdout)
    assert.equal(applied.mode, 'APPLY')
    assert.deepEqual(applied.saved_plan, {applied_by_run: applied.run_id, moved: [], plan_hash: planned.plan.plan_hash, plan_id: planned.plan.plan_id, status: 'applied'})
    assert.deepEqual(applied.apps.map((app: any) => [app.app, app.applied_inserts, app.applied_updates]), [[APP, 1, 1], [OTHER, 1, 1]])
    assert.deepEqual(applied.apps.map((app: any) => app.inserts), planned.apps.map((app: any) => app.inserts))
    assert.deepEqual(applied.apps.map((app: any) => app.updates), planned.apps.map((app: any) => app.updates))

    const rows = await withSql(databaseUrl, sql => sql`SELECT app_name, flag_name, synced, last_heroku_value FROM console_flag_promotions ORDER BY app_name, flag_name`)
    assert.deepEqual(rows.map(row => `${row.app_name}/${row.flag_name}=${row.last_heroku_value}:${row.synced}`),
      [`${APP}/FLAG_DONE=1:true`, `${APP}/FLAG_NEW=on:true`, `${APP}/FLAG_OLD=0.25:true`, `${OTHER}/FLAG_X=x:true`, `${OTHER}/FLAG_Y=y:true`])

    const run = JSON.parse(readFileSync(join(RUNS_DIR, `${applied.run_id}.json`), 'utf8'))
    assert.equal(run.plan_hash, planned.plan.plan_hash)
    assert.equal(run.user, 'operator@raxx.example', 'the Heroku account from GET /account')
    assert.deepEqual(run.inserted.map((row: any) => row.flag), ['FLAG_NEW', 'FLAG_X'])
    assert.deepEqual(run.updated.map((row: any) => [row.flag, row.before.synced, row.after.synced]), [['FLAG_OLD', 'false', 'true'], ['FLAG_Y', 'false', 'true']])
    assert.match(result.stderr, new RegExp(`journal: run ${applied.run_id} recorded`))

    const replan = parseReport((await runCommand(['flags:backfill:plan'], env)).stdout)
    assert.deepEqual([replan.totals.planned_inserts, replan.totals.planned_updates], [0, 0])
  })

  test('the same plan again is recognised as applied: exit 0, no request, no write', async () => {
    const {databaseUrl, env, heroku, planFile} = await twoApps()
    await savePlan(env, planFile)
    const first = parseReport((await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)).stdout)
    const table = await dumpTableText(databaseUrl)
    const requests = heroku.requests.length

    const again = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
    assert.equal(again.code, 0, again.stderr)
    const report = parseReport(again.stdout)
    assert.equal(report.saved_plan.status, 'already_applied')
    assert.equal(report.saved_plan.applied_by_run, first.run_id)
    assert.equal(report.run_id, null)
    assert.equal(report.totals.applied_inserts, 0)
    assert.match(again.stderr, new RegExp(`already applied by run ${first.run_id}`))
    assert.equal(heroku.requests.length, requests)
    assert.deepEqual(await dumpTableText(databaseUrl), table)
  })

  const herokuMoves: Array<[string, (vars: Record<string, string>) => void, {added: string[]; removed: string[]; changed: string[]}]> = [
    ['a var changed', vars => { vars.FLAG_OLD = '0.5' }, {added: [], changed: ['FLAG_OLD'], removed: []}],
    ['a var added', vars => { vars.FLAG_BRAND_NEW = 'true' }, {added: ['FLAG_BRAND_NEW'], changed: [], removed: []}],
    ['a var removed', vars => { delete vars.FLAG_NEW }, {added: [], changed: [], removed: ['FLAG_NEW']}],
  ]
  for (const [what, change, expected] of herokuMoves) {
    test(`stale on the Heroku side (${what}): exit 5, the app and the var named, nothing written`, async () => {
      const {databaseUrl, env, heroku, planFile} = await twoApps()
      await savePlan(env, planFile)
      const vars: Record<string, string> = {FLAG_NEW: 'on', FLAG_OLD: '0.25', FLAG_DONE: '1', NODE_ENV: 'staging'}
      change(vars)
      heroku.setApp(APP, {configVars: vars})
      const table = await dumpTableText(databaseUrl)

      const result = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
      assert.equal(result.code, 5, result.stderr)
      const report = parseReport(result.stdout)
      assert.equal(report.saved_plan.status, 'stale')
      assert.equal(report.run_id, null)
      assert.deepEqual(report.saved_plan.moved, [{app: APP, config: expected, rows: {added: [], changed: [], removed: []}}])
      assert.equal(report.totals.applied_inserts, 0)
      assert.match(result.stderr, /^Error: plan plan-\S+ is stale/m)
      assert.match(result.stderr, new RegExp(`^  ${APP}: config var ${Object.entries(expected).find(([, flags]) => flags.length > 0)![0]}: `, 'm'))
      assert.deepEqual(await dumpTableText(databaseUrl), table)
    })
  }

  test('stale on the table side (a row inserted by someone else): exit 5, the row named', async () => {
    const {databaseUrl, env, planFile} = await twoApps()
    await savePlan(env, planFile)
    const [{id}] = await withSql(databaseUrl, sql => sql`
      INSERT INTO console_flag_promotions (app_name, flag_name, target_value, state, created_by)
      VALUES (${OTHER}, 'FLAG_X', 'x', 'pending', 'li.wei@raxx.example') RETURNING id::text AS id`)
    const table = await dumpTableText(databaseUrl)

    const result = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
    assert.equal(result.code, 5, result.stderr)
    assert.deepEqual(parseReport(result.stdout).saved_plan.moved,
      [{app: OTHER, config: {added: [], changed: [], removed: []}, rows: {added: [{flag: 'FLAG_X', id}], changed: [], removed: []}}])
    assert.match(result.stderr, new RegExp(`${OTHER}: row added: ${id} \\(FLAG_X\\)`))
    assert.deepEqual(await dumpTableText(databaseUrl), table)
  })

  test('stale on the table side (a row updated by someone else, even only its updated_at): exit 5', async () => {
    const {databaseUrl, env, planFile} = await twoApps()
    await savePlan(env, planFile)
    // Less than a millisecond later: the fingerprint keeps updated_at to the microsecond.
    const [{id}] = await withSql(databaseUrl, sql => sql`
      UPDATE console_flag_promotions SET updated_at = updated_at + interval '1 microsecond'
      WHERE flag_name = 'FLAG_OLD' RETURNING id::text AS id`)
    const table = await dumpTableText(databaseUrl)

    const result = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
    assert.equal(result.code, 5, result.stderr)
    assert.deepEqual(parseReport(result.stdout).saved_plan.moved[0].rows.changed, [{fields: ['updated_at'], flag: 'FLAG_OLD', id}])
    assert.match(result.stderr, new RegExp(`row changed: ${id} \\(FLAG_OLD: updated_at\\)`))
    assert.deepEqual(await dumpTableText(databaseUrl), table)
  })

  test('an app that cannot be fetched: exit 1, nothing written for any app', async () => {
    const {databaseUrl, env, heroku, planFile} = await twoApps()
    await savePlan(env, planFile)
    heroku.setFault(OTHER, {status: 404})
    const table = await dumpTableText(databaseUrl)
    const result = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
    assert.equal(result.code, 1, result.stderr)
    const report = parseReport(result.stdout)
    assert.equal(report.saved_plan.status, 'not_applied')
    assert.match(report.apps[1].error, /404/)
    assert.deepEqual(await dumpTableText(databaseUrl), table)
  })

  test('--plan with --app, or without --confirm, is a usage error', async () => {
    const {env, planFile} = await twoApps()
    await savePlan(env, planFile)
    const withApp = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm', '--app', APP], env)
    assert.equal(withApp.code, 2)
    assert.match(withApp.stderr, /--plan takes its apps from the plan file/)
    assert.equal((await runCommand(['flags:backfill:apply', '--plan', planFile], env)).code, 2)
  })
})

describe('damaged plan files: exit 2, every problem in words, nothing fetched or written', () => {
  const damages: Array<[string, (text: string) => string, RegExp[]]> = [
    ['truncated', text => text.slice(0, Math.floor(text.length / 2)), [/is not valid JSON \(truncated or damaged\?\)/]],
    ['hand-edited (a value changed)', text => text.replace('"value": "on"', '"value": "off"'), [/plan_hash does not match the content/]],
    ['from another format version', text => text.replace('"version": 1', '"version": 2'), [/plan format version 2; this version of the plugin reads version 1 only/]],
    ['missing fields and with a stray one', text => {
      const document = JSON.parse(text)
      delete document.plan.plan_id
      delete document.apps[0].inserts
      document.plan.approved_by = 'me'
      return JSON.stringify(document)
    }, [/\/plan must have required property 'plan_id'/, /\/apps\/0 must have required property 'inserts'/, /\/plan must NOT have additional properties \(approved_by\)/]],
    ['not a plan at all (a plain report)', text => {
      const document = JSON.parse(text)
      delete document.plan
      return JSON.stringify(document)
    }, [/must have required property 'plan'/]],
    ['from apply (mode APPLY)', text => text.replace('"mode": "DRY-RUN"', '"mode": "APPLY"'), [/\/mode must be equal to constant/]],
  ]
  for (const [what, damage, problems] of damages) {
    test(what, async () => {
      const {databaseUrl, env, heroku, planFile} = await twoApps()
      await savePlan(env, planFile)
      writeFileSync(planFile, damage(readFileSync(planFile, 'utf8')))
      const requests = heroku.requests.length
      const table = await dumpTableText(databaseUrl)
      const result = await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)
      assert.equal(result.code, 2, result.stderr)
      assert.equal(result.stdout, '')
      assert.match(result.stderr, /is not a usable plan: /)
      for (const problem of problems) assert.match(result.stderr, problem)
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
      assert.equal(heroku.requests.length, requests)
      assert.deepEqual(await dumpTableText(databaseUrl), table)
    })
  }

  test('a missing file', async () => {
    const {env} = await twoApps()
    const result = await runCommand(['flags:backfill:apply', '--plan', join(tempDir(), 'nope.json'), '--confirm'], env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /cannot read plan file .*nope\.json: no such file/)
  })
})

describe('apply never deletes', () => {
  test('rows whose flag vanished from Heroku are left untouched, by apply and by apply --plan', async () => {
    const gone = [
      seedRow({app_name: APP, flag_name: 'FLAG_GONE_UNSYNCED'}),
      seedRow({app_name: APP, flag_name: 'FLAG_GONE_SYNCED', last_heroku_value: 'true', synced: true}),
      seedRow({app_name: APP, created_by: 'system_backfill', flag_name: 'FLAG_GONE_BACKFILLED', last_heroku_value: 'true', sync_source: 'heroku_cli_backfill', synced: true}),
    ]
    const {databaseUrl, env} = await scenario({apps: {[APP]: {FLAG_LIVE: 'on'}}, rows: gone})
    const goneRows = async () => (await dumpTableText(databaseUrl)).filter(row => row.includes('FLAG_GONE'))
    const before = await goneRows()
    assert.equal(before.length, 3)

    assert.equal((await runCommand(['flags:backfill:apply', '--confirm'], env)).code, 0)
    assert.deepEqual(await goneRows(), before)

    const planFile = join(tempDir(), 'plan.json')
    await savePlan(env, planFile)
    assert.equal((await runCommand(['flags:backfill:apply', '--plan', planFile, '--confirm'], env)).code, 0)
    assert.deepEqual(await goneRows(), before)
  })
})
