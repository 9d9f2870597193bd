// Unit tests of the small pure pieces at the edges: URL parsing, error wording, report shape.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {parseDatabaseUrl, redact} from '../../src/lib/database-url.js'
import {BackfillError, ExitCode} from '../../src/lib/exit-codes.js'
import {describeFetchError, mapConcurrent} from '../../src/lib/heroku.js'
import {planBackfill} from '../../src/lib/reconcile.js'
import {buildReport, formatRunAt} from '../../src/lib/report.js'
import {assertValidReport} from '../../src/lib/report-schema.js'
import {evaluateVerify} from '../../src/lib/verify.js'

describe('parseDatabaseUrl', () => {
  const cases: Array<[string, {host: string; port: number; database: string; user: string; password: string; ssl: unknown; connectTimeoutSeconds?: number}]> = [
    ['postgres://u:s3cret@127.0.0.1:5433/db', {database: 'db', host: '127.0.0.1', password: 's3cret', port: 5433, ssl: false, user: 'u'}],
    ['postgresql://u:s3cret@localhost/db', {database: 'db', host: 'localhost', password: 's3cret', port: 5432, ssl: false, user: 'u'}],
    ['postgres://u:s3cret@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1', {database: 'd1', host: 'ec2-1-2-3-4.compute-1.amazonaws.com', password: 's3cret', port: 5432, ssl: 'require', user: 'u'}],
    ['postgres://u:s3cret@db.example.com/d?sslmode=disable', {database: 'd', host: 'db.example.com', password: 's3cret', port: 5432, ssl: false, user: 'u'}],
    ['postgres://u:s3cret@127.0.0.1/d?sslmode=require', {database: 'd', host: '127.0.0.1', password: 's3cret', port: 5432, ssl: 'require', user: 'u'}],
    ['postgres://u:s3cret@db.example.com/d?sslmode=verify-full', {database: 'd', host: 'db.example.com', password: 's3cret', port: 5432, ssl: 'verify-full', user: 'u'}],
    ['postgres://u:p%40ss%2Fw@127.0.0.1/d', {database: 'd', host: '127.0.0.1', password: 'p@ss/w', port: 5432, ssl: false, user: 'u'}],
    ['postgres://u:100%pure@127.0.0.1/d', {database: 'd', host: '127.0.0.1', password: '100%pure', port: 5432, ssl: false, user: 'u'}],
    ['postgres://u:s3cret@[::1]:5432/d', {database: 'd', host: '::1', password: 's3cret', port: 5432, ssl: false, user: 'u'}],
    ['postgresql://u:s3cret@db.example.com/d?sslmode=require', {database: 'd', host: 'db.example.com', password: 's3cret', port: 5432, ssl: 'require', user: 'u'}],
    ['postgresql://u:s3cret@127.0.0.1/d?sslmode=verify-full', {database: 'd', host: '127.0.0.1', password: 's3cret', port: 5432, ssl: 'verify-full', user: 'u'}],
    ['postgres://u:s3cret@localhost/d?sslmode=disable', {database: 'd', host: 'localhost', password: 's3cret', port: 5432, ssl: false, user: 'u'}],
    ['postgres://u:s3cret@10.0.0.5/d?connect_timeout=3', {connectTimeoutSeconds: 3, database: 'd', host: '10.0.0.5', password: 's3cret', port: 5432, ssl: 'require', user: 'u'}],
  ]
  for (const [url, expected] of cases) {
    test(url.replace(/:[^:@/]*@/, ':***@'), () => {
      const {display, ...target} = parseDatabaseUrl(url)
      assert.deepEqual(target, {connectTimeoutSeconds: 10, ...expected})
      assert.ok(!display.includes(expected.password), 'display never holds the password')
    })
  }

  for (const bad of ['not a url', 'mysql://u:s3cret@h/d', 'postgres://u:s3cret@h', 'postgres://u:s3cret@h/d?sslmode=bogus', 'postgres://u:s3cret@h/d?connect_timeout=0']) {
    test(`refuses ${bad} with exit 4 and no password in the message`, () => {
      assert.throws(() => parseDatabaseUrl(bad), (error: BackfillError) => error.exitCode === ExitCode.Database && !error.message.includes('s3cret'))
    })
  }

  test('redact removes the raw and the encoded password', () => {
    assert.equal(redact('a p@ss/w b p%40ss%2Fw', {password: 'p@ss/w'}), 'a ******** b ********')
  })
})

describe('describeFetchError', () => {
  const http = (statusCode: number, body: unknown, requestId = 'req-1') => ({body, http: {headers: {'request-id': requestId}, statusCode}, message: 'x'})
  test('HerokuAPIError shape: status, message, id, Request-Id', () => {
    assert.equal(describeFetchError(http(404, {id: 'not_found', message: "Couldn't find that app."})), "HTTP 404: Couldn't find that app. [not_found]; check the app name (`heroku apps`) and that this account can see it (Request-Id: req-1)")
  })
  test('HerokuAPIError as thrown: the headers sit on the wrapped HTTPError\'s response', () => {
    const wrapped = {body: {id: 'rate_limit', message: 'Rate limit exceeded'}, http: {http: {headers: {'request-id': 'req-2'}, statusCode: 429}, statusCode: 429}}
    assert.equal(describeFetchError(wrapped), 'HTTP 429: Rate limit exceeded [rate_limit] (Request-Id: req-2)')
  })
  test('401 hints at heroku login', () => {
    assert.match(describeFetchError(http(401, {id: 'unauthorized', message: 'Invalid credentials provided.'})), /heroku login.*HEROKU_API_KEY/)
  })
  test('HTTPError without a message', () => {
    assert.equal(describeFetchError(http(502, '<html>bad gateway</html>')), 'HTTP 502: no error message in the response (Request-Id: req-1)')
  })
  test('plain and network errors keep their first line', () => {
    assert.equal(describeFetchError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1\nstack'), {code: 'ECONNREFUSED'})), 'cannot reach the Heroku API: connect ECONNREFUSED 127.0.0.1:1')
  })
})

test('mapConcurrent keeps order and never exceeds the limit', async () => {
  let inFlight = 0
  let peak = 0
  const result = await mapConcurrent([5, 1, 4, 2, 3], 2, async n => {
    peak = Math.max(peak, ++inFlight)
    await new Promise(resolve => setTimeout(resolve, n))
    inFlight--
    return n * 10
  })
  assert.deepEqual(result, [50, 10, 40, 20, 30])
  assert.equal(peak, 2)
})

describe('report', () => {
  const runAt = new Date('2026-05-21T12:00:00.789Z')
  const plan = planBackfill([{app: 'a', vars: {FLAG_A: '1', FLAG_B: ''}}, {app: 'b', error: 'HTTP 404'}], [
    {app_name: 'a', flag_name: 'FLAG_B', id: '7', last_heroku_value: null, state: 'deployed', synced: false, target_value: ''},
  ])

  test('run_at_utc is UTC, whole seconds, +00:00', () => {
    assert.equal(formatRunAt(runAt), '2026-05-21T12:00:00+00:00')
  })

  test('DRY-RUN: applied_* null; totals add up; valid against the shipped schema', () => {
    const report = assertValidReport(buildReport('DRY-RUN', runAt, plan))
    assert.equal(report.apps[0].applied_inserts, null)
    assert.deepEqual(report.totals, {applied_inserts: null, applied_updates: null, flags_found: 2, planned_inserts: 1, planned_updates: 1, skipped_existing: 0, warnings: 0})
    assert.equal(report.apps[1].error, 'HTTP 404')
  })

  test('APPLY: applied counts per app, zero for the failed app', () => {
    const report = assertValidReport(buildReport('APPLY', runAt, plan, new Map([['a', {inserts: 1, updates: 1}]])))
    assert.deepEqual(report.apps.map(app => [app.applied_inserts, app.applied_updates]), [[1, 1], [0, 0]])
  })

  test('the schema rejects a report with a renamed field', () => {
    const report = buildReport('DRY-RUN', runAt, plan) as unknown as Record<string, unknown>
    const broken = {...report, mode: 'PLAN'}
    assert.throws(() => assertValidReport(broken as never), /mode/)
  })

  test('verify: passes only with zero work, zero unsynced, all fetched; pending counts only when strict', () => {
    const clean = planBackfill([{app: 'a', vars: {FLAG_A: '1'}}], [
      {app_name: 'a', flag_name: 'FLAG_A', id: '1', last_heroku_value: '1', state: 'deployed', synced: true, target_value: '1'},
      {app_name: 'a', flag_name: 'FLAG_A', id: '2', last_heroku_value: null, state: 'pending', synced: false, target_value: '2'},
    ])
    assert.equal(evaluateVerify(clean, {count: 0, rows: []}, false).passed, true)
    assert.equal(evaluateVerify(clean, {count: 0, rows: []}, true).passed, false)
    assert.equal(evaluateVerify(clean, {count: 1, rows: [{app_name: 'x', flag_name: 'FLAG_Z', id: '9'}]}, false).passed, false)
    assert.equal(evaluateVerify(plan, {count: 0, rows: []}, false).passed, false)
  })
})
