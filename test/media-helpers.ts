/** A minimal Twilio-speaking media-stream client for plugin tests (the full one is tools/sim/). */
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import { TEST_AUTH_TOKEN, TEST_BASE_URL, withStreamToken } from './helpers.ts'
import { signTwilioRequest } from '../src/twilio/signature.ts'

/** Opens /media on a listening app with a valid signature (override headers/protocols to test rejections). */
export function openMedia (httpBase: string, opts: { protocols?: string[], signature?: string | null, path?: string } = {}): WebSocket {
  const path = opts.path ?? '/media'
  const sig = opts.signature === undefined ? signTwilioRequest(TEST_AUTH_TOKEN, TEST_BASE_URL.replace('https:', 'wss:') + path, {}) : opts.signature
  return new WebSocket(httpBase.replace('http:', 'ws:') + path, opts.protocols ?? ['audio.twilio.com'], {
    headers: sig === null ? {} : { 'x-twilio-signature': sig },
  })
}

/**
 * Opens /media in process (Fastify's injectWS: the same upgrade hooks and route, no TCP socket) with a valid signature
 * and Twilio's subprotocol, for frame and hook tests; handshake facts and attacker tests keep real sockets (openMedia).
 */
export async function injectMedia (app: FastifyInstance, path = '/media'): Promise<WebSocket> {
  const sig = signTwilioRequest(TEST_AUTH_TOKEN, TEST_BASE_URL.replace('https:', 'wss:') + path, {})
  return await app.injectWS(path, { headers: { 'x-twilio-signature': sig, 'sec-websocket-protocol': 'audio.twilio.com' } })
}

/** Resolves with the HTTP status of a refused upgrade (or 101 if it opened). */
export async function upgradeStatus (ws: WebSocket): Promise<number> {
  return await new Promise((resolve, reject) => {
    ws.once('open', () => { resolve(101); ws.terminate() })
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
    ws.once('error', (err) => reject(err))
  })
}

/** A `start` message carrying a valid stream token for `callSid` unless `params.token` is given (see withStreamToken). */
export const startFrame = (callSid: string, streamSid: string, params: Record<string, string> = {}, tracks = ['inbound', 'outbound']): string => JSON.stringify({
  event: 'start',
  sequenceNumber: '1',
  streamSid,
  start: { accountSid: 'AC1', streamSid, callSid, tracks, customParameters: withStreamToken(callSid, { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start', ...params }), mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
})

export const mediaFrame = (streamSid: string, track: string, chunk: number, payload = Buffer.alloc(160, 0xff).toString('base64')): string => JSON.stringify({
  event: 'media', sequenceNumber: String(chunk + 1), streamSid, media: { track, chunk: String(chunk), timestamp: String((chunk - 1) * 20), payload },
})

export const stopFrame = (callSid: string, streamSid: string): string => JSON.stringify({ event: 'stop', sequenceNumber: '999', streamSid, stop: { accountSid: 'AC1', callSid } })

/** Waits for the socket to open. */
export async function opened (ws: WebSocket): Promise<void> {
  if (ws.readyState === ws.OPEN) return
  await once(ws, 'open')
}
