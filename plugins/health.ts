/** GET /healthz (no I/O; 503 while draining) and GET /version (which build is live). */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { versionInfo } from '../src/version.ts'

const health: FastifyPluginAsync = async (app) => {
  const version = versionInfo(app.config, new Date(app.now()))

  app.get('/healthz', { logLevel: 'warn' }, async (_req, reply) => {
    if (app.lifecycle.draining) return reply.code(503).send({ status: 'draining' })
    return { status: 'ok' }
  })

  app.get('/version', async () => version)
}

export default fp(health, { name: 'health', encapsulate: true, dependencies: ['core'] })
