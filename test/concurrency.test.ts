// Several `apply --confirm` processes at once on the same data: every row written exactly once,
// every process exits 0 or with the lock message.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runbookDataset} from '../tools/seed.js'
import {runCli, withoutProgress} from './support/cli.js'
import {parseReport, scenario, withSql} from './support/fixture.js'

async function backfillRowsPerFlag(databaseUrl: string): Promise<number[]> {
  const rows = await withSql(databaseUrl, sql => sql<Array<{count: number}>>`
    SELECT count(*)::int AS count FROM console_flag_promotions WHERE created_by = 'system_backfill'
    GROUP BY app_name, flag_name`)
  return [...new Set(rows.map(row => row.count))]
}

test('six applies at once, waiting for the lock: all exit 0, each insert and update written once', async () => {
  const dataset = runbookDataset()
  const {databaseUrl, env} = await scenario({apps: dataset.apps, rows: dataset.rows})
  const planned = parseReport((await runCli(['flags:backfill:plan'], env)).stdout).totals
  const results = await Promise.all(Array.from({length: 6}, () => runCli(['flags:backfill:apply', '--confirm', '--lock-timeout', '60'], env, {timeoutMs: 90_000})))
  assert.deepEqual(results.map(result => result.code), Array.from({length: 6}, () => 0), results.map(result => result.stderr).join('\n'))
  const totals = results.map(result => parseReport(result.stdout).totals)
  assert.equal(totals.reduce((sum, t) => sum + t.applied_inserts, 0), planned.planned_inserts)
  assert.equal(totals.reduce((sum, t) => sum + t.applied_updates, 0), planned.planned_updates)
  assert.deepEqual(await backfillRowsPerFlag(databaseUrl), [1])
  assert.equal((await runCli(['flags:backfill:verify'], env)).code, 0)
})

test('three applies at once that do not wait (--lock-timeout 0): each exits 0 or 4 with the lock message; rerun finishes the job once', async () => {
  const dataset = runbookDataset()
  const {databaseUrl, env} = await scenario({apps: dataset.apps, rows: dataset.rows})
  const results = await Promise.all(Array.from({length: 3}, () => runCli(['flags:backfill:apply', '--confirm', '--lock-timeout', '0'], env, {timeoutMs: 60_000})))
  for (const result of results) {
    assert.ok(result.code === 0 || result.code === 4, `exit ${result.code}: ${result.stderr}`)
    if (result.code === 4) {
      assert.match(withoutProgress(result.stderr).trim(), /^Error: another apply holds the backfill lock on .+; find it with: SELECT .+$/)
      assert.equal(result.stdout, '')
    } else {
      parseReport(result.stdout)
    }
  }

  assert.ok(results.some(result => result.code === 0), 'someone got the lock')
  const again = await runCli(['flags:backfill:apply', '--confirm'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(await backfillRowsPerFlag(databaseUrl), [1])
  assert.equal((await runCli(['flags:backfill:verify'], env)).code, 0)
})
