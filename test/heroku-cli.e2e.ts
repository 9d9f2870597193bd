// The plugin inside the real `heroku` CLI (npm package `heroku`, pinned by
// tools/install-heroku-cli.sh and cached outside the repository): linked with plugins:link and
// run against the local Heroku API stand-in and a real PostgreSQL, once logged in through
// ~/.netrc and once with HEROKU_API_KEY; then packed with `npm pack` and installed with
// plugins:install. Every run is hermetic: its own HOME, telemetry and update checks off, stdin
// from /dev/null, npm offline (the plugin's dependencies come from the local npm cache).
// `npm run test:e2e`.
import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'

import {runbookDataset} from '../tools/seed.js'
import {ROOT} from './support/cli.js'
import {parseReport, scenario, TOKEN} from './support/fixture.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

let herokuBin = ''
// The HOMEs (an installed plugin weighs tens of MB) and the pack folder, removed at the end.
const scratch: string[] = []

before(() => {
  // The first run installs it (about 400 MB, a minute); later runs reuse the cache.
  herokuBin = execFileSync('bash', [join(ROOT, 'tools', 'install-heroku-cli.sh')], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
})

after(() => {
  for (const dir of scratch) rmSync(dir, {force: true, recursive: true})
})

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  scratch.push(dir)
  return dir
}

/** A fresh HOME: the heroku CLI keeps its plugins, caches and login there. */
function freshHome(): string {
  const home = scratchDir('flags-backfill-heroku-home-')
  mkdirSync(join(home, '.config'))
  return home
}

function herokuEnv(home: string, extra: Record<string, string>): Record<string, string> {
  return {
    // Built from nothing, so the developer's own login, apps and database never leak in.
    DISABLE_TELEMETRY: 'true',
    HEROKU_DISABLE_AUTOUPDATE: '1',
    HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
    HOME: home,
    LANG: 'C.UTF-8',
    OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    // plugins:install runs npm: the local cache only, never the network.
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    ...extra,
  }
}

function heroku(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(herokuBin, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', chunk => out.push(chunk))
    child.stderr.on('data', chunk => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code: code ?? (signal ? 128 : 1), stderr: Buffer.concat(err).toString('utf8'), stdout: Buffer.concat(out).toString('utf8')})
    })
  })
}

/** stderr without the heroku CLI's own notices (` ›   Warning: …`, e.g. the terms-of-service banner on a fresh HOME). */
const ownLines = (stderr: string) => stderr.split('\n').filter(line => line.trim() !== '' && !line.startsWith(' ›   '))

async function link(env: Record<string, string>): Promise<void> {
  const linked = await heroku(['plugins:link', ROOT], env)
  assert.equal(linked.code, 0, linked.stderr)
  const plugins = await heroku(['plugins'], env)
  assert.match(plugins.stdout, /heroku-flags-backfill \S+ \(link\)/)
}

/** The runbook through `heroku`: plan, apply --confirm, verify; each exit 0 with one JSON document on stdout. */
async function runbook(env: Record<string, string>, databaseArgs: string[]): Promise<void> {
  const plan = await heroku(['flags:backfill:plan', ...databaseArgs], env)
  assert.equal(plan.code, 0, plan.stderr)
  const planned = parseReport(plan.stdout)
  assert.deepEqual(planned.apps.map((app: any) => app.flags_found), [5, 53, 38, 76])
  assert.ok(planned.totals.planned_inserts > 0 && planned.totals.planned_updates > 0)
  assert.match(plan.stderr, /^ raxx-console-staging +76 /m, 'the summary table on stderr')
  assert.doesNotMatch(plan.stderr, /EEXIT|^Error|›/m)

  const apply = await heroku(['flags:backfill:apply', '--confirm', ...databaseArgs], env)
  assert.equal(apply.code, 0, apply.stderr)
  const applied = parseReport(apply.stdout)
  assert.equal(applied.mode, 'APPLY')
  assert.equal(applied.totals.applied_inserts, planned.totals.planned_inserts)
  assert.equal(applied.totals.applied_updates, planned.totals.planned_updates)

  const verify = await heroku(['flags:backfill:verify', ...databaseArgs], env)
  assert.equal(verify.code, 0, verify.stderr)
  assert.equal(parseReport(verify.stdout).verify.passed, true)
  assert.match(verify.stderr, /^verify passed$/m)
}

describe('inside the real heroku CLI (plugins:link)', () => {
  test('logged in through ~/.netrc (no HEROKU_API_KEY), the database URL read with --db-app', async () => {
    const dataset = runbookDataset()
    const {databaseUrl, heroku: api} = await scenario({apps: dataset.apps, rows: dataset.rows})
    api.setApp('raxx-console-db', {configVars: {DATABASE_URL: databaseUrl}})
    const home = freshHome()
    // With HEROKU_HOST=http://127.0.0.1:PORT, @heroku-cli/command looks up the machine "127.0.0.1:PORT".
    writeFileSync(join(home, '.netrc'), `machine ${new URL(api.url).host}\n  login operator@raxx.example\n  password ${TOKEN}\n`)
    chmodSync(join(home, '.netrc'), 0o600)
    const env = herokuEnv(home, {FLAGS_BACKFILL_APPS: Object.keys(dataset.apps).join(','), HEROKU_HOST: api.url})
    await link(env)

    await runbook(env, ['--db-app', 'raxx-console-db'])
    assert.ok(api.requests.length >= 12)
    for (const request of api.requests) {
      assert.equal(request.method, 'GET')
      assert.equal(request.headers.authorization, `Bearer ${TOKEN}`, 'the token came from ~/.netrc')
    }
  })

  test('with HEROKU_API_KEY and DATABASE_URL; usage errors and exit codes come through cleanly', async () => {
    const dataset = runbookDataset(2012, {orphans: true})
    const {databaseUrl, heroku: api} = await scenario({apps: dataset.apps, rows: dataset.rows})
    const home = freshHome()
    const env = herokuEnv(home, {DATABASE_URL: databaseUrl, FLAGS_BACKFILL_APPS: Object.keys(dataset.apps).join(','), HEROKU_API_KEY: TOKEN, HEROKU_HOST: api.url})
    await link(env)

    const confirmApp = await heroku(['flags:backfill:apply', '--confirm', 'raxx-api-prod'], env)
    assert.equal(confirmApp.code, 2)
    assert.equal(confirmApp.stdout, '')
    assert.deepEqual(ownLines(confirmApp.stderr), ['Error: unexpected argument "raxx-api-prod": --confirm takes no value here (choose apps with --app)'])

    const apply = await heroku(['flags:backfill:apply', '--confirm', '--quiet'], env)
    assert.equal(apply.code, 0, apply.stderr)
    assert.deepEqual(ownLines(apply.stderr), [], '--quiet: nothing but errors')

    // Orphaned unsynced rows are work left: exit 3, said once, without oclif's "EEXIT" noise.
    const verify = await heroku(['flags:backfill:verify', '--quiet'], env)
    assert.equal(verify.code, 3, verify.stderr)
    assert.equal(parseReport(verify.stdout).verify.unsynced_deployed_count, 2)
    assert.deepEqual(ownLines(verify.stderr).map(line => line.trim().split(':')[0]), ['FAIL no_unsynced_deployed_rows', 'verify failed'])

    const matrix = await heroku(['flags:backfill:plan', '--matrix', '--app', 'raxx-api-prod', '--app', 'raxx-api-staging'], env)
    assert.equal(matrix.code, 0, matrix.stderr)
    assert.match(matrix.stderr, /^ Flag +raxx-api-prod +raxx-api-staging$/m)
  })
})

describe('installed from the npm pack tarball (plugins:install)', () => {
  test('the help of every command', async () => {
    const out = scratchDir('flags-backfill-pack-')
    // npm pack runs prepack (the build), so the tarball's manifest is the code's.
    execFileSync('npm', ['pack', '--pack-destination', out], {cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit']})
    const [tarball] = readdirSync(out).filter(name => name.endsWith('.tgz'))
    const env = herokuEnv(freshHome(), {})
    const install = await heroku(['plugins:install', `file:${join(out, tarball)}`], env, 300_000)
    assert.equal(install.code, 0, install.stderr)
    const plugins = await heroku(['plugins'], env)
    assert.match(plugins.stdout, /^heroku-flags-backfill \d+\.\d+\.\d+$/m, 'a user plugin, not a link')

    for (const [command, summary] of [
      ['plan', 'print the backfill plan'],
      ['apply', 'write the backfill'],
      ['verify', 'check that the table is ready'],
    ]) {
      const help = await heroku([`flags:backfill:${command}`, '--help'], env)
      assert.equal(help.code, 0, help.stderr)
      assert.ok(help.stdout.startsWith(summary), help.stdout)
      for (const section of ['USAGE', 'FLAGS', 'DESCRIPTION', 'EXAMPLES']) assert.match(help.stdout, new RegExp(`^${section}$`, 'm'))
      assert.match(help.stdout, /--db-app=<app>/)
      assert.match(help.stdout, new RegExp(`\\$ heroku flags:backfill:${command} --`))
    }

    const topic = await heroku(['help', 'flags:backfill'], env)
    assert.match(topic.stdout, /adopt live FLAG_\* config vars/)
    assert.match(topic.stdout, /flags:backfill:verify +check that the table is ready/)
  })
})
