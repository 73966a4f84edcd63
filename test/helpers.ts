/** Test helpers: a valid config without touching process.env, an app closed after each test, signing. */
import type { FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { buildApp, type AppDeps } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { signTwilioRequest } from '../src/twilio/signature.ts'
import type { MediaStats } from '../src/call/events.ts'
import { mintStreamToken, streamTokenKey, type StreamKind } from '../src/twilio/stream-token.ts'

/** Media stats of a stream that carried nothing (for hand-made call.stopped events). */
export const ZERO_STATS: MediaStats = Object.freeze({
  frames: { inbound: 0, outbound: 0 },
  bytes: { inbound: 0, outbound: 0 },
  gapMs: { inbound: 0, outbound: 0 },
  gaps: { inbound: 0, outbound: 0 },
  framesOut: 0,
  rejected: {},
})

export const TEST_AUTH_TOKEN = 'test-twilio-auth-token'
export const TEST_DASHBOARD_TOKEN = 'test-dashboard-token-0123'
export const TEST_BASE_URL = 'https://talkhint.example.com'

/** A valid config for tests; overrides use the env names (as an operator would set them). */
export function testConfig (overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    PUBLIC_BASE_URL: TEST_BASE_URL,
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    DASHBOARD_TOKEN: TEST_DASHBOARD_TOKEN,
    OPERATOR_PHONE: '+15550001111',
    TWILIO_PHONE_NUMBER: '+15550002222',
    DATABASE_URL: 'sqlite::memory:',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // A loaded test machine must not turn answers into load-shedding 503s; tests of load shedding set their own.
    MAX_EVENT_LOOP_DELAY_MS: '60000',
    MAX_EVENT_LOOP_UTILIZATION: '1',
    ...overrides,
  })
}

interface Teardown { teardown (fn: () => unknown): void }

/** Builds the app and closes it when the test ends. */
export async function buildTestApp (t: Teardown, overrides: Record<string, string | undefined> = {}, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(overrides), { logger: false, ...deps })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** Listens on an ephemeral loopback port; returns the http base URL. */
export async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

/** Signs a webhook exactly as Twilio would for `path` (path + raw query) under the test base URL. */
export function twilioSignature (pathAndQuery: string, params: Record<string, string>, token = TEST_AUTH_TOKEN, base = TEST_BASE_URL): string {
  return signTwilioRequest(token, base + pathAndQuery, params)
}

/** Form-encodes params as Twilio does. */
export function form (params: Record<string, string>): string {
  return new URLSearchParams(params).toString()
}

/** inject() options for a signed Twilio webhook POST. */
export function signedPost (pathAndQuery: string, params: Record<string, string>) {
  return {
    method: 'POST' as const,
    url: pathAndQuery,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(pathAndQuery, params) },
    payload: form(params),
  }
}

/**
 * Adds the stream token the webhook would have minted for `callSid` to a `start` message's customParameters, from
 * the params' own mode/stream/direction/from/to (as a test app with TEST_AUTH_TOKEN and no STREAM_TOKEN_SECRET
 * verifies it). A `token` already in `params` (even '') is kept, so tests can send a missing or forged one.
 */
export function withStreamToken (callSid: string, params: Record<string, string>, opts: { now?: number, ttlMs?: number, authToken?: string, secret?: string } = {}): Record<string, string> {
  if ('token' in params) return params
  const key = streamTokenKey({ streamTokenSecret: opts.secret, twilioAuthToken: opts.authToken ?? TEST_AUTH_TOKEN })
  const token = mintStreamToken(key, {
    callSid,
    stream: (params.stream ?? 'start') as StreamKind,
    mode: params.mode === 'agent' ? 'agent' : 'assist',
    direction: params.direction === 'outbound' ? 'outbound' : 'inbound',
    from: params.from ?? '',
    to: params.to ?? '',
  }, opts.now ?? Date.now(), opts.ttlMs)
  return { ...params, token }
}
