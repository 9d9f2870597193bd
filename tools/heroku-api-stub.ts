// A local stand-in for the three Heroku Platform API endpoints the plugin reads, answering the
// way api.heroku.com does (status codes, error bodies, headers), so the plugin can be pointed at
// it with HEROKU_HOST=http://127.0.0.1:PORT.
import {createHash, randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface StubApp {
  // Read on every request, so a test may change it in place between plan and apply.
  configVars: Record<string, string | null>
}

export interface StubFault {
  // 0 drops the connection without an answer (a network error for the client).
  status: number
  id?: string
  message?: string
  body?: string
  contentType?: string
  headers?: Record<string, string>
  // Answer with the fault this many times, then behave normally. Default: always.
  times?: number
  // Answer only after this long (a slow server); longer than the test runs means never.
  delayMs?: number
  // Send the headers and half the body, then nothing more (a stalled answer).
  stallBody?: boolean
}

export interface StubRateLimit {
  // Requests allowed before the bucket is empty and every request gets a 429.
  remaining: number
  // How long an empty bucket stays empty before it is full again.
  refillMs: number
}

export interface HerokuApiStubOptions {
  token: string
  apps: Record<string, StubApp>
  faults?: Record<string, StubFault>
  latencyMs?: number
  account?: {email: string; id: string}
  rateLimit?: StubRateLimit
}

export interface StubRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  status: number
  at: number
}

export interface HerokuApiStub {
  url: string
  requests: StubRequest[]
  // The most requests the stub was answering at the same time.
  readonly peakInFlight: number
  // Requests for an app that came before the Retry-After (up to an hour) of its last answer.
  readonly earlyRetries: number
  setApp(name: string, app: StubApp | undefined): void
  setFault(app: string, fault: StubFault | undefined): void
  close(): Promise<void>
}

interface Answer {
  status: number
  body: string
  contentType?: string
  headers?: Record<string, string>
  delayMs?: number
  stallBody?: boolean
}

const JSON_TYPE = 'application/json; charset=utf-8'
const RATE_LIMIT: StubRateLimit = {remaining: 4500, refillMs: 3_600_000}
// Retry-After values up to this are held against the client; larger ones are a proxy's nonsense.
const ENFORCED_RETRY_AFTER_S = 3600

// Heroku's own wording, so error handling is exercised against the real texts.
const UNAUTHORIZED = {id: 'unauthorized', message: 'Invalid credentials provided.'}
const APP_NOT_FOUND = {id: 'not_found', message: "Couldn't find that app.", resource: 'app'}
const ENDPOINT_NOT_FOUND = {
  id: 'not_found',
  message:
    'The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your API version in the `Accept` header?',
}
// As observed from api.heroku.com (github.com/marc0der/gradle-heroku/issues/4): status 400 and
// the text under "error", not "message" — a body @heroku-cli/command cannot turn into HerokuAPIError.
const MISSING_VERSION = {
  id: 'missing_version',
  error: "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.\n",
}
const CONFIG_WRITE_REFUSED = {
  id: 'method_not_allowed',
  message: 'This stub refuses config-var writes: flags:backfill must never write to Heroku.',
}

const DEFAULT_FAULT_TEXT: Record<number, {id: string; message: string}> = {
  400: {id: 'bad_request', message: 'Request invalid, validate usage and try again.'},
  401: UNAUTHORIZED,
  402: {id: 'delinquent', message: 'This account is delinquent.'},
  403: {id: 'forbidden', message: 'You do not have access to the app.'},
  404: APP_NOT_FOUND,
  422: {id: 'invalid_params', message: 'Invalid params.'},
  429: {id: 'rate_limit', message: 'Your account reached the API rate limit\nPlease wait a few minutes before making new requests'},
  500: {id: 'internal_server_error', message: 'Internal server error.'},
  502: {id: 'bad_gateway', message: 'Bad gateway.'},
  503: {id: 'service_unavailable', message: 'Heroku API is temporarily unavailable.'},
}

export async function startHerokuApiStub(options: HerokuApiStubOptions): Promise<HerokuApiStub> {
  const apps = new Map(Object.entries(options.apps))
  // Copied: counting down `times` must not change the caller's objects.
  const faults = new Map(Object.entries(options.faults ?? {}).map(([app, fault]) => [app, {...fault}]))
  const account = options.account ?? {email: 'operator@raxx.example', id: stableId('account')}
  const requests: StubRequest[] = []
  const timers = new Set<NodeJS.Timeout>()
  const rateLimit = options.rateLimit ?? RATE_LIMIT
  let rateLimitRemaining = rateLimit.remaining
  let refillAt = 0
  let inFlight = 0
  let peakInFlight = 0
  let earlyRetries = 0
  const retryNotBefore = new Map<string, number>()

  function route(req: IncomingMessage, path: string): Answer | 'drop' {
    if (!acceptsVersion3(req.headers.accept)) return json(400, MISSING_VERSION)
    if (req.headers.authorization !== `Bearer ${options.token}`) return json(401, UNAUTHORIZED)
    if (path === '/account') return req.method === 'GET' ? json(200, account) : json(404, ENDPOINT_NOT_FOUND)

    const match = /^\/apps\/([^/]+)(\/config-vars)?$/.exec(path)
    if (!match) return json(404, ENDPOINT_NOT_FOUND)
    const [name, app] = findApp(decodeURIComponent(match[1]))
    const configVars = match[2] !== undefined
    if (req.method !== 'GET') return configVars ? json(405, CONFIG_WRITE_REFUSED) : json(404, ENDPOINT_NOT_FOUND)

    if ((retryNotBefore.get(name) ?? 0) > Date.now()) earlyRetries++
    retryNotBefore.delete(name)
    if (rateLimitRemaining === 0 && Date.now() >= refillAt) rateLimitRemaining = rateLimit.remaining
    // Like Heroku: an empty bucket answers 429 with RateLimit-Remaining: 0 and no Retry-After.
    if (rateLimitRemaining === 0) return json(429, DEFAULT_FAULT_TEXT[429])
    const fault = faults.get(name)
    if (fault && (fault.times === undefined || fault.times > 0)) return remember(name, useFault(name, fault))
    if (!app) return json(404, APP_NOT_FOUND)
    return configVars ? json(200, app.configVars) : json(200, {id: stableId(name), name})
  }

  // Heroku accepts an app's id as well as its name.
  function findApp(nameOrId: string): [string, StubApp | undefined] {
    if (apps.has(nameOrId)) return [nameOrId, apps.get(nameOrId)]
    for (const [name, app] of apps) if (stableId(name) === nameOrId) return [name, app]
    return [nameOrId, undefined]
  }

  function useFault(app: string, fault: StubFault): Answer | 'drop' {
    if (fault.times !== undefined) {
      fault.times -= 1
      if (fault.times <= 0) faults.delete(app)
    }
    if (fault.status === 0) return 'drop'
    const text = DEFAULT_FAULT_TEXT[fault.status] ?? {id: 'error', message: `HTTP ${fault.status}`}
    const body = fault.body ?? JSON.stringify({id: fault.id ?? text.id, message: fault.message ?? text.message})
    return {status: fault.status, body, contentType: fault.contentType, headers: fault.headers, delayMs: fault.delayMs, stallBody: fault.stallBody}
  }

  function remember(app: string, result: Answer | 'drop'): Answer | 'drop' {
    const seconds = result === 'drop' ? undefined : Number(result.headers?.['Retry-After'])
    if (seconds !== undefined && seconds >= 0 && seconds <= ENFORCED_RETRY_AFTER_S) retryNotBefore.set(app, Date.now() + seconds * 1000)
    return result
  }

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    const result = route(req, path)
    const status = result === 'drop' ? 0 : result.status
    requests.push({method: req.method ?? '', path: req.url ?? '', headers: {...req.headers}, status, at: Date.now()})
    if (result === 'drop') {
      req.socket.destroy()
      return
    }

    if (rateLimitRemaining > 0) {
      rateLimitRemaining -= 1
      if (rateLimitRemaining === 0) refillAt = Date.now() + rateLimit.refillMs
    }

    if (result.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer)
        send(req, res, result)
      }, result.delayMs)
      timers.add(timer)
      return
    }

    send(req, res, result)
  }

  function send(req: IncomingMessage, res: ServerResponse, result: Answer): void {
    const requestId = req.headers['request-id']
    res.writeHead(result.status, {
      'Content-Type': result.contentType ?? JSON_TYPE,
      'Content-Length': Buffer.byteLength(result.body),
      'Request-Id': typeof requestId === 'string' && requestId ? requestId : randomUUID(),
      'RateLimit-Remaining': String(rateLimitRemaining),
      ...result.headers,
    })
    if (result.stallBody) res.write(result.body.slice(0, Math.floor(result.body.length / 2)))
    else res.end(result.body)
  }

  const server = createServer((req, res) => {
    inFlight++
    peakInFlight = Math.max(peakInFlight, inFlight)
    res.once('close', () => inFlight--)
    // Drain any body (a write attempt) so the client is not left waiting on a full socket.
    req.resume()
    if (!options.latencyMs) return answer(req, res)
    const timer = setTimeout(() => {
      timers.delete(timer)
      answer(req, res)
    }, options.latencyMs)
    timers.add(timer)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get peakInFlight() {
      return peakInFlight
    },
    get earlyRetries() {
      return earlyRetries
    },
    setApp(name, app) {
      if (app) apps.set(name, app)
      else apps.delete(name)
    },
    setFault(app, fault) {
      if (fault) faults.set(app, {...fault})
      else faults.delete(app)
    },
    close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      return new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

function json(status: number, value: unknown): Answer {
  return {status, body: JSON.stringify(value)}
}

// The CLI sends exactly "application/vnd.heroku+json; version=3"; variants like version=3.sdk
// are Heroku's too, so any 3.x is accepted.
function acceptsVersion3(accept: string | undefined): boolean {
  if (!accept) return false
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase())
    return type === 'application/vnd.heroku+json' && params.some((param) => /^version=3(\.|$)/.test(param))
  })
}

// Stable ids keep recorded requests and reports comparable between runs.
function stableId(name: string): string {
  const hex = createHash('sha1').update(`heroku-api-stub:${name}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
