/** Dashboard auth helpers: token comparison, Bearer parsing, signed session cookies, origin checks. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** Compares two secrets in constant time (hashing first so lengths don't leak). */
export function tokensEqual (given: string | undefined, expected: string): boolean {
  if (given === undefined || given === '' || expected === '') return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The token from `Authorization: Bearer <token>`, if any. */
export function bearerToken (header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '')
  return m?.[1]
}

/**
 * Dashboard sessions are stateless, signed cookies: `<expires base36>.<random id>.<HMAC-SHA256>`,
 * keyed by a key derived from DASHBOARD_TOKEN. Why signed rather than ids kept in memory: a deploy
 * restarts the process and several instances (issue 6) may serve one dashboard; a signed session
 * survives both with no shared store, while rotating DASHBOARD_TOKEN still ends every session.
 * Logout revokes the id on the instance that handled it (until expiry) and clears the cookie.
 */
export interface SessionKeys { readonly key: Buffer }

const SESSION_LABEL = 'talkhint dashboard session v1'

/** Derives the cookie-signing key from the dashboard token. */
export function sessionKeys (dashboardToken: string): SessionKeys {
  return { key: createHmac('sha256', dashboardToken).update(SESSION_LABEL).digest() }
}

export interface Session { readonly id: string, readonly expiresAt: number }

/** Issues a session valid for `ttlMs` from `now`. */
export function issueSession (keys: SessionKeys, now: number, ttlMs: number): { value: string, session: Session } {
  const expiresAt = now + ttlMs
  const id = randomBytes(16).toString('base64url')
  const body = `${expiresAt.toString(36)}.${id}`
  return { value: `${body}.${mac(keys, body)}`, session: { id, expiresAt } }
}

export type SessionCheck =
  | { ok: true, session: Session }
  | { ok: false, reason: 'missing' | 'malformed' | 'forged' | 'expired' | 'revoked' }

/** Verifies a session cookie value (constant-time MAC check first, then expiry and revocation). */
export function verifySession (keys: SessionKeys, value: string | undefined, now: number, revoked?: SessionRevocations): SessionCheck {
  if (value === undefined || value === '') return { ok: false, reason: 'missing' }
  const parts = value.split('.')
  if (parts.length !== 3) return { ok: false, reason: 'malformed' }
  const [exp, id, sig] = parts as [string, string, string]
  const expected = Buffer.from(mac(keys, `${exp}.${id}`))
  const given = Buffer.from(sig)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' }
  const expiresAt = parseInt(exp, 36)
  if (!Number.isFinite(expiresAt) || expiresAt <= now) return { ok: false, reason: 'expired' }
  if (revoked?.has(id, now) === true) return { ok: false, reason: 'revoked' }
  return { ok: true, session: { id, expiresAt } }
}

function mac (keys: SessionKeys, body: string): string {
  return createHmac('sha256', keys.key).update(body).digest('base64url')
}

/** Logged-out session ids, each kept until its own expiry (so the set stays bounded). */
export class SessionRevocations {
  #ids = new Map<string, number>()

  revoke (session: Session, now: number): void {
    this.#ids.set(session.id, session.expiresAt)
    if (this.#ids.size % 64 === 0) this.prune(now)
  }

  has (id: string, now: number): boolean {
    const exp = this.#ids.get(id)
    return exp !== undefined && exp > now
  }

  prune (now: number): void {
    for (const [id, exp] of this.#ids) if (exp <= now) this.#ids.delete(id)
  }

  get size (): number { return this.#ids.size }
}

/**
 * Whether a browser request's Origin is ours. Requests without Origin (curl, CLIs, same-origin
 * GETs) pass; a cross-site page's fetch or WebSocket carries a foreign Origin and fails.
 */
export function sameOrigin (origin: string | undefined, host: string | undefined, publicBaseUrl: string): boolean {
  if (origin === undefined) return true
  let o: URL
  try {
    o = new URL(origin)
  } catch {
    return false
  }
  // URL drops default ports from the origin; drop them from Host too before comparing.
  if (host !== undefined && o.host.toLowerCase() === host.toLowerCase().replace(/:(80|443)$/, '')) return true
  try {
    return o.host.toLowerCase() === new URL(publicBaseUrl).host
  } catch {
    return false
  }
}

/**
 * The client address for rate limiting: the rightmost X-Forwarded-For entry (appended by the proxy
 * nearest to us, Fly's or Replit's, so a client cannot choose it), else the socket's peer address.
 */
export function clientAddress (xff: string | string[] | undefined, socketAddress: string | undefined): string {
  const last = (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',').pop()?.trim()
  return last !== undefined && last !== '' ? last : socketAddress ?? 'unknown'
}
