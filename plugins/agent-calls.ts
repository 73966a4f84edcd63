/** Outbound agent calls' Twilio webhooks: the TwiML for the AMD verdict, and the status callback that records no-answer, busy, failed. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { answerAgentCall, outcomeForStatus, verifyAgentCallQuery } from '../src/call/agent-call.ts'
import { TWILIO_PATHS } from '../src/routes.ts'
import { createStreamTokens, isStreamCallSid, streamTokenKey } from '../src/twilio/stream-token.ts'
import { hangupTwiml } from '../src/twilio/twiml.ts'
import { AgentCallParams, CallStatusParams } from '../src/twilio/webhook-params.ts'

/** What src/call/agent-call.ts wrote into the call's URL: the number, the purpose, and its MAC. */
const AgentCallQuery = Type.Object({ to: Type.Optional(Type.String()), purpose: Type.Optional(Type.String()), sig: Type.Optional(Type.String()) })

const agentCalls: FastifyPluginAsyncTypebox = async (app) => {
  const { config, bus, calls, lifecycle } = app
  const key = streamTokenKey(config)
  const tokens = createStreamTokens(config, app.now)

  // Twilio requests this once AMD has decided (synchronous DetectMessageEnd: after a machine's greeting).
  app.post(TWILIO_PATHS.agentCall, { preValidation: app.verifyTwilio, schema: { body: AgentCallParams, querystring: AgentCallQuery } }, async (req, reply) => {
    const { CallSid: callSid, AnsweredBy: answeredBy, From: from } = req.body
    const placed = verifyAgentCallQuery(key, req.query)
    if (placed === undefined) {
      // Signed by Twilio, but not a URL this server wrote (or written under another key): never a 500, never the agent.
      req.log.error({ callSid }, 'agent call webhook without a valid URL signature (sig); hanging up. Do all instances share TWILIO_AUTH_TOKEN / STREAM_TOKEN_SECRET?')
      return reply.type('text/xml').send(hangupTwiml())
    }
    const mint = isStreamCallSid(callSid) ? (c: Parameters<typeof tokens.mint>[1]) => tokens.mint(callSid, c) : undefined
    const answer = answerAgentCall(config, lifecycle.admit(calls.size), placed, answeredBy, from ?? '', mint)
    req.log.info({ callSid, answeredBy: answeredBy ?? 'none', outcome: answer.outcome, ai: answer.call.ai }, 'agent call answered')
    // Counts against MAX_CALLS from now, as an inbound agent call does (plugins/voice-webhooks.ts).
    if (answer.call.ai) lifecycle.hold(callSid)
    const at = app.now()
    bus.publish({ type: 'call.webhook', callSid, at, ...answer.call })
    bus.publish({ type: 'call.outcome', callSid, at, outcome: answer.outcome, ...(answeredBy !== undefined ? { answeredBy } : {}) })
    return reply.type('text/xml').send(answer.twiml)
  })

  // The call's status callback: the usual call.status, plus the outcome when nobody answered. Answered at once (11205).
  app.post(TWILIO_PATHS.agentCallStatus, { preValidation: app.verifyTwilio, schema: { body: CallStatusParams } }, async (req, reply) => {
    const { CallSid: callSid, CallStatus: status, CallDuration } = req.body
    if (status !== undefined) {
      const at = app.now()
      const duration = CallDuration === undefined ? undefined : Number(CallDuration)
      bus.publish({ type: 'call.status', callSid, at, status, ...(duration !== undefined && Number.isFinite(duration) ? { duration } : {}) })
      const outcome = outcomeForStatus(status)
      if (outcome !== undefined) bus.publish({ type: 'call.outcome', callSid, at, outcome })
    }
    return reply.code(204).send()
  })
}

// Encapsulated (its routes stay its own); fp only declares what it needs from the service plugins.
export default fp(agentCalls, { name: 'agent-calls', encapsulate: true, dependencies: ['core'] })
