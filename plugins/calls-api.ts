/** POST /api/calls: click-to-call through the Twilio REST client (rings the operator first), behind the toll-fraud guard. */
import type { FastifyPluginAsync } from 'fastify'
import { startClickToCall } from '../src/call/click-to-call.ts'
import { dialPolicy, DialRateLimiter } from '../src/call/dial-guard.ts'

const callsApi: FastifyPluginAsync = async (app) => {
  const { config } = app
  const policy = dialPolicy(config)
  const limiter = new DialRateLimiter({ perSessionPerMin: config.dialRatePerSessionPerMin, perInstancePerHour: config.dialRatePerInstancePerHour })

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
    // Already authenticated by the preHandler; asked again (no reply: no renewal) for the session id.
    const auth = await app.dashboardAuth(req)
    const session = auth.ok && auth.sessionId !== undefined ? `session:${auth.sessionId}` : 'bearer'
    const result = await startClickToCall(config, app.twilioApi, to, { policy, limiter, session, now: app.now() })
    if (!result.ok) {
      if (result.refused !== undefined) {
        app.metrics.countDialRefused(result.refused)
        // `to` is masked by the logger's redaction (last four digits) unless LOG_PHONE_NUMBERS=true.
        req.log.warn({ to, reason: result.refused, via: auth.ok ? auth.via : undefined }, 'click-to-call refused')
      }
      if (result.retryAfterS !== undefined) reply.header('retry-after', result.retryAfterS)
      return reply.code(result.status).send({ error: result.error, message: result.message })
    }
    req.log.info({ callSid: result.callSid, to: result.to }, 'click-to-call started')
    return reply.code(201).send({ callSid: result.callSid, status: result.status })
  })
}

export default callsApi
