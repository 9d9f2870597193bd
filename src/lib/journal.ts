// The journal: one JSON file per apply that wrote something, enough to undo exactly that run.
// Files live in the plugin's data directory (runs/<run_id>.json) unless --journal names one.
import {existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {timedId} from './canonical.js'
import {preconditionError, usageError} from './exit-codes.js'
import {assertValidDocument, describeSchemaErrors, schemaValidator} from './report-schema.js'

export const RUN_FORMAT_VERSION = 1
export const RUN_ID = /^run-\d{8}T\d{6}Z-[\da-f]{8}$/

/** A whole row, every column as PostgreSQL's text for it (timestamps in UTC), so it can be put back exactly. */
export type RowImage = Record<string, string | null>

export interface InsertedRow {id: string; app: string; flag: string; after: RowImage}
export interface UpdatedRow {id: string; app: string; flag: string; before: RowImage; after: RowImage}

export interface RollbackRecord {
  at_utc: string
  user: string | null
  deleted: string[]
  restored: string[]
  conflicts: string[]
}

export interface RunRecord {
  version: typeof RUN_FORMAT_VERSION
  run_id: string
  run_at_utc: string
  /** The Heroku account that ran it, when the API said. */
  user: string | null
  /** The database name from the URL the run wrote to: a rollback against another is refused. */
  database: string
  plan_id: string | null
  plan_hash: string | null
  apps: string[]
  inserted: InsertedRow[]
  updated: UpdatedRow[]
  /** Confirmed rollbacks of this run; the run counts as rolled back once there is one. */
  rollbacks: RollbackRecord[]
}

export const newRunId = (at: Date, random?: string) => timedId('run', at, random)

export const runsDirectory = (dataDir: string) => join(dataDir, 'flags-backfill', 'runs')

export const runFile = (dataDir: string, runId: string) => join(runsDirectory(dataDir), `${runId}.json`)

/** True when this run applied the plan with this hash and has not been rolled back. */
export const isLiveRunOf = (run: RunRecord, planHash: string) => run.plan_hash === planHash && run.rollbacks.length === 0

export function parseRunRecord(text: string, source: string): RunRecord {
  const fail = (problems: string[]) => usageError(`${source} is not a usable journal run: ${problems.join('; ')}`)
  let record: unknown
  try {
    record = JSON.parse(text)
  } catch (error) {
    throw fail([`it is not valid JSON (truncated or damaged?): ${(error as Error).message}`])
  }

  const validate = schemaValidator('run')
  if (!validate(record)) throw fail(describeSchemaErrors(validate.errors))
  return record as RunRecord
}

export function readRunFile(path: string): RunRecord {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw usageError(`cannot read journal run ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
  }

  return parseRunRecord(text, path)
}

/**
 * Writes the whole file or nothing: a temporary file beside it, then a hard link (which refuses an
 * existing name) for a new run, or a rename for an update of one.
 */
export function writeRunFile(path: string, run: RunRecord, mode: 'create' | 'replace'): void {
  assertValidDocument('run', run)
  const temporary = join(dirname(path), `.${run.run_id}.${process.pid}.tmp`)
  writeFileSync(temporary, `${JSON.stringify(run, null, 2)}\n`, {flag: 'w', mode: 0o600})
  try {
    if (mode === 'replace') renameSync(temporary, path)
    else linkSync(temporary, path)
  } finally {
    if (existsSync(temporary)) unlinkSync(temporary)
  }
}

/** Every readable run in the directory; unreadable files are reported through `warn` and skipped. */
export function readRunDirectory(directory: string, warn: (message: string) => void): Array<{path: string; run: RunRecord}> {
  if (!existsSync(directory)) return []
  return readdirSync(directory).filter(name => name.endsWith('.json')).sort().flatMap(name => {
    const path = join(directory, name)
    try {
      return [{path, run: readRunFile(path)}]
    } catch (error) {
      warn(`skipping journal file ${path}: ${(error as Error).message}`)
      return []
    }
  })
}

/**
 * The run that applied this plan and was not rolled back, if the journal holds one: the runs in
 * the data directory and, when given, the --journal file.
 */
export function findLiveRun(directory: string, journalFile: string | undefined, planHash: string, warn: (message: string) => void): RunRecord | undefined {
  const runs = readRunDirectory(directory, warn).map(entry => entry.run)
  if (journalFile && existsSync(journalFile)) runs.push(readRunFile(journalFile))
  return runs.find(run => isLiveRunOf(run, planHash))
}

/**
 * Saves a new run, whole or not at all. Called inside the apply's transaction, before COMMIT: if the
 * journal cannot be written, nothing is written to the table either.
 */
export function saveNewRun(path: string, run: RunRecord): void {
  try {
    mkdirSync(dirname(path), {recursive: true})
    writeRunFile(path, run, 'create')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw preconditionError(`cannot write the journal run to ${path}: ${code === 'EEXIST' ? 'the file exists' : (error as Error).message}; nothing was written`)
  }
}
