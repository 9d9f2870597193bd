// The I/O the backfill cannot do without, shared by the two floor scripts: the config-vars GETs
// (bounded concurrency, as the plugin), one SELECT of the apps' rows, and for apply the same rows
// written with two bulk statements in one transaction. No schema check, no lock, no report: the
// floors are what a hand-written one-off script would cost. Plain JavaScript run by plain node, so
// nothing (tsx, a compiler) is loaded that the plugin does not load either.
import postgres from 'postgres'

/** Reads the job from the same environment the plugin gets. */
export function floorJob() {
  const mode = process.argv[2]
  if (mode !== 'plan' && mode !== 'apply') throw new Error('usage: <floor>.mjs plan|apply')
  return {
    apps: process.env.FLAGS_BACKFILL_APPS.split(','),
    concurrency: Number(process.env.FLOOR_CONCURRENCY ?? 8),
    databaseUrl: process.env.DATABASE_URL,
    mode,
  }
}

/** Runs the whole job; `getConfigVars(app)` is the only part the two floors do differently. */
export async function runFloor(job, getConfigVars) {
  const sql = postgres(job.databaseUrl, {fetch_types: false, max: 1, onnotice: () => {}})
  try {
    const [vars, rows] = await Promise.all([mapConcurrent(job.apps, job.concurrency, getConfigVars), readRows(sql, job.apps)])
    const {inserts, updates} = diff(job.apps, vars, rows)
    if (job.mode === 'apply') {
      await sql.begin(async tx => {
        // Re-read under the transaction, as a careful script would.
        const locked = diff(job.apps, vars, await readRows(tx, job.apps))
        await write(tx, locked.inserts, locked.updates)
      })
    }

    process.stdout.write(`${JSON.stringify({flags: vars.reduce((n, v) => n + flagNames(v).length, 0), inserts: inserts.length, updates: updates.length})}\n`)
  } finally {
    await sql.end({timeout: 5})
  }
}

// Lists travel as one jsonb parameter each: with fetch_types off (one round trip fewer) postgres.js
// cannot serialise JS arrays, and JSON needs no type lookup at all.
function readRows(sql, apps) {
  return sql`
    SELECT id::text AS id, app_name, flag_name, state, synced FROM console_flag_promotions
    WHERE app_name IN (SELECT jsonb_array_elements_text(${sql.json(apps)}))`
}

function flagNames(vars) {
  return Object.keys(vars).filter(name => name.startsWith('FLAG_'))
}

// Insert when a flag has no deployed row, update its unsynced deployed rows otherwise.
function diff(apps, vars, rows) {
  const deployed = new Map()
  for (const row of rows) {
    if (row.state !== 'deployed') continue
    const key = `${row.app_name}\u0000${row.flag_name}`
    if (!deployed.has(key)) deployed.set(key, [])
    deployed.get(key).push(row)
  }

  const inserts = []
  const updates = []
  apps.forEach((app, index) => {
    for (const flag of flagNames(vars[index])) {
      const value = vars[index][flag]
      const existing = deployed.get(`${app}\u0000${flag}`)
      if (!existing) inserts.push({app, flag, value})
      else for (const row of existing) if (!row.synced) updates.push({id: row.id, value})
    }
  })
  return {inserts, updates}
}

async function write(tx, inserts, updates) {
  const runAt = new Date()
  if (inserts.length > 0) {
    await tx`
      INSERT INTO console_flag_promotions
        (app_name, flag_name, target_value, state, created_by, sync_source, synced, last_heroku_value, last_synced_at)
      SELECT t.app, t.flag, t.value, 'deployed', 'system_backfill', 'heroku_cli_backfill', true, t.value, ${runAt}
      FROM jsonb_to_recordset(${tx.json(inserts)}) AS t(app text, flag text, value text)`
  }

  if (updates.length > 0) {
    await tx`
      UPDATE console_flag_promotions AS p
      SET synced = true, last_heroku_value = t.value, last_synced_at = ${runAt}, sync_source = 'heroku_cli_backfill', updated_at = now()
      FROM jsonb_to_recordset(${tx.json(updates)}) AS t(id bigint, value text)
      WHERE p.id = t.id`
  }
}

async function mapConcurrent(items, limit, work) {
  const results = Array.from({length: items.length})
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index])
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}
