import type {ErrorObject, ValidateFunction} from 'ajv'
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

import type {Report} from './report.js'

// Shipped in the package beside dist/ and src/, so one relative path serves both.
export const REPORT_SCHEMA_PATH = new URL('../../schemas/report.schema.json', import.meta.url)

/**
 * The shipped schemas: `report` (what plan, apply and verify print), `plan` (a saved plan file: a
 * report plus its `plan` block), `run` (a journal file), `rollback` (what rollback prints).
 */
export type SchemaName = 'plan' | 'report' | 'rollback' | 'run'
export const SCHEMA_NAMES: SchemaName[] = ['report', 'plan', 'run', 'rollback']

// The build compiles the schemas with ajv into dist/lib/report-validator.js (one export per
// schema), which loads in a few milliseconds; loading ajv and compiling the schemas at start-up
// costs 0.1–0.4 s here. Run from src/ (tests through tsx) there is no compiled validator and ajv
// compiles the schemas on first use.
const PREBUILT = new URL('./report-validator.js', import.meta.url)
const prebuilt: Record<SchemaName, ValidateFunction> | undefined = existsSync(fileURLToPath(PREBUILT)) ? await import(PREBUILT.href) : undefined

let compiled: Record<SchemaName, ValidateFunction> | undefined

function compileWithAjv(): Record<SchemaName, ValidateFunction> {
  const {Ajv} = createRequire(import.meta.url)('ajv') as typeof import('ajv')
  // One instance holding every schema, so plan.schema.json can $ref report.schema.json.
  const ajv = new Ajv({allErrors: true})
  for (const name of SCHEMA_NAMES) ajv.addSchema(JSON.parse(readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8')), name)
  return Object.fromEntries(SCHEMA_NAMES.map(name => [name, ajv.getSchema(name)!])) as Record<SchemaName, ValidateFunction>
}

export function schemaValidator(name: SchemaName): ValidateFunction {
  compiled ??= prebuilt ?? compileWithAjv()
  return compiled[name]
}

export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map(error => {
    const params = error.params as {additionalProperty?: string; allowedValues?: unknown[]}
    const detail = params.additionalProperty === undefined
      ? params.allowedValues === undefined ? '' : ` (${params.allowedValues.map(value => JSON.stringify(value)).join(', ')})`
      : ` (${params.additionalProperty})`
    return `${error.instancePath || '(document)'} ${error.message ?? 'is invalid'}${detail}`
  })
}

/** Every printed document passes through here first: one that breaks its schema is a bug. */
export function assertValidDocument<T>(name: SchemaName, document: T): T {
  const validate = schemaValidator(name)
  if (!validate(document)) {
    throw new Error(`internal error: the ${name} document does not match its schema: ${describeSchemaErrors(validate.errors).join('; ')}`)
  }

  return document
}

export function assertValidReport(report: Report): Report {
  return assertValidDocument('report', report)
}
