/** POST /api/calls: click-to-call (rings the operator first) or an AI agent call, through the Twilio REST client, behind the toll-fraud guard. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { PURPOSE_MAX_LENGTH, startAgentCall } from '../src/call/agent-call.ts'
import { startClickToCall, type ClickToCallFailure } from '../src/call/click-to-call.ts'
import { dialPolicy, DialRateLimiter } from '../src/call/dial-guard.ts'
import { streamTokenKey } from '../src/twilio/stream-token.ts'

/** The HTTP status of each kind of refusal startClickToCall returns. */
const STATUS = { invalid_input: 400, forbidden: 403, rate_limited: 429, not_configured: 503, upstream_failed: 502 } as const satisfies Record<ClickToCallFailure['kind'], number>

// Fields it does not know are ignored, as before the TypeBox move (Ajv dropped them).
const CallBody = Type.Object({
  to: Type.String({ minLength: 1, maxLength: 32 }),
  /** `assist` (default): click-to-call with the copilot; `agent`: the AI makes the call. */
  mode: Type.Optional(Type.Union([Type.Literal('assist'), Type.Literal('agent')])),
  /** Agent calls: the AI's task on this call, one line of plain text (src/call/agent-call.ts checks it). */
  purpose: Type.Optional(Type.String({ maxLength: PURPOSE_MAX_LENGTH })),
})

const callsApi: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app
  const key = streamTokenKey(config)
  const policy = dialPolicy(config)
  const limiter = new DialRateLimiter({ perSessionPerMin: config.dialRatePerSessionPerMin, perInstancePerHour: config.dialRatePerInstancePerHour })
  // JSON only, as this route has always been: core's form parser (for Twilio's webhooks) stops at this scope.
  app.removeContentTypeParser('application/x-www-form-urlencoded')

  app.post('/api/calls', { preValidation: app.requireDashboard, schema: { body: CallBody } }, async (req, reply) => {
    const { to, mode = 'assist', purpose } = req.body
    if (mode === 'assist' && purpose !== undefined) {
      return reply.code(400).send({ error: 'invalid_purpose', message: 'A purpose is for AI agent calls (mode "agent"); a copilot call has none.' })
    }
    // Already authenticated (before the schema ran); asked again (no reply: no renewal) for the session id.
    const auth = await app.dashboardAuth(req)
    const session = auth.ok && auth.sessionId !== undefined ? `session:${auth.sessionId}` : 'bearer'
    const guard = { policy, limiter, session, now: app.now() }
    const agent = mode === 'agent' ? await startAgentCall(config, app.twilioApi, to, purpose, guard, key) : undefined
    const result = agent ?? await startClickToCall(config, app.twilioApi, to, guard)
    if (!result.ok) {
      if (result.refused !== undefined) {
        app.metrics.countDialRefused(result.refused)
        // `to` is masked by the logger's redaction (last four digits) unless LOG_PHONE_NUMBERS=true.
        req.log.warn({ to, mode, reason: result.refused, via: auth.ok ? auth.via : undefined }, 'click-to-call refused')
      }
      if (result.retryAfterS !== undefined) reply.header('retry-after', result.retryAfterS)
      return reply.code(STATUS[result.kind]).send({ error: result.code, message: result.message })
    }
    req.log.info({ callSid: result.callSid, to: result.to, mode, via: auth.ok ? auth.via : undefined }, 'click-to-call started')
    if (agent?.ok === true) {
      // The call is on the dashboard and in the history from now, with its purpose, while it rings.
      app.bus.publish({ type: 'call.placed', callSid: agent.callSid, at: app.now(), mode: 'agent', direction: 'outbound', from: agent.from, to: agent.to, purpose: agent.purpose })
    }
    return reply.code(201).send({ callSid: result.callSid, status: result.status, mode })
  })
}

// Encapsulated (its route stays its own); fp only declares what it needs from the service plugins.
export default fp(callsApi, { name: 'calls-api', encapsulate: true, dependencies: ['core', 'metrics', 'auth'] })
