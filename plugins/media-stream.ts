/** GET /media: the Twilio media-stream WebSocket, signature-checked before the upgrade, token-checked at `start`. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { describeClose, MediaSession } from '../src/call/session.ts'
import { MEDIA_STREAM_PATH, mediaStreamUrl } from '../src/routes.ts'
import { isValidStreamSignature, TWILIO_SIGNATURE_HEADER } from '../src/twilio/signature.ts'

interface Entry { session: MediaSession, socket: WebSocket, pending: boolean, closedByUs: boolean }

const mediaStream: FastifyPluginAsync = async (app) => {
  const { config, calls, bus, metrics } = app
  const streamUrl = mediaStreamUrl(config.publicBaseUrl)
  const tokens = app.streamTokens
  const live = new Set<Entry>()
  /** Upgraded sockets still waiting for `start`: capped, so idle upgrades cannot pile up. */
  let pending = 0
  let lastCapWarn = 0
  let capRefusedSinceWarn = 0

  // Runs before the upgrade: a bad signature gets a plain 403 and no socket. The signature is the same for every
  // call (Twilio signs the bare wss:// URL), so it only keeps strangers out; the per-call token decides at `start`.
  const verify = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const sig = req.headers[TWILIO_SIGNATURE_HEADER] as string | undefined
    if (!req.url.includes('?') && isValidStreamSignature(config.twilioAuthToken, sig, streamUrl)) return
    req.log.warn({ path: req.url.split('?')[0] }, 'rejected media-stream upgrade: missing or invalid X-Twilio-Signature')
    await reply.code(403).send()
  }

  const settle = (entry: Entry): void => {
    if (!entry.pending) return
    entry.pending = false
    pending--
  }

  // One warning per 10 s however many are refused: a flood of upgrades must not become a flood of log lines.
  const refuseOverCap = (socket: WebSocket, req: FastifyRequest): void => {
    metrics.streamRefused('pending_limit')
    capRefusedSinceWarn++
    const t = performance.now()
    if (t - lastCapWarn >= 10_000) {
      req.log.warn({ maxPendingStreams: config.maxPendingStreams, refused: capRefusedSinceWarn }, 'too many media sockets waiting for start: closing new ones (1013)')
      lastCapWarn = t
      capRefusedSinceWarn = 0
    }
    socket.close(1013, 'too many pending streams')
  }

  const handler = (socket: WebSocket, req: FastifyRequest): void => {
    socket.on('error', (err) => req.log.warn({ err }, 'media socket error'))
    if (pending >= config.maxPendingStreams) return refuseOverCap(socket, req)
    const session = new MediaSession({
      transport: {
        send: (text) => { if (socket.readyState === socket.OPEN) socket.send(text) },
        close: (code, reason) => {
          entry.closedByUs = true
          if (socket.readyState === socket.OPEN) socket.close(code, reason)
        },
      },
      bus,
      log: req.log,
      now: app.now,
      authorize: (params, callSid) => tokens.verify(params, callSid),
      startTimeoutMs: config.mediaStartTimeoutMs,
      idleTimeoutMs: config.mediaIdleTimeoutMs,
      onRefused: (reason) => { if (reason === 'idle_timeout') metrics.streamIdleClosed(); else metrics.streamRefused(reason) },
      onStart: (call) => {
        settle(entry)
        return calls.add(call)
      },
      onEnd: (call) => {
        settle(entry)
        if (call !== undefined) calls.remove(call)
        live.delete(entry)
      },
    })
    const entry: Entry = { session, socket, pending: true, closedByUs: false }
    pending++
    live.add(entry)
    // Listeners first, synchronously: messages that arrive before them are lost.
    socket.on('message', (data, isBinary) => {
      if (isBinary) session.onBinary()
      else session.onText(data.toString())
    })
    socket.on('close', (code) => {
      const how = describeClose(code, entry.closedByUs)
      const log = session.call?.log ?? req.log
      if (code === 1006 && !entry.closedByUs) log.warn({ code, close: how }, 'media socket lost (no close frame)')
      else log.info({ code, close: how }, 'media socket closed')
      session.finish(code === 1001 ? 'shutdown' : 'closed')
    })
  }

  for (const url of [MEDIA_STREAM_PATH, `${MEDIA_STREAM_PATH}/`]) {
    app.get(url, { websocket: true, preValidation: verify }, handler)
  }

  // Shutdown step 3 (src/shutdown.ts): end the streams still open with 1001; each publishes its call.stopped.
  app.shutdown.on('end-streams', () => {
    for (const entry of live) {
      entry.closedByUs = true
      entry.session.finish('shutdown')
      entry.socket.close(1001, 'server shutting down')
    }
  })
}

// Encapsulated (its routes and hooks stay its own); fp only declares what it needs from the service plugins.
export default fp(mediaStream, { name: 'media-stream', encapsulate: true, dependencies: ['core', 'websocket', 'metrics', 'shutdown'] })
