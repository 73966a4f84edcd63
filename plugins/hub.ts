/** UI broadcast hub: decorates `hub` (fed from the call bus) and serves GET /ui, the dashboard socket. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createHub, type CallEventSource, type Hub, type HubOptions } from '../src/hub/hub.ts'
import { attachSocket } from '../src/hub/ws-client.ts'
import { UI_PATH } from '../src/routes.ts'

declare module 'fastify' {
  interface FastifyInstance { hub: Hub }
}

export interface HubPluginOptions extends Partial<Omit<HubOptions, 'log' | 'source'>> {
  /** Where call events come from; the in-process bus by default (Redis fan-out plugs in here). */
  source?: CallEventSource
  pingMs?: number
  closeGraceMs?: number
}

const hub: FastifyPluginAsync<HubPluginOptions> = async (app, opts) => {
  const { source, pingMs, closeGraceMs, ...tuning } = opts
  const log = app.log.child({ part: 'hub' })
  // The seam for several instances: a plugin registered earlier may decorate `eventFeed` (e.g. the Redis
  // fan-out, src/cluster/redis-feed.ts), which then replaces the in-process bus as the hub's source.
  const feed = app.hasDecorator('eventFeed') ? (app as unknown as { eventFeed: CallEventSource }).eventFeed : undefined
  const instance = createHub({ ...tuning, source: source ?? feed ?? app.bus, log, now: app.now })
  app.decorate('hub', instance)
  if (app.hasDecorator('interruptedCalls')) instance.interrupted(app.interruptedCalls)
  app.addHook('preClose', async () => instance.close())
  // Optional: when the metrics plugin is present, it reads clients and drops at each scrape.
  if (app.hasDecorator('metrics')) {
    const unplug = app.metrics.trackHub(() => instance.stats)
    app.addHook('onClose', async () => unplug())
  }

  // Auth runs before the upgrade: no valid session cookie (or Bearer token) means a plain 401, no socket.
  const querystring = { type: 'object', properties: { callSid: { type: 'string', pattern: '^[A-Za-z0-9]{2,64}$' } } }
  app.get(UI_PATH, { websocket: true, preValidation: app.requireDashboard, schema: { querystring } }, (socket, req) => {
    const { callSid = '*' } = req.query as { callSid?: string }
    attachSocket(instance, socket, { scope: callSid, log: req.log, pingMs, closeGraceMs })
  })
}

export default fp(hub, { name: 'hub', dependencies: ['core', 'websocket', 'auth'] })
