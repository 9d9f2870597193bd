// Cold-process measurements: one child process per run, wall time from spawn to exit, peak RSS
// reported by the child itself (max-rss.mjs, preloaded), medians over the runs.
import {spawn} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

export const BENCH_DIR = new URL('.', import.meta.url)
const MAX_RSS_PRELOAD = pathToFileURL(join(BENCH_DIR.pathname, 'max-rss.mjs')).href

export interface RunResult {
  code: number
  wallMs: number
  /** Peak RSS in kB of the process (the largest one if it started node children of its own). */
  maxRssKb: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  cwd?: string
  env: Record<string, string>
  /** Scratch file the child appends its peak RSS to. */
  rssFile: string
  timeoutMs?: number
}

export function runProcess(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  rmSync(options.rssFile, {force: true})
  const env = {
    ...options.env,
    BENCH_MAX_RSS_FILE: options.rssFile,
    NODE_OPTIONS: `--import=${MAX_RSS_PRELOAD}`,
  }
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, {cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', chunk => out.push(chunk))
    child.stderr.on('data', chunk => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started
      clearTimeout(timer)
      resolve({
        code: code ?? (signal ? 128 : 1),
        maxRssKb: peakRss(options.rssFile),
        stderr: Buffer.concat(err).toString('utf8'),
        stdout: Buffer.concat(out).toString('utf8'),
        wallMs,
      })
    })
  })
}

function peakRss(file: string): number {
  try {
    return Math.max(0, ...readFileSync(file, 'utf8').trim().split('\n').map(line => Number(line.split(' ')[1]) || 0))
  } catch {
    return 0
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Runs of one measured variant, collected across rounds. */
export class Series {
  readonly wallMs: number[] = []
  readonly rssKb: number[] = []
  statements?: number
  statementsUnreliable = false
  requests?: number

  constructor(readonly label: string) {}

  add(result: RunResult): void {
    this.wallMs.push(result.wallMs)
    this.rssKb.push(result.maxRssKb)
  }

  get medianMs(): number {
    return median(this.wallMs)
  }

  get peakRssMb(): number {
    return Math.max(0, ...this.rssKb) / 1024
  }
}
