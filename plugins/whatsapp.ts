/** WhatsApp via Twilio: signed inbound and status webhooks (stored at once), and POST /api/whatsapp/send. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { TWILIO_PATHS, publicUrl } from '../src/routes.ts'
import { MessageParams } from '../src/twilio/webhook-params.ts'
import { MAX_BODY, NO_REPLY_TWIML, inboundMessageOp, sendWhatsApp, statusOp, type SendFailure } from '../src/whatsapp/messages.ts'

/** The HTTP status of each kind of refusal sendWhatsApp returns. */
const STATUS = { invalid_input: 400, unprocessable: 422, not_configured: 503, upstream_failed: 502 } as const satisfies Record<SendFailure['kind'], number>

const SendBody = Type.Object({
  to: Type.String({ minLength: 1, maxLength: 40 }),
  body: Type.String({ minLength: 1, maxLength: MAX_BODY }),
}) // fields it does not know are ignored, as before the TypeBox move

const whatsapp: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app

  // Every Twilio route here: 403 + empty body without a valid signature (plugins/core.ts), checked before the schema.
  const verify = app.verifyTwilio

  // Answered at once: the write is queued (retried through a database outage), never awaited here.
  app.post(TWILIO_PATHS.whatsapp, { preValidation: verify, schema: { body: MessageParams } }, async (req, reply) => {
    const op = inboundMessageOp(req.body, app.now())
    if (op === undefined) req.log.warn({}, 'WhatsApp webhook without MessageSid or From; ignored')
    else if (!app.recorder.enqueue(op)) req.log.error({ messageSid: op.sid }, 'inbound WhatsApp message not stored: storage queue full')
    return reply.type('text/xml').send(NO_REPLY_TWIML)
  })

  app.post(TWILIO_PATHS.whatsappStatus, { preValidation: verify, schema: { body: MessageParams } }, async (req, reply) => {
    const op = statusOp(req.body, app.now())
    if (op !== undefined) app.recorder.enqueue(op)
    return reply.code(204).send()
  })

  app.post('/api/whatsapp/send', { preValidation: app.requireDashboard, schema: { body: SendBody } }, async (req, reply) => {
    const { to, body } = req.body
    const result = await sendWhatsApp({
      api: app.twilioApi,
      from: config.twilioWhatsappNumber,
      statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.whatsappStatus),
      now: app.now,
    }, to, body)
    if (result.op !== undefined) app.recorder.enqueue(result.op)
    if (!result.ok) {
      req.log.warn({ to, twilioCode: result.twilioCode, error: result.code }, 'WhatsApp message not sent')
      return reply.code(STATUS[result.kind]).send({ error: result.code, message: result.message, ...(result.twilioCode !== undefined ? { twilioCode: result.twilioCode } : {}) })
    }
    req.log.info({ messageSid: result.sid, to }, 'WhatsApp message sent')
    return reply.code(201).send({ sid: result.sid, status: result.status })
  })
}

// Encapsulated (its routes stay its own); fp only declares what it needs from the service plugins.
export default fp(whatsapp, { name: 'whatsapp', encapsulate: true, dependencies: ['core', 'auth', 'storage'] })
