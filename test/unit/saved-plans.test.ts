// Unit tests of the pure pieces behind saved plans and rollback: canonical hashing, fingerprints and
// what moved, plan-file checks, rollback planning. Plus one guard: only rollback has a DELETE.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, test} from 'node:test'
import fc from 'fast-check'

import {canonicalJson, hashOf, timedId} from '../../src/lib/canonical.js'
import {ExitCode} from '../../src/lib/exit-codes.js'
import {appMoves, describeMoves, fingerprintApp, type ReadRow} from '../../src/lib/fingerprint.js'
import type {RowImage, RunRecord} from '../../src/lib/journal.js'
import {buildPlanDocument, parsePlanDocument, planHashOf, plannedFlags} from '../../src/lib/plan-file.js'
import {planBackfill} from '../../src/lib/reconcile.js'
import {buildReport} from '../../src/lib/report.js'
import {buildRollbackReport, differingColumns, planBroadRollback, planRollback} from '../../src/lib/rollback.js'

const row = (partial: Partial<ReadRow> & Pick<ReadRow, 'id' | 'flag_name'>): ReadRow => ({
  app_name: 'app-a', last_heroku_value: null, state: 'deployed', synced: false, target_value: 'true', updated_at: '2026-05-01T00:00:00.000000Z', ...partial,
})

describe('canonicalJson', () => {
  test('sorts keys at every depth and drops undefined', () => {
    assert.equal(canonicalJson({b: 1, a: {d: [2, {z: 1, y: null}], c: undefined}}), '{"a":{"d":[2,{"y":null,"z":1}]},"b":1}')
  })

  test('equal data in any key order hashes the same', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), object => {
      const reversed = Object.fromEntries(Object.entries(object).reverse())
      return hashOf(object) === hashOf(reversed)
    }))
  })

  test('timedId: time first, then the random part', () => {
    assert.equal(timedId('plan', new Date('2026-12-03T16:35:26.900Z'), '0a1b2c3d'), 'plan-20261203T163526Z-0a1b2c3d')
  })
})

describe('fingerprints and what moved', () => {
  const vars = {FLAG_A: '1', FLAG_B: '2', FLAG_NULL: null, NODE_ENV: 'x', flag_c: 'near miss'}
  const rows = [row({flag_name: 'FLAG_A', id: '10'}), row({flag_name: 'FLAG_B', id: '9', synced: true}), row({app_name: 'app-b', flag_name: 'FLAG_A', id: '11'})]
  const saved = fingerprintApp('app-a', vars, rows)
  const planned: Array<[string, string]> = [['FLAG_A', '1'], ['FLAG_B', '2']]

  test('only FLAG_ vars with a value count; rows of other apps do not; rows are in id order', () => {
    assert.equal(saved.config_sha256, fingerprintApp('app-a', {FLAG_A: '1', FLAG_B: '2'}, []).config_sha256)
    assert.deepEqual(saved.rows.map(r => r.id), ['9', '10'])
  })

  test('nothing moved: undefined', () => {
    assert.equal(appMoves(saved, planned, {...vars, OTHER: 'y'}, [...rows].reverse()), undefined)
  })

  test('config vars added, removed and changed are named', () => {
    const moves = appMoves(saved, planned, {FLAG_A: '1.5', FLAG_C: 'new'}, rows)!
    assert.deepEqual(moves.config, {added: ['FLAG_C'], changed: ['FLAG_A'], removed: ['FLAG_B']})
    assert.equal(describeMoves(moves), 'app-a: config var added: FLAG_C; config var removed: FLAG_B; config var changed: FLAG_A')
  })

  test('rows added, removed and changed (with the fields) are named', () => {
    const now = [row({flag_name: 'FLAG_A', id: '10', updated_at: '2026-05-01T00:00:00.000001Z'}), row({flag_name: 'FLAG_Z', id: '12', state: 'pending'})]
    const moves = appMoves(saved, planned, vars, now)!
    assert.deepEqual(moves.rows, {added: [{flag: 'FLAG_Z', id: '12'}], changed: [{fields: ['updated_at'], flag: 'FLAG_A', id: '10'}], removed: [{flag: 'FLAG_B', id: '9'}]})
    assert.deepEqual(moves.config, {added: [], changed: [], removed: []})
  })

  test('any change to any fingerprinted field of any row is seen', () => {
    const fields = {last_heroku_value: 'v', state: 'approved', synced: true, target_value: 'other', updated_at: '2030-01-01T00:00:00.000000Z'}
    for (const [field, value] of Object.entries(fields)) {
      const now = rows.map(r => (r.id === '10' ? {...r, [field]: value} : r))
      assert.deepEqual(appMoves(saved, planned, vars, now)?.rows.changed, [{fields: [field], flag: 'FLAG_A', id: '10'}], field)
    }
  })
})

describe('plan documents', () => {
  const snapshots = [{app: 'app-a', vars: {FLAG_A: '1', FLAG_B: '2'}}]
  const rows = [row({flag_name: 'FLAG_B', id: '3'})]
  const report = buildReport('DRY-RUN', new Date('2026-12-03T16:35:26Z'), planBackfill(snapshots, rows))
  const document = buildPlanDocument(report, [fingerprintApp('app-a', snapshots[0].vars, rows)], 'plan-20261203T163526Z-0a1b2c3d')
  const text = JSON.stringify(document)

  test('round-trips, and plannedFlags recovers every live flag', () => {
    assert.deepEqual(parsePlanDocument(text, 'p.json'), document)
    assert.deepEqual(plannedFlags(document.apps[0]).sort(), [['FLAG_A', '1'], ['FLAG_B', '2']])
  })

  test('the hash covers the id: the same content under another id is another plan', () => {
    const other = buildPlanDocument(report, document.plan.apps, 'plan-20261203T163526Z-ffffffff')
    assert.notEqual(other.plan.plan_hash, document.plan.plan_hash)
  })

  test('any edit of any value is caught by the hash', () => {
    const paths: Array<(d: any) => void> = [
      d => { d.apps[0].inserts[0].value = '0' },
      d => { d.apps[0].updates[0].row_ids = ['4'] },
      d => { d.plan.apps[0].rows_sha256 = 'a'.repeat(64) },
      d => { d.plan.created_at_utc = '2026-12-03T16:35:27+00:00' },
      d => { d.totals.planned_inserts = 9 },
    ]
    for (const edit of paths) {
      const edited = JSON.parse(text)
      edit(edited)
      assert.throws(() => parsePlanDocument(JSON.stringify(edited), 'p.json'), (error: any) => error.exitCode === ExitCode.Usage && /plan_hash does not match/.test(error.message))
    }
  })

  test('a plan whose report and fingerprints name different apps is refused, whatever the hash', () => {
    const edited = JSON.parse(text)
    edited.plan.apps[0].app = 'app-z'
    edited.plan.plan_hash = planHashOf(edited)
    assert.throws(() => parsePlanDocument(JSON.stringify(edited), 'p.json'), /plan\.apps names app-z but the report names app-a/)
  })

  test('not JSON, or another version: one clear problem, exit 2', () => {
    assert.throws(() => parsePlanDocument('{"mode": "DRY', 'p.json'), (error: any) => error.exitCode === ExitCode.Usage && /p\.json is not a usable plan: it is not valid JSON/.test(error.message))
    assert.throws(() => parsePlanDocument(text.replace('"version":1', '"version":"1"'), 'p.json'), /plan format version "1"/)
  })
})

describe('planRollback', () => {
  const image = (values: Record<string, string | null>): RowImage => ({id: '1', synced: 'false', updated_at: '2026-05-01T00:00:00+00:00', ...values})
  const run = (inserted: RunRecord['inserted'], updated: RunRecord['updated']): RunRecord => ({
    apps: ['app-a', 'app-b'], database: 'db', inserted, plan_hash: null, plan_id: null, rollbacks: [], run_at_utc: '2026-12-03T16:35:26+00:00',
    run_id: 'run-20261203T163526Z-0a1b2c3d', updated, user: null, version: 1,
  })
  const inserted = {after: image({id: '5', synced: 'true'}), app: 'app-a', flag: 'FLAG_N', id: '5'}
  const before = image({id: '7'})
  const after = image({id: '7', synced: 'true', updated_at: '2026-12-03T16:35:26.5+00:00'})
  const updated = {after, app: 'app-b', before, flag: 'FLAG_U', id: '7'}

  test('rows as the run left them: delete the inserted, restore the updated (only the columns it changed)', () => {
    const plan = planRollback(run([inserted], [updated]), new Map([['5', inserted.after], ['7', after]]))
    assert.deepEqual(plan.apps, [
      {already_undone: [], app: 'app-a', conflicts: [], deletes: [{flag: 'FLAG_N', id: '5'}], restores: []},
      {already_undone: [], app: 'app-b', conflicts: [], deletes: [], restores: [{before, columns: ['synced', 'updated_at'], flag: 'FLAG_U', id: '7'}]},
    ])
    const report = buildRollbackReport({plan, run: null, runAtUtc: '2026-12-04T00:00:00+00:00', scope: 'run'})
    assert.deepEqual(report.apps[1].restores, [{flag: 'FLAG_U', id: '7', restore: {synced: 'false', updated_at: '2026-05-01T00:00:00+00:00'}}])
    assert.deepEqual(report.totals, {already_undone: 0, applied_deletes: null, applied_restores: null, conflicts: 0, deletes: 1, restores: 1})
  })

  test('rows already gone or already back to their pre-image need nothing', () => {
    const plan = planRollback(run([inserted], [updated]), new Map([['7', before]]))
    assert.deepEqual(plan.apps.map(app => app.already_undone), [[{flag: 'FLAG_N', id: '5'}], [{flag: 'FLAG_U', id: '7'}]])
    assert.ok(plan.apps.every(app => app.deletes.length + app.restores.length + app.conflicts.length === 0))
  })

  test('rows changed since (a value, a new column) or an updated row deleted since are conflicts', () => {
    const plan = planRollback(run([inserted], [updated]), new Map([['5', {...inserted.after, drift_reason: 'x'}]]))
    assert.deepEqual(plan.apps.map(app => app.conflicts), [
      [{action: 'delete', changed_columns: ['drift_reason'], flag: 'FLAG_N', id: '5', reason: 'changed since the run inserted it'}],
      [{action: 'restore', changed_columns: [], flag: 'FLAG_U', id: '7', reason: 'deleted since the run updated it'}],
    ])
    const edited = planRollback(run([], [updated]), new Map([['7', {...after, target_value: 'z'}]]))
    assert.deepEqual(edited.apps[1].conflicts[0].changed_columns, ['target_value'])
  })

  test('differingColumns treats a missing column as different, null as a value', () => {
    assert.deepEqual(differingColumns({a: null, b: '1'}, {a: null, c: '1'}), ['b', 'c'])
  })

  test('the broad rollback groups the rows by app in the order read', () => {
    assert.deepEqual(planBroadRollback([{app: 'b', flag: 'F1', id: '2'}, {app: 'a', flag: 'F2', id: '1'}, {app: 'b', flag: 'F3', id: '3'}]).apps.map(app => [app.app, app.deletes.map(r => r.id)]),
      [['b', ['2', '3']], ['a', ['1']]])
  })
})

test('only the rollback module has a DELETE: plan and apply can never remove a row', () => {
  const root = new URL('../../src/', import.meta.url).pathname
  const files = (dir: string): string[] => readdirSync(dir, {withFileTypes: true}).flatMap(entry => entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)])
  const withDelete = files(root).filter(file => /\bDELETE\s+FROM\b|\bTRUNCATE\b|\bDROP\s/i.test(readFileSync(file, 'utf8'))).map(file => file.slice(root.length))
  assert.deepEqual(withDelete, ['lib/rollback-database.ts'])
  const importers = files(root).filter(file => readFileSync(file, 'utf8').includes('rollback-database.js')).map(file => file.slice(root.length))
  assert.deepEqual(importers, ['commands/flags/backfill/rollback.ts'])
})
