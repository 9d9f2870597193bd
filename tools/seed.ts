// Deterministic, realistic data: the Heroku config vars of each app and the console_flag_promotions
// rows that already exist before the backfill. Tests derive their expectations from this data
// themselves; nothing here states what the plan should be.
import {withSql} from './postgres-server.js'

export interface SeedRow {
  app_name: string
  flag_name: string
  target_value: string | null
  state: string
  created_by: string
  synced: boolean
  last_heroku_value: string | null
  created_at?: string
  last_synced_at?: string | null
  sync_source?: string | null
}

export interface Dataset {
  apps: Record<string, Record<string, string | null>>
  rows: SeedRow[]
}

export const RUNBOOK_APPS = ['raxx-api-prod', 'raxx-console-prod', 'raxx-api-staging', 'raxx-console-staging'] as const
type RunbookApp = (typeof RUNBOOK_APPS)[number]

// The runbook's expected flag counts per app (issue #2012).
const FLAG_COUNTS: Record<RunbookApp, number> = {
  'raxx-api-prod': 5,
  'raxx-console-prod': 53,
  'raxx-api-staging': 38,
  'raxx-console-staging': 76,
}

type RowKind = 'unsynced' | 'synced' | 'pending' | 'approved' | 'rolled_back' | 'orphan' | 'mismatch' | 'duplicate'

// 64 rows in all: 52 deployed unsynced (incl. 2 orphans when asked for, 1 value mismatch, 1 flag with two
// deployed rows), 5 deployed synced, 3 pending, 2 approved, 2 rolled_back.
const ROW_PLAN: Record<RunbookApp, Partial<Record<RowKind, number>>> = {
  'raxx-api-prod': {unsynced: 3, synced: 1},
  'raxx-console-prod': {unsynced: 15, synced: 2, pending: 1, rolled_back: 1, orphan: 1},
  'raxx-api-staging': {unsynced: 10, synced: 1, approved: 1, mismatch: 1, pending: 1},
  'raxx-console-staging': {unsynced: 19, synced: 1, pending: 1, approved: 1, rolled_back: 1, orphan: 1, duplicate: 1},
}
const ROW_KIND_ORDER: RowKind[] = ['unsynced', 'synced', 'pending', 'approved', 'rolled_back', 'mismatch', 'duplicate', 'orphan']

const ORPHAN_FLAGS: Partial<Record<RunbookApp, string>> = {
  'raxx-console-prod': 'FLAG_LEGACY_MARGIN_CALLS',
  'raxx-console-staging': 'FLAG_OLD_SEARCH_RANKER',
}

const SPECIAL_VALUES = {
  empty: '',
  unicode: 'Grüße — 取引 ✓ 🚀',
  multiline: '{\n  "cohorts": ["beta", "staff"],\n  "percent": 15\n}',
}

const CONSOLE_USERS = [
  'priya.nair@raxx.example',
  'tom.becker@raxx.example',
  'ana.souza@raxx.example',
  'li.wei@raxx.example',
  'marcus.olsen@raxx.example',
  'fatima.elamin@raxx.example',
]

const AREAS = [
  'CHECKOUT', 'ORDERBOOK', 'MARGIN_CALLS', 'KYC_FLOW', 'LEDGER_SYNC', 'PAYOUTS', 'WATCHLIST',
  'PRICE_ALERTS', 'PORTFOLIO_VIEW', 'SYMBOL_SEARCH', 'CANDLE_CHARTS', 'ONBOARDING', 'RISK_ENGINE',
  'QUOTE_STREAM', 'STATEMENTS', 'TAX_REPORTS', 'REFERRALS', 'PUSH_NOTIFICATIONS', 'AUDIT_LOG',
  'SSO_LOGIN', 'TWO_FACTOR', 'DARK_MODE', 'OPTIONS_CHAIN', 'CRYPTO_WALLET', 'FX_CONVERSION',
  'RECURRING_BUYS', 'FRACTIONAL_SHARES', 'DIVIDEND_REINVEST', 'LIMIT_ORDERS', 'STOP_LOSS',
  'PAPER_TRADING', 'ACCOUNT_DELETION', 'RATE_LIMITER', 'WEBSOCKET_FEED', 'CACHE_WARMUP',
  'BATCH_SETTLEMENT',
]
const VARIANTS = [
  (area: string) => `FLAG_${area}`,
  (area: string) => `FLAG_NEW_${area}`,
  (area: string) => `FLAG_${area}_V2`,
  (area: string) => `FLAG_${area}_V3`,
  (area: string) => `FLAG_ENABLE_${area}`,
  (area: string) => `FLAG_${area}_ROLLOUT`,
  (area: string) => `FLAG_${area}_KILL_SWITCH`,
  (area: string) => `FLAG_BETA_${area}`,
]
const FEATURED_FLAGS = ['FLAG_NEW_CHECKOUT', 'FLAG_ORDERBOOK_V2']

const JSON_VALUES = [
  '{"percent":10,"cohort":"beta"}',
  '["eu-west-1","us-east-1"]',
  '{"max_orders_per_minute":120}',
  '{"enabled":true,"allowlist":["staff"]}',
]
const WORD_VALUES = ['on', 'off', 'canary', 'shadow', 'staff-only']
const RATIO_VALUES = ['0.05', '0.1', '0.25', '0.5', '1.0']

// Before migration 0078 (2026-05-13); synced rows were written by the console after it.
const HISTORY_START = Date.parse('2025-06-01T00:00:00Z')
const MIGRATION_0078 = Date.parse('2026-05-13T09:00:00Z')
const RECENT_END = Date.parse('2026-05-20T18:00:00Z')

export function prng(seed: number): () => number {
  // mulberry32: tiny, fast, and good enough for test data.
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Random = () => number

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]
}

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j], copy[i]]
  }
  return copy
}

function hex(random: Random, length: number): string {
  let out = ''
  while (out.length < length) out += Math.floor(random() * 16).toString(16)
  return out
}

function timestamp(random: Random, from: number, to: number): string {
  const ms = from + Math.floor(random() * (to - from))
  return new Date(ms - (ms % 1000)).toISOString()
}

function flagValue(random: Random): string {
  const roll = random()
  if (roll < 0.4) return 'true'
  if (roll < 0.6) return 'false'
  if (roll < 0.75) return pick(random, RATIO_VALUES)
  if (roll < 0.8) return pick(random, ['0', '1'])
  if (roll < 0.9) return pick(random, JSON_VALUES)
  return pick(random, WORD_VALUES)
}

function otherValue(random: Random, value: string | null): string {
  for (;;) {
    const candidate = flagValue(random)
    if (candidate !== value) return candidate
  }
}

function flagNamePool(random: Random): string[] {
  const all = AREAS.flatMap((area) => VARIANTS.map((variant) => variant(area)))
  return [...FEATURED_FLAGS, ...shuffle(random, all).filter((name) => !FEATURED_FLAGS.includes(name))]
}

function ordinaryVars(random: Random, app: string): Record<string, string> {
  const host = `ec2-${10 + Math.floor(random() * 240)}-${Math.floor(random() * 255)}-${Math.floor(random() * 255)}-${Math.floor(random() * 255)}.compute-1.amazonaws.com`
  const vars: Record<string, string> = {
    DATABASE_URL: `postgres://u${hex(random, 12)}:p${hex(random, 40)}@${host}:5432/d${hex(random, 12)}`,
    REDIS_URL: `rediss://:p${hex(random, 40)}@${host}:${10000 + Math.floor(random() * 20000)}`,
    SENTRY_DSN: `https://${hex(random, 32)}@o450${Math.floor(random() * 1000)}.ingest.sentry.io/${5500000 + Math.floor(random() * 99999)}`,
    NODE_ENV: 'production',
    APP_ENV: app.endsWith('-prod') ? 'production' : 'staging',
    WEB_CONCURRENCY: String(pick(random, [2, 4, 8])),
    LOG_LEVEL: pick(random, ['info', 'debug', 'warn']),
    TZ: 'UTC',
    HEROKU_APP_NAME: app,
  }
  if (app.includes('console')) vars.SESSION_SECRET = hex(random, 64)
  else vars.JWT_ISSUER = `https://${app}.herokuapp.com`
  return vars
}

function sortedObject(entries: Record<string, string | null>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/**
 * The runbook's four apps. With `orphans`, two deployed unsynced rows point at flags that are gone
 * from Heroku: verify rightly fails on them, so the demo (which must end green) leaves them out and
 * tracks two more live flags instead; the row count stays 64.
 */
export function runbookDataset(seed = 2012, options: {orphans?: boolean} = {}): Dataset {
  const random = prng(seed)
  const rowPlan = options.orphans ? ROW_PLAN : withoutOrphans(ROW_PLAN)
  const pool = flagNamePool(random)

  // api-prod ⊂ api-staging and console-prod ⊂ console-staging, with some names shared by both services.
  const names: Record<RunbookApp, string[]> = {
    'raxx-api-staging': pool.slice(0, 38),
    'raxx-api-prod': pool.slice(0, FLAG_COUNTS['raxx-api-prod']),
    'raxx-console-staging': pool.slice(20, 96),
    'raxx-console-prod': [],
  }
  names['raxx-console-prod'] = shuffle(random, names['raxx-console-staging']).slice(0, FLAG_COUNTS['raxx-console-prod'])

  const flags = {} as Record<RunbookApp, Record<string, string>>
  for (const app of ['raxx-api-staging', 'raxx-console-staging'] as const) {
    flags[app] = Object.fromEntries(names[app].map((name) => [name, flagValue(random)]))
  }
  for (const [prod, staging] of [['raxx-api-prod', 'raxx-api-staging'], ['raxx-console-prod', 'raxx-console-staging']] as const) {
    flags[prod] = Object.fromEntries(
      names[prod].map((name) => [name, random() < 0.8 ? flags[staging][name] : otherValue(random, flags[staging][name])]),
    )
  }

  // Set after prod copied staging, so each special value occurs exactly once.
  const emptyFlag = names['raxx-api-staging'][10]
  const multilineFlag = names['raxx-console-prod'][7]
  const unicodeFlag = names['raxx-console-staging'].find((name) => !names['raxx-console-prod'].includes(name)) as string
  flags['raxx-api-staging'][emptyFlag] = SPECIAL_VALUES.empty
  flags['raxx-console-prod'][multilineFlag] = SPECIAL_VALUES.multiline
  flags['raxx-console-staging'][unicodeFlag] = SPECIAL_VALUES.unicode

  const apps: Dataset['apps'] = {}
  for (const app of RUNBOOK_APPS) {
    const nearMisses: Record<string, string> = app === 'raxx-api-staging' ? {flag_lowercase_thing: 'true', FLAGS_LEGACY: 'checkout,orderbook'} : {}
    apps[app] = sortedObject({...ordinaryVars(random, app), ...nearMisses, ...flags[app]})
  }

  // Special values ride on the update path (empty, multi-line) and the insert path (unicode).
  const mustHaveRow: Partial<Record<RunbookApp, string>> = {'raxx-api-staging': emptyFlag, 'raxx-console-prod': multilineFlag}
  const mustNotHaveRow: Partial<Record<RunbookApp, string>> = {'raxx-console-staging': unicodeFlag}

  const rows: SeedRow[] = []
  for (const app of RUNBOOK_APPS) {
    const forced = mustHaveRow[app]
    const excluded = mustNotHaveRow[app]
    const candidates = shuffle(random, names[app].filter((name) => name !== forced && name !== excluded))
    const queue = forced ? [forced, ...candidates] : candidates
    for (const kind of ROW_KIND_ORDER) {
      for (let i = 0; i < (rowPlan[app][kind] ?? 0); i++) {
        const flag = kind === 'orphan' ? (ORPHAN_FLAGS[app] as string) : (queue.shift() as string)
        rows.push(...rowsOfKind(random, app, flag, flags[app][flag] ?? null, kind))
      }
    }
  }
  rows.sort((a, b) => (a.created_at as string).localeCompare(b.created_at as string))
  return {apps, rows}
}

function withoutOrphans(plan: typeof ROW_PLAN): typeof ROW_PLAN {
  return Object.fromEntries(Object.entries(plan).map(([app, kinds]) => {
    const {orphan = 0, unsynced = 0, ...rest} = kinds
    return [app, {...rest, unsynced: unsynced + orphan}]
  })) as typeof ROW_PLAN
}

function rowsOfKind(random: Random, app: string, flag: string, live: string | null, kind: RowKind): SeedRow[] {
  const base = {app_name: app, flag_name: flag, created_by: pick(random, CONSOLE_USERS), last_heroku_value: null, synced: false}
  const old = () => timestamp(random, HISTORY_START, MIGRATION_0078)
  switch (kind) {
    case 'unsynced':
      return [{...base, target_value: live, state: 'deployed', created_at: old()}]
    case 'mismatch':
      return [{...base, target_value: otherValue(random, live), state: 'deployed', created_at: old()}]
    case 'orphan':
      return [{...base, target_value: 'true', state: 'deployed', created_at: old()}]
    case 'duplicate':
      // The same flag promoted twice before 0078; both rows still say deployed.
      return [
        {...base, target_value: live, state: 'deployed', created_at: timestamp(random, HISTORY_START, Date.parse('2025-12-01T00:00:00Z'))},
        {...base, created_by: pick(random, CONSOLE_USERS), target_value: live, state: 'deployed', created_at: timestamp(random, Date.parse('2025-12-01T00:00:00Z'), MIGRATION_0078)},
      ]
    case 'synced': {
      const created = timestamp(random, MIGRATION_0078, RECENT_END)
      return [{...base, target_value: live, state: 'deployed', created_at: created, synced: true, last_heroku_value: live, last_synced_at: created, sync_source: 'console_promotion'}]
    }
    case 'pending':
    case 'approved':
      return [{...base, target_value: otherValue(random, live), state: kind, created_at: timestamp(random, MIGRATION_0078, RECENT_END)}]
    case 'rolled_back':
      return [{...base, target_value: otherValue(random, live), state: 'rolled_back', created_at: old()}]
  }
}

// Tracked flags each get one deployed row, a quarter of them already synced. Heroku caps an app's
// config at 32 kB, so the larger shapes are stress tests, not something Heroku would serve.
export function syntheticDataset(opts: {apps: number; flagsPerApp: number; trackedFraction: number; seed?: number}): Dataset {
  const random = prng(opts.seed ?? 1)
  const width = String(opts.flagsPerApp).length
  const tracked = Math.round(opts.flagsPerApp * opts.trackedFraction)
  const apps: Dataset['apps'] = {}
  const rows: SeedRow[] = []
  for (let a = 1; a <= opts.apps; a++) {
    const app = `synth-app-${String(a).padStart(4, '0')}`
    const flags: Record<string, string> = {}
    for (let f = 1; f <= opts.flagsPerApp; f++) flags[`FLAG_${pick(random, AREAS)}_${String(f).padStart(width, '0')}`] = flagValue(random)
    apps[app] = {...ordinaryVars(random, app), ...flags}
    for (const flag of shuffle(random, Object.keys(flags)).slice(0, tracked)) {
      const synced = random() < 0.25
      const value = flags[flag]
      rows.push({
        app_name: app,
        flag_name: flag,
        target_value: value,
        state: 'deployed',
        created_by: pick(random, CONSOLE_USERS),
        synced,
        last_heroku_value: synced ? value : null,
        created_at: timestamp(random, HISTORY_START, MIGRATION_0078),
        ...(synced ? {last_synced_at: timestamp(random, MIGRATION_0078, RECENT_END), sync_source: 'console_promotion'} : {}),
      })
    }
  }
  return {apps, rows}
}

const ROW_COLUMNS = [
  'app_name', 'flag_name', 'target_value', 'state', 'created_by', 'created_at', 'updated_at',
  'synced', 'last_heroku_value', 'last_synced_at', 'sync_source',
] as const
// 11 columns × 2000 rows stays far below the 65 534 bound parameters a statement may carry.
const INSERT_CHUNK = 2000

// Columns the table lacks (a pre-0078 database) are left out, so the same rows seed both schemas.
export async function insertSeedRows(databaseUrl: string, rows: SeedRow[]): Promise<void> {
  if (rows.length === 0) return
  await withSql(databaseUrl, async (sql) => {
    const present = await sql<{column_name: string}[]>`
      SELECT column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'console_flag_promotions'`
    if (present.length === 0) throw new Error('insertSeedRows: console_flag_promotions does not exist in this database')
    const names = new Set(present.map((column) => column.column_name))
    const columns = ROW_COLUMNS.filter((column) => names.has(column))
    const now = new Date().toISOString()
    const records = rows.map((row) => {
      const created = row.created_at ?? now
      return {
        app_name: row.app_name,
        flag_name: row.flag_name,
        target_value: row.target_value,
        state: row.state,
        created_by: row.created_by,
        created_at: created,
        updated_at: row.last_synced_at ?? created,
        synced: row.synced,
        last_heroku_value: row.last_heroku_value,
        last_synced_at: row.last_synced_at ?? null,
        sync_source: row.sync_source ?? null,
      }
    })
    await sql.begin(async (tx) => {
      for (let i = 0; i < records.length; i += INSERT_CHUNK) {
        await tx`INSERT INTO console_flag_promotions ${tx(records.slice(i, i + INSERT_CHUNK), columns)}`
      }
    })
  })
}
