/** Twilio voice webhooks: POST /twilio/* behind the signature check, plus a TwiML preview. */
import formbody from '@fastify/formbody'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { answerInbound, answerOutbound, type Answer } from '../src/call/answer.ts'
import type { CallEvent } from '../src/call/events.ts'
import { connectActionTwiml, StreamOutcomes } from '../src/call/stream-outcome.ts'
import { TWILIO_PATHS } from '../src/routes.ts'
import { createStreamTokens, isStreamCallSid } from '../src/twilio/stream-token.ts'

type Form = Record<string, string | undefined>

const twiml: FastifyPluginAsync = async (app) => {
  const { config, bus, calls, lifecycle } = app
  await app.register(formbody)

  // Every Twilio route here: 403 + empty body without a valid signature (plugins/core.ts).
  const verify = app.verifyTwilio
  // Each <Stream> carries a token for its CallSid; /media refuses streams without one (plugins/media-stream.ts).
  const tokens = createStreamTokens(config, app.now)
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

  app.post(TWILIO_PATHS.inbound, { preHandler: verify }, async (req, reply) => {
    const body = req.body as Form
    const answer = answerInbound(config, lifecycle.admit(calls.size), body.From ?? '', body.To ?? '', mintFor(body.CallSid))
    return send(req, reply, answer, body.CallSid)
  })

  app.post(TWILIO_PATHS.outbound, { preHandler: verify }, async (req, reply) => {
    const body = req.body as Form
    const { to } = req.query as { to?: string }
    const answer = answerOutbound(config, lifecycle.admit(calls.size), to, body.From ?? '', mintFor(body.CallSid))
    return send(req, reply, answer, body.CallSid)
  })

  // Status callbacks must be answered at once (Twilio gives 15 s, error 11205); work goes to the bus.
  app.post(TWILIO_PATHS.callStatus, { preHandler: verify }, async (req, reply) => {
    const body = req.body as Form
    if (body.CallSid !== undefined && body.CallStatus !== undefined) {
      const duration = body.CallDuration === undefined ? undefined : Number(body.CallDuration)
      bus.publish({ type: 'call.status', callSid: body.CallSid, at: app.now(), status: body.CallStatus, ...(duration !== undefined && Number.isFinite(duration) ? { duration } : {}) })
    }
    return reply.code(204).send()
  })

  app.post(TWILIO_PATHS.streamStatus, { preHandler: verify }, async (req, reply) => {
    const body = req.body as Form
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
  let unsubscribe = bus.subscribe(recordOutcome)
  app.addHook('onReady', async () => {
    if (app.eventFeed === undefined) return
    unsubscribe()
    unsubscribe = app.eventFeed.subscribe(recordOutcome)
  })
  app.addHook('onClose', async () => unsubscribe())

  // <Connect action>: the agent's stream has ended; what Twilio does next depends on why.
  app.post(TWILIO_PATHS.connectAction, { preHandler: verify }, async (req, reply) => {
    const { CallSid: callSid } = req.body as Form
    const outcome = callSid === undefined ? undefined : outcomes.get(callSid)
    req.log.info({ callSid, outcome: outcome ?? 'unknown' }, 'agent stream ended; answering <Connect action>')
    return reply.type('text/xml').send(connectActionTwiml(outcome, config.operatorPhone))
  })

  // What a call would get right now (mode, operator, drain state), for the dashboard and doctor.
  app.get(`${TWILIO_PATHS.inbound}/preview`, { preHandler: app.requireDashboard }, async (req, reply) => {
    const { from = '+15555550100', to = config.twilioPhoneNumber ?? '+15555550199' } = req.query as Form
    const answer = answerInbound(config, lifecycle.admit(calls.size), from, to)
    return reply.type('text/xml').header('x-talkhint-problem', answer.problem ?? '').send(answer.twiml)
  })
}

export default twiml
