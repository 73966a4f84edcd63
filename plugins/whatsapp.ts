/** WhatsApp via Twilio: signed inbound and status webhooks (stored at once), and POST /api/whatsapp/send. */
import formbody from '@fastify/formbody'
import type { FastifyPluginAsync } from 'fastify'
import { TWILIO_PATHS, publicUrl } from '../src/routes.ts'
import { MAX_BODY, NO_REPLY_TWIML, inboundMessageOp, sendWhatsApp, statusOp } from '../src/whatsapp/messages.ts'

type Form = Record<string, string | undefined>

const whatsapp: FastifyPluginAsync = async (app) => {
  const { config } = app
  if (!app.hasDecorator('recorder')) throw new Error('the whatsapp plugin needs the storage plugin registered first')
  await app.register(formbody)

  // Every Twilio route here: 403 + empty body without a valid signature (plugins/core.ts).
  const verify = app.verifyTwilio

  // Answered at once: the write is queued (retried through a database outage), never awaited here.
  app.post(TWILIO_PATHS.whatsapp, { preHandler: verify }, async (req, reply) => {
    const op = inboundMessageOp(req.body as Form, app.now())
    if (op === undefined) req.log.warn({}, 'WhatsApp webhook without MessageSid or From; ignored')
    else if (!app.recorder.enqueue(op)) req.log.error({ messageSid: op.sid }, 'inbound WhatsApp message not stored: storage queue full')
    return reply.type('text/xml').send(NO_REPLY_TWIML)
  })

  app.post(TWILIO_PATHS.whatsappStatus, { preHandler: verify }, async (req, reply) => {
    const op = statusOp(req.body as Form, app.now())
    if (op !== undefined) app.recorder.enqueue(op)
    return reply.code(204).send()
  })

  app.post('/api/whatsapp/send', {
    preHandler: app.requireDashboard,
    schema: {
      body: {
        type: 'object',
        required: ['to', 'body'],
        additionalProperties: false,
        properties: { to: { type: 'string', minLength: 1, maxLength: 40 }, body: { type: 'string', minLength: 1, maxLength: MAX_BODY } },
      },
    },
  }, async (req, reply) => {
    const { to, body } = req.body as { to: string, body: string }
    const result = await sendWhatsApp({
      api: app.twilioApi,
      from: config.twilioWhatsappNumber,
      statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.whatsappStatus),
      now: app.now,
    }, to, body)
    if (result.op !== undefined) app.recorder.enqueue(result.op)
    if (!result.ok) {
      req.log.warn({ to, twilioCode: result.twilioCode, error: result.error }, 'WhatsApp message not sent')
      return reply.code(result.status).send({ error: result.error, message: result.message, ...(result.twilioCode !== undefined ? { twilioCode: result.twilioCode } : {}) })
    }
    req.log.info({ messageSid: result.sid, to }, 'WhatsApp message sent')
    return reply.code(201).send({ sid: result.sid, status: result.status })
  })
}

export default whatsapp
