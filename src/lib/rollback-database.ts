// The only statements that delete or restore rows. plan and apply never import this module.
import {BACKFILL_CREATED_BY, BACKFILL_SYNC_SOURCE, type Sql, type TransactionSql} from './database.js'
import type {RowRef} from './fingerprint.js'
import type {RowImage} from './journal.js'

/** Deletes exactly these ids (already checked, and locked, by the caller). */
export async function deleteRows(tx: TransactionSql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const deleted = await tx<Array<{id: string}>>`
    DELETE FROM console_flag_promotions WHERE id = ANY(${tx.array(ids)}::bigint[]) RETURNING id::text AS id`
  return deleted.map(row => row.id)
}

/**
 * Puts rows back to their journal pre-images, every column but the id. The column names come from
 * images the caller has matched against the live rows, so they are the table's own columns.
 */
export async function restoreRows(tx: TransactionSql, images: RowImage[]): Promise<string[]> {
  if (images.length === 0) return []
  const columns = [...new Set(images.flatMap(image => Object.keys(image)))].filter(column => column !== 'id').sort()
  const quote = (column: string) => `"${column.replaceAll('"', '""')}"`
  // Bound as text and cast here: a parameter the server types as jsonb would be JSON-encoded again.
  const restored = await tx.unsafe<Array<{id: string}>>(
    `UPDATE console_flag_promotions AS p SET ${columns.map(column => `${quote(column)} = r.${quote(column)}`).join(', ')}
     FROM jsonb_populate_recordset(NULL::console_flag_promotions, $1::text::jsonb) AS r
     WHERE p.id = r.id RETURNING p.id::text AS id`,
    [JSON.stringify(images)],
  )
  return restored.map(row => row.id)
}

export type BackfilledRow = RowRef & {app: string}

// The runbook's rollback: every row the backfill created, table-wide.
export async function readBackfilledRows(sql: Sql | TransactionSql): Promise<BackfilledRow[]> {
  return sql<BackfilledRow[]>`
    SELECT id::text AS id, app_name AS app, flag_name AS flag FROM console_flag_promotions
    WHERE created_by = ${BACKFILL_CREATED_BY} AND sync_source = ${BACKFILL_SYNC_SOURCE} AND state = 'deployed'
    ORDER BY app_name, flag_name, id`
}

export async function deleteBackfilledRows(tx: TransactionSql): Promise<BackfilledRow[]> {
  return tx<BackfilledRow[]>`
    DELETE FROM console_flag_promotions
    WHERE created_by = ${BACKFILL_CREATED_BY} AND sync_source = ${BACKFILL_SYNC_SOURCE} AND state = 'deployed'
    RETURNING id::text AS id, app_name AS app, flag_name AS flag`
}
