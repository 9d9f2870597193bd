// One benchmark case: a dataset seeded once into a template database, the Heroku API stand-in
// serving its apps, and every variant (the plugin's commands and the two floors) run cold,
// round-robin, so load that comes and goes on the machine spreads over all of them alike.
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startHerokuApiStub} from '../heroku-api-stub.js'
import type {PostgresServer} from '../postgres-server.js'
import {withSql} from '../postgres-server.js'
import {type Dataset, insertSeedRows} from '../seed.js'
import {findHerokuCli, herokuCliEnv, linkPlugins, ONE_REQUEST_COMMAND, ONE_REQUEST_PLUGIN, packedCopy} from './heroku-cli.js'
import {BENCH_DIR, type RunResult, runProcess, Series} from './measure.js'
import {startStatementCounter} from './statement-counter.js'

export interface CaseSpec {
  key: string
  title: string
  dataset: () => Dataset
  latencyMs: number
  runs: number
  /** Also time the plan fetching one app after another (--concurrency 1), once. */
  sequential?: boolean
  /** Also time the plan inside the real heroku CLI, when one is installed. */
  herokuCli?: boolean
}

export interface CaseResult {
  spec: CaseSpec
  apps: number
  flags: number
  rows: number
  series: Record<VariantKey, Series>
  sequential?: Series
  herokuCli: {plugin: Series; oneRequest: Series; linkedCheckout: Series} | {notMeasured: string}
  /** Planned inserts and updates of the plugin's apply, to show the floors wrote the same rows. */
  writes: {plugin: string; rawFloor: string; clientFloor: string}
}

export type VariantKey = 'plan' | 'rawPlan' | 'clientPlan' | 'apply' | 'rawApply' | 'clientApply'

interface Variant {
  key: VariantKey
  label: string
  writes: boolean
  args: string[]
}

export interface BenchContext {
  root: string
  server: PostgresServer
  concurrency: number
  scratch: string
  log: (line: string) => void
}

const RAW_FLOOR = fileURLToPath(new URL('raw-floor.mjs', BENCH_DIR))
const CLIENT_FLOOR = fileURLToPath(new URL('client-floor.mjs', BENCH_DIR))

function variants(root: string): Variant[] {
  const bin = join(root, 'bin', 'run.js')
  return [
    {args: [bin, 'flags:backfill:plan'], key: 'plan', label: 'plan', writes: false},
    {args: [RAW_FLOOR, 'plan'], key: 'rawPlan', label: 'raw floor (plan)', writes: false},
    {args: [CLIENT_FLOOR, 'plan'], key: 'clientPlan', label: 'client floor (plan)', writes: false},
    {args: [bin, 'flags:backfill:apply', '--confirm'], key: 'apply', label: 'apply --confirm', writes: true},
    {args: [RAW_FLOOR, 'apply'], key: 'rawApply', label: 'raw floor (apply)', writes: true},
    {args: [CLIENT_FLOOR, 'apply'], key: 'clientApply', label: 'client floor (apply)', writes: true},
  ]
}

export async function runCase(spec: CaseSpec, ctx: BenchContext): Promise<CaseResult> {
  const dataset = spec.dataset()
  const apps = Object.keys(dataset.apps)
  const flags = Object.values(dataset.apps).reduce((n, vars) => n + Object.keys(vars).filter(name => name.startsWith('FLAG_')).length, 0)
  ctx.log(`${spec.title}: ${apps.length} apps, ${flags} flags, ${dataset.rows.length} rows; seeding`)
  const template = await ctx.server.createDatabase('full')
  await insertSeedRows(template, dataset.rows)
  const token = `bench-${randomBytes(8).toString('hex')}`
  const stub = await startHerokuApiStub({
    apps: Object.fromEntries(Object.entries(dataset.apps).map(([app, configVars]) => [app, {configVars}])),
    latencyMs: spec.latencyMs,
    // Thousands of runs share this stub; Heroku's hourly budget is per account, not what is measured.
    rateLimit: {refillMs: 0, remaining: Number.MAX_SAFE_INTEGER},
    token,
  })
  const clones = new Clones(ctx.server.adminUrl, template)
  const rssFile = join(ctx.scratch, 'max-rss')
  const env = (databaseUrl: string): Record<string, string> => ({
    DATABASE_URL: databaseUrl,
    DISABLE_TELEMETRY: 'true',
    FLAGS_BACKFILL_APPS: apps.join(','),
    FLOOR_CONCURRENCY: String(ctx.concurrency),
    HEROKU_API_KEY: token,
    HEROKU_HOST: stub.url,
    HOME: ctx.scratch,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    XDG_CACHE_HOME: join(ctx.scratch, '.cache'),
    XDG_CONFIG_HOME: join(ctx.scratch, '.config'),
    XDG_DATA_HOME: join(ctx.scratch, '.local', 'share'),
  })
  const run = async (variant: Variant, databaseUrl?: string): Promise<RunResult> => {
    const url = databaseUrl ?? (variant.writes ? await clones.fresh() : await clones.shared())
    const result = await runProcess(process.execPath, variant.args, {cwd: ctx.root, env: env(url), rssFile})
    if (result.code !== 0) throw new Error(`${spec.title}: ${variant.label} exited ${result.code}\n${result.stderr}`)
    return result
  }

  try {
    const all = variants(ctx.root)
    const series = Object.fromEntries(all.map(variant => [variant.key, new Series(variant.label)])) as Record<VariantKey, Series>
    for (let round = 1; round <= spec.runs; round++) {
      ctx.log(`${spec.title}: round ${round}/${spec.runs}`)
      for (const variant of all) series[variant.key].add(await run(variant))
    }

    // One more run of each, through the statement counter, for the statement and request counts.
    const counter = await startStatementCounter(hostAndPort(ctx.server.adminUrl))
    const outputs: Partial<Record<VariantKey, string>> = {}
    try {
      for (const variant of all) {
        const url = variant.writes ? await clones.fresh() : await clones.shared()
        const before = stub.requests.length
        counter.take()
        outputs[variant.key] = (await run(variant, counter.url(url))).stdout
        const counted = counter.take()
        series[variant.key].statements = counted.statements
        series[variant.key].statementsUnreliable = counted.unreadable
        series[variant.key].requests = stub.requests.length - before
      }
    } finally {
      await counter.close()
    }

    let sequential: Series | undefined
    if (spec.sequential) {
      ctx.log(`${spec.title}: plan fetching one app after another (--concurrency 1)`)
      sequential = new Series('plan --concurrency 1')
      sequential.add(await run({...all[0], args: [...all[0].args, '--concurrency', '1']}))
    }

    const herokuCli = spec.herokuCli
      ? await measureInHerokuCli(spec, ctx, env(await clones.shared()), rssFile).catch((error: Error) => ({notMeasured: `failed: ${error.message.split('\n')[0]}`}))
      : {notMeasured: 'not part of this case'}
    return {
      apps: apps.length,
      flags,
      herokuCli,
      rows: dataset.rows.length,
      sequential,
      series,
      spec,
      writes: {clientFloor: floorWrites(outputs.clientApply), plugin: pluginWrites(outputs.apply), rawFloor: floorWrites(outputs.rawApply)},
    }
  } finally {
    await stub.close()
    await clones.dropAll()
  }
}

function hostAndPort(databaseUrl: string): {host: string; port: number} {
  const url = new URL(databaseUrl)
  return {host: url.hostname, port: Number(url.port || 5432)}
}

function pluginWrites(stdout = ''): string {
  try {
    const totals = JSON.parse(stdout).totals
    return `${totals.applied_inserts} inserts, ${totals.applied_updates} updated flags`
  } catch {
    return 'unknown'
  }
}

function floorWrites(stdout = ''): string {
  try {
    const written = JSON.parse(stdout)
    return `${written.inserts} inserts, ${written.updates} updated rows`
  } catch {
    return 'unknown'
  }
}

async function measureInHerokuCli(spec: CaseSpec, ctx: BenchContext, baseEnv: Record<string, string>, rssFile: string): Promise<CaseResult['herokuCli']> {
  const heroku = findHerokuCli()
  if (!heroku) return {notMeasured: 'not measured: heroku CLI not installed (set HEROKU_CLI_BIN, or let the end-to-end suite cache it)'}
  ctx.log(`${spec.title}: inside the heroku CLI (${heroku})`)
  const installed = herokuCliEnv(baseEnv, ctx.scratch)
  await linkPlugins(heroku, ctx.root, [await packedCopy(ctx.root, ctx.scratch), ONE_REQUEST_PLUGIN], installed)
  const developer = herokuCliEnv(baseEnv, ctx.scratch)
  await linkPlugins(heroku, ctx.root, [ctx.root], developer)
  const plugin = new Series('heroku flags:backfill:plan')
  const oneRequest = new Series(`heroku ${ONE_REQUEST_COMMAND} (one GET)`)
  const linkedCheckout = new Series('heroku flags:backfill:plan, checkout linked (oclif registers tsx)')
  const measured = [
    {argv: ['flags:backfill:plan'], env: installed, rounds: spec.runs, series: plugin},
    {argv: [ONE_REQUEST_COMMAND], env: installed, rounds: spec.runs, series: oneRequest},
    // Informative only, and slow: fewer rounds.
    {argv: ['flags:backfill:plan'], env: developer, rounds: Math.min(3, spec.runs), series: linkedCheckout},
  ]
  for (let round = 1; round <= spec.runs; round++) {
    for (const {argv, env, rounds, series} of measured) {
      if (round > rounds) continue
      const result = await runProcess(heroku, argv, {env, rssFile})
      if (result.code !== 0) throw new Error(`heroku ${argv.join(' ')} exited ${result.code}\n${result.stderr}`)
      series.add(result)
    }
  }

  return {linkedCheckout, oneRequest, plugin}
}

/** Databases cloned from the seeded template: a fresh one for every write, one shared for reads. */
class Clones {
  private readonly written: string[] = []
  private sharedName?: string

  constructor(private readonly adminUrl: string, private readonly templateUrl: string) {}

  async fresh(): Promise<string> {
    const name = await this.clone()
    this.written.push(name)
    // Only the last two written clones stay on disk.
    while (this.written.length > 2) await this.drop(this.written.shift()!)
    return this.url(name)
  }

  async shared(): Promise<string> {
    this.sharedName ??= await this.clone()
    return this.url(this.sharedName)
  }

  async dropAll(): Promise<void> {
    const names = [...this.written.splice(0), this.sharedName, new URL(this.templateUrl).pathname.slice(1)]
    this.sharedName = undefined
    for (const name of names) if (name) await this.drop(name)
  }

  private async clone(): Promise<string> {
    const name = `fb_bench_${randomBytes(5).toString('hex')}`
    const template = new URL(this.templateUrl).pathname.slice(1)
    await withSql(this.adminUrl, sql => sql.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}"`))
    return name
  }

  private url(name: string): string {
    const url = new URL(this.adminUrl)
    url.pathname = `/${name}`
    return url.toString()
  }

  private drop(name: string): Promise<unknown> {
    return withSql(this.adminUrl, sql => sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
  }
}
