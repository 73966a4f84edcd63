/** Twilio's side of a webhook: voice params, the X-Twilio-Signature, and public ⇄ local URL mapping. */
import { randomBytes } from 'node:crypto'
import { signTwilioRequest, TWILIO_SIGNATURE_HEADER } from '../../src/twilio/signature.ts'
import { SimError } from './types.ts'

/** Where the simulated Twilio sends things: the local server, and the public base it pretends to use. */
export interface ServerTarget {
  /** The running TalkHint, e.g. http://127.0.0.1:8080. */
  readonly serverUrl: string
  /** PUBLIC_BASE_URL: the https origin Twilio believes it calls (and signs). */
  readonly publicBaseUrl: string
  readonly authToken: string
}

/** A Twilio SID: two letters then 32 hex digits (CA… call, MZ… stream, AC… account). */
export function randomSid (prefix: 'CA' | 'MZ' | 'AC'): string {
  return prefix + randomBytes(16).toString('hex')
}

export interface VoiceCall {
  readonly accountSid: string
  readonly callSid: string
  readonly from: string
  readonly to: string
  /** `inbound` for a call to our number; `outbound-api` for a leg we created with the REST API. */
  readonly direction: 'inbound' | 'outbound-api'
}

/** The form params Twilio posts to a voice webhook (the documented core set). */
export function voiceParams (call: VoiceCall): Record<string, string> {
  return {
    AccountSid: call.accountSid,
    ApiVersion: '2010-04-01',
    CallSid: call.callSid,
    CallStatus: call.direction === 'inbound' ? 'ringing' : 'in-progress',
    Called: call.to,
    Caller: call.from,
    Direction: call.direction,
    From: call.from,
    To: call.to,
  }
}

/**
 * Maps a URL under PUBLIC_BASE_URL (https:// or wss://, as written in TwiML) to the local
 * server (http:// or ws://). The base's path prefix is stripped, as the server's own signature
 * check assumes (it signs PUBLIC_BASE_URL + request path). `underBase` is false when the URL
 * points somewhere else: then only its path is kept, and the caller should warn.
 */
export function toLocalUrl (serverUrl: string, publicBaseUrl: string, url: string): { url: string, underBase: boolean } {
  const server = new URL(serverUrl)
  const base = new URL(publicBaseUrl)
  const target = new URL(url, publicBaseUrl)
  const prefix = base.pathname.replace(/\/+$/, '')
  const underBase = target.host.toLowerCase() === base.host.toLowerCase() &&
    (prefix === '' || target.pathname === prefix || target.pathname.startsWith(prefix + '/'))
  const path = underBase ? target.pathname.slice(prefix.length) || '/' : target.pathname
  const ws = target.protocol === 'wss:' || target.protocol === 'ws:'
  const scheme = ws ? (server.protocol === 'https:' ? 'wss:' : 'ws:') : server.protocol
  const serverPrefix = server.pathname.replace(/\/+$/, '')
  return { url: `${scheme}//${server.host}${serverPrefix}${path}${target.search}`, underBase }
}

export interface WebhookResponse {
  readonly status: number
  readonly body: string
  readonly contentType: string
  /** Wall ms from request to full response (Twilio gives up after 15 s: 11205/31408). */
  readonly ms: number
  /** The public URL that was signed. */
  readonly url: string
}

/**
 * Signs and POSTs form params exactly as Twilio does: the signature covers the public URL
 * (PUBLIC_BASE_URL + path + query) and the sorted params; the request goes to the local server.
 * Network failures become `SimError`s that say what to check; HTTP statuses are returned.
 */
export async function postTwilioWebhook (target: ServerTarget, pathAndQuery: string, params: Record<string, string>, opts: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<WebhookResponse> {
  const url = /^https?:\/\//.test(pathAndQuery) ? pathAndQuery : target.publicBaseUrl + pathAndQuery
  const local = toLocalUrl(target.serverUrl, target.publicBaseUrl, url).url
  const timeoutMs = opts.timeoutMs ?? 15_000
  const signals = [AbortSignal.timeout(timeoutMs), ...(opts.signal !== undefined ? [opts.signal] : [])]
  const started = performance.now()
  let res: Response
  try {
    res = await fetch(local, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        [TWILIO_SIGNATURE_HEADER]: signTwilioRequest(target.authToken, url, params),
        'user-agent': 'TwilioProxy/1.1 (talkhint call simulator)',
      },
      body: new URLSearchParams(params).toString(),
      redirect: 'manual',
      signal: AbortSignal.any(signals),
    })
    const body = await res.text()
    return { status: res.status, body, contentType: res.headers.get('content-type') ?? '', ms: performance.now() - started, url }
  } catch (err) {
    if (opts.signal?.aborted === true) throw new SimError('ABORTED', 'the simulated call was aborted', { cause: err })
    if ((err as Error).name === 'TimeoutError') {
      throw new SimError('WEBHOOK_TIMEOUT', `${local} did not answer within ${timeoutMs / 1000} s; Twilio would give up (error 11205) and play its fallback`, { cause: err })
    }
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    const why = cause?.code ?? cause?.message ?? (err as Error).message
    throw new SimError('SERVER_UNREACHABLE', `cannot reach TalkHint at ${target.serverUrl} (${why}). Is the server running? Start it with "npm run dev" or "npm run demo", or point --server at it.`, { cause: err })
  }
}
