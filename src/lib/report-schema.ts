import type {ErrorObject, ValidateFunction} from 'ajv'
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

import type {Report} from './report.js'

// Shipped in the package beside dist/ and src/, so one relative path serves both.
export const REPORT_SCHEMA_PATH = new URL('../../schemas/report.schema.json', import.meta.url)

// The build compiles the schema with ajv into dist/lib/report-validator.js, which loads in a few
// milliseconds; loading ajv and compiling the schema at start-up costs 0.1–0.4 s here. Run from
// src/ (tests through tsx) there is no compiled validator and ajv compiles the schema on first use.
const PREBUILT = new URL('./report-validator.js', import.meta.url)
const prebuilt: ValidateFunction | undefined = existsSync(fileURLToPath(PREBUILT)) ? (await import(PREBUILT.href)).default : undefined

let validator: ValidateFunction | undefined

function compiled(): ValidateFunction {
  validator ??= prebuilt ?? compileWithAjv()
  return validator
}

function compileWithAjv(): ValidateFunction {
  const {Ajv} = createRequire(import.meta.url)('ajv') as typeof import('ajv')
  return new Ajv({allErrors: true}).compile(JSON.parse(readFileSync(REPORT_SCHEMA_PATH, 'utf8')))
}

export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map(error => `${error.instancePath || '(document)'} ${error.message ?? 'is invalid'}`)
}

/** Every report passes through here before it is printed: a report that breaks its schema is a bug. */
export function assertValidReport(report: Report): Report {
  const validate = compiled()
  if (!validate(report)) {
    throw new Error(`internal error: the report does not match its schema: ${describeSchemaErrors(validate.errors).join('; ')}`)
  }

  return report
}
