// The saved plan (`plan --out FILE`): the DRY-RUN report plus a `plan` block holding a format
// version, a unique id, the fingerprints of both sides and a hash over all of it. Pure: reading and
// writing the file happens in the commands.
import {hashOf, timedId} from './canonical.js'
import {usageError} from './exit-codes.js'
import type {AppFingerprint} from './fingerprint.js'
import type {AppPlan, Plan} from './reconcile.js'
import type {AppReport, Report} from './report.js'
import {describeSchemaErrors, schemaValidator} from './report-schema.js'

export const PLAN_FORMAT_VERSION = 1

export interface PlanBlock {
  version: typeof PLAN_FORMAT_VERSION
  plan_id: string
  created_at_utc: string
  /** sha256 of the whole document (canonical JSON) without this field: the plan's identity. */
  plan_hash: string
  apps: AppFingerprint[]
}

export type PlanDocument = Report & {plan: PlanBlock}

export const newPlanId = (at: Date, random?: string) => timedId('plan', at, random)

export function planHashOf(document: PlanDocument): string {
  return hashOf({...document, plan: {...document.plan, plan_hash: undefined}})
}

/** The saved plan for a DRY-RUN report. The id makes two plans of the same content two plans. */
export function buildPlanDocument(report: Report, fingerprints: AppFingerprint[], planId: string): PlanDocument {
  const document: PlanDocument = {
    ...report,
    plan: {apps: fingerprints, created_at_utc: report.run_at_utc, plan_hash: '', plan_id: planId, version: PLAN_FORMAT_VERSION},
  }
  document.plan.plan_hash = planHashOf(document)
  return document
}

/** The FLAG_ vars the plan saw for one app: every live flag is exactly one insert, update or skip. */
export function plannedFlags(app: AppReport): Array<[string, string]> {
  return [...app.inserts, ...app.updates, ...app.skips].map(({flag, value}): [string, string] => [flag, value])
}

/** The plan as the writer takes it, exactly as saved: nothing is recomputed. */
export function planOf(document: PlanDocument): Plan {
  return {
    apps: document.apps.map((app): AppPlan => ({
      app: app.app,
      error: app.error,
      flags_found: app.flags_found,
      inserts: app.inserts,
      skips: app.skips,
      updates: app.updates,
      warnings: app.warnings,
    })),
  }
}

/**
 * Checks a plan file's text and returns the document, or fails with exit 2 and every problem found,
 * in words: not JSON (truncated), another format version, schema violations, edited after saving.
 */
export function parsePlanDocument(text: string, source: string): PlanDocument {
  const fail = (problems: string[]) => usageError(`${source} is not a usable plan: ${problems.join('; ')}`)
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw fail([`it is not valid JSON (truncated or damaged?): ${(error as Error).message}`])
  }

  const version = (document as {plan?: {version?: unknown}} | null)?.plan?.version
  if (version !== undefined && version !== PLAN_FORMAT_VERSION) {
    throw fail([`it has plan format version ${JSON.stringify(version)}; this version of the plugin reads version ${PLAN_FORMAT_VERSION} only (make a new plan with \`plan --out\`)`])
  }

  const validate = schemaValidator('plan')
  if (!validate(document)) throw fail(describeSchemaErrors(validate.errors))
  const plan = document as PlanDocument
  const problems: string[] = []
  const reportApps = plan.apps.map(app => app.app)
  const fingerprintApps = plan.plan.apps.map(app => app.app)
  if (reportApps.join('\n') !== fingerprintApps.join('\n')) {
    problems.push(`plan.apps names ${fingerprintApps.join(', ') || 'no app'} but the report names ${reportApps.join(', ') || 'no app'}`)
  }

  for (const app of plan.apps) {
    if (app.error !== null) problems.push(`app ${app.app} has a fetch error; a plan with an app that could not be read cannot be applied`)
  }

  if (planHashOf(plan) !== plan.plan.plan_hash) {
    problems.push('plan.plan_hash does not match the content: the file was changed after `plan --out` wrote it')
  }

  if (problems.length > 0) throw fail(problems)
  return plan
}
