/** GET /metrics (Prometheus text): for a scraper with METRICS_TOKEN, or anyone allowed on the dashboard. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { bearerToken, tokensEqual } from '../src/auth.ts'

const metricsEndpoint: FastifyPluginAsync = async (app) => {
  const { metrics } = app
  const metricsToken = app.config.metricsToken
  const allow = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (metricsToken !== undefined && tokensEqual(bearerToken(req.headers.authorization), metricsToken)) return
    await app.requireDashboard(req, reply)
  }

  app.get('/metrics', { preHandler: allow, logLevel: 'warn' }, async (_req, reply) =>
    reply.type(metrics.contentType).header('cache-control', 'no-store').send(await metrics.render()))
}

// Apart from the metrics plugin, which auth needs first (it counts failed logins); this route needs auth.
export default fp(metricsEndpoint, { name: 'metrics-endpoint', encapsulate: true, dependencies: ['core', 'metrics', 'auth'] })
