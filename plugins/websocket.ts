/** Registers @fastify/websocket once, with an explicit subprotocol decision and frame limits. */
import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { TWILIO_SUBPROTOCOL } from '../src/routes.ts'

const plugin: FastifyPluginAsync = async (app) => {
  await app.register(websocket, {
    options: {
      // Hard cap: ws closes with 1009 past it. The codec counts anything over 64 KiB as oversize.
      maxPayload: 1024 * 1024,
      perMessageDeflate: false,
      handleProtocols: (protocols) => protocols.has(TWILIO_SUBPROTOCOL) ? TWILIO_SUBPROTOCOL : false,
    },
    // Shutdown step 5 (src/shutdown.ts): every socket still open (dashboards; media streams ended in step 3) is
    // told why (1001 going away), not closed with no code.
    preClose: async function (this: FastifyInstance) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down')
    },
  })
}

export default fp(plugin, { name: 'websocket' })
