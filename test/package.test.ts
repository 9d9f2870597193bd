// What `npm pack` ships: the compiled plugin, its manifest and schema, the README and LICENSE;
// nothing from the sources, the tests or the harness.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {ROOT} from './support/cli.js'

test('npm pack ships dist, the manifest, the schema, README and LICENSE, and nothing else', () => {
  // npm test has just built; --ignore-scripts skips the prepack build that a real pack runs.
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}))
  const files: string[] = pack.files.map((file: {path: string}) => file.path).sort()
  for (const required of ['LICENSE', 'README.md', 'bin/run.js', 'oclif.manifest.json', 'package.json', 'schemas/report.schema.json',
    'dist/commands/flags/backfill/apply.js', 'dist/commands/flags/backfill/plan.js', 'dist/commands/flags/backfill/verify.js']) {
    assert.ok(files.includes(required), `${required} is shipped`)
  }

  const unexpected = files.filter(file => !/^(dist\/.+\.js|schemas\/.+\.json|bin\/run\.js|oclif\.manifest\.json|package\.json|README\.md|LICENSE)$/.test(file))
  assert.deepEqual(unexpected, [], 'nothing from src/, test/, tools/, .ci/ or bin/dev.js')
  const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  assert.match(pjson.scripts.prepack, /npm run build/, 'a pack always builds, so the manifest is never stale')
  assert.equal(JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')).version, pjson.version)
})
