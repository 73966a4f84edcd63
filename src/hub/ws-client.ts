/** Adapts a `ws` WebSocket to a hub client: listeners, keepalive pings, and a hard stop for stuck peers. */
import type { WebSocket } from 'ws'
import type { Logger } from '../log.ts'
import type { Hub } from './hub.ts'

// The hub hands every recipient the same string; encode it to UTF-8 once, not once per socket.
let lastText = ''
let lastBuf = Buffer.alloc(0)
function encode (text: string): Buffer {
  if (text !== lastText) {
    lastText = text
    lastBuf = Buffer.from(text)
  }
  return lastBuf
}

export interface AttachOptions {
  scope?: string
  log: Logger
  /** Ping interval; a peer that misses one pong is terminated. */
  pingMs?: number
  /** After close(), how long a peer that isn't reading gets before the socket is destroyed. */
  closeGraceMs?: number
}

/**
 * Attaches the socket to the hub. Listeners go on synchronously (before any await) so no message
 * is lost; a dropped client's socket is terminated if its close handshake can't complete, so its
 * send buffer is freed rather than held for ws's 30 s close timeout.
 */
export function attachSocket (hub: Hub, socket: WebSocket, opts: AttachOptions): void {
  const { log } = opts
  const closeGraceMs = opts.closeGraceMs ?? 5000
  let alive = true
  const conn = hub.connect({
    send: (text) => { if (socket.readyState === socket.OPEN) socket.send(encode(text), { binary: false }) },
    get bufferedAmount () { return socket.bufferedAmount },
    close: (code, reason) => {
      if (socket.readyState !== socket.OPEN) return
      socket.close(code, reason)
      setTimeout(() => socket.terminate(), closeGraceMs).unref()
    },
  }, opts.scope)
  const ping = setInterval(() => {
    if (!alive) {
      log.info({}, 'dashboard missed a ping; closing')
      socket.terminate()
      return
    }
    alive = false
    socket.ping()
  }, opts.pingMs ?? 30_000)
  ping.unref()
  socket.on('pong', () => { alive = true })
  socket.on('message', (data, isBinary) => {
    if (!isBinary) conn.receive(data.toString())
  })
  socket.on('close', () => {
    clearInterval(ping)
    conn.detach()
  })
  socket.on('error', (err) => log.debug({ err }, 'dashboard socket error'))
}
