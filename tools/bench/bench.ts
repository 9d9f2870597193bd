// `npm run bench [-- --quick]`: the plugin's cold-process cost on three data sizes, beside the raw
// and client floors, plus the start-up cost of the modules involved; prints the tables and (full
// runs) writes BENCHMARKS.md. Everything runs on 127.0.0.1: an embedded PostgreSQL (or
// BENCH_DATABASE_URL) and the local Heroku API stand-in. Speed is reported here, never asserted.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, release, tmpdir, totalmem} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startPostgresServer, withSql} from '../postgres-server.js'
import {runbookDataset, syntheticDataset} from '../seed.js'
import {type CaseResult, type CaseSpec, runCase} from './cases.js'
import {runProcess, Series} from './measure.js'
import {type Machine, renderReport} from './report.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const quick = process.argv.includes('--quick')
// --only <key>: one case (runbook, large, many), for working on it; never writes BENCHMARKS.md.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
const runs = (full: number) => (quick ? Math.min(3, full) : full)

const CASES: CaseSpec[] = [
  {dataset: () => runbookDataset(), herokuCli: true, key: 'runbook', latencyMs: 0, runs: runs(7), title: 'runbook set'},
  {
    dataset: () => syntheticDataset({apps: 4, flagsPerApp: 10_000, trackedFraction: 0.5}),
    key: 'large',
    latencyMs: 0,
    runs: runs(5),
    title: '4 apps × 10 000 flags, half tracked',
  },
  {
    dataset: () => syntheticDataset({apps: 200, flagsPerApp: 50, trackedFraction: 0.5}),
    key: 'many',
    latencyMs: 100,
    runs: runs(5),
    sequential: true,
    title: '200 apps × 50 flags @ 100 ms',
  },
]

// What loading each piece costs on its own, in a fresh process (the empty script is node itself).
const IMPORTS = ['', '@oclif/core', '@heroku-cli/command', '@sentry/node', 'postgres', 'ajv']

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)
  const loadBefore = loadavg()
  const scratch = mkdtempSync(join(tmpdir(), 'flags-backfill-bench-'))
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
  const concurrency = Number(manifest.commands['flags:backfill:plan'].flags.concurrency.default)
  const server = await startPostgresServer({externalUrl: process.env.BENCH_DATABASE_URL})
  try {
    const postgresVersion = await withSql(server.adminUrl, async sql => (await sql<[{v: string}]>`SELECT current_setting('server_version') AS v`)[0].v)
    const imports = only ? [] : await measureImports(runs(7), scratch, log)
    const results: CaseResult[] = []
    for (const spec of CASES.filter(spec => !only || spec.key === only)) results.push(await runCase(spec, {concurrency, log, root: ROOT, scratch, server}))
    const machine: Machine = {
      commit: git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain') ? ' (uncommitted changes)' : ''),
      concurrency,
      cores: cpus().length,
      cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      loadAfter: loadavg(),
      loadBefore,
      memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
      node: process.version,
      os: `${process.platform} ${release()}`,
      postgres: `PostgreSQL ${postgresVersion} (${process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'embedded, fsync off'})`,
      quick,
    }
    if (only) {
      for (const result of results) {
        const all = [...Object.values(result.series), ...(result.sequential ? [result.sequential] : []), ...('plugin' in result.herokuCli ? [result.herokuCli.plugin, result.herokuCli.oneRequest, result.herokuCli.linkedCheckout] : [])]
        for (const series of all) process.stdout.write(`${series.label.padEnd(40)} ${Math.round(series.medianMs)} ms  ${series.statements ?? '-'} statements  ${series.requests ?? '-'} requests  ${Math.round(series.peakRssMb)} MB\n`)
        if ('notMeasured' in result.herokuCli) process.stdout.write(`${result.herokuCli.notMeasured}\n`)
      }

      return
    }

    const markdown = renderReport(machine, imports, results)
    process.stdout.write(markdown)
    if (quick && !process.argv.includes('--write')) log('quick run: BENCHMARKS.md left as it is (add --write to replace it)')
    else writeFileSync(join(ROOT, 'BENCHMARKS.md'), markdown)
  } finally {
    await server.stop()
    rmSync(scratch, {force: true, recursive: true})
  }
}

async function measureImports(count: number, scratch: string, log: (line: string) => void): Promise<Series[]> {
  log('start-up cost of the modules, each in a fresh process')
  const series = IMPORTS.map(name => new Series(name || 'node alone (empty script)'))
  const env = {HOME: scratch, PATH: process.env.PATH ?? '/usr/bin:/bin'}
  for (let round = 0; round < count; round++) {
    for (const [index, name] of IMPORTS.entries()) {
      const script = name ? `await import(${JSON.stringify(name)})` : ''
      const result = await runProcess(process.execPath, ['--input-type=module', '-e', script], {cwd: ROOT, env, rssFile: join(scratch, 'max-rss')})
      if (result.code !== 0) throw new Error(`importing ${name} failed:\n${result.stderr}`)
      series[index].add(result)
    }
  }

  return series
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, {cwd: ROOT, encoding: 'utf8'}).trim()
  } catch {
    return 'unknown'
  }
}

await main()
