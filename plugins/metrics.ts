/** GET /metrics (Prometheus): decorates `metrics`, feeds it from the bus and times Twilio webhooks. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { createMetrics, type Metrics } from '../src/metrics.ts'
import { bearerToken, tokensEqual } from '../src/auth.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus metrics of this app; the hub plugs in with `app.metrics.trackHub(() => ({ clients, dropped }))`. */
    metrics: Metrics
  }
}

const metricsPlugin: FastifyPluginAsync = async (app) => {
  const metrics = createMetrics({ listCalls: () => app.calls.list() })
  app.decorate('metrics', metrics)
  const unsubscribe = app.bus.subscribe(metrics.onEvent)
  app.addHook('onClose', async () => {
    unsubscribe()
    metrics.close()
  })

  // Webhook latency as Twilio sees it (its limit is 15 s, error 11205); the route pattern keeps labels bounded.
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'POST' || !req.url.startsWith('/twilio/')) return
    metrics.observeWebhook(req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })

  // A scraper gets its own METRICS_TOKEN; anyone allowed on the dashboard may read metrics too.
  const metricsToken = app.config.metricsToken
  const allow = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (metricsToken !== undefined && tokensEqual(bearerToken(req.headers.authorization), metricsToken)) return
    await app.requireDashboard(req, reply)
  }

  app.get('/metrics', { preHandler: allow, logLevel: 'warn' }, async (_req, reply) =>
    reply.type(metrics.contentType).header('cache-control', 'no-store').send(await metrics.render()))
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['core', 'auth'] })
