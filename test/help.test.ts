// The help every command shows inside the heroku CLI, read from the oclif manifest the package
// ships (so the manifest is checked too): heroku CLI style, every flag described.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {ROOT} from './support/cli.js'

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const commands = Object.values(manifest.commands) as any[]

test('the manifest lists the commands the build compiled, with the flags their classes declare', async () => {
  assert.deepEqual(commands.map(command => command.id).sort(), ['flags:backfill:apply', 'flags:backfill:plan', 'flags:backfill:rollback', 'flags:backfill:verify'])
  for (const command of commands) {
    const {default: cls} = await import(join(ROOT, 'dist', 'commands', ...command.id.split(':')) + '.js')
    assert.deepEqual(Object.keys(command.flags).sort(), Object.keys({...cls.baseFlags, ...cls.flags}).sort(), command.id)
    assert.equal(command.summary, cls.summary, `${command.id}: the manifest is stale; run npm run build`)
  }
})

for (const command of commands) {
  test(`${command.id}: summary, description, examples and flags in the heroku CLI's style`, () => {
    assert.match(command.summary, /^[a-z][^\n]+[^.]$/, 'a lowercase one-line summary without a full stop')
    assert.ok(command.description.length > 100, 'a longer description')
    assert.match(command.description, /read/i, 'it says what it reads')
    assert.match(command.description, /writ/i, 'and what it writes (or that it writes nothing)')
    assert.ok(command.examples.length >= 2, 'at least two examples')
    for (const example of command.examples) {
      assert.match(example.description, /^[A-Z].*:$/, 'each example says what it does')
      assert.match(example.command, /^<%= config\.bin %> <%= command\.id %>( --[a-z-]+(?= |$)(?: (?!-)\S+)?)+/, 'long-form flags only')
      assert.doesNotMatch(example.command, / -[a-z] /, 'no short flags in examples')
    }

    for (const [name, flag] of Object.entries(command.flags) as Array<[string, any]>) {
      assert.ok(flag.description?.length > 10, `--${name} is described`)
      assert.match(flag.description, /^[a-z[]/, `--${name}: lowercase, like the heroku CLI's flags`)
    }
  })
}

test('the flags and flags:backfill topics are described', () => {
  for (const topic of ['flags', 'flags:backfill']) assert.match(pjson.oclif.topics[topic]?.description ?? '', /^[a-z].{20,}/, topic)
})
