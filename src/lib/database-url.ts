import {databaseError} from './exit-codes.js'

export type SslSetting = 'prefer' | 'require' | 'verify-full' | false

/** Connection settings parsed from a DATABASE_URL, with the password kept out of every printable field. */
export interface DatabaseTarget {
  host: string
  port: number
  database: string
  user: string
  password: string
  ssl: SslSetting
  /** libpq's connect_timeout URL parameter; 10 s when absent. */
  connectTimeoutSeconds: number
  /** user@host:port/database — safe to print. */
  display: string
}

const DEFAULT_CONNECT_TIMEOUT_S = 10
const LOCAL_HOSTS = new Set(['127.0.0.1', '::1', '[::1]', 'localhost'])

// libpq's sslmode spellings mapped onto postgres.js; `no-verify` is node-postgres's name for `require`.
const SSL_MODES: Record<string, SslSetting> = {
  allow: 'prefer',
  disable: false,
  'no-verify': 'require',
  prefer: 'prefer',
  require: 'require',
  'verify-ca': 'verify-full',
  'verify-full': 'verify-full',
}

// A raw `%` in a password is common in hand-written URLs; keep it as typed rather than failing.
function decodeLenient(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Parses postgres:// and postgresql:// URLs. TLS is on for every non-local host unless the URL
 * says `sslmode=disable`, because Heroku Postgres refuses plain connections and uses certificates
 * that do not verify against the system CAs.
 */
export function parseDatabaseUrl(raw: string): DatabaseTarget {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw databaseError('the database URL is malformed: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE')
  }

  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw databaseError(`the database URL must start with postgres:// or postgresql:// (got ${url.protocol}//)`)
  }

  const host = url.hostname
  const database = decodeLenient(url.pathname.replace(/^\//, ''))
  if (!host) throw databaseError('the database URL has no host')
  if (!database) throw databaseError('the database URL names no database')

  const port = url.port ? Number(url.port) : 5432
  const user = decodeLenient(url.username)
  const sslmode = url.searchParams.get('sslmode')
  if (sslmode !== null && !(sslmode in SSL_MODES)) {
    throw databaseError(`the database URL has an unknown sslmode '${sslmode}' (use disable, require, verify-ca or verify-full)`)
  }

  const ssl = sslmode === null ? (LOCAL_HOSTS.has(host) ? false : 'require') : SSL_MODES[sslmode]
  const connectTimeout = url.searchParams.get('connect_timeout')
  if (connectTimeout !== null && !/^[1-9]\d*$/.test(connectTimeout)) {
    throw databaseError(`the database URL has an invalid connect_timeout '${connectTimeout}' (whole seconds, at least 1)`)
  }

  return {
    connectTimeoutSeconds: connectTimeout === null ? DEFAULT_CONNECT_TIMEOUT_S : Number(connectTimeout),
    database,
    display: `${user ? `${user}@` : ''}${host}:${port}/${database}`,
    host: host.replace(/^\[(.*)]$/, '$1'),
    password: decodeLenient(url.password),
    port,
    ssl,
    user,
  }
}

/** Removes the password (raw and encoded forms) from text that may be printed. */
export function redact(text: string, target: Pick<DatabaseTarget, 'password'> | undefined): string {
  if (!target?.password) return text
  let out = text
  for (const secret of new Set([target.password, encodeURIComponent(target.password)])) {
    out = out.split(secret).join('********')
  }

  return out
}
