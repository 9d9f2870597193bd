import type {APIClient} from '@heroku-cli/command'
import {vars} from '@heroku-cli/command/lib/vars.js'

import type {AppSnapshot, ConfigVars} from './reconcile.js'
import {type AttemptOutcome, isRetryableStatus, type RetryPolicy, retryDelayMs} from './retry.js'

export const LOGIN_HINT = 'run `heroku login` or set HEROKU_API_KEY'

export interface FetchOptions {
  concurrency: number
  /** One request: no complete answer within this long is a timeout (retried within the budget). */
  requestTimeoutMs: number
  /** Everything one app may take: every try and every wait between tries. */
  budgetMs: number
  retry: RetryPolicy
  /** Injected for tests of the backoff; Math.random otherwise. */
  random?: () => number
  /** Called as each app's fetch finishes, in completion order (for progress output). */
  onSettled?: (snapshot: AppSnapshot) => void
}

interface HttpLike {
  statusCode?: number
  headers?: Record<string, string | string[] | undefined>
}

// The three shapes @heroku-cli/command throws: HerokuAPIError (`.http`, `.body.{id,message}`),
// a bare HTTPError (`.http`, body without a message), and plain errors (network, bad JSON).
interface FetchErrorLike {
  message?: string
  code?: string
  http?: HttpLike & {http?: HttpLike}
  body?: unknown
}

// HerokuAPIError keeps the HTTPError in `.http`, whose own `.http` has the headers; a bare
// HTTPError's `.http` is the response itself.
function responseOf(error: unknown): HttpLike | undefined {
  const http = (error as FetchErrorLike | undefined)?.http
  return http?.headers ? http : http?.http ?? http
}

/** Our own time limits, told apart from network errors so they can be retried and named. */
export class FetchTimeoutError extends Error {}

/** The last failure of an app whose time budget ran out, with how long we kept trying. */
export class RetriesExhaustedError extends Error {
  constructor(readonly last: unknown, readonly summary: string) {
    super(summary)
  }
}

/** A 200 whose body is not an object of strings: asking again will not fix it. */
export class UnexpectedBodyError extends Error {}

/**
 * One GET /apps/{app}/config-vars. `retryAuth: false` keeps a 401 from starting an interactive
 * login. http-call's own `timeout` destroys a socket that goes quiet (and is not retried by it);
 * the race covers what that misses: an answer whose body stalls after the headers never settles.
 */
async function getConfigVars(heroku: APIClient, app: string, timeoutMs: number, timeoutText: string): Promise<{body: unknown; http: HttpLike}> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FetchTimeoutError(timeoutText)), timeoutMs)
  })
  try {
    const http = await Promise.race([
      heroku.get<unknown>(`/apps/${encodeURIComponent(app)}/config-vars`, {retryAuth: false, timeout: timeoutMs} as Parameters<APIClient['get']>[1]),
      timedOut,
    ])
    return {body: http.body, http}
  } finally {
    clearTimeout(timer)
  }
}

function asConfigVars(body: unknown): ConfigVars {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const got = typeof body === 'string' ? (body.trimStart().startsWith('<') ? 'an HTML page' : 'text that is not JSON') : Array.isArray(body) ? 'an array' : String(body)
    throw new UnexpectedBodyError(`unexpected response body (${got}), expected a JSON object of config vars`)
  }

  for (const [name, value] of Object.entries(body)) {
    if (value !== null && typeof value !== 'string') {
      throw new UnexpectedBodyError(`unexpected response body: config var ${name} is ${Array.isArray(value) ? 'an array' : typeof value}, expected a string`)
    }
  }

  return body as ConfigVars
}

function header(http: HttpLike | undefined, name: string): string | undefined {
  const value = http?.headers?.[name]
  return Array.isArray(value) ? value[0] : value
}

// What to do about a 403, by Heroku's error id.
const FORBIDDEN_HINTS: Record<string, string> = {
  suspended: 'the app or its account is suspended; its owner must resolve that with Heroku before it can be read',
  two_factor: 'this app needs a second factor; run the command in an interactive terminal to be asked for the code',
}
const FORBIDDEN_HINT = 'this account has no access to the app; check `heroku auth:whoami` and ask the app owner for access'

/** One line saying why a fetch failed and what to do, with the Request-Id when Heroku gave one. */
export function describeFetchError(error: unknown): string {
  const err = (error ?? {}) as FetchErrorLike
  const response = responseOf(error)
  const status = response?.statusCode
  const body = (typeof err.body === 'object' && err.body !== null ? err.body : {}) as {id?: string; message?: string}
  const requestId = header(response, 'request-id')
  const suffix = requestId ? ` (Request-Id: ${requestId})` : ''
  if (status === undefined) {
    if (error instanceof SyntaxError) return `unexpected response body (invalid JSON: ${error.message}), expected a JSON object of config vars`
    // @heroku-cli/command turns a two_factor 403 into this plain error when there is no terminal.
    if (/two-factor/i.test(err.message ?? '')) return `HTTP 403 [two_factor]: ${FORBIDDEN_HINTS.two_factor}`
    if (error instanceof FetchTimeoutError || error instanceof UnexpectedBodyError) return error.message
    const text = err.code && !err.message?.includes(err.code) ? `${err.code}: ${err.message}` : err.message
    // Network errors have reached us after http-call's own retries.
    return `${err.code ? 'cannot reach the Heroku API: ' : ''}${(text ?? String(error)).split('\n')[0]}`
  }

  const contentType = header(response, 'content-type')?.split(';')[0]
  const what = body.message
    ? `${body.message.split('\n')[0]}${body.id ? ` [${body.id}]` : ''}`
    : typeof err.body === 'string' && err.body && contentType ? `a ${contentType} body, not an API error` : 'no error message in the response'
  const hint = status === 401
    ? `; ${LOGIN_HINT}`
    : status === 403 ? `; ${FORBIDDEN_HINTS[body.id ?? ''] ?? FORBIDDEN_HINT}`
      : status === 404 ? '; check the app name (`heroku apps`) and that this account can see it' : ''
  return `HTTP ${status}: ${what}${hint}${suffix}`
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the input order in the result. */
export async function mapConcurrent<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = Array.from({length: items.length})
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index])
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Shared by every app of a run: once Heroku says the rate limit is spent, no app asks again
 * before the pause is over, so a run over many apps never storms a rate-limited account.
 */
class RateLimitPause {
  private until = 0

  note(http: HttpLike | undefined, waitMs: number): void {
    if (header(http, 'ratelimit-remaining')?.trim() === '0') this.until = Math.max(this.until, Date.now() + waitMs)
  }

  remainingMs(): number {
    return Math.max(0, this.until - Date.now())
  }
}

function outcomeOf(error: unknown): AttemptOutcome {
  const http = responseOf(error)
  return {rateLimitRemaining: header(http, 'ratelimit-remaining'), retryAfter: header(http, 'retry-after'), status: http?.statusCode}
}

function isRetryable(error: unknown): boolean {
  return error instanceof FetchTimeoutError || isRetryableStatus(responseOf(error)?.statusCode)
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`

/**
 * One app's config vars: 429 and 5xx answers and timeouts are tried again after the wait the
 * server asks for (or jittered backoff), until the app's time budget would run out. Network
 * errors are not retried here: http-call has already retried them five times (about 6 s).
 */
async function fetchWithRetries(heroku: APIClient, app: string, options: FetchOptions, pause: RateLimitPause): Promise<ConfigVars> {
  const started = Date.now()
  const deadline = started + options.budgetMs
  const random = options.random ?? Math.random
  // The last real answer: when the budget runs out during a later try, it says more than "no answer".
  let lastAnswer: unknown
  for (let attempt = 1; ; attempt++) {
    const paused = pause.remainingMs()
    if (paused > 0) {
      if (Date.now() + paused >= deadline) throw new FetchTimeoutError(`the Heroku API rate limit is spent and the ${seconds(options.budgetMs)} budget for this app would run out waiting`)
      await sleep(paused)
    }

    const left = deadline - Date.now()
    const timeoutMs = Math.max(1, Math.min(options.requestTimeoutMs, left))
    const timeoutText = timeoutMs < options.requestTimeoutMs
      ? 'no answer before the time for this app ran out'
      : `no answer within ${seconds(options.requestTimeoutMs)} (--request-timeout)`
    try {
      const {body, http} = await getConfigVars(heroku, app, timeoutMs, timeoutText)
      pause.note(http, options.retry.capMs)
      return asConfigVars(body)
    } catch (error) {
      const outcome = outcomeOf(error)
      const waitMs = retryDelayMs(outcome, attempt, options.retry, Date.now(), random)
      pause.note(responseOf(error), waitMs)
      if (!isRetryable(error)) throw error
      const cutShort = error instanceof FetchTimeoutError && timeoutMs < options.requestTimeoutMs
      if (!cutShort) lastAnswer = error
      if (Date.now() + waitMs >= deadline) {
        throw new RetriesExhaustedError(cutShort ? lastAnswer ?? error : error, `gave up after ${attempt} ${attempt === 1 ? 'try' : 'tries'} in ${seconds(Date.now() - started)} (--fetch-timeout ${seconds(options.budgetMs)})`)
      }

      await sleep(waitMs)
    }
  }
}

/** The final error line: what happened, what to do, and how long we kept trying. */
function describeFinal(error: unknown): string {
  if (!(error instanceof RetriesExhaustedError)) return describeFetchError(error)
  const text = describeFetchError(error.last)
  const gaveUp = error.summary
  // Keep the Request-Id last, where the eye looks for it.
  const at = text.lastIndexOf(' (Request-Id: ')
  return at < 0 ? `${text}; ${gaveUp}` : `${text.slice(0, at)}; ${gaveUp}${text.slice(at)}`
}

/** Fetches every app; a failed app becomes a snapshot with its error and never stops the others. */
export async function fetchAppSnapshots(heroku: APIClient, apps: string[], options: FetchOptions): Promise<AppSnapshot[]> {
  const settled = (snapshot: AppSnapshot) => {
    options.onSettled?.(snapshot)
    return snapshot
  }

  if (!(await heroku.getAuth())) {
    return apps.map(app => settled({app, error: `not logged in to Heroku; ${LOGIN_HINT}`}))
  }

  const pause = new RateLimitPause()
  return mapConcurrent(apps, options.concurrency, async (app): Promise<AppSnapshot> => {
    try {
      return settled({app, vars: await fetchWithRetries(heroku, app, options, pause)})
    } catch (error) {
      return settled({app, error: describeFinal(error)})
    }
  })
}

/**
 * The logged-in account's email (GET /account), to say in the journal who ran an apply. It only
 * labels the run, so any failure gives null and never stops the command.
 */
export async function fetchAccountEmail(heroku: APIClient, requestTimeoutMs: number): Promise<string | null> {
  try {
    if (!(await heroku.getAuth())) return null
    // Absolute, because the client pairs a relative `/account` GET with a delinquency lookup on
    // another host (particleboard.heroku.com): a second request, and seconds of waiting where that
    // host is unreachable. Only the Platform API (or HEROKU_HOST) is asked this way.
    const url = new URL('/account', vars.apiUrl).href
    const {body} = await heroku.get<{email?: unknown}>(url, {retryAuth: false, timeout: requestTimeoutMs} as Parameters<APIClient['get']>[1])
    return typeof body?.email === 'string' ? body.email : null
  } catch {
    return null
  }
}
