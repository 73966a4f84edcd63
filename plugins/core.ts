/** Core services every other plugin shares: config, call bus, call registry, lifecycle, Twilio REST. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../src/config.ts'
import { createCallEventBus, type CallEventBus } from '../src/call/bus.ts'
import { createCallRegistry, type CallRegistry } from '../src/call/registry.ts'
import { createLifecycle, type Lifecycle } from '../src/lifecycle.ts'
import { createTwilioApi, type TwilioApi } from '../src/twilio/rest.ts'
import { publicUrl } from '../src/routes.ts'
import { isValidWebhookSignature, type Params } from '../src/twilio/signature.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    bus: CallEventBus
    calls: CallRegistry
    lifecycle: Lifecycle
    /** undefined without TWILIO_ACCOUNT_SID: features that call Twilio say so instead. */
    twilioApi: TwilioApi | undefined
    now: () => number
    /**
     * preHandler for every Twilio webhook: X-Twilio-Signature over PUBLIC_BASE_URL + path + raw query and all
     * form params; otherwise 403 with an empty body and one warning. Register @fastify/formbody first.
     */
    verifyTwilio: (req: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

export interface CoreOptions { config: Config, now?: () => number, twilioApi?: TwilioApi }

const core: FastifyPluginAsync<CoreOptions> = async (app, opts) => {
  const { config } = opts
  const bus = createCallEventBus(app.log.child({ part: 'bus' }))
  app.decorate('config', config)
  app.decorate('now', opts.now ?? Date.now)
  app.decorate('bus', bus)
  app.decorate('calls', createCallRegistry({ bus, log: app.log.child({ part: 'calls' }) }))
  const lifecycle = createLifecycle({ maxCalls: config.maxCalls, pendingMs: config.realtimePrewarmTtlMs, now: opts.now })
  bus.subscribe((e) => lifecycle.observe(e))
  app.decorate('lifecycle', lifecycle)
  app.decorate('verifyTwilio', async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const params = (req.body ?? {}) as Params
    const url = publicUrl(config.publicBaseUrl, req.url)
    if (isValidWebhookSignature(config.twilioAuthToken, req.headers['x-twilio-signature'] as string | undefined, url, params)) return
    const form = params as Record<string, string | undefined>
    req.log.warn({ callSid: form.CallSid, messageSid: form.MessageSid, path: req.routeOptions.url }, 'rejected webhook: missing or invalid X-Twilio-Signature')
    await reply.code(403).send()
  })
  app.decorate('twilioApi', opts.twilioApi ?? (config.twilioAccountSid === undefined
    ? undefined
    : createTwilioApi({ accountSid: config.twilioAccountSid, authToken: config.twilioAuthToken, baseUrl: config.twilioApiBaseUrl })))
}

export default fp(core, { name: 'core' })
