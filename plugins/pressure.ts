/** Event-loop pressure (@fastify/under-pressure): new calls go without AI; Twilio never gets a 5xx. */
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { FastifyPluginAsync } from 'fastify'
import { HEALTH_PATH } from '../src/routes.ts'

const TWILIO_OR_MEDIA = /^\/(twilio\/|media\/?$)/

const pressure: FastifyPluginAsync = async (app) => {
  await app.register(underPressure, {
    maxEventLoopDelay: app.config.maxEventLoopDelayMs,
    // 1 can never be exceeded (under-pressure compares with >), so MAX_EVENT_LOOP_UTILIZATION=1 turns the probe off.
    maxEventLoopUtilization: app.config.maxEventLoopUtilization,
    retryAfter: 5,
    pressureHandler: (req, reply, type, value) => {
      // Twilio's requests carry on: the webhook answers the call without AI instead (lifecycle.admit).
      if (TWILIO_OR_MEDIA.test(req.url) || req.url === HEALTH_PATH) return
      req.log.warn({ type, value }, 'under pressure: refusing a dashboard/API request')
      reply.code(503).header('retry-after', '5').send({ error: 'overloaded', message: 'The server is busy with live calls; try again in a few seconds.' })
    },
  })
  app.lifecycle.setPressureProbe(() => app.isUnderPressure())
}

export default fp(pressure, { name: 'pressure', dependencies: ['core'] })
