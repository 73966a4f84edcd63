/** UI broadcast hub: decorates `hub` (fed from the cluster plugin's `eventFeed`) and serves GET /ui, the dashboard socket. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createHub, type CallEventSource, type Hub, type HubOptions } from '../src/hub/hub.ts'
import { attachSocket } from '../src/hub/ws-client.ts'
import { UI_PATH } from '../src/routes.ts'

declare module 'fastify' {
  interface FastifyInstance { hub: Hub }
}

export interface HubPluginOptions extends Partial<Omit<HubOptions, 'log' | 'source'>> {
  /** Where call events come from; the cluster plugin's `eventFeed` by default (this instance's bus, or Redis). */
  source?: CallEventSource
  pingMs?: number
  closeGraceMs?: number
}

/** `callSid`: watch one call; without it, every call. */
const UiQuery = Type.Object({ callSid: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{2,64}$' })) })

const hub: FastifyPluginAsyncTypebox<HubPluginOptions> = async (app, opts) => {
  const { source, pingMs, closeGraceMs, ...tuning } = opts
  const log = app.log.child({ part: 'hub' })
  const instance = createHub({ ...tuning, source: source ?? app.eventFeed, log, now: app.now })
  app.decorate('hub', instance)
  // Calls storage closed as interrupted (left open by a crash): those found so far, and any found later.
  instance.interrupted(app.interruptedCalls)
  app.onInterruptedCalls((sids) => instance.interrupted(sids))
  app.addHook('preClose', async () => instance.close())
  // The metrics plugin reads clients and drops at each scrape.
  const unplug = app.metrics.trackHub(() => instance.stats)
  app.addHook('onClose', async () => unplug())

  // Auth runs before the upgrade: no valid session cookie (or Bearer token) means a plain 401, no socket.
  app.get(UI_PATH, { websocket: true, preValidation: app.requireDashboard, schema: { querystring: UiQuery } }, (socket, req) => {
    const { callSid = '*' } = req.query
    attachSocket(instance, socket, { scope: callSid, log: req.log, pingMs, closeGraceMs })
  })
}

export default fp(hub, {
  name: 'hub',
  dependencies: ['core', 'websocket', 'auth', 'metrics', 'storage', 'cluster'],
  // Always there once cluster has loaded (local-only without REDIS_URL): the hub never checks for it.
  decorators: { fastify: ['eventFeed'] },
})
