// A few runs of the real executable (bin/run.js as a child process): real exit codes, real
// streams, stdin closed, and stdout that pipes into a JSON parser on its own.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runbookDataset} from '../tools/seed.js'
import {runCli} from './support/cli.js'
import {parseReport, scenario, withSql} from './support/fixture.js'

test('the runbook on the runbook data set: plan → apply → plan → verify through bin/run.js', async () => {
  const dataset = runbookDataset()
  const {databaseUrl, env} = await scenario({apps: dataset.apps, rows: dataset.rows})

  const plan = await runCli(['flags:backfill:plan'], env)
  assert.equal(plan.code, 0, plan.stderr)
  const planned = parseReport(plan.stdout)
  assert.deepEqual(planned.apps.map((app: any) => app.flags_found), [5, 53, 38, 76])
  for (const app of planned.apps) assert.equal(app.flags_found, app.planned_inserts + app.planned_updates + app.skipped_existing)
  assert.ok(planned.totals.planned_inserts > 0 && planned.totals.planned_updates > 0)

  const apply = await runCli(['flags:backfill:apply', '--confirm'], env)
  assert.equal(apply.code, 0, apply.stderr)
  const applied = parseReport(apply.stdout)
  assert.equal(applied.totals.applied_inserts, planned.totals.planned_inserts)
  assert.equal(applied.totals.applied_updates, planned.totals.planned_updates)

  const replan = await runCli(['flags:backfill:plan', '--detailed-exitcode'], env)
  assert.equal(replan.code, 0, replan.stderr)
  assert.equal(parseReport(replan.stdout).totals.skipped_existing, 172)

  const verify = await runCli(['flags:backfill:verify'], env)
  assert.equal(verify.code, 0, verify.stderr)
  const [{count}] = await withSql(databaseUrl, sql => sql`SELECT count(*)::int AS count FROM console_flag_promotions WHERE synced = false AND state = 'deployed'`)
  assert.equal(count, 0)
})

test('orphaned unsynced rows make verify exit 3 and name them', async () => {
  const dataset = runbookDataset(2012, {orphans: true})
  const {env} = await scenario({apps: dataset.apps, rows: dataset.rows})
  assert.equal((await runCli(['flags:backfill:apply', '--confirm'], env)).code, 0)
  const verify = await runCli(['flags:backfill:verify'], env)
  assert.equal(verify.code, 3)
  const report = parseReport(verify.stdout)
  assert.equal(report.verify.unsynced_deployed_count, 2)
  assert.deepEqual(report.verify.unsynced_deployed_rows.map((row: any) => row.flag_name).sort(), ['FLAG_LEGACY_MARGIN_CALLS', 'FLAG_OLD_SEARCH_RANKER'])
  assert.match(verify.stderr, /FAIL no_unsynced_deployed_rows/)
})

test('two applies at once write every row exactly once', async () => {
  const dataset = runbookDataset()
  const {databaseUrl, env} = await scenario({apps: dataset.apps, rows: dataset.rows})
  const results = await Promise.all([runCli(['flags:backfill:apply', '--confirm'], env), runCli(['flags:backfill:apply', '--confirm'], env)])
  assert.deepEqual(results.map(result => result.code), [0, 0], results.map(result => result.stderr).join('\n'))
  const written = results.map(result => parseReport(result.stdout).totals.applied_inserts)
  assert.equal(Math.min(...written), 0, 'the second apply re-read the rows under the lock and found nothing to insert')
  const duplicates = await withSql(databaseUrl, sql => sql`
    SELECT app_name, flag_name FROM console_flag_promotions WHERE state = 'deployed'
    GROUP BY app_name, flag_name HAVING count(*) > 1 AND bool_or(created_by = 'system_backfill')`)
  assert.equal(duplicates.length, 0)
})

test('usage errors exit 2 with one line and no report', async () => {
  const {env} = await scenario({apps: {'raxx-api-prod': {FLAG_A: '1'}}})
  const result = await runCli(['flags:backfill:apply'], env)
  assert.equal(result.code, 2)
  assert.equal(result.stdout, '')
  assert.equal(result.stderr.trim().split('\n').length, 1)
})
