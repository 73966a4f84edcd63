/** buildApp(config, deps): the whole service as a Fastify instance that never listens. */
import Fastify, { type FastifyInstance, type FastifySchemaValidationError } from 'fastify'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import type { LoggerOptions } from 'pino'
import type { Config } from './config.ts'
import { loggerOptions } from './log.ts'
import { fastifyTrustProxy } from './auth.ts'
import type { TwilioApi } from './twilio/rest.ts'
import core from '../plugins/core.ts'
import shutdown from '../plugins/shutdown.ts'
import websocket from '../plugins/websocket.ts'
import health from '../plugins/health.ts'
import pressure from '../plugins/pressure.ts'
import metrics from '../plugins/metrics.ts'
import auth from '../plugins/auth.ts'
import metricsEndpoint from '../plugins/metrics-endpoint.ts'
import cluster from '../plugins/cluster.ts'
import handoff from '../plugins/handoff.ts'
import voiceWebhooks from '../plugins/voice-webhooks.ts'
import mediaStream from '../plugins/media-stream.ts'
import realtime from '../plugins/realtime.ts'
import callsApi from '../plugins/calls-api.ts'
import agentCalls from '../plugins/agent-calls.ts'
import hints from '../plugins/hints.ts'
import storage from '../plugins/storage.ts'
import historyApi from '../plugins/history-api.ts'
import hintFeedback from '../plugins/hint-feedback.ts'
import whatsapp from '../plugins/whatsapp.ts'
import hub from '../plugins/hub.ts'
import callControls from '../plugins/call-controls.ts'
import dashboard from '../plugins/dashboard.ts'

/** What tests and tools may swap; everything else comes from config. */
export interface AppDeps {
  /** pino options or a ready pino-compatible logger instance; defaults from config. */
  logger?: LoggerOptions | boolean
  loggerInstance?: import('fastify').FastifyBaseLogger
  now?: () => number
  twilioApi?: TwilioApi
}

/**
 * Builds the app with every plugin registered in dependency order (the table of contents). Each plugin declares
 * the plugins it needs (fastify-plugin `dependencies`), so a wrong order fails at start-up, naming both.
 */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.loggerInstance !== undefined
      ? { loggerInstance: deps.loggerInstance }
      : { logger: deps.logger ?? loggerOptions({ level: config.logLevel, logPhoneNumbers: config.logPhoneNumbers, pretty: false }) }),
    // Forwarded headers are believed only from the proxy TRUST_PROXY names (signatures use PUBLIC_BASE_URL, never Host).
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // A request (headers and body) must arrive whole within REQUEST_TIMEOUT_S (else 408 and close): a client
    // sending a byte every few seconds is cut off. node only enforces it when given to createServer (as a
    // property set later it is ignored), hence `http` too; it checks every connectionsCheckingInterval. An
    // upgraded WebSocket has left the HTTP server's connection list, so hour-long /media and /ui sockets are
    // not affected.
    requestTimeout: config.requestTimeoutS * 1000,
    http: {
      requestTimeout: config.requestTimeoutS * 1000,
      headersTimeout: Math.min(60_000, config.requestTimeoutS * 1000),
      connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(config.requestTimeoutS * 1000 / 4))),
    },
    bodyLimit: 256 * 1024,
    return503OnClosing: true,
    schemaErrorFormatter: validationMessage,
  })

  // Route schemas are TypeBox: checked as sent, never coerced (a number where a string belongs is a 400, not "42").
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  app.setErrorHandler((err: Error & { statusCode?: number, validation?: unknown }, req, reply) => {
    const status = err.statusCode ?? 500
    if (status >= 500) {
      req.log.error({ err }, 'request failed')
      return reply.code(status).send({ error: 'internal_error', message: 'Something went wrong; the server log has the details.' })
    }
    return reply.code(status).send({ error: err.validation !== undefined ? 'invalid_request' : 'request_error', message: err.message })
  })

  await app.register(core, { config, now: deps.now, twilioApi: deps.twilioApi })
  await app.register(shutdown) // first preClose hook: the shutdown order (src/shutdown.ts) runs before any plugin closes
  await app.register(websocket)
  await app.register(health)
  await app.register(pressure)
  // Before the routes it times: a hook added after a plugin has loaded does not reach that plugin's routes.
  await app.register(metrics)
  await app.register(auth)
  await app.register(metricsEndpoint)
  // `eventFeed`: this instance's call events, or every instance's with REDIS_URL (read by voice webhooks and the hub).
  await app.register(cluster)
  await app.register(handoff)
  await app.register(voiceWebhooks)
  await app.register(mediaStream)
  await app.register(realtime)
  await app.register(callsApi)
  await app.register(agentCalls)
  await app.register(hints)
  await app.register(storage)
  await app.register(historyApi)
  await app.register(hintFeedback)
  await app.register(whatsapp)
  await app.register(hub)
  await app.register(callControls)
  await app.register(dashboard)
  return app
}

/**
 * A failed schema check as one sentence: where and what ("body/to must be string"). TypeBox also reports each
 * unexpected property as "schema is false"; the additionalProperties error that follows names them all instead.
 */
function validationMessage (errors: FastifySchemaValidationError[], dataVar: string): Error {
  const parts = errors.filter((e) => e.keyword !== 'boolean').map((e) => {
    const extra = e.keyword === 'additionalProperties' && Array.isArray(e.params.additionalProperties) ? ` (${e.params.additionalProperties.join(', ')})` : ''
    return `${dataVar}${e.instancePath} ${e.message ?? 'is not valid'}${extra}`
  })
  return new Error(parts.length > 0 ? parts.join(', ') : `${dataVar} is not valid`)
}
