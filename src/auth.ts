/** Dashboard auth helpers: token comparison, Bearer parsing, signed session cookies, origin checks. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { BlockList, isIP } from 'node:net'
import type { TrustProxy } from './config.ts'

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
 * restarts the process and several instances may serve one dashboard; a signed session
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
 * The client address for login limiting, as TRUST_PROXY says to find it. With nothing configured, the
 * socket's peer: X-Forwarded-For and Fly-Client-IP are then plain client input and never read.
 * - fly: Fly-Client-IP (set by Fly Proxy to the address it accepted the connection from).
 * - replit / hop count N: the entry N places from the right of X-Forwarded-For + socket peer (each proxy
 *   appends the address it saw, so only the rightmost N are not the client's own words).
 * - CIDR list: walk right to left past trusted proxies; the first untrusted address is the client.
 */
export function clientAddress (trust: TrustProxy, headers: Readonly<Record<string, string | string[] | undefined>>, socketAddress: string | undefined): string {
  const socket = socketAddress ?? 'unknown'
  switch (trust.kind) {
    case 'none':
      return socket
    case 'fly': {
      const fly = firstHeader(headers['fly-client-ip'])?.trim()
      return fly !== undefined && isIP(fly) !== 0 ? fly : socket
    }
    case 'replit':
    case 'hops': {
      const chain = [...forwardedChain(headers['x-forwarded-for']), socket]
      const hops = trust.kind === 'replit' ? 1 : trust.hops
      return chain[Math.max(0, chain.length - 1 - hops)] ?? socket
    }
    case 'cidrs': {
      const trusted = trustedProxies(trust.cidrs)
      const chain = [...forwardedChain(headers['x-forwarded-for']), socket]
      for (let i = chain.length - 1; i > 0; i--) {
        if (!isTrusted(trusted, chain[i] as string)) return chain[i] as string
      }
      return chain[0] ?? socket
    }
  }
}

/** Fastify's `trustProxy` for the same setting (req.ip, req.protocol from X-Forwarded-Proto). */
export function fastifyTrustProxy (trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  switch (trust.kind) {
    case 'none': return false
    // A hop count as proxy-addr reads one: the nearest `hops` addresses are proxies.
    case 'fly': case 'replit': return (_address, hop) => hop < 1
    case 'hops': return (_address, hop) => hop < trust.hops
    case 'cidrs': return [...trust.cidrs]
  }
}

/**
 * The key an address is limited under: IPv4 as is, IPv6 by its /64 (one subscriber usually holds a whole
 * /64, so per-address keys would give an attacker 2^64 fresh budgets).
 */
export function addressKey (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1] as string
  if (isIP(address) !== 6) return address
  const [head = '', tail = ''] = address.toLowerCase().split('::')
  const left = head === '' ? [] : head.split(':')
  const right = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

function firstHeader (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

function forwardedChain (xff: string | string[] | undefined): string[] {
  return (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
}

const blockLists = new Map<readonly string[], BlockList>()
function trustedProxies (cidrs: readonly string[]): BlockList {
  let list = blockLists.get(cidrs)
  if (list === undefined) {
    list = new BlockList()
    for (const c of cidrs) {
      const [addr = '', bits] = c.split('/')
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4'
      if (bits === undefined) list.addAddress(addr, type)
      else list.addSubnet(addr, Number(bits), type)
    }
    blockLists.set(cidrs, list)
  }
  return list
}

function isTrusted (list: BlockList, raw: string): boolean {
  const address = raw.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')
  const family = isIP(address)
  if (family === 0) return false
  return list.check(address, family === 6 ? 'ipv6' : 'ipv4')
}
