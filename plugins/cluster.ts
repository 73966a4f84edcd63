/** Decorates `eventFeed`: this instance's call events, or with REDIS_URL (fanned out through Redis) every instance's. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { createRedisFeed, type EventFeed } from '../src/cluster/redis-feed.ts'

/** `started`: joined the fan-out (the local feed has nothing to join, so it always has). */
export type ClusterFeed = EventFeed & { readonly started: boolean }

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Every call event a dashboard shows, in order per call: the in-process bus without REDIS_URL; with it,
     * local and remote events alike (the hub's source, and where <Connect action> learns how a stream ended).
     */
    eventFeed: ClusterFeed
  }
}

const MAX_RETRY_MS = 30_000
/** Start-up waits this long for Redis at most; the fan-out then carries on connecting in the background. */
const START_WAIT_MS = 3_000

const cluster: FastifyPluginAsync = async (app) => {
  const url = app.config.redisUrl
  if (url === undefined) {
    const { bus } = app
    app.decorate('eventFeed', { subscribe: (listener) => bus.subscribe(listener), started: true } satisfies ClusterFeed)
    return
  }
  const log = app.log.child({ part: 'cluster' })
  const instanceId = `${app.config.deployId ?? hostname()}-${randomBytes(4).toString('hex')}`
  const feed = createRedisFeed({ url, instanceId, bus: app.bus, log, namespace: app.config.redisPrefix })
  app.decorate('eventFeed', feed)

  let timer: NodeJS.Timeout | undefined
  let closed = false
  let failures = 0
  const attempt = async (): Promise<void> => {
    try {
      await feed.start()
      if (failures > 0) log.info({ failures }, 'redis fan-out recovered')
    } catch (err) {
      if (closed) return
      if (failures++ === 0) log.error({ err }, 'redis fan-out unavailable; calls and this instance\'s dashboards work, other instances\' calls are not shown until it connects (retrying)')
      const delay = Math.min(1000 * 2 ** Math.min(failures - 1, 5), MAX_RETRY_MS)
      timer = setTimeout(() => { attempt().catch(() => {}) }, delay)
      timer.unref()
    }
  }
  // onReady: after the hub subscribed to the feed, so the replay of calls live elsewhere reaches it.
  app.addHook('onReady', async () => {
    const first = attempt()
    await Promise.race([first, new Promise((resolve) => setTimeout(resolve, START_WAIT_MS).unref())])
  })
  app.addHook('onClose', async () => {
    closed = true
    clearTimeout(timer)
    await feed.close()
  })
}

export default fp(cluster, { name: 'cluster', dependencies: ['core'] })
