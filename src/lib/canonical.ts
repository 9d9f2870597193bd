// Hashes that are the same on every machine: JSON with sorted keys and no whitespace, then sha256.
import {createHash, randomBytes} from 'node:crypto'

/** JSON with object keys in code-unit order at every depth, so equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(item => canonicalJson(item)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }

  return JSON.stringify(value)
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

export const hashOf = (value: unknown) => sha256(canonicalJson(value))

/**
 * `<prefix>-20261203T163526Z-<8 random hex>`: sorts by time, is unique across machines, and is
 * safe as a file name.
 */
export function timedId(prefix: string, at: Date, random = randomBytes(4).toString('hex')): string {
  return `${prefix}-${at.toISOString().slice(0, 19).replaceAll(/[-:]/g, '')}Z-${random}`
}
