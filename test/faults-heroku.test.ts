// The Heroku API misbehaving, through the real commands against the local stand-in over HTTP:
// every failure is per app, named, bounded in time, and never leaks the token.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, test} from 'node:test'

import {type CliResult, hermeticEnv, ROOT, runCli, runCommand} from './support/cli.js'
import {dumpTable, parseReport, scenario} from './support/fixture.js'
import {DEFAULT_CONCURRENCY} from '../src/lib/backfill-command.js'

const GOOD = 'raxx-api-staging'
// Small limits keep retries fast; the defaults are minutes, not seconds.
const FAST = ['--max-retry-wait', '0.05', '--fetch-timeout', '5']

const appsFailed = (report: any) => report.apps.filter((app: any) => app.error !== null).map((app: any) => app.app)

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('429 and 5xx: retried with backoff, within a time budget', () => {
  test('429 with Retry-After: 1 is retried after the second, not before, and then succeeds', async () => {
    const {env, heroku} = await scenario({apps: {[GOOD]: {FLAG_A: '1'}}, faults: {[GOOD]: {headers: {'Retry-After': '1'}, status: 429, times: 1}}})
    const result = await runCommand(['flags:backfill:plan', '--max-retry-wait', '5'], env)
    assert.equal(result.code, 0, result.stderr)
    assert.equal(parseReport(result.stdout).apps[0].flags_found, 1)
    assert.deepEqual(heroku.requests.map(request => request.status), [429, 200])
    assert.equal(heroku.earlyRetries, 0, 'the retry waited for Retry-After')
  })

  test('502 and 503 with HTML bodies, then 200: retried, exit 0', async () => {
    const html = {body: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html'}
    const {env, heroku} = await scenario({
      apps: {'raxx-api-prod': {FLAG_A: '1'}, [GOOD]: {FLAG_B: '2'}},
      faults: {'raxx-api-prod': {...html, status: 502, times: 2}, [GOOD]: {status: 503, times: 3}},
    })
    const result = await runCommand(['flags:backfill:apply', '--confirm', ...FAST], env)
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(parseReport(result.stdout).apps.map((app: any) => app.applied_inserts), [1, 1])
    assert.equal(heroku.requests.filter(request => request.status >= 500).length, 5)
  })

  test('an absurd Retry-After (an epoch timestamp, a huge number) waits the cap, not decades', async () => {
    const {env} = await scenario({
      apps: {'raxx-api-prod': {FLAG_A: '1'}, [GOOD]: {FLAG_B: '2'}},
      faults: {'raxx-api-prod': {headers: {'Retry-After': '1767225600'}, status: 429, times: 1}, [GOOD]: {headers: {'Retry-After': '99999999999'}, status: 503, times: 1}},
    })
    const started = Date.now()
    const result = await runCommand(['flags:backfill:plan', '--max-retry-wait', '0.2'], env)
    assert.equal(result.code, 0, result.stderr)
    assert.ok(Date.now() - started < 10_000, 'finished within 10 s')
  })

  test('a spent rate limit (RateLimit-Remaining: 0) pauses every app: no request storm, all fetched', async () => {
    const apps = Object.fromEntries(Array.from({length: 6}, (_, i) => [`raxx-app-${i}`, {FLAG_A: String(i)}]))
    const {env, heroku} = await scenario({apps})
    // Two requests per 300 ms for the whole account.
    await heroku.close()
    const {startHerokuApiStub} = await import('../tools/heroku-api-stub.js')
    const limited = await startHerokuApiStub({apps: Object.fromEntries(Object.entries(apps).map(([name, configVars]) => [name, {configVars}])), rateLimit: {refillMs: 300, remaining: 2}, token: env.HEROKU_API_KEY})
    try {
      const result = await runCommand(['flags:backfill:plan', '--max-retry-wait', '0.4', '--fetch-timeout', '20'], {...env, HEROKU_HOST: limited.url})
      assert.equal(result.code, 0, result.stderr)
      assert.deepEqual(appsFailed(parseReport(result.stdout)), [])
      const limitedAnswers = limited.requests.filter(request => request.status === 429).length
      // The first wave meets an empty bucket; after that every app waits for the refill.
      assert.ok(limitedAnswers <= 2 * 6, `${limitedAnswers} answers of 429 for 6 apps`)
    } finally {
      await limited.close()
    }
  })

  test('5xx that never ends: the app fails after its budget, naming the status, the tries and the Request-Id; the others are applied', async () => {
    const {databaseUrl, env} = await scenario({apps: {'raxx-api-prod': {FLAG_A: '1'}, [GOOD]: {FLAG_B: '2'}}, faults: {'raxx-api-prod': {status: 503}}})
    const started = Date.now()
    const result = await runCommand(['flags:backfill:apply', '--confirm', '--max-retry-wait', '0.1', '--fetch-timeout', '1'], env)
    assert.equal(result.code, 1)
    assert.ok(Date.now() - started < 10_000, 'finished within 10 s')
    assert.match(result.stderr, /^fetch failed for raxx-api-prod: HTTP 503: Heroku API is temporarily unavailable\. \[service_unavailable\]; gave up after \d+ tries in [\d.]+ s \(--fetch-timeout 1 s\) \(Request-Id: [\w-]+/m)
    const report = parseReport(result.stdout)
    assert.deepEqual(appsFailed(report), ['raxx-api-prod'])
    assert.deepEqual((await dumpTable(databaseUrl)).map(row => row.flag_name), ['FLAG_B'])
  })

  test('429 that never ends: exit 1, named as the rate limit', async () => {
    const {env} = await scenario({apps: {[GOOD]: {FLAG_A: '1'}}, faults: {[GOOD]: {status: 429}}})
    const result = await runCommand(['flags:backfill:plan', '--max-retry-wait', '0.1', '--fetch-timeout', '0.5'], env)
    assert.equal(result.code, 1)
    assert.match(result.stderr, /fetch failed for raxx-api-staging: HTTP 429: Your account reached the API rate limit \[rate_limit\]; gave up after/)
  })
})

describe('401: fails fast, never prompts, never prints the token', () => {
  const STALE = 'hrku-stale-token-feedfacecafe'

  function netrcHome(hostPort: string): string {
    const home = mkdtempSync(join(tmpdir(), 'flags-backfill-netrc-'))
    writeFileSync(join(home, '.netrc'), `machine ${hostPort}\n  login operator@raxx.example\n  password ${STALE}\n`, {mode: 0o600})
    return home
  }

  function assertUnauthorized(result: CliResult) {
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /fetch failed for raxx-api-staging: HTTP 401: Invalid credentials provided\. \[unauthorized\]; run `heroku login` or set HEROKU_API_KEY/)
    assert.ok(!`${result.stdout}${result.stderr}`.includes(STALE), 'the token is never printed')
    assert.doesNotMatch(result.stderr, /setRawMode|Press any key|browser/i)
    assert.equal(parseReport(result.stdout).apps[0].error.startsWith('HTTP 401'), true)
  }

  test('a stale stored login (.netrc, no HEROKU_API_KEY), stdin not a terminal', async () => {
    const {env, heroku} = await scenario({apps: {[GOOD]: {FLAG_A: '1'}}})
    const home = netrcHome(new URL(heroku.url).host)
    const result = await runCli(['flags:backfill:plan'], {...env, HEROKU_API_KEY: undefined, HOME: home}, {timeoutMs: 20_000})
    assertUnauthorized(result)
    assert.equal(heroku.requests.length, 1, 'one request, no login retry')
    assert.equal(heroku.requests[0].headers.authorization, `Bearer ${STALE}`, 'the stored login was the one used')
  })

  test('a stale stored login with stdin a terminal (under script(1)): still no prompt, no hang', async () => {
    const {env, heroku} = await scenario({apps: {[GOOD]: {FLAG_A: '1'}}})
    const home = netrcHome(new URL(heroku.url).host)
    const childEnv = Object.fromEntries(Object.entries({...process.env, ...hermeticEnv({...env, HEROKU_API_KEY: undefined, HOME: home})}).filter(([, value]) => value !== undefined)) as Record<string, string>
    const command = `'${process.execPath}' '${join(ROOT, 'bin', 'run.js')}' flags:backfill:plan 2>"$STDERR_FILE"`
    const stderrFile = join(home, 'stderr.txt')
    const result = await new Promise<CliResult>((resolve, reject) => {
      // script(1) gives the command a pseudo-terminal as stdin; its stdout carries the report.
      const child = spawn('script', ['-qefc', command, '/dev/null'], {env: {...childEnv, STDERR_FILE: stderrFile}, stdio: ['pipe', 'pipe', 'pipe']})
      const out: Buffer[] = []
      child.stdout.on('data', chunk => out.push(chunk))
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      child.on('error', reject)
      child.on('close', async code => {
        clearTimeout(timer)
        const {readFileSync} = await import('node:fs')
        resolve({code: code ?? 137, stderr: readFileSync(stderrFile, 'utf8'), stdout: Buffer.concat(out).toString('utf8').replaceAll('\r\n', '\n')})
      })
    })
    assertUnauthorized(result)
    assert.equal(heroku.requests.length, 1)
  })
})

describe('403: per app, naming the app and what to do', () => {
  test('forbidden, suspended and two_factor (no terminal): each app named with its remedy; the good app applied; exit 1', async () => {
    const {databaseUrl, env} = await scenario({
      apps: {'raxx-forbidden': {FLAG_A: '1'}, 'raxx-suspended': {FLAG_A: '1'}, 'raxx-two-factor': {FLAG_A: '1'}, [GOOD]: {FLAG_B: '2'}},
      faults: {
        'raxx-forbidden': {status: 403},
        'raxx-suspended': {id: 'suspended', message: 'This app has been suspended.', status: 403},
        'raxx-two-factor': {body: JSON.stringify({app: {name: 'raxx-two-factor'}, id: 'two_factor', message: 'A second authentication factor or pre-authorization is required for this request.'}), status: 403},
      },
    })
    const result = await runCli(['flags:backfill:apply', '--confirm'], env, {timeoutMs: 20_000})
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /^fetch failed for raxx-forbidden: HTTP 403: You do not have access to the app\. \[forbidden\]; this account has no access to the app; check `heroku auth:whoami`/m)
    assert.match(result.stderr, /^fetch failed for raxx-suspended: HTTP 403: This app has been suspended\. \[suspended\]; the app or its account is suspended/m)
    assert.match(result.stderr, /^fetch failed for raxx-two-factor: HTTP 403 \[two_factor\]: this app needs a second factor; run the command in an interactive terminal/m)
    assert.deepEqual(appsFailed(parseReport(result.stdout)), ['raxx-forbidden', 'raxx-suspended', 'raxx-two-factor'])
    assert.deepEqual((await dumpTable(databaseUrl)).map(row => `${row.app_name}/${row.flag_name}`), [`${GOOD}/FLAG_B`])
  })
})

describe('answers that are not config vars', () => {
  test('HTML 200, broken JSON, an array, a number value, a nested object: each app fails alone; null stays unset', async () => {
    const {databaseUrl, env} = await scenario({
      apps: {
        'raxx-array': {}, 'raxx-broken': {}, 'raxx-html': {}, 'raxx-nested': {}, 'raxx-number': {},
        [GOOD]: {FLAG_B: '2', FLAG_GONE: null},
      },
      faults: {
        'raxx-array': {body: '["FLAG_A"]', status: 200},
        'raxx-broken': {body: '{"FLAG_A": "1", ', status: 200},
        'raxx-html': {body: '<!DOCTYPE html><html><title>Heroku | Maintenance</title></html>', contentType: 'text/html; charset=utf-8', status: 200},
        'raxx-nested': {body: '{"FLAG_A": {"value": "1"}}', status: 200},
        'raxx-number': {body: '{"FLAG_A": 1}', status: 200},
      },
    })
    const result = await runCommand(['flags:backfill:apply', '--confirm', ...FAST], env)
    assert.equal(result.code, 1, result.stderr)
    const errors = Object.fromEntries(parseReport(result.stdout).apps.map((app: any) => [app.app, app.error]))
    assert.deepEqual(errors, {
      'raxx-array': 'unexpected response body (an array), expected a JSON object of config vars',
      'raxx-broken': errors['raxx-broken'],
      'raxx-html': 'unexpected response body (an HTML page), expected a JSON object of config vars',
      'raxx-nested': 'unexpected response body: config var FLAG_A is object, expected a string',
      'raxx-number': 'unexpected response body: config var FLAG_A is number, expected a string',
      [GOOD]: null,
    })
    assert.match(errors['raxx-broken'], /^unexpected response body \(invalid JSON: .+\), expected a JSON object of config vars$/)
    for (const app of ['raxx-array', 'raxx-broken', 'raxx-html', 'raxx-nested', 'raxx-number']) assert.match(result.stderr, new RegExp(`^fetch failed for ${app}: `, 'm'))
    assert.deepEqual((await dumpTable(databaseUrl)).map(row => row.flag_name), ['FLAG_B'])
  })

  test('404: named, with what to check', async () => {
    const {env} = await scenario({apps: {[GOOD]: {FLAG_B: '2'}}})
    const result = await runCommand(['flags:backfill:plan', '--app', 'raxx-typo'], env)
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^fetch failed for raxx-typo: HTTP 404: Couldn't find that app\. \[not_found\]; check the app name/m)
  })
})

describe('slow, stalled and unreachable servers: bounded in time', () => {
  test('a server that never answers, and one that stalls mid-body: timeouts, the other app done, the process exits promptly', async () => {
    const {databaseUrl, env} = await scenario({
      apps: {'raxx-silent': {FLAG_A: '1'}, 'raxx-stalled': {FLAG_A: '1'}, [GOOD]: {FLAG_B: '2'}},
      faults: {'raxx-silent': {delayMs: 600_000, status: 200}, 'raxx-stalled': {body: '{"FLAG_A": "1", "FLAG_B": "2"}', stallBody: true, status: 200}},
    })
    const started = Date.now()
    const result = await runCli(['flags:backfill:apply', '--confirm', '--request-timeout', '0.5', '--fetch-timeout', '1.2', '--max-retry-wait', '0.05'], env, {timeoutMs: 30_000})
    assert.ok(Date.now() - started < 15_000, 'finished within 15 s')
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /^fetch failed for raxx-silent: no answer (within 0\.5 s \(--request-timeout\)|before the time for this app ran out); gave up after \d+ tries in [\d.]+ s \(--fetch-timeout 1\.2 s\)$/m)
    assert.match(result.stderr, /^fetch failed for raxx-stalled: no answer/m)
    assert.deepEqual(appsFailed(parseReport(result.stdout)), ['raxx-silent', 'raxx-stalled'])
    assert.deepEqual((await dumpTable(databaseUrl)).map(row => row.flag_name), ['FLAG_B'])
  })

  test('a slow answer within the request timeout is simply waited for', async () => {
    const {env} = await scenario({apps: {[GOOD]: {FLAG_B: '2'}}, faults: {[GOOD]: {body: '{"FLAG_B": "2"}', delayMs: 300, status: 200, times: 1}}})
    const result = await runCommand(['flags:backfill:plan', '--request-timeout', '5'], env)
    assert.equal(result.code, 0, result.stderr)
  })

  test('connection refused: every app fails with the cause, exit 1, within http-call\'s own retries (about 6 s)', async () => {
    const {env} = await scenario({apps: {'raxx-api-prod': {FLAG_A: '1'}, [GOOD]: {FLAG_B: '2'}}})
    const started = Date.now()
    const result = await runCli(['flags:backfill:plan'], {...env, HEROKU_HOST: `http://127.0.0.1:${await closedPort()}`}, {timeoutMs: 30_000})
    assert.ok(Date.now() - started < 20_000, 'finished within 20 s')
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^fetch failed for raxx-api-prod: cannot reach the Heroku API: connect ECONNREFUSED 127\.0\.0\.1:\d+$/m)
    assert.deepEqual(appsFailed(parseReport(result.stdout)), ['raxx-api-prod', GOOD])
  })

  test('a dropped connection is retried and the fetch succeeds', async () => {
    const {env, heroku} = await scenario({apps: {[GOOD]: {FLAG_B: '2'}}, faults: {[GOOD]: {status: 0, times: 1}}})
    const result = await runCommand(['flags:backfill:plan'], env)
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(heroku.requests.map(request => request.status), [0, 200])
  })
})

describe('many apps: bounded concurrency', () => {
  const many = Object.fromEntries(Array.from({length: 40}, (_, i) => [`raxx-app-${String(i).padStart(2, '0')}`, {FLAG_A: String(i)}]))

  test('--concurrency 3: never more than 3 requests in flight, all apps done in order', async () => {
    const {env} = await scenario({apps: many})
    const {startHerokuApiStub} = await import('../tools/heroku-api-stub.js')
    const slow = await startHerokuApiStub({apps: Object.fromEntries(Object.entries(many).map(([name, configVars]) => [name, {configVars}])), latencyMs: 50, token: env.HEROKU_API_KEY})
    try {
      const result = await runCommand(['flags:backfill:plan', '--concurrency', '3'], {...env, HEROKU_HOST: slow.url})
      assert.equal(result.code, 0, result.stderr)
      assert.deepEqual(parseReport(result.stdout).apps.map((app: any) => app.app), Object.keys(many))
      assert.equal(slow.peakInFlight, 3)
      assert.equal(slow.requests.length, 40)
    } finally {
      await slow.close()
    }
  })

  test(`the default is ${DEFAULT_CONCURRENCY} at once`, async () => {
    const {env} = await scenario({apps: many})
    const {startHerokuApiStub} = await import('../tools/heroku-api-stub.js')
    const slow = await startHerokuApiStub({apps: Object.fromEntries(Object.entries(many).map(([name, configVars]) => [name, {configVars}])), latencyMs: 50, token: env.HEROKU_API_KEY})
    try {
      const result = await runCommand(['flags:backfill:plan'], {...env, HEROKU_HOST: slow.url})
      assert.equal(result.code, 0, result.stderr)
      assert.equal(slow.peakInFlight, DEFAULT_CONCURRENCY)
    } finally {
      await slow.close()
    }
  })
})
