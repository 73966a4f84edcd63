/** Core services every other plugin shares: config, call bus, call registry, lifecycle, Twilio REST. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../src/config.ts'
import { createCallEventBus, type CallEventBus } from '../src/call/bus.ts'
import { createCallRegistry, type CallRegistry } from '../src/call/registry.ts'
import { createLifecycle, type Lifecycle } from '../src/lifecycle.ts'
import { createTwilioApi, type TwilioApi } from '../src/twilio/rest.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    bus: CallEventBus
    calls: CallRegistry
    lifecycle: Lifecycle
    /** undefined without TWILIO_ACCOUNT_SID: features that call Twilio say so instead. */
    twilioApi: TwilioApi | undefined
    now: () => number
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
  app.decorate('twilioApi', opts.twilioApi ?? (config.twilioAccountSid === undefined
    ? undefined
    : createTwilioApi({ accountSid: config.twilioAccountSid, authToken: config.twilioAuthToken, baseUrl: config.twilioApiBaseUrl })))
}

export default fp(core, { name: 'core' })
