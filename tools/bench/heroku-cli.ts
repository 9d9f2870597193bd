// The plugin inside the real `heroku` CLI, beside a linked one-request command. The CLI is never
// downloaded here: HEROKU_CLI_BIN, or the copy the end-to-end suite caches under
// ~/.cache/heroku-flags-backfill/heroku-cli/<version>/ (complete installs only).
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

import {BENCH_DIR} from './measure.js'

export const ONE_REQUEST_PLUGIN = fileURLToPath(new URL('one-request-plugin', BENCH_DIR))
export const ONE_REQUEST_COMMAND = 'bench:config-vars'

export function findHerokuCli(): string | undefined {
  if (process.env.HEROKU_CLI_BIN) return process.env.HEROKU_CLI_BIN
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'heroku-flags-backfill', 'heroku-cli')
  if (!existsSync(cache)) return undefined
  const versions = readdirSync(cache)
    .filter(version => /^\d+\.\d+\.\d+$/.test(version) && existsSync(join(cache, version, '.complete')))
    .sort((a, b) => a.localeCompare(b, 'en', {numeric: true}))
  const bin = versions.length > 0 ? join(cache, versions.at(-1)!, 'node_modules', '.bin', 'heroku') : undefined
  return bin && existsSync(bin) ? bin : undefined
}

/** A HOME of its own, as the CLI writes caches, config and its plugin links under it. */
export function herokuCliEnv(base: Record<string, string>, scratch: string): Record<string, string> {
  const home = mkdtempSync(join(scratch, 'heroku-home-'))
  return {
    ...base,
    DISABLE_TELEMETRY: 'true',
    HEROKU_DISABLE_AUTOUPDATE: '1',
    HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
    HOME: home,
    OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
  }
}

const run = promisify(execFile)

/**
 * The plugin as `heroku plugins:install` runs it: the files `npm pack` ships, the checkout's
 * node_modules beside them instead of a fresh install. oclif registers tsx for a *linked* plugin
 * that lists tsx in its devDependencies and then loads every module through tsx's loader (an
 * installed plugin never gets that), so the copy's package.json drops its devDependencies.
 */
export async function packedCopy(root: string, scratch: string): Promise<string> {
  const dir = mkdtempSync(join(scratch, 'pack-'))
  // `npm run bench` has just built dist/; prepack's build would only print its log into the JSON.
  const {stdout} = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {cwd: root})
  const [{filename}] = JSON.parse(stdout) as Array<{filename: string}>
  await run('tar', ['xzf', join(dir, filename), '-C', dir])
  const copy = join(dir, 'package')
  const pjson = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'))
  delete pjson.devDependencies
  writeFileSync(join(copy, 'package.json'), JSON.stringify(pjson, null, 2))
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'))
  return copy
}

/** Links `plugins` into the CLI of `env`'s HOME; the one-request yardstick gets its manifest first. */
export async function linkPlugins(heroku: string, root: string, plugins: string[], env: Record<string, string>): Promise<void> {
  if (plugins.includes(ONE_REQUEST_PLUGIN)) {
    await run(process.execPath, [join(root, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest', ONE_REQUEST_PLUGIN], {cwd: ONE_REQUEST_PLUGIN, env: {...process.env, ...env}})
  }

  for (const plugin of plugins) await run(heroku, ['plugins:link', '--no-install', plugin], {env, timeout: 120_000})
}
