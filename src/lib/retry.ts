// When and how long to wait before asking the Heroku API again. Pure functions of their inputs
// (the clock and the dice are passed in), so the rules are tested without waiting.

export interface RetryPolicy {
  /** First backoff step; each retry doubles it, up to capMs. */
  baseMs: number
  /** The longest single wait, whatever the server asks for. */
  capMs: number
}

/** What a failed attempt tells us about retrying it. */
export interface AttemptOutcome {
  status?: number
  retryAfter?: string
  rateLimitRemaining?: string
}

export const DEFAULT_BASE_MS = 500

/** 429 and every 5xx are worth another try; other answers will not change by asking again. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === 429 || (status !== undefined && status >= 500 && status <= 599)
}

/**
 * `Retry-After` in milliseconds, never more than the cap: delta-seconds or an HTTP date. A huge
 * number or an epoch timestamp sent as seconds (seen from misbehaving proxies) means "the cap",
 * not a wait of decades. Unreadable values are ignored (undefined).
 */
export function retryAfterMs(value: string | undefined, capMs: number, now: number): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(Number(text) * 1000, capMs)
  // An HTTP date names its month; Date.parse would also read "-5" as a year.
  const date = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(date)) return undefined
  return Math.min(Math.max(0, date - now), capMs)
}

/** Full-jitter exponential backoff: a random wait in [0, min(cap, base·2^(attempt-1))). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30))
  return Math.floor(random() * ceiling)
}

/**
 * The wait before attempt `attempt + 1`. The server's `Retry-After` wins; a spent rate limit
 * (`RateLimit-Remaining: 0`) without one waits the cap, since Heroku refills the bucket slowly
 * (4 500 an hour) and asking sooner only earns another 429; otherwise jittered backoff.
 */
export function retryDelayMs(outcome: AttemptOutcome, attempt: number, policy: RetryPolicy, now: number, random: () => number): number {
  const asked = retryAfterMs(outcome.retryAfter, policy.capMs, now)
  if (asked !== undefined) return asked
  if (outcome.rateLimitRemaining?.trim() === '0') return policy.capMs
  return backoffMs(attempt, policy, random)
}
