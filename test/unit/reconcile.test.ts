import fc from 'fast-check'
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {
  type AppSnapshot, hasChanges, isFlagName, isNearMissFlagName, type Plan, planBackfill, type TrackingRow,
} from '../../src/lib/reconcile.js'

let nextId = 1
function row(partial: Partial<TrackingRow> & Pick<TrackingRow, 'flag_name'>): TrackingRow {
  return {
    app_name: 'app-a', id: String(nextId++), last_heroku_value: null, state: 'deployed', synced: false, target_value: 'true', ...partial,
  }
}

const only = (plan: Plan) => plan.apps[0]

describe('planBackfill: the rule, one outcome per app and flag', () => {
  const cases: Array<{name: string; vars: Record<string, string | null>; rows: TrackingRow[]; expect: {inserts: string[]; updates: string[]; skips: string[]}}> = [
    {expect: {inserts: ['FLAG_A'], skips: [], updates: []}, name: 'no row at all → insert', rows: [], vars: {FLAG_A: 'true'}},
    {
      expect: {inserts: ['FLAG_A'], skips: [], updates: []}, name: 'only a pending row → insert (pending rows are not deployed)',
      rows: [row({flag_name: 'FLAG_A', state: 'pending'})], vars: {FLAG_A: 'true'},
    },
    {
      expect: {inserts: [], skips: [], updates: ['FLAG_A']}, name: 'deployed unsynced → update',
      rows: [row({flag_name: 'FLAG_A'})], vars: {FLAG_A: 'true'},
    },
    {
      expect: {inserts: [], skips: ['FLAG_A'], updates: []}, name: 'deployed synced → skip',
      rows: [row({flag_name: 'FLAG_A', synced: true})], vars: {FLAG_A: 'true'},
    },
    {
      expect: {inserts: [], skips: [], updates: ['FLAG_A']}, name: 'one synced and one unsynced deployed → update',
      rows: [row({flag_name: 'FLAG_A', synced: true}), row({flag_name: 'FLAG_A'})], vars: {FLAG_A: 'true'},
    },
    {
      expect: {inserts: [], skips: [], updates: []}, name: 'names not starting with exactly FLAG_ are not flags',
      rows: [], vars: {FLAG_: 'x', FLAGS_X: '1', Flag_X: '1', XFLAG_Y: '1', flag_x: '1'},
    },
    {expect: {inserts: [], skips: [], updates: []}, name: 'a null value means unset', rows: [], vars: {FLAG_A: null}},
    {expect: {inserts: ['FLAG_EMPTY'], skips: [], updates: []}, name: 'an empty string is a real value', rows: [], vars: {FLAG_EMPTY: ''}},
    {
      expect: {inserts: ['FLAG_A'], skips: [], updates: []}, name: 'rows of another app do not count',
      rows: [row({app_name: 'app-b', flag_name: 'FLAG_A', synced: true})], vars: {FLAG_A: 'true'},
    },
  ]
  for (const {expect, name, rows, vars} of cases) {
    test(name, () => {
      const app = only(planBackfill([{app: 'app-a', vars}], rows))
      assert.deepEqual(app.inserts.map(i => i.flag), expect.inserts)
      assert.deepEqual(app.updates.map(u => u.flag), expect.updates)
      assert.deepEqual(app.skips.map(s => s.flag), expect.skips)
    })
  }

  test('updates name every unsynced deployed row, and only those', () => {
    const synced = row({flag_name: 'FLAG_A', synced: true})
    const a = row({flag_name: 'FLAG_A'})
    const b = row({flag_name: 'FLAG_A'})
    const pending = row({flag_name: 'FLAG_A', state: 'pending'})
    const app = only(planBackfill([{app: 'app-a', vars: {FLAG_A: 'on'}}], [synced, a, pending, b]))
    assert.deepEqual(app.updates, [{flag: 'FLAG_A', row_ids: [a.id, b.id], value: 'on'}])
  })

  test('a failed app gets its error and no outcomes', () => {
    const plan = planBackfill([{app: 'app-a', error: 'HTTP 404'}, {app: 'app-b', vars: {FLAG_X: '1'}}], [row({flag_name: 'FLAG_X'})])
    assert.deepEqual(plan.apps[0], {app: 'app-a', error: 'HTTP 404', flags_found: 0, inserts: [], skips: [], updates: [], warnings: []})
    assert.equal(plan.apps[1].inserts.length, 1)
  })

  test('apps keep the order they were given in', () => {
    const plan = planBackfill(['c', 'a', 'b'].map(app => ({app, vars: {}})), [])
    assert.deepEqual(plan.apps.map(app => app.app), ['c', 'a', 'b'])
  })
})

describe('planBackfill: warnings', () => {
  const kinds = (vars: Record<string, string>, rows: TrackingRow[]) =>
    only(planBackfill([{app: 'app-a', vars}], rows)).warnings.map(w => `${w.kind}:${w.flag}`)

  test('unsynced_orphan: a deployed unsynced row whose flag left the app', () => {
    assert.deepEqual(kinds({}, [row({flag_name: 'FLAG_GONE'})]), ['unsynced_orphan:FLAG_GONE'])
  })

  test('a synced row whose flag left the app is not an orphan', () => {
    assert.deepEqual(kinds({}, [row({flag_name: 'FLAG_GONE', synced: true})]), [])
  })

  test('pending_row: in-flight states are reported, terminal ones are history', () => {
    const rows = ['pending', 'approved', 'rolled_back', 'failed'].map(state => row({flag_name: `FLAG_${state.toUpperCase()}`, state}))
    assert.deepEqual(kinds({}, rows), ['pending_row:FLAG_APPROVED', 'pending_row:FLAG_PENDING'])
  })

  test('duplicate_deployed and value_mismatch', () => {
    const rows = [row({flag_name: 'FLAG_A', synced: true, target_value: 'on'}), row({flag_name: 'FLAG_A', synced: true, target_value: 'off'})]
    assert.deepEqual(kinds({FLAG_A: 'on'}, rows), ['duplicate_deployed:FLAG_A', 'value_mismatch:FLAG_A'])
  })

  test('near_miss names are warned about and never tracked', () => {
    const app = only(planBackfill([{app: 'app-a', vars: {FLAGS_X: '1', Flag_X: '1', NODE_ENV: 'production', XFLAG_Y: '1', flag_x: '1'}}], []))
    assert.deepEqual(app.warnings.map(w => w.flag), ['FLAGS_X', 'Flag_X', 'XFLAG_Y', 'flag_x'])
    assert.equal(app.flags_found, 0)
  })

  test('isFlagName / isNearMissFlagName', () => {
    assert.ok(isFlagName('FLAG_X'))
    for (const name of ['FLAG_', 'flag_x', 'Flag_X', 'FLAGS_X', 'XFLAG_Y', 'FEATURE_FLAG_X']) assert.ok(!isFlagName(name), name)
    assert.ok(!isNearMissFlagName('FEATURE_FLAG_X'))
    assert.ok(!isNearMissFlagName('FLAG_X'))
  })
})

// ---- properties ----

const flagNames = fc.constantFrom('FLAG_A', 'FLAG_B', 'FLAG_C', 'FLAG_D', 'flag_a', 'FLAGS_B', 'Flag_C', 'OTHER', 'XFLAG_D')
const values = fc.oneof(fc.constantFrom('true', 'false', '', ' spaced ', 'line1\r\nline2', '✓ ünïcode', "'; DROP TABLE x; --"), fc.string())
const apps = fc.constantFrom('app-a', 'app-b', 'app-c')
const configVars = fc.dictionary(flagNames, fc.option(values, {nil: null}))
const snapshotsArb = fc.uniqueArray(apps, {minLength: 1, selector: app => app})
  .chain(names => fc.tuple(...names.map(app => configVars.map((vars): AppSnapshot => ({app, vars})))))
const rowsArb = fc.array(fc.record({
  app_name: apps,
  flag_name: flagNames,
  last_heroku_value: fc.option(values, {nil: null}),
  state: fc.constantFrom('deployed', 'deployed', 'pending', 'approved', 'rolled_back'),
  synced: fc.boolean(),
  target_value: fc.option(values, {nil: null}),
}), {maxLength: 30}).map(rows => rows.map((r, index) => ({...r, id: String(index + 1)})))

/** What apply does to the rows, as pure data: the model the database writes must match. */
function applyToRows(plan: Plan, rows: TrackingRow[]): TrackingRow[] {
  const updated = new Map(plan.apps.flatMap(app => app.updates.flatMap(u => u.row_ids.map(id => [id, u.value] as const))))
  let id = rows.length + 1000
  return [
    ...rows.map(r => (updated.has(r.id) ? {...r, last_heroku_value: updated.get(r.id)!, synced: true} : r)),
    ...plan.apps.flatMap(app => app.inserts.map(i => ({
      app_name: app.app, flag_name: i.flag, id: String(id++), last_heroku_value: i.value, state: 'deployed', synced: true, target_value: i.value,
    }))),
  ]
}

describe('planBackfill: properties', () => {
  test('flags_found = inserts + updates + skips, for every app', () => {
    fc.assert(fc.property(snapshotsArb, rowsArb, (snapshots, rows) => {
      for (const app of planBackfill(snapshots, rows).apps) {
        assert.equal(app.flags_found, app.inserts.length + app.updates.length + app.skips.length)
      }
    }))
  })

  test('only names starting with exactly FLAG_ (and not null) are planned', () => {
    fc.assert(fc.property(snapshotsArb, rowsArb, (snapshots, rows) => {
      const plan = planBackfill(snapshots, rows)
      snapshots.forEach((snapshot, index) => {
        const vars = 'vars' in snapshot ? snapshot.vars : {}
        const expected = Object.keys(vars).filter(name => name.startsWith('FLAG_') && vars[name] !== null).sort()
        const app = plan.apps[index]
        const planned = [...app.inserts, ...app.updates, ...app.skips].map(entry => entry.flag).sort()
        assert.deepEqual(planned, expected)
        for (const entry of [...app.inserts, ...app.updates, ...app.skips]) assert.equal(entry.value, vars[entry.flag])
      })
    }))
  })

  test('applying the plan and planning again gives zero inserts and zero updates', () => {
    fc.assert(fc.property(snapshotsArb, rowsArb, (snapshots, rows) => {
      const first = planBackfill(snapshots, rows)
      const second = planBackfill(snapshots, applyToRows(first, rows))
      assert.equal(hasChanges(second), false)
      assert.deepEqual(second.apps.map(app => app.skips.length), first.apps.map(app => app.flags_found))
    }))
  })

  test('planning is deterministic and does not mutate its inputs', () => {
    fc.assert(fc.property(snapshotsArb, rowsArb, (snapshots, rows) => {
      const before = JSON.stringify([snapshots, rows])
      assert.deepEqual(planBackfill(snapshots, rows), planBackfill(snapshots, rows))
      assert.equal(JSON.stringify([snapshots, rows]), before)
    }))
  })
})
