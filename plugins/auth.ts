/** Dashboard auth: POST /login (signed session cookie), POST /logout, and `requireDashboard` for /api, /ui and the page. */
import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import rateLimit from '@fastify/rate-limit'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { bearerToken, clientAddress, issueSession, sameOrigin, sessionKeys, SessionRevocations, tokensEqual, verifySession } from '../src/auth.ts'

export type AuthFailure = { ok: false, status: 401 | 403 | 429, error: string, message: string, retryAfterS?: number }
export type DashboardAuth = { ok: true, via: 'session' | 'bearer', expiresAt?: number } | AuthFailure

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler/preValidation: 401/403/429 unless the request carries a valid session cookie or Bearer token. */
    requireDashboard: (req: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** The same check without replying (the dashboard redirects pages to /login instead). */
    dashboardAuth: (req: FastifyRequest, reply?: FastifyReply) => Promise<DashboardAuth>
  }
}

export interface AuthOptions { maxFailures?: number, maxFailuresGlobal?: number, failureWindowMs?: number }
export const SESSION_COOKIE = 'talkhint_session'

const auth: FastifyPluginAsync<AuthOptions> = async (app, opts) => {
  const { config } = app
  const keys = sessionKeys(config.dashboardToken)
  const revoked = new SessionRevocations()
  const ttlMs = config.dashboardSessionHours * 3600_000
  await app.register(cookie)
  await app.register(rateLimit, { global: false })
  // Wrong tokens only are counted: per client (the address our proxy appended last, which a client
  // cannot forge) and, as a backstop for spoofed addresses, across all clients.
  const window = opts.failureWindowMs ?? 15 * 60_000
  const perIp = app.createRateLimit({ max: opts.maxFailures ?? 10, timeWindow: window, keyGenerator: (req) => clientAddress(req.headers['x-forwarded-for'], req.socket.remoteAddress) })
  const global = app.createRateLimit({ max: opts.maxFailuresGlobal ?? 100, timeWindow: window, keyGenerator: () => 'all' })
  const limited = async (req: FastifyRequest): Promise<AuthFailure | undefined> => {
    for (const limit of [perIp, global]) {
      const s = await limit(req, { increment: false })
      if (!s.isAllowed && s.remaining === 0) {
        const retryAfterS = Math.max(1, Math.ceil(s.ttl / 1000))
        return { ok: false, status: 429, error: 'too_many_attempts', message: `Too many wrong tokens. Try again in ${Math.ceil(retryAfterS / 60)} min.`, retryAfterS }
      }
    }
  }
  const failed = async (req: FastifyRequest, why: string): Promise<AuthFailure> => {
    await perIp(req)
    await global(req)
    req.log.warn({ why, path: req.routeOptions.url }, 'dashboard auth failed')
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
      return { ok: true, via: 'session', expiresAt: renew ? setSession(req, reply) : s.session.expiresAt }
    }
    const token = bearerToken(req.headers.authorization)
    if (token === undefined && s.reason !== 'forged') return { ok: false, status: 401, error: 'unauthorized', message: 'Log in to the dashboard or send Authorization: Bearer <DASHBOARD_TOKEN>.' }
    const refused = await limited(req)
    if (refused !== undefined) return refused
    if (token !== undefined && tokensEqual(token, config.dashboardToken)) return { ok: true, via: 'bearer' }
    return failed(req, token === undefined ? 'forged session cookie' : 'wrong bearer token')
  }
  const requireDashboard = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const r = await check(req, reply)
    if (r.ok) return
    if (r.retryAfterS !== undefined) reply.header('retry-after', r.retryAfterS)
    await reply.code(r.status).send({ error: r.error, message: r.message })
  }
  app.decorate('dashboardAuth', check)
  app.decorate('requireDashboard', requireDashboard)
  // Every /api route needs the dashboard, even one that forgets its own preHandler.
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/api/')) await requireDashboard(req, reply)
  })

  await app.register(async (scope) => {
    await scope.register(formbody)
    // JSON from the login page's script; a plain form post also works (303 back to the page).
    scope.post('/login', { schema: { body: { type: 'object', properties: { token: { type: 'string', maxLength: 512 } } } } }, async (req, reply) => {
      const form = req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true
      const { token = '' } = (req.body ?? {}) as { token?: string }
      const r = (await limited(req)) ?? (tokensEqual(token.trim(), config.dashboardToken) ? undefined : await failed(req, 'wrong token at login'))
      if (r === undefined) {
        const expiresAt = setSession(req, reply)
        req.log.info({}, 'dashboard login')
        return form ? reply.redirect('/', 303) : reply.send({ ok: true, expiresAt })
      }
      if (form) return reply.redirect(`/login#${r.error}`, 303)
      if (r.retryAfterS !== undefined) reply.header('retry-after', r.retryAfterS)
      return reply.code(r.status).send({ error: r.error, message: r.message })
    })
    scope.post('/logout', async (req, reply) => {
      const s = verifySession(keys, req.cookies[SESSION_COOKIE], app.now())
      if (s.ok) revoked.revoke(s.session, app.now())
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return req.headers['content-type']?.startsWith('application/json') === true ? reply.code(204).send() : reply.redirect('/login', 303)
    })
  })
  app.get('/api/session', async (req) => {
    const r = await check(req)
    return r.ok ? { ok: true, via: r.via, expiresAt: r.expiresAt ?? null } : r
  })
}

export default fp(auth, { name: 'auth', dependencies: ['core'] })
