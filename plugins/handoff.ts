/** AI → person handoffs: decorates `handoffs` (used by the agent and the dashboard) and serves the transfer's Twilio webhooks. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createOpenAIClient } from '../src/ai/openai.ts'
import { HandoffBook } from '../src/handoff/book.ts'
import { Handoffs } from '../src/handoff/handoffs.ts'
import { TWILIO_PATHS } from '../src/routes.ts'
import { isStreamCallSid } from '../src/twilio/stream-token.ts'
import { DialActionParams, DialedLegParams } from '../src/twilio/webhook-params.ts'

declare module 'fastify' {
  interface FastifyInstance {
    handoffs: Handoffs
  }
}

/** Which call a transfer request is about: our own `?call=` (signed with the URL), checked for shape. */
const TransferQuery = Type.Object({ call: Type.String({ pattern: '^[A-Za-z0-9]{1,64}$' }) })
/** How long the operator's whisper waits for the model's briefing before the plain one (Twilio allows 15 s). */
const WHISPER_WAIT_MS = 4_000

const handoff: FastifyPluginAsyncTypebox = async (app) => {
  const { config, bus, calls, lifecycle } = app
  const log = app.log.child({ part: 'handoff' })
  const book = new HandoffBook()
  // The feed carries every instance's events: a whisper or a <Dial action> landing here still knows the call.
  const unsubscribe = app.eventFeed.subscribe((e) => book.observe(e))
  const handoffs = new Handoffs({
    config,
    bus,
    book,
    mint: (callSid, claims) => app.streamTokens.mint(callSid, claims),
    responses: createOpenAIClient(config),
    log,
    now: app.now,
  })
  app.decorate('handoffs', handoffs)
  app.addHook('onClose', async () => {
    unsubscribe()
    handoffs.close()
  })

  // Twilio's requests during a transfer: 403 without a valid signature, checked before the schema.
  await app.register(async (scope) => {
    const verify = app.verifyTwilio
    const typed = scope.withTypeProvider<import('@fastify/type-provider-typebox').TypeBoxTypeProvider>()

    // The operator answered: they hear the briefing, then Twilio bridges them to the caller.
    typed.post(TWILIO_PATHS.whisper, { preValidation: verify, schema: { body: DialedLegParams, querystring: TransferQuery } }, async (req, reply) => {
      const { call } = req.query
      req.log.info({ callSid: call, legSid: req.body.CallSid }, 'operator answered the transfer; playing the briefing')
      return reply.type('text/xml').send(await handoffs.whisper(call, WHISPER_WAIT_MS))
    })

    // The operator's leg: ringing (shown on the dashboard), then answered and completed (logged).
    typed.post(TWILIO_PATHS.transferStatus, { preValidation: verify, schema: { body: DialedLegParams, querystring: TransferQuery } }, async (req, reply) => {
      const { call } = req.query
      if (req.body.CallStatus === 'ringing') handoffs.ringing(call)
      req.log.info({ callSid: call, legSid: req.body.CallSid, status: req.body.CallStatus }, 'operator leg status')
      return reply.code(204).send()
    })

    // <Dial action>: the operator's leg is over; a person took the call, or the caller goes back to the agent.
    typed.post(TWILIO_PATHS.transferAction, { preValidation: verify, schema: { body: DialActionParams, querystring: TransferQuery } }, async (req, reply) => {
      const { call } = req.query
      const status = req.body.DialCallStatus ?? 'failed'
      const admission = lifecycle.admit(calls.size)
      const ai = admission.ai && config.openaiApiKey !== undefined && isStreamCallSid(call)
      if (ai) lifecycle.hold(call)
      req.log.info({ callSid: call, dialStatus: status, backToAgent: ai && status !== 'completed' && status !== 'answered' }, 'transfer dial ended')
      return reply.type('text/xml').send(handoffs.dialEnded(call, status, ai))
    })
  })
}

export default fp(handoff, {
  name: 'handoff',
  dependencies: ['core', 'cluster'],
  decorators: { fastify: ['eventFeed'] },
})
