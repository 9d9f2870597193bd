// The human output's pure parts: colour decisions, the table, the summary, the flag × app matrix.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {colorLevel, palette, PLAIN, visibleWidth} from '../../src/lib/color.js'
import {flagMatrix, matrixLines} from '../../src/lib/matrix.js'
import {planBackfill, type TrackingRow} from '../../src/lib/reconcile.js'
import {buildReport} from '../../src/lib/report.js'
import {contextLines, reportLines, summaryLines, verifyLines} from '../../src/lib/summary.js'
import {renderTable} from '../../src/lib/table.js'
import {evaluateVerify} from '../../src/lib/verify.js'

const RUN_AT = new Date('2026-05-21T12:00:00Z')
const row = (partial: Partial<TrackingRow> & Pick<TrackingRow, 'app_name' | 'flag_name' | 'id'>): TrackingRow =>
  ({last_heroku_value: null, state: 'deployed', synced: false, target_value: 'on', ...partial})

function sampleReport() {
  const plan = planBackfill([
    {app: 'api', vars: {FLAG_NEW: '1', FLAG_OLD: 'on', FLAG_OK: 'on', NODE_ENV: 'x'}},
    {app: 'console', vars: {FLAG_OK: 'other', flag_typo: '1'}},
    {app: 'gone', error: 'HTTP 404: Couldn\'t find that app. [not_found]'},
  ], [
    row({app_name: 'api', flag_name: 'FLAG_OLD', id: '1'}),
    row({app_name: 'api', flag_name: 'FLAG_OK', id: '2', synced: true}),
    row({app_name: 'console', flag_name: 'FLAG_OK', id: '3', synced: true}),
    row({app_name: 'console', flag_name: 'FLAG_ORPHAN', id: '4'}),
  ])
  return buildReport('DRY-RUN', RUN_AT, plan)
}

describe('colorLevel', () => {
  const cases: Array<[string, Record<string, string>, boolean, number]> = [
    ['not a terminal', {TERM: 'xterm-256color'}, false, 0],
    ['a 256-colour terminal', {TERM: 'xterm-256color'}, true, 2],
    ['a basic terminal', {TERM: 'xterm'}, true, 1],
    ['truecolor', {COLORTERM: 'truecolor', TERM: 'xterm'}, true, 3],
    ['NO_COLOR on a terminal', {NO_COLOR: '1', TERM: 'xterm-256color'}, true, 0],
    ['NO_COLOR beats FORCE_COLOR', {FORCE_COLOR: '1', NO_COLOR: '1'}, false, 0],
    ['an empty NO_COLOR is unset', {NO_COLOR: '', TERM: 'xterm'}, true, 1],
    ['TERM=dumb', {TERM: 'dumb'}, true, 0],
    ['FORCE_COLOR without a terminal', {FORCE_COLOR: '1', TERM: 'xterm'}, false, 1],
    ['FORCE_COLOR=0', {FORCE_COLOR: '0', TERM: 'xterm'}, false, 0],
  ]
  for (const [name, env, tty, level] of cases) test(name, () => assert.equal(colorLevel(env, tty), level))
})

test('renderTable aligns on the visible width of coloured cells', () => {
  const colors = palette(2)
  const lines = renderTable([{header: 'App'}, {align: 'right', header: 'N'}], [[colors.app('a-long-app'), '7'], [colors.app('b'), colors.failure('12')]], colors)
  assert.ok(lines.slice(2).every(line => visibleWidth(line) === visibleWidth(lines[2])), lines.join('\n'))
  assert.deepEqual(renderTable([{header: 'App'}, {align: 'right', header: 'N'}], [['a-long-app', '7'], ['b', '12']], PLAIN),
    [' App          N', ' ──────────  ──', ' a-long-app   7', ' b           12'])
})

test('summaryLines: the title, one row per app with its error, totals, warnings by kind', () => {
  assert.deepEqual(summaryLines(sampleReport(), PLAIN), [
    '=== DRY-RUN 2026-05-21T12:00:00+00:00',
    '',
    ' App      Flags  Inserts  Updates  Skips  Warnings  Error',
    ' ───────  ─────  ───────  ───────  ─────  ────────  ─────────────────────────────────────────────',
    ' api          3        1        1      1         0',
    ' console      1        0        0      1         3',
    ' gone                                               HTTP 404: Couldn\'t find that app. [not_found]',
    ' ───────  ─────  ───────  ───────  ─────  ────────  ─────────────────────────────────────────────',
    ' total        4        1        1      2         3  1 of 3 apps failed',
    '',
    'warnings: 1 near_miss, 1 value_mismatch, 1 unsynced_orphan (listed in the JSON report under apps[].warnings)',
  ])
})

test('summaryLines after apply says what was written; colour only when asked for', () => {
  const report = buildReport('APPLY', RUN_AT, planBackfill([{app: 'api', vars: {FLAG_A: '1'}}], []), new Map([['api', {inserts: 1, updates: 0}]]))
  const plain = summaryLines(report, PLAIN)
  assert.ok(plain.includes('applied 1 insert and 0 updates in one transaction'))
  assert.ok(plain.every(line => !line.includes('\u001B[')))
  assert.ok(summaryLines(report, palette(1)).some(line => line.includes('\u001B[')))
})

test('verifyLines: every check, or with errorsOnly the failed required ones and the verdict', () => {
  const plan = planBackfill([{app: 'api', vars: {FLAG_A: '1'}}], [row({app_name: 'api', flag_name: 'FLAG_B', id: '9', state: 'pending'})])
  const report = {...buildReport('VERIFY', RUN_AT, plan), verify: evaluateVerify(plan, {count: 0, rows: []}, false)}
  assert.deepEqual(verifyLines(report, PLAIN, false).map(line => line.split(':')[0]),
    ['  ok   all_apps_fetched', '  FAIL plan_empty', '  ok   no_unsynced_deployed_rows', '  note no_pending_rows', 'verify failed'])
  assert.deepEqual(verifyLines(report, PLAIN, true).map(line => line.split(':')[0]), ['  FAIL plan_empty', 'verify failed'])
  const passed = {...report, verify: {...report.verify, checks: [], passed: true}}
  assert.deepEqual(verifyLines(passed, PLAIN, true), [])
})

test('reportLines: the summary, then the matrix when asked for, verify\'s verdict last; --quiet keeps only failures', () => {
  const plan = planBackfill([{app: 'api', vars: {FLAG_A: '1'}}], [])
  const report = {...buildReport('VERIFY', RUN_AT, plan), verify: evaluateVerify(plan, {count: 0, rows: []}, false)}
  const lines = reportLines(report, PLAIN, {matrix: true, quiet: false})
  const at = (text: string) => lines.findIndex(line => line.startsWith(text))
  assert.ok(at('=== VERIFY') < at('=== flags × apps') && at('=== flags × apps') < at('  FAIL plan_empty'), lines.join('\n'))
  assert.equal(lines.at(-1), 'verify failed')
  assert.equal(reportLines(report, PLAIN, {matrix: false, quiet: false}).indexOf('=== flags × apps'), -1)
  assert.deepEqual(reportLines(report, PLAIN, {matrix: false, quiet: true}).map(line => line.split(':')[0]), ['  FAIL plan_empty', 'verify failed'])
})

test('contextLines: the apps and where the database is, never more', () => {
  assert.deepEqual(contextLines({apps: ['a', 'b'], database: {display: 'u@db.example.com:5432/console', source: 'DATABASE_URL of console-db'}}, PLAIN), [
    'Apps:      a, b (2)',
    'Database:  u@db.example.com:5432/console (DATABASE_URL of console-db)',
  ])
})

describe('flagMatrix', () => {
  test('each flag of any app, in name order, with its state on every app', () => {
    const matrix = flagMatrix(sampleReport())
    assert.deepEqual(matrix.apps, ['api', 'console', 'gone'])
    assert.deepEqual(matrix.rows.map(r => [r.flag, ...r.cells]), [
      ['FLAG_NEW', 'new', 'missing', 'unknown'],
      ['FLAG_OK', 'synced', 'mismatch', 'unknown'],
      ['FLAG_OLD', 'unsynced', 'missing', 'unknown'],
      ['FLAG_ORPHAN', 'missing', 'missing', 'unknown'],
    ])
    assert.deepEqual(matrix.rows.find(r => r.flag === 'FLAG_ORPHAN')!.orphaned, [false, true, false])
  })

  test('every planned outcome appears in the matrix exactly once', () => {
    const report = sampleReport()
    const matrix = flagMatrix(report)
    for (const [index, app] of report.apps.entries()) {
      if (app.error !== null) continue
      const live = matrix.rows.filter(r => !['missing', 'unknown'].includes(r.cells[index])).length
      assert.equal(live, app.flags_found, app.app)
    }
  })

  test('matrixLines renders the grid, or says there is nothing to show', () => {
    const lines = matrixLines(sampleReport(), PLAIN)
    assert.equal(lines[0], '=== flags × apps')
    assert.ok(lines.includes(' FLAG_ORPHAN  missing   missing (unsynced row)  ?'), lines.join('\n'))
    const empty = buildReport('DRY-RUN', RUN_AT, planBackfill([{app: 'api', vars: {}}], []))
    assert.deepEqual(matrixLines(empty, PLAIN), ['=== flags × apps', '', 'no FLAG_ config vars on these apps'])
  })
})
