// The README's command reference is `oclif readme`'s output for the commands as built: a help
// text changed without `npm run readme` fails here.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {ROOT} from './support/cli.js'

test('the README command reference is current (npm run readme)', () => {
  const generated = execFileSync(join(ROOT, 'node_modules', '.bin', 'oclif'), ['readme', '--no-source-links', '--dry-run'], {
    cwd: ROOT,
    encoding: 'utf8',
    // The same width as `npm run readme`; no update check against the registry.
    env: {...process.env, COLUMNS: '120', OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  // --dry-run prints a "replacing <!-- commands --> in …" line, then the README it would write.
  const readme = generated.slice(generated.indexOf('\n') + 1)
  assert.equal(readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd(), readme.trimEnd(), 'README.md is stale: run npm run readme')
  assert.match(readme, /^## `heroku flags:backfill:(plan|apply|verify)`$/m)
})
