/** POST /api/calls: click-to-call through the Twilio REST client (rings the operator first), behind the toll-fraud guard. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { startClickToCall, type ClickToCallFailure } from '../src/call/click-to-call.ts'
import { dialPolicy, DialRateLimiter } from '../src/call/dial-guard.ts'

/** The HTTP status of each kind of refusal startClickToCall returns. */
const STATUS = { invalid_input: 400, forbidden: 403, rate_limited: 429, not_configured: 503, upstream_failed: 502 } as const satisfies Record<ClickToCallFailure['kind'], number>

// Fields it does not know are ignored, as before the TypeBox move (Ajv dropped them).
const CallBody = Type.Object({ to: Type.String({ minLength: 1, maxLength: 32 }) })

const callsApi: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app
  const policy = dialPolicy(config)
  const limiter = new DialRateLimiter({ perSessionPerMin: config.dialRatePerSessionPerMin, perInstancePerHour: config.dialRatePerInstancePerHour })
  // JSON only, as this route has always been: core's form parser (for Twilio's webhooks) stops at this scope.
  app.removeContentTypeParser('application/x-www-form-urlencoded')

  app.post('/api/calls', { preValidation: app.requireDashboard, schema: { body: CallBody } }, async (req, reply) => {
    const { to } = req.body
    // Already authenticated (before the schema ran); asked again (no reply: no renewal) for the session id.
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
      return reply.code(STATUS[result.kind]).send({ error: result.code, message: result.message })
    }
    req.log.info({ callSid: result.callSid, to: result.to }, 'click-to-call started')
    return reply.code(201).send({ callSid: result.callSid, status: result.status })
  })
}

// Encapsulated (its route stays its own); fp only declares what it needs from the service plugins.
export default fp(callsApi, { name: 'calls-api', encapsulate: true, dependencies: ['core', 'metrics', 'auth'] })
