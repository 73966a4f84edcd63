/** Dashboard auth: POST /login (signed session cookie), POST /logout, and `requireDashboard` for /api, /ui and the page. */
import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { addressKey, bearerToken, clientAddress, issueSession, sameOrigin, sessionKeys, SessionRevocations, tokensEqual, verifySession } from '../src/auth.ts'
import { LoginLimiter, type LoginLimiterOptions } from '../src/login-limiter.ts'

export type AuthFailure = { ok: false, status: 401 | 403 | 429, error: string, message: string, retryAfterS?: number }
/** `sessionId`: the dashboard session's id (per-session limits such as click-to-call); Bearer calls have none. */
export type DashboardAuth = { ok: true, via: 'session' | 'bearer', expiresAt?: number, sessionId?: string } | AuthFailure

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler/preValidation: 401/403/429 unless the request carries a valid session cookie or Bearer token. */
    requireDashboard: (req: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** The same check without replying (the dashboard redirects pages to /login instead). */
    dashboardAuth: (req: FastifyRequest, reply?: FastifyReply) => Promise<DashboardAuth>
    /** The client's address as TRUST_PROXY says to find it (the socket peer unless a proxy is configured). */
    clientAddress: (req: FastifyRequest) => string
  }
}

export type AuthOptions = LoginLimiterOptions
export const SESSION_COOKIE = 'talkhint_session'

/** JSON from the login page's script, or a plain form post (core parses forms). */
const LoginBody = Type.Object({ token: Type.Optional(Type.String({ maxLength: 512 })) })

const auth: FastifyPluginAsyncTypebox<AuthOptions> = async (app, opts) => {
  const { config, metrics } = app
  const keys = sessionKeys(config.dashboardToken)
  const revoked = new SessionRevocations()
  const ttlMs = config.dashboardSessionHours * 3600_000
  await app.register(cookie)
  // Wrong tokens only are counted, per real client address and per guess, never across all clients:
  // a shared ceiling would let anyone lock the owner out (src/login-limiter.ts says why).
  const limiter = new LoginLimiter(opts)
  const addressOf = (req: FastifyRequest): string => clientAddress(config.trustProxy, req.headers, req.socket.remoteAddress)
  const guessKey = (token: string): string => createHash('sha256').update(token).digest('base64url').slice(0, 22)
  const limited = (req: FastifyRequest, token: string | undefined): AuthFailure | undefined => {
    const s = limiter.check(addressKey(addressOf(req)), token === undefined ? undefined : guessKey(token), app.now())
    if (s.ok) return undefined
    metrics.countAuth('backoff', s.by)
    const retryAfterS = Math.max(1, Math.ceil(s.retryAfterMs / 1000))
    const wait = retryAfterS < 60 ? `${retryAfterS} s` : `${Math.ceil(retryAfterS / 60)} min`
    return { ok: false, status: 429, error: 'too_many_attempts', message: `Too many wrong tokens. Try again in ${wait}.`, retryAfterS }
  }
  const failed = (req: FastifyRequest, why: 'wrong_token_login' | 'wrong_bearer' | 'forged_cookie', token: string | undefined): AuthFailure => {
    const address = addressOf(req)
    const note = limiter.fail(addressKey(address), token === undefined ? undefined : guessKey(token), app.now())
    metrics.countAuth('failure', why)
    // Once per address per window (and once more when its backoff starts), not once per guess.
    if (note.firstFromAddress) req.log.warn({ why, address, path: req.routeOptions.url }, 'dashboard auth failed')
    else if (note.startedBackoff) req.log.warn({ why, address, failures: note.failures }, 'dashboard auth: repeated wrong tokens from one address; backing off')
    else req.log.debug({ why, address, failures: note.failures }, 'dashboard auth failed')
    return { ok: false, status: 401, error: 'invalid_token', message: 'That token is not right.' }
  }
  const setSession = (req: FastifyRequest, reply: FastifyReply): number => {
    const { value, session } = issueSession(keys, app.now(), ttlMs)
    reply.setCookie(SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', maxAge: ttlMs / 1000 })
    return session.expiresAt
  }

  const check = async (req: FastifyRequest, reply?: FastifyReply): Promise<DashboardAuth> => {
    const s = verifySession(keys, req.cookies[SESSION_COOKIE], app.now(), revoked)
    if (s.ok) {
      // A cookie rides along on cross-site requests only if SameSite fails; refuse foreign pages anyway.
      if (!sameOrigin(req.headers.origin, req.headers.host, config.publicBaseUrl)) return { ok: false, status: 403, error: 'bad_origin', message: 'Cross-origin request refused.' }
      const renew = reply !== undefined && s.session.expiresAt - app.now() < ttlMs / 2
      return { ok: true, via: 'session', expiresAt: renew ? setSession(req, reply) : s.session.expiresAt, sessionId: s.session.id }
    }
    const token = bearerToken(req.headers.authorization)
    if (token === undefined && s.reason !== 'forged') return { ok: false, status: 401, error: 'unauthorized', message: 'Log in to the dashboard or send Authorization: Bearer <DASHBOARD_TOKEN>.' }
    const refused = limited(req, token)
    if (refused !== undefined) return refused
    if (token !== undefined && tokensEqual(token, config.dashboardToken)) return { ok: true, via: 'bearer' }
    return failed(req, token === undefined ? 'forged_cookie' : 'wrong_bearer', token)
  }
  const requireDashboard = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const r = await check(req, reply)
    if (r.ok) return
    if (r.retryAfterS !== undefined) reply.header('retry-after', r.retryAfterS)
    await reply.code(r.status).send({ error: r.error, message: r.message })
  }
  app.decorate('dashboardAuth', check)
  app.decorate('clientAddress', addressOf)
  app.decorate('requireDashboard', requireDashboard)
  // Every /api route needs the dashboard, even one that forgets its own preHandler.
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/api/')) await requireDashboard(req, reply)
  })

  // JSON from the login page's script; a plain form post also works (303 back to the page).
  app.post('/login', { schema: { body: LoginBody } }, async (req, reply) => {
    const form = req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true
    const { token = '' } = req.body
    const guess = token.trim()
    const r = limited(req, guess) ?? (tokensEqual(guess, config.dashboardToken) ? undefined : failed(req, 'wrong_token_login', guess))
    if (r === undefined) {
      const expiresAt = setSession(req, reply)
      req.log.info({}, 'dashboard login')
      return form ? reply.redirect('/', 303) : reply.send({ ok: true, expiresAt })
    }
    if (form) return reply.redirect(`/login#${r.error}`, 303)
    if (r.retryAfterS !== undefined) reply.header('retry-after', r.retryAfterS)
    return reply.code(r.status).send({ error: r.error, message: r.message })
  })
  app.post('/logout', async (req, reply) => {
    const s = verifySession(keys, req.cookies[SESSION_COOKIE], app.now())
    if (s.ok) revoked.revoke(s.session, app.now())
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return req.headers['content-type']?.startsWith('application/json') === true ? reply.code(204).send() : reply.redirect('/login', 303)
  })
  app.get('/api/session', async (req) => {
    const r = await check(req)
    // clientAddress: what TRUST_PROXY makes of this request, so an operator can check the setting from outside.
    return r.ok ? { ok: true, via: r.via, expiresAt: r.expiresAt ?? null, clientAddress: addressOf(req) } : r
  })
}

export default fp(auth, { name: 'auth', dependencies: ['core', 'metrics'] })
