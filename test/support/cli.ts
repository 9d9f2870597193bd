// Two ways to run the plugin's commands in tests, both through the real command classes:
// in-process through oclif's Config (fast, the common case) and as a child process of bin/run.js
// (the real exit code, the real streams, the same start-up a user gets).
import {Config} from '@oclif/core'
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

// A HOME with no .netrc and no stored login, so only the environment decides the Heroku auth.
export const EMPTY_HOME = mkdtempSync(join(tmpdir(), 'flags-backfill-home-'))

export function hermeticEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    DATABASE_URL: undefined,
    FLAGS_BACKFILL_APPS: undefined,
    HEROKU_API_KEY: undefined,
    HEROKU_HOST: undefined,
    HOME: EMPTY_HOME,
    XDG_CONFIG_HOME: join(EMPTY_HOME, '.config'),
    XDG_DATA_HOME: join(EMPTY_HOME, '.local', 'share'),
    XDG_CACHE_HOME: join(EMPTY_HOME, '.cache'),
    ...env,
  }
}

/**
 * stderr without the human output's context and progress lines (`Apps:`, `Database:`, `fetched
 * …`), which come before anything can fail mid-run: what is left is what went wrong.
 */
export function withoutProgress(stderr: string): string {
  return stderr.split('\n').filter(line => !/^(Apps: |Database: |fetched )/.test(line)).join('\n')
}

let config: Config | undefined

/** Runs `flags:backfill:<command>` in this process with `env` applied for the duration of the run. */
export async function runCommand(argv: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  const [id, ...args] = argv
  const saved = {...process.env}
  for (const [key, value] of Object.entries(hermeticEnv(env))) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }

  const out: string[] = []
  const err: string[] = []
  const writeOut = process.stdout.write
  const writeErr = process.stderr.write
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write
  let code = 0
  try {
    // Loaded under the hermetic env, so the CLI's data directory (the journal) is in the test HOME.
    config ??= await Config.load(ROOT)
    await config.runCommand(id, args)
  } catch (error) {
    const oclif = (error as {oclif?: {exit?: number}}).oclif
    if (oclif?.exit === undefined) {
      err.push(`UNCAUGHT ${(error as Error).stack}\n`)
      code = 1
    } else {
      code = oclif.exit
      // Errors oclif would print itself (parse errors) are printed the way its handler does.
      if (!(error instanceof Error && error.constructor.name === 'ExitError')) err.push(`${(error as Error).message}\n`)
    }
  } finally {
    process.stdout.write = writeOut
    process.stderr.write = writeErr
    // oclif's Command.catch sets process.exitCode; it must not leak into the test process.
    process.exitCode = undefined
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
    Object.assign(process.env, saved)
  }

  return {code, stderr: err.join(''), stdout: out.join('')}
}

/** Runs bin/run.js as a child process, with stdin closed, like an unattended operator run. */
export function runCli(argv: string[], env: Record<string, string | undefined>, options: {timeoutMs?: number; onSpawn?: (child: ChildProcess) => void} = {}): Promise<CliResult> {
  const childEnv: Record<string, string> = {}
  for (const [key, value] of Object.entries({...process.env, ...hermeticEnv(env)})) if (value !== undefined) childEnv[key] = value
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...argv], {env: childEnv, stdio: ['ignore', 'pipe', 'pipe']})
    options.onSpawn?.(child)
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', chunk => out.push(chunk))
    child.stderr.on('data', chunk => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code: code ?? (signal ? 128 : 1), stderr: Buffer.concat(err).toString('utf8'), stdout: Buffer.concat(out).toString('utf8')})
    })
  })
}

/** The journal directory the commands use under the hermetic env (the CLI's data directory). */
export const RUNS_DIR = join(EMPTY_HOME, '.local', 'share', 'heroku', 'flags-backfill', 'runs')

const tempDirs: string[] = []
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, {force: true, recursive: true})
})

/** A fresh temporary directory for plan and journal files, removed when the test process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flags-backfill-files-'))
  tempDirs.push(dir)
  return dir
}
