/** Prometheus metrics: decorates `metrics`, feeds it from the bus and times Twilio webhooks (plugins/metrics-endpoint.ts serves it). */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createMetrics, type Metrics } from '../src/metrics.ts'

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
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['core'] })
