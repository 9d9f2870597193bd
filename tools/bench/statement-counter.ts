// Counts the SQL statements a process sends, from outside it: a TCP relay in front of PostgreSQL
// that reads the frontend protocol. Nothing in the plugin needs a hook for it, no server setting is
// needed (pg_stat_statements is rarely loaded, log_statement needs a superuser), and it works the
// same against the embedded server and BENCH_DATABASE_URL. Every Query ('Q') and Execute ('E')
// message is one statement, BEGIN, COMMIT and postgres.js's own type lookup included.
import {createServer, type Socket, connect} from 'node:net'
import type {AddressInfo} from 'node:net'

export interface StatementCounter {
  /** Rewrites a postgres:// URL to go through the relay. */
  url(databaseUrl: string): string
  /** Statements counted since the last reset, and whether any connection could not be read (TLS). */
  take(): {statements: number; unreadable: boolean}
  close(): Promise<void>
}

const SSL_REQUEST = 80_877_103
const GSSENC_REQUEST = 80_877_104

export async function startStatementCounter(target: {host: string; port: number}): Promise<StatementCounter> {
  let statements = 0
  let unreadable = false
  const sockets = new Set<Socket>()

  const server = createServer(client => {
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    const forget = () => {
      sockets.delete(client)
      sockets.delete(upstream)
      client.destroy()
      upstream.destroy()
    }

    client.on('error', forget).on('close', forget)
    upstream.on('error', forget).on('close', forget)
    upstream.pipe(client)
    const reader = frontendReader(type => {
      if (type === 'Q' || type === 'E') statements++
    }, () => {
      unreadable = true
    })
    client.on('data', chunk => {
      reader(chunk)
      upstream.write(chunk)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo

  return {
    url(databaseUrl) {
      const url = new URL(databaseUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    take() {
      const taken = {statements, unreadable}
      statements = 0
      unreadable = false
      return taken
    },
    close() {
      for (const socket of sockets) socket.destroy()
      return new Promise(resolve => server.close(() => resolve()))
    },
  }
}

/**
 * Splits the client's byte stream into messages: first the untyped start-up packets (length,
 * code), then typed ones (1 byte type, 4 byte length that includes itself).
 */
function frontendReader(onMessage: (type: string) => void, onUnreadable: () => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0)
  // Bytes of a message already counted that are still to come: skipped, never buffered (an
  // INSERT of 40 000 rows is one message of several MB).
  let skip = 0
  let started = false
  let gaveUp = false
  return chunk => {
    if (gaveUp) return
    if (skip >= chunk.length) {
      skip -= chunk.length
      return
    }

    buffered = Buffer.concat([buffered, chunk.subarray(skip)])
    skip = 0
    for (;;) {
      if (!started) {
        if (buffered.length < 8) return
        const length = buffered.readInt32BE(0)
        const code = buffered.readInt32BE(4)
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          // An encrypted session cannot be read (and the server's answer is not seen from here),
          // so the count is marked as unreliable instead of being wrong.
          gaveUp = true
          onUnreadable()
          return
        }

        if (buffered.length < length) return
        buffered = buffered.subarray(length)
        started = true
        continue
      }

      if (buffered.length < 5) return
      onMessage(String.fromCharCode(buffered[0]))
      const size = 1 + buffered.readInt32BE(1)
      if (buffered.length < size) {
        skip = size - buffered.length
        buffered = Buffer.alloc(0)
        return
      }

      buffered = buffered.subarray(size)
    }
  }
}
