import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import {readFileSync} from 'node:fs'

import type {Report} from './report.js'

// Shipped in the package beside dist/ and src/, so one relative path serves both.
export const REPORT_SCHEMA_PATH = new URL('../../schemas/report.schema.json', import.meta.url)

let validator: ValidateFunction | undefined

function compiled(): ValidateFunction {
  validator ??= new Ajv({allErrors: true}).compile(JSON.parse(readFileSync(REPORT_SCHEMA_PATH, 'utf8')))
  return validator
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
