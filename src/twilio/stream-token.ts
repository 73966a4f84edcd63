/** Per-call media-stream tokens: the webhook mints one as a <Parameter>, the media session verifies it at `start`. */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { MODES, type Mode } from '../config.ts'
import type { Direction } from '../call/events.ts'

// Why: Twilio signs the fixed wss://…/media URL with no params, so X-Twilio-Signature on the upgrade is the same for
// every call. The token binds a stream to one CallSid answered by our webhook; `start.customParameters` arrive over
// the TLS socket Twilio opened, and only our webhook's TwiML (fetched over TLS) ever held the token.

export type StreamKind = 'start' | 'connect'

/** What a verified token vouches for; the session takes these, never the unsigned parameters. */
export interface StreamClaims {
  readonly callSid: string
  /** `connect` = bidirectional `<Connect><Stream>`; `start` = `<Start><Stream>` fork. */
  readonly stream: StreamKind
  readonly mode: Mode
  readonly direction: Direction
  readonly from: string
  readonly to: string
  /** An outbound agent call's task for the AI (its own `<Parameter name="purpose">`, bound by the MAC). */
  readonly purpose?: string
  /** Expiry, ms since the epoch. */
  readonly expiresAt: number
}

export type StreamTokenFailure = 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'callsid_mismatch' | 'replayed'
export type StreamTokenResult = { ok: true, claims: StreamClaims } | { ok: false, reason: StreamTokenFailure }

/** The `<Parameter>` name the token travels in. */
export const STREAM_TOKEN_PARAM = 'token'
/** `<Start>`/`<Connect><Stream>` connect within seconds of the webhook answer and never reconnect: 5 min is ample. */
export const STREAM_TOKEN_TTL_MS = 5 * 60_000
export const MIN_STREAM_TOKEN_SECRET_LENGTH = 32
const HKDF_INFO = 'talkhint stream token v1'
const VERSION = '1'
const KINDS: readonly string[] = ['start', 'connect']
const DIRECTIONS: readonly string[] = ['inbound', 'outbound']
const SID = /^[A-Za-z0-9]{1,64}$/
const EXP = /^\d{1,13}$/
const MAC = /^[A-Za-z0-9_-]{43}$/

/** True for a CallSid a token can be minted for (Twilio's are CA + 32 hex). */
export const isStreamCallSid = (callSid: string): boolean => SID.test(callSid)

/**
 * The HMAC key: STREAM_TOKEN_SECRET when set, else derived from TWILIO_AUTH_TOKEN with HKDF-SHA256, so every
 * instance sharing the config shares the key (no state in memory) and the auth token itself never keys this MAC.
 */
export function streamTokenKey (cfg: { readonly streamTokenSecret?: string | undefined, readonly twilioAuthToken: string }): Buffer {
  if (cfg.streamTokenSecret !== undefined) return Buffer.from(cfg.streamTokenSecret, 'utf8')
  return Buffer.from(hkdfSync('sha256', cfg.twilioAuthToken, Buffer.alloc(0), HKDF_INFO, 32))
}

// from/to can be long (SIP URIs), and so can an agent call's purpose: they stay in their own <Parameter>s and are
// bound by the MAC, not copied in. Without a purpose the MAC input is what it always was.
const macOf = (key: Buffer, head: string, from: string, to: string, purpose: string | undefined): Buffer =>
  createHmac('sha256', key).update(head).update('\n').update(JSON.stringify(purpose === undefined ? [from, to] : [from, to, purpose])).digest()

/**
 * Mints a token: `1.<CallSid>.<stream>.<mode>.<direction>.<expiry ms>.<base64url HMAC-SHA256>`. Always under
 * 120 characters, far below Twilio's 500 for a `<Parameter>`'s name plus value.
 */
export function mintStreamToken (key: Buffer, claims: Omit<StreamClaims, 'expiresAt'>, now: number, ttlMs = STREAM_TOKEN_TTL_MS): string {
  if (!SID.test(claims.callSid)) throw new Error('stream token: CallSid must be 1-64 letters or digits')
  const head = [VERSION, claims.callSid, claims.stream, claims.mode, claims.direction, String(Math.floor(now + ttlMs))].join('.')
  return `${head}.${macOf(key, head, claims.from, claims.to, claims.purpose).toString('base64url')}`
}

/**
 * Verifies the token in `params` (a `start` message's customParameters) for the stream's CallSid. Checks, in
 * order: present, well-formed, MAC (constant time; covers from/to and any purpose), not expired, minted for this CallSid.
 */
export function verifyStreamToken (key: Buffer, params: Readonly<Record<string, string>>, callSid: string, now: number): StreamTokenResult {
  const token = params[STREAM_TOKEN_PARAM]
  if (token === undefined || token === '') return { ok: false, reason: 'missing' }
  if (token.length > 200) return { ok: false, reason: 'malformed' }
  const parts = token.split('.')
  if (parts.length !== 7) return { ok: false, reason: 'malformed' }
  const [version, sid, stream, mode, direction, exp, mac] = parts as [string, string, string, string, string, string, string]
  if (version !== VERSION || !SID.test(sid) || !KINDS.includes(stream) || !(MODES as readonly string[]).includes(mode) ||
    !DIRECTIONS.includes(direction) || !EXP.test(exp) || !MAC.test(mac)) return { ok: false, reason: 'malformed' }
  const from = params.from ?? ''
  const to = params.to ?? ''
  const purpose = params.purpose
  // Compared as canonical base64url text: decoding would accept several spellings of one MAC (the last
  // character's spare bits), and the replay check below keys on the token's text.
  const expected = Buffer.from(macOf(key, parts.slice(0, 6).join('.'), from, to, purpose).toString('base64url'))
  if (!timingSafeEqual(Buffer.from(mac), expected)) return { ok: false, reason: 'bad_signature' }
  const expiresAt = Number(exp)
  if (expiresAt <= now) return { ok: false, reason: 'expired' }
  if (sid !== callSid) return { ok: false, reason: 'callsid_mismatch' }
  return { ok: true, claims: { callSid: sid, stream: stream as StreamKind, mode: mode as Mode, direction: direction as Direction, from, to, ...(purpose !== undefined ? { purpose } : {}), expiresAt } }
}

export interface StreamTokens {
  mint (callSid: string, claims: Omit<StreamClaims, 'callSid' | 'expiresAt'>): string
  /** Verifies and consumes the token: the same token opens one stream per instance (a replay is refused). */
  verify (params: Readonly<Record<string, string>>, callSid: string): StreamTokenResult
}

/** Mint and verify with one key and clock; remembers consumed tokens until they expire (bounded by valid tokens). */
export function createStreamTokens (cfg: Parameters<typeof streamTokenKey>[0], now: () => number): StreamTokens {
  const key = streamTokenKey(cfg)
  const used = new Map<string, number>()
  const sweep = (t: number): void => {
    for (const [token, exp] of used) if (exp <= t) used.delete(token)
  }
  return {
    mint: (callSid, claims) => mintStreamToken(key, { callSid, ...claims }, now()),
    verify (params, callSid) {
      const t = now()
      const res = verifyStreamToken(key, params, callSid, t)
      if (!res.ok) return res
      const token = params[STREAM_TOKEN_PARAM] as string
      if (used.has(token)) return { ok: false, reason: 'replayed' }
      if (used.size >= 1024) sweep(t)
      used.set(token, res.claims.expiresAt)
      return res
    },
  }
}
