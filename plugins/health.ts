/** GET /healthz (no I/O; 503 while draining) and GET /version (which build is live). */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { versionInfo } from '../src/version.ts'
import { HEALTH_PATH, VERSION_PATH } from '../src/routes.ts'

const health: FastifyPluginAsync = async (app) => {
  const version = versionInfo(app.config, new Date(app.now()))

  app.get(HEALTH_PATH, { logLevel: 'warn' }, async (_req, reply) => {
    if (app.lifecycle.draining) return reply.code(503).send({ status: 'draining' })
    return { status: 'ok' }
  })

  app.get(VERSION_PATH, async () => version)
}

export default fp(health, { name: 'health', encapsulate: true, dependencies: ['core'] })
