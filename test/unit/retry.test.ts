// The retry rules as pure functions: what to retry and how long to wait, without waiting.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {backoffMs, isRetryableStatus, retryAfterMs, retryDelayMs} from '../../src/lib/retry.js'

const policy = {baseMs: 500, capMs: 20_000}
const now = Date.parse('2026-05-21T12:00:00Z')

describe('retry rules', () => {
  test('429 and 5xx are retried; 4xx and success are not', () => {
    assert.deepEqual([429, 500, 502, 503, 504, 599].map(isRetryableStatus), [true, true, true, true, true, true])
    assert.deepEqual([200, 400, 401, 403, 404, 422, undefined].map(isRetryableStatus), [false, false, false, false, false, false, false])
  })

  test('Retry-After: seconds and HTTP dates honoured; absurd values wait the cap; junk ignored', () => {
    assert.equal(retryAfterMs('3', policy.capMs, now), 3000)
    assert.equal(retryAfterMs(' 0 ', policy.capMs, now), 0)
    assert.equal(retryAfterMs('1.5', policy.capMs, now), 1500)
    assert.equal(retryAfterMs('Thu, 21 May 2026 12:00:07 GMT', policy.capMs, now), 7000)
    assert.equal(retryAfterMs('Thu, 21 May 2026 11:00:00 GMT', policy.capMs, now), 0, 'a date in the past: no wait')
    assert.equal(retryAfterMs('1767225600', policy.capMs, now), policy.capMs, 'an epoch timestamp sent as seconds')
    assert.equal(retryAfterMs('99999999999999999999', policy.capMs, now), policy.capMs)
    assert.equal(retryAfterMs('Fri, 01 Jan 2100 00:00:00 GMT', policy.capMs, now), policy.capMs)
    for (const junk of [undefined, '', 'soon', '-5']) assert.equal(retryAfterMs(junk, policy.capMs, now), undefined, String(junk))
  })

  test('backoff: full jitter under base·2^(n-1), never above the cap', () => {
    assert.deepEqual([1, 2, 3, 4].map(n => backoffMs(n, policy, () => 0.999_999)), [499, 999, 1999, 3999])
    assert.equal(backoffMs(40, policy, () => 0.999_999), 19_999)
    assert.equal(backoffMs(3, policy, () => 0), 0)
  })

  test('the wait: Retry-After first, then a spent rate limit waits the cap, else backoff', () => {
    const half = () => 0.5
    assert.equal(retryDelayMs({retryAfter: '2', status: 429, rateLimitRemaining: '0'}, 1, policy, now, half), 2000)
    assert.equal(retryDelayMs({status: 429, rateLimitRemaining: '0'}, 1, policy, now, half), policy.capMs)
    assert.equal(retryDelayMs({status: 503, rateLimitRemaining: '4000'}, 2, policy, now, half), 500)
  })
})
