/** GET /media: the Twilio media-stream WebSocket, signature-checked before the upgrade. */
import type { FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import { MediaSession } from '../src/call/session.ts'
import { MEDIA_STREAM_PATH, mediaStreamUrl } from '../src/routes.ts'
import { isValidStreamSignature } from '../src/twilio/signature.ts'

const mediaStream: FastifyPluginAsync = async (app) => {
  const { config, calls, bus } = app
  const streamUrl = mediaStreamUrl(config.publicBaseUrl)
  const live = new Set<{ session: MediaSession, socket: WebSocket }>()

  // Runs before the upgrade: a bad signature gets a plain 403 and no socket.
  const verify = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply): Promise<void> => {
    const sig = req.headers['x-twilio-signature'] as string | undefined
    if (!req.url.includes('?') && isValidStreamSignature(config.twilioAuthToken, sig, streamUrl)) return
    req.log.warn({ path: req.url.split('?')[0] }, 'rejected media-stream upgrade: missing or invalid X-Twilio-Signature')
    await reply.code(403).send()
  }

  const handler = (socket: WebSocket, req: import('fastify').FastifyRequest): void => {
    const session = new MediaSession({
      transport: {
        send: (text) => { if (socket.readyState === socket.OPEN) socket.send(text) },
        close: (code, reason) => { if (socket.readyState === socket.OPEN) socket.close(code, reason) },
      },
      bus,
      log: req.log,
      defaultMode: config.mode,
      now: app.now,
      onStart: (call) => calls.add(call),
      onEnd: (call) => {
        if (call !== undefined) calls.remove(call)
        live.delete(entry)
      },
    })
    const entry = { session, socket }
    live.add(entry)
    // Listeners first, synchronously: messages that arrive before them are lost.
    socket.on('message', (data, isBinary) => {
      if (isBinary) session.onBinary()
      else session.onText(data.toString())
    })
    socket.on('close', (code) => session.finish(code === 1001 ? 'shutdown' : 'closed'))
    socket.on('error', (err) => req.log.warn({ err }, 'media socket error'))
  }

  for (const url of [MEDIA_STREAM_PATH, `${MEDIA_STREAM_PATH}/`]) {
    app.get(url, { websocket: true, preValidation: verify }, handler)
  }

  // Shutdown: end live streams with 1001 so handlers release upstream sockets in order.
  app.addHook('preClose', async () => {
    for (const { session, socket } of live) {
      session.finish('shutdown')
      socket.close(1001, 'server shutting down')
    }
  })
}

export default mediaStream
