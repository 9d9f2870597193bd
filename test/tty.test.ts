// The human output as a person sees it, checked without screenshots: bin/run.js runs under a
// pseudo-terminal (util-linux `script`) with one stream on the terminal and the other in a file,
// both ways round, so each stream's content is known exactly.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'

import {runbookDataset} from '../tools/seed.js'
import {hermeticEnv, ROOT} from './support/cli.js'
import {parseReport, scenario} from './support/fixture.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[\d;?]*[A-Za-z]/
// The dots2 frames of oclif's spinner.
const SPINNER_FRAME = /[⣾⣽⣻⢿⡿⣟⣯⣷]/
const quote = (text: string) => `'${text.replaceAll("'", String.raw`'\''`)}'`

/** Runs `bin/run.js argv` under a pseudo-terminal; `redirect` sends one stream to a file. Returns the terminal's text. */
function underTerminal(argv: string[], redirect: string, env: Record<string, string | undefined>): Promise<{code: number; terminal: string}> {
  const command = [process.execPath, join(ROOT, 'bin', 'run.js'), ...argv].map(quote).join(' ')
  const childEnv: Record<string, string> = {}
  // CI is unset as on an operator's terminal: oclif never spins under CI, which is where this suite runs.
  for (const [key, value] of Object.entries({...process.env, CI: undefined, COLUMNS: '160', FORCE_COLOR: undefined, NO_COLOR: undefined, TERM: 'xterm-256color', ...hermeticEnv(env)})) {
    if (value !== undefined) childEnv[key] = value
  }

  // CI has no terminal and no stdin; `script` makes one, and -e passes the command's exit code on.
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', `${command} ${redirect}`, '/dev/null'], {env: childEnv, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    child.stdout.on('data', chunk => out.push(chunk))
    child.stderr.on('data', chunk => out.push(chunk))
    child.on('error', reject)
    child.on('close', code => resolve({code: code ?? 1, terminal: Buffer.concat(out).toString('utf8')}))
  })
}

test('stderr on a terminal: spinner, colour, table and matrix there; stdout (a file) is the bare JSON report', async () => {
  const dataset = runbookDataset()
  // Slow answers keep the spinner on screen for a few frames.
  const {env} = await scenario({apps: dataset.apps, latencyMs: 400, rows: dataset.rows})
  const dir = mkdtempSync(join(tmpdir(), 'flags-backfill-tty-'))
  const {code, terminal} = await underTerminal(['flags:backfill:plan', '--matrix'], `> ${quote(join(dir, 'stdout'))}`, env)
  const stdout = readFileSync(join(dir, 'stdout'), 'utf8')

  assert.equal(code, 0, terminal)
  assert.match(terminal, SPINNER_FRAME, 'the spinner is drawn on the terminal')
  assert.match(terminal, /Fetching config vars of 4 apps\.\.\./)
  assert.match(terminal, ANSI, 'colour on a terminal')
  assert.match(terminal, /App.*Flags.*Inserts.*Updates.*Skips.*Warnings.*Error/)
  assert.match(terminal, /raxx-console-staging.*76/)
  assert.match(terminal, /=== flags × apps/)
  assert.ok(!terminal.includes('"mode"'), 'no JSON on the terminal')

  assert.doesNotMatch(stdout, ANSI)
  assert.doesNotMatch(stdout, SPINNER_FRAME)
  assert.equal(parseReport(stdout).totals.flags_found, 172, 'stdout is exactly one JSON document')
})

test('stdout on a terminal, stderr to a file: the JSON alone on the terminal, plain lines in the file', async () => {
  const dataset = runbookDataset()
  const {env} = await scenario({apps: dataset.apps, rows: dataset.rows})
  const dir = mkdtempSync(join(tmpdir(), 'flags-backfill-tty-'))
  const {code, terminal} = await underTerminal(['flags:backfill:plan'], `2> ${quote(join(dir, 'stderr'))}`, env)
  const stderr = readFileSync(join(dir, 'stderr'), 'utf8')

  assert.equal(code, 0, stderr)
  assert.equal(parseReport(terminal.replaceAll('\r\n', '\n')).totals.flags_found, 172)
  assert.doesNotMatch(stderr, ANSI, 'no colour and no cursor movement when stderr is not a terminal')
  assert.doesNotMatch(stderr, SPINNER_FRAME)
  assert.match(stderr, /^fetched raxx-api-prod: 5 FLAG_ vars/m, 'one plain progress line per app')
  assert.match(stderr, /raxx-console-staging +76/)
})

test('NO_COLOR turns colour off on a terminal; the spinner and table stay', async () => {
  const {env} = await scenario({apps: {'raxx-api-prod': {FLAG_A: 'on'}}})
  const dir = mkdtempSync(join(tmpdir(), 'flags-backfill-tty-'))
  const {code, terminal} = await underTerminal(['flags:backfill:plan'], `> ${quote(join(dir, 'stdout'))}`, {...env, NO_COLOR: '1'})
  assert.equal(code, 0, terminal)
  // Cursor movement of the spinner is not colour; SGR sequences (…m) are.
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(terminal, /\u001B\[[\d;]*m/)
  assert.match(terminal, /raxx-api-prod +1 +1/)
})
