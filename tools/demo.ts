// `npm run demo`: the runbook end to end on embedded defaults. A real PostgreSQL (embedded) with
// the console table and 64 pre-existing rows, a local stand-in for the Heroku API with the four
// runbook apps, and the plugin's own bin/run.js driven through plan → apply → plan → verify.
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startHerokuApiStub} from './heroku-api-stub.js'
import {startPostgresServer} from './postgres-server.js'
import {insertSeedRows, RUNBOOK_APPS, runbookDataset} from './seed.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TOKEN = `demo-${randomBytes(8).toString('hex')}`

interface Step {
  title: string
  argv: string[]
  expectCode: number
}

const STEPS: Step[] = [
  {argv: ['flags:backfill:plan'], expectCode: 0, title: 'Step 1 — dry run (plan)'},
  {argv: ['flags:backfill:apply', '--confirm'], expectCode: 0, title: 'Step 2 — apply --confirm'},
  {argv: ['flags:backfill:plan', '--detailed-exitcode'], expectCode: 0, title: 'Step 3 — dry run again: nothing left to do (idempotent)'},
  {argv: ['flags:backfill:verify'], expectCode: 0, title: 'Step 4 — verify: ready for the kill-switch'},
]

function run(argv: string[], env: Record<string, string>): Promise<{code: number; stdout: string}> {
  return new Promise((resolve, reject) => {
    // stderr (the human summary) goes straight to the terminal; stdout (the JSON report) is kept.
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...argv], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'inherit']})
    const out: Buffer[] = []
    child.stdout.on('data', chunk => out.push(chunk))
    child.on('error', reject)
    child.on('close', code => resolve({code: code ?? 1, stdout: Buffer.concat(out).toString('utf8')}))
  })
}

async function main(): Promise<number> {
  const log = (line = '') => process.stderr.write(`${line}\n`)
  log('Starting an embedded PostgreSQL and a local Heroku API stand-in…')
  const server = await startPostgresServer({externalUrl: process.env.DEMO_DATABASE_URL})
  const dataset = runbookDataset()
  const heroku = await startHerokuApiStub({
    apps: Object.fromEntries(Object.entries(dataset.apps).map(([app, configVars]) => [app, {configVars}])),
    token: TOKEN,
  })
  const reports = mkdtempSync(join(tmpdir(), 'flags-backfill-demo-'))
  try {
    const databaseUrl = await server.createDatabase('full')
    await insertSeedRows(databaseUrl, dataset.rows)
    const states: Record<string, number> = {}
    for (const row of dataset.rows) {
      const state = row.state === 'deployed' ? `deployed ${row.synced ? 'synced' : 'unsynced'}` : row.state
      states[state] = (states[state] ?? 0) + 1
    }

    log(`  console_flag_promotions: ${dataset.rows.length} rows (${Object.entries(states).map(([state, n]) => `${n} ${state}`).join(', ')})`)
    log(`  Heroku apps: ${RUNBOOK_APPS.map(app => `${app} (${Object.keys(dataset.apps[app]).filter(name => name.startsWith('FLAG_')).length} FLAG_ vars of ${Object.keys(dataset.apps[app]).length})`).join(', ')}`)

    const env = {
      DATABASE_URL: databaseUrl,
      DISABLE_TELEMETRY: 'true',
      FLAGS_BACKFILL_APPS: RUNBOOK_APPS.join(','),
      HEROKU_API_KEY: TOKEN,
      HEROKU_HOST: heroku.url,
      // The journal runs of this throwaway database stay beside its reports, not in the user's data dir.
      XDG_DATA_HOME: join(reports, 'data'),
    }
    for (const [index, step] of STEPS.entries()) {
      log()
      log(`== ${step.title}: heroku ${step.argv.join(' ')}`)
      const {code, stdout} = await run(step.argv, env)
      const file = join(reports, `${index + 1}-${step.argv[0].split(':').pop()}.json`)
      writeFileSync(file, stdout)
      log(`   exit code ${code}; JSON report (stdout) saved to ${file}`)
      if (code !== step.expectCode) {
        log(`demo failed: expected exit code ${step.expectCode}`)
        return 1
      }
    }

    log()
    log(`Done. Heroku saw ${heroku.requests.length} requests, all GET /apps/{app}/config-vars: ${heroku.requests.every(request => request.method === 'GET')}.`)
    return 0
  } finally {
    await heroku.close()
    await server.stop()
  }
}

process.exitCode = await main()
