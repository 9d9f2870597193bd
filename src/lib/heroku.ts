import type {APIClient} from '@heroku-cli/command'

import type {AppSnapshot, ConfigVars} from './reconcile.js'

export const LOGIN_HINT = 'run `heroku login` or set HEROKU_API_KEY'

export interface FetchOptions {
  concurrency: number
  requestTimeoutMs: number
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
  http?: HttpLike
  body?: unknown
}

/** GET /apps/{app}/config-vars. `retryAuth: false` keeps a 401 from starting an interactive login. */
export async function fetchConfigVars(heroku: APIClient, app: string, requestTimeoutMs: number): Promise<ConfigVars> {
  const {body} = await heroku.get<unknown>(`/apps/${encodeURIComponent(app)}/config-vars`, {
    retryAuth: false,
    timeout: requestTimeoutMs,
  } as Parameters<APIClient['get']>[1])
  return asConfigVars(body)
}

function asConfigVars(body: unknown): ConfigVars {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error(`unexpected response body (${typeof body === 'string' ? 'not JSON' : Array.isArray(body) ? 'an array' : String(body)}), expected an object of config vars`)
  }

  for (const [name, value] of Object.entries(body)) {
    if (value !== null && typeof value !== 'string') {
      throw new Error(`unexpected response body: config var ${name} is ${typeof value}, expected a string`)
    }
  }

  return body as ConfigVars
}

function header(http: HttpLike | undefined, name: string): string | undefined {
  const value = http?.headers?.[name]
  return Array.isArray(value) ? value[0] : value
}

/** One line saying why a fetch failed and what to do, with the Request-Id when Heroku gave one. */
export function describeFetchError(error: unknown): string {
  const err = (error ?? {}) as FetchErrorLike
  const status = err.http?.statusCode
  const body = (typeof err.body === 'object' && err.body !== null ? err.body : {}) as {id?: string; message?: string}
  const requestId = header(err.http, 'request-id')
  const suffix = requestId ? ` (Request-Id: ${requestId})` : ''
  if (status === undefined) {
    const text = err.code && !err.message?.includes(err.code) ? `${err.code}: ${err.message}` : err.message
    return (text ?? String(error)).split('\n')[0]
  }

  const what = body.message ? `${body.message}${body.id ? ` [${body.id}]` : ''}` : 'no error message in the response'
  const hint = status === 401 ? `; ${LOGIN_HINT}` : status === 403 ? '; check that this account has access to the app' : ''
  return `HTTP ${status}: ${what.split('\n')[0]}${hint}${suffix}`
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

/** Fetches every app; a failed app becomes a snapshot with its error and never stops the others. */
export async function fetchAppSnapshots(heroku: APIClient, apps: string[], options: FetchOptions): Promise<AppSnapshot[]> {
  if (!(await heroku.getAuth())) {
    return apps.map(app => ({app, error: `not logged in to Heroku; ${LOGIN_HINT}`}))
  }

  return mapConcurrent(apps, options.concurrency, async (app): Promise<AppSnapshot> => {
    try {
      return {app, vars: await fetchConfigVars(heroku, app, options.requestTimeoutMs)}
    } catch (error) {
      return {app, error: describeFetchError(error)}
    }
  })
}
