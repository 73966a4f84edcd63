/** Core services every other plugin shares: config, call bus, call registry, lifecycle, Twilio REST, form bodies. */
import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../src/config.ts'
import { createCallEventBus, type CallEventBus } from '../src/call/bus.ts'
import { createCallRegistry, type CallRegistry } from '../src/call/registry.ts'
import { createLifecycle, type Lifecycle } from '../src/lifecycle.ts'
import { createTwilioApi, type TwilioApi } from '../src/twilio/rest.ts'
import { publicUrl } from '../src/routes.ts'
import { createStreamTokens, type StreamTokens } from '../src/twilio/stream-token.ts'
import { isValidWebhookSignature, TWILIO_SIGNATURE_HEADER, type Params } from '../src/twilio/signature.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    bus: CallEventBus
    calls: CallRegistry
    lifecycle: Lifecycle
    /** undefined without TWILIO_ACCOUNT_SID: features that call Twilio say so instead. */
    twilioApi: TwilioApi | undefined
    now: () => number
    /** Mints the per-call token every `<Stream>` carries and verifies it at `start` (one key for both, one replay memory). */
    streamTokens: StreamTokens
    /**
     * preValidation for every Twilio webhook: X-Twilio-Signature over PUBLIC_BASE_URL + path + raw query and all
     * form params as parsed (before any schema sees them); otherwise 403 with an empty body and one warning.
     * Signed, it leaves one string per key in `req.body` for the route's schema and handler.
     */
    verifyTwilio: (req: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

export interface CoreOptions { config: Config, now?: () => number, twilioApi?: TwilioApi }

const core: FastifyPluginAsync<CoreOptions> = async (app, opts) => {
  const { config } = opts
  // Once, for the whole app: Twilio's webhooks and the login page's plain form post are form-encoded.
  await app.register(formbody)
  const bus = createCallEventBus(app.log.child({ part: 'bus' }))
  app.decorate('config', config)
  app.decorate('now', opts.now ?? Date.now)
  app.decorate('bus', bus)
  app.decorate('calls', createCallRegistry({ bus, log: app.log.child({ part: 'calls' }) }))
  const lifecycle = createLifecycle({ maxCalls: config.maxCalls, pendingMs: config.realtimePrewarmTtlMs, now: opts.now, summaries: config.openaiApiKey !== undefined })
  bus.subscribe((e) => lifecycle.observe(e))
  app.decorate('lifecycle', lifecycle)
  app.decorate('streamTokens', createStreamTokens(config, app.now))
  app.decorate('verifyTwilio', async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const body: unknown = req.body
    const params = (isForm(body) ? body : {}) as Params
    const url = publicUrl(config.publicBaseUrl, req.url)
    // Checked against every value as received: Twilio's algorithm signs each value of a repeated key.
    if (isValidWebhookSignature(config.twilioAuthToken, req.headers[TWILIO_SIGNATURE_HEADER] as string | undefined, url, params)) {
      if (!isForm(body)) {
        req.log.warn({ path: req.routeOptions.url }, 'signed webhook without a form body; refused')
        await reply.code(400).send({ error: 'invalid_webhook', message: 'Twilio webhooks are form posts (application/x-www-form-urlencoded); this request had no form body.' })
        return
      }
      // Handlers read one string per key: a repeated key takes its first value, on every route alike.
      req.body = firstValues(body)
      return
    }
    const form = firstValues(params)
    req.log.warn({ callSid: form.CallSid, messageSid: form.MessageSid, path: req.routeOptions.url }, 'rejected webhook: missing or invalid X-Twilio-Signature')
    await reply.code(403).send()
  })
  app.decorate('twilioApi', opts.twilioApi ?? (config.twilioAccountSid === undefined
    ? undefined
    : createTwilioApi({ accountSid: config.twilioAccountSid, authToken: config.twilioAuthToken, baseUrl: config.twilioApiBaseUrl })))
}

export default fp(core, { name: 'core' })

function isForm (body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body)
}

/** One string per key: the first value of a repeated key; values that are not strings are dropped. */
function firstValues (body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [k, v] of Object.entries(body)) {
    const first: unknown = Array.isArray(v) ? v[0] : v
    if (typeof first === 'string') out[k] = first
  }
  return out
}
