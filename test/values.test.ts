// Values byte-exact through both write paths (insert and update), then a re-plan with nothing left.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runCommand} from './support/cli.js'
import {parseReport, scenario, seedRow, withSql} from './support/fixture.js'

const APP = 'raxx-api-staging'

// Each value twice: FLAG_NEW_<k> has no row (insert), FLAG_OLD_<k> has an unsynced row (update).
const VALUES: Record<string, string> = {
  ARRAY_LITERAL: '{"a","b"}',
  BACKSLASHES: 'C:\\path\\to\\ "x" \\\\',
  CR_ONLY: 'a\rb',
  CRLF: 'line one\r\nline two\r\n',
  EMPTY: '',
  LEADING_TRAILING: '  both sides \t',
  NEAR_32KB: 'v'.repeat(32_700),
  NULL_LOWER: 'null',
  NULL_WORD: 'NULL',
  QUOTES: `'single' "double" \`back\``,
  SPACE_ONLY: ' ',
  SQL: "x'); DELETE FROM console_flag_promotions; --",
  UNICODE: 'Zürich — 東京 — 🚩\u200b',
}

test('awkward values are stored byte-exact by insert and by update; a re-plan is empty; verify passes', async () => {
  const vars: Record<string, string> = {}
  for (const [key, value] of Object.entries(VALUES)) {
    vars[`FLAG_NEW_${key}`] = value
    vars[`FLAG_OLD_${key}`] = value
  }

  const {databaseUrl, env} = await scenario({
    apps: {[APP]: vars},
    rows: Object.keys(VALUES).map(key => seedRow({app_name: APP, flag_name: `FLAG_OLD_${key}`, target_value: 'stale'})),
  })
  const apply = await runCommand(['flags:backfill:apply', '--confirm'], env)
  assert.equal(apply.code, 0, apply.stderr)
  const report = parseReport(apply.stdout)
  assert.deepEqual([report.totals.applied_inserts, report.totals.applied_updates], [13, 13])

  const stored = await withSql(databaseUrl, sql => sql<Array<{flag_name: string; target_value: string | null; last_heroku_value: string | null}>>`
    SELECT flag_name, target_value, last_heroku_value FROM console_flag_promotions ORDER BY flag_name`)
  for (const row of stored) {
    const value = vars[row.flag_name]
    assert.equal(Buffer.from(row.last_heroku_value ?? '\0').toString('hex'), Buffer.from(value).toString('hex'), row.flag_name)
    if (row.flag_name.startsWith('FLAG_NEW_')) assert.equal(row.target_value, value, row.flag_name)
  }

  const replan = await runCommand(['flags:backfill:plan', '--detailed-exitcode'], env)
  assert.equal(replan.code, 0, replan.stderr)
  assert.equal(parseReport(replan.stdout).totals.skipped_existing, 26)
  assert.equal((await runCommand(['flags:backfill:verify'], env)).code, 0)
})
