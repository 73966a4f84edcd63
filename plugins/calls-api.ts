/** POST /api/calls: click-to-call through the Twilio REST client (rings the operator first). */
import type { FastifyPluginAsync } from 'fastify'
import { startClickToCall } from '../src/call/click-to-call.ts'

const callsApi: FastifyPluginAsync = async (app) => {
  app.post('/api/calls', {
    preHandler: app.requireDashboard,
    schema: {
      body: {
        type: 'object',
        required: ['to'],
        additionalProperties: false,
        properties: { to: { type: 'string', minLength: 1, maxLength: 32 } },
      },
    },
  }, async (req, reply) => {
    const { to } = req.body as { to: string }
    const result = await startClickToCall(app.config, app.twilioApi, to)
    if (!result.ok) return reply.code(result.status).send({ error: result.error, message: result.message })
    req.log.info({ callSid: result.callSid, to }, 'click-to-call started')
    return reply.code(201).send({ callSid: result.callSid, status: result.status })
  })
}

export default callsApi
