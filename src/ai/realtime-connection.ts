/** One upstream Realtime WebSocket behind a small interface; the real one is the `openai` SDK's GA client. */
import { connect as netConnect } from 'node:net'
import type OpenAI from 'openai'
import { OpenAIRealtimeWS } from 'openai/realtime/ws'
import type { RealtimeClientEvent, RealtimeServerEvent, RealtimeTarget } from './events.ts'
import { readServerEvent } from './server-events.ts'

export interface ConnectionHandlers {
  /** The socket is open; client events may be sent. */
  onOpen (): void
  /** Every server event, `error` events included. */
  onEvent (event: RealtimeServerEvent): void
  /** Transport failures (handshake refused, reset, unparsable frame); API errors arrive as events. The connection stays up. */
  onError (err: Error): void
  /** Called once, whoever closed it. */
  onClose (code: number, reason: string): void
}

export interface RealtimeConnection {
  send (event: RealtimeClientEvent): void
  /** Sends an already-serialized client event (the hot audio path builds these by concatenation); false if the socket is not open. */
  sendRaw (text: string): boolean
  /** Bytes queued in the socket but not yet written (backpressure). */
  readonly bufferedAmount: number
  close (code?: number, reason?: string): void
}

/** Opens a connection; the bridge receives this so tests and benchmarks can point it anywhere. */
export type ConnectRealtime = (target: RealtimeTarget, handlers: ConnectionHandlers) => RealtimeConnection

const HANDSHAKE_TIMEOUT_MS = 10_000
const TEXT = { binary: false } as const
/**
 * Largest server event accepted (the SDK's default is no limit). The API caps an append at 15 MB,
 * and nothing it sends back is bigger; past this `ws` refuses the frame and closes (1009), and the
 * upstream reconnects.
 */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024

/**
 * The production connector: `OpenAIRealtimeWS` on the given client (its OPENAI_BASE_URL and key).
 * The SDK always dials `wss:`; when the base URL is plain `http://` (a local fake, a sidecar
 * proxy) we hand `ws` a plain TCP socket to the same host and port (docs/protocol.md C).
 */
export function createSdkConnect (client: OpenAI): ConnectRealtime {
  const base = new URL(client.baseURL)
  const plain = base.protocol === 'http:'
  const host = base.hostname.replace(/^\[|\]$/g, '')
  const port = Number(base.port === '' ? 80 : base.port)
  const options = {
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    maxPayload: MAX_EVENT_BYTES,
    ...(plain ? { createConnection: () => netConnect({ host, port }) } : {}),
  }

  return (target, h) => {
    const rt = new OpenAIRealtimeWS({ ...target, options } as ConstructorParameters<typeof OpenAIRealtimeWS>[0], client)
    const socket = rt.socket
    let closed = false
    // Frames are read here rather than through the SDK's emitter, which parses and re-dispatches
    // every event: a real cost per audio frame (docs/benchmarks.md). The SDK still
    // builds the URL and headers, opens, sends and closes; its transport errors still arrive below.
    for (const listener of socket.listeners('message')) socket.off('message', listener as () => void)
    socket.on('message', (data: Buffer) => {
      const event = readServerEvent(data.toString())
      if (event instanceof Error) h.onError(event)
      else h.onEvent(event)
    })
    // The SDK reports API `error` events here too (none here: it does not read the frames).
    rt.on('error', (err) => { if ((err as { error?: unknown }).error === undefined) h.onError(err) })
    socket.on('open', () => h.onOpen())
    socket.on('close', (code, reason) => {
      if (closed) return
      closed = true
      h.onClose(code, reason.toString())
    })
    return {
      send: (event) => { if (socket.readyState === socket.OPEN) rt.send(event) },
      sendRaw: (text) => {
        if (socket.readyState !== socket.OPEN) return false
        // A Buffer (sent as text) lets ws mask it into one frame buffer: one write, not cork + writev.
        socket.send(Buffer.from(text), TEXT)
        return true
      },
      get bufferedAmount () { return socket.bufferedAmount },
      close: (code = 1000, reason = 'call ended') => {
        if (socket.readyState === socket.CONNECTING) socket.terminate()
        else if (socket.readyState === socket.OPEN) rt.close({ code, reason })
      },
    }
  }
}
