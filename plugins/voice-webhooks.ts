/** Twilio voice webhooks: POST /twilio/* behind the signature check, plus a TwiML preview. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { answerInbound, answerOutbound, type Answer } from '../src/call/answer.ts'
import type { CallEvent } from '../src/call/events.ts'
import { connectActionTwiml, StreamOutcomes } from '../src/call/stream-outcome.ts'
import { TWILIO_PATHS } from '../src/routes.ts'
import { isStreamCallSid } from '../src/twilio/stream-token.ts'
import { CallStatusParams, DialStatusParams, StreamStatusParams, VoiceCallParams } from '../src/twilio/webhook-params.ts'

/** `to`: the number click-to-call dials once the operator answers (src/call/click-to-call.ts writes it). */
const OutboundQuery = Type.Object({ to: Type.Optional(Type.String()) })
/** A caller and a called number to preview the answer for. */
const PreviewQuery = Type.Object({ from: Type.Optional(Type.String()), to: Type.Optional(Type.String()) })

const voiceWebhooks: FastifyPluginAsyncTypebox = async (app) => {
  const { config, bus, calls, lifecycle } = app

  // Every Twilio route here: 403 + empty body without a valid signature (plugins/core.ts), checked before the schema.
  const verify = app.verifyTwilio
  // Each <Stream> carries a token for its CallSid; /media refuses streams without one (plugins/media-stream.ts).
  const tokens = app.streamTokens
  const mintFor = (callSid: string | undefined) => callSid === undefined || !isStreamCallSid(callSid) ? undefined : (c: Parameters<typeof tokens.mint>[1]) => tokens.mint(callSid, c)

  const send = (req: FastifyRequest, reply: FastifyReply, answer: Answer, callSid: string | undefined): FastifyReply => {
    if (answer.problem !== undefined) req.log.error({ callSid }, `call cannot be handled as configured: ${answer.problem}`)
    if (answer.call !== undefined && callSid !== undefined) {
      // Counts against MAX_CALLS from now, not from when its stream opens (a burst must not overshoot).
      if (answer.call.ai) lifecycle.hold(callSid)
      bus.publish({ type: 'call.webhook', callSid, at: app.now(), ...answer.call })
    }
    return reply.type('text/xml').send(answer.twiml)
  }

  app.post(TWILIO_PATHS.inbound, { preValidation: verify, schema: { body: VoiceCallParams } }, async (req, reply) => {
    const { body } = req
    const answer = answerInbound(config, lifecycle.admit(calls.size), body.From ?? '', body.To ?? '', mintFor(body.CallSid))
    return send(req, reply, answer, body.CallSid)
  })

  app.post(TWILIO_PATHS.outbound, { preValidation: verify, schema: { body: VoiceCallParams, querystring: OutboundQuery } }, async (req, reply) => {
    const { body } = req
    const { to } = req.query
    const answer = answerOutbound(config, lifecycle.admit(calls.size), to, body.From ?? '', mintFor(body.CallSid))
    return send(req, reply, answer, body.CallSid)
  })

  // Status callbacks must be answered at once (Twilio gives 15 s, error 11205); work goes to the bus.
  app.post(TWILIO_PATHS.callStatus, { preValidation: verify, schema: { body: CallStatusParams } }, async (req, reply) => {
    const { body } = req
    if (body.CallSid !== undefined && body.CallStatus !== undefined) {
      const duration = body.CallDuration === undefined ? undefined : Number(body.CallDuration)
      const direction = body.Direction === 'inbound' ? 'inbound' as const : body.Direction?.startsWith('outbound') === true ? 'outbound' as const : undefined
      bus.publish({ type: 'call.status', callSid: body.CallSid, at: app.now(), status: body.CallStatus, ...(duration !== undefined && Number.isFinite(duration) ? { duration } : {}), ...(direction !== undefined ? { direction } : {}) })
    }
    return reply.code(204).send()
  })

  // The dialled leg's progress (<Number statusCallback>): who is ringing, and when they answer. Told about its parent call.
  app.post(TWILIO_PATHS.dialStatus, { preValidation: verify, schema: { body: DialStatusParams } }, async (req, reply) => {
    const { body } = req
    bus.publish({ type: 'call.dial', callSid: body.ParentCallSid, at: app.now(), childSid: body.CallSid, status: body.CallStatus })
    return reply.code(204).send()
  })

  app.post(TWILIO_PATHS.streamStatus, { preValidation: verify, schema: { body: StreamStatusParams } }, async (req, reply) => {
    const { body } = req
    if (body.StreamEvent === 'stream-error') {
      req.log.error({ callSid: body.CallSid, streamSid: body.StreamSid, streamError: body.StreamError }, 'Twilio reported a media stream error')
    } else {
      req.log.info({ callSid: body.CallSid, streamSid: body.StreamSid, streamEvent: body.StreamEvent }, 'stream status')
    }
    return reply.code(204).send()
  })

  // Why each agent stream ended, as the agent published it. With REDIS_URL the feed carries other
  // instances' outcomes too, so an action request landing elsewhere still gets the right answer;
  // without a record (restart, or the fan-out lagging) the answer is the safe default: the operator.
  const outcomes = new StreamOutcomes({ now: app.now })
  const recordOutcome = (e: CallEvent): void => { if (e.type === 'stream.outcome') outcomes.record(e.callSid, e.outcome) }
  const unsubscribe = app.eventFeed.subscribe(recordOutcome)
  app.addHook('onClose', async () => unsubscribe())

  // <Connect action>: the agent's stream has ended; what Twilio does next depends on why.
  app.post(TWILIO_PATHS.connectAction, { preValidation: verify, schema: { body: VoiceCallParams } }, async (req, reply) => {
    const { CallSid: callSid } = req.body
    const outcome = callSid === undefined ? undefined : outcomes.get(callSid)
    req.log.info({ callSid, outcome: outcome ?? 'unknown' }, 'agent stream ended; answering <Connect action>')
    // To a person: the warm transfer (briefing whisper, copilot on their leg). A handoff the agent started is
    // already under way; one nobody recorded (restart, another instance lagging) starts here as a fallback.
    if (outcome !== 'hangup' && config.operatorPhone !== undefined && isStreamCallSid(callSid)) {
      const { handoffs } = app
      const warm = outcome === undefined ? handoffs.begin(callSid, 'fallback') : handoffs.transferTwiml(callSid, outcome === 'fallback' ? 'fallback' : 'tool')
      if (warm !== undefined) return reply.type('text/xml').send(warm)
    }
    return reply.type('text/xml').send(connectActionTwiml(outcome, config.operatorPhone))
  })

  // What a call would get right now (mode, operator, drain state), for the dashboard and doctor.
  app.get(`${TWILIO_PATHS.inbound}/preview`, { preValidation: app.requireDashboard, schema: { querystring: PreviewQuery } }, async (req, reply) => {
    const { from = '+15555550100', to = config.twilioPhoneNumber ?? '+15555550199' } = req.query
    const answer = answerInbound(config, lifecycle.admit(calls.size), from, to)
    return reply.type('text/xml').header('x-talkhint-problem', answer.problem ?? '').send(answer.twiml)
  })
}

// Encapsulated (its routes and hooks stay its own); fp only declares what it needs from the service plugins.
export default fp(voiceWebhooks, {
  name: 'voice-webhooks',
  encapsulate: true,
  dependencies: ['core', 'auth', 'cluster', 'handoff'],
  decorators: { fastify: ['eventFeed', 'handoffs'] },
})
