// The plugin inside the real `heroku` CLI, beside a linked one-request command. The CLI is never
// downloaded here: HEROKU_CLI_BIN, or the copy the end-to-end suite caches under
// ~/.cache/heroku-flags-backfill/heroku-cli/<version>/ (complete installs only).
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
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
export function herokuCliEnv(base: Record<string, string>): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'flags-backfill-bench-heroku-'))
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

/** Links the plugin and the one-request yardstick (with a fresh manifest, as the plugin has one). */
export async function linkPlugins(heroku: string, root: string, env: Record<string, string>): Promise<void> {
  const run = promisify(execFile)
  await run(process.execPath, [join(root, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest', ONE_REQUEST_PLUGIN], {cwd: ONE_REQUEST_PLUGIN, env: {...process.env, ...env}})
  for (const plugin of [root, ONE_REQUEST_PLUGIN]) {
    await run(heroku, ['plugins:link', '--no-install', plugin], {env, timeout: 120_000})
  }
}
