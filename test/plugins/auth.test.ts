import t from 'tap'
import { bareDashboardApp, loginCookie } from '../browser/harness.ts'
import { TEST_DASHBOARD_TOKEN } from '../helpers.ts'

const json = (payload: unknown, headers: Record<string, string> = {}) => ({ method: 'POST' as const, url: '/login', payload: payload as object, headers })

t.test('POST /login sets an httpOnly, SameSite=Strict session cookie (Secure behind https)', async (t) => {
  const app = await bareDashboardApp(t)
  const res = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }))
  t.equal(res.statusCode, 200)
  t.match(res.json(), { ok: true, expiresAt: Number })
  const cookie = String(res.headers['set-cookie'])
  t.match(cookie, /^talkhint_session=[^;]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/)
  t.notMatch(cookie, /Secure/, 'plain http (local dev) gets no Secure flag')
  t.notMatch(cookie, new RegExp(TEST_DASHBOARD_TOKEN), 'the token itself never goes into the cookie')

  const https = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, { 'x-forwarded-proto': 'https' }))
  t.match(String(https.headers['set-cookie']), /; Secure/, 'behind a TLS-terminating proxy the cookie is Secure')
})

t.test('the session cookie or a Bearer token opens /api; nothing else does', async (t) => {
  const app = await bareDashboardApp(t)
  const cookie = await loginCookie(app)
  const viaCookie = await app.inject({ url: '/api/session', headers: { cookie } })
  t.equal(viaCookie.statusCode, 200)
  t.match(viaCookie.json(), { ok: true, via: 'session' })
  const viaBearer = await app.inject({ url: '/api/session', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.match(viaBearer.json(), { ok: true, via: 'bearer' })

  const none = await app.inject({ url: '/api/session' })
  t.equal(none.statusCode, 401)
  t.match(none.json(), { error: 'unauthorized', message: /Log in/ })
  const inUrl = await app.inject({ url: `/api/session?token=${TEST_DASHBOARD_TOKEN}` })
  t.equal(inUrl.statusCode, 401, 'a token in the URL is never accepted')
  const unknown = await app.inject({ url: '/api/nothing-here' })
  t.equal(unknown.statusCode, 401, 'every /api path needs auth, even an unknown one')
  const loginByQuery = await app.inject({ method: 'POST', url: `/login?token=${TEST_DASHBOARD_TOKEN}`, payload: {} })
  t.equal(loginByQuery.headers['set-cookie'], undefined, 'POST /login?token= sets no cookie')
})

t.test('wrong tokens are rate-limited per client with a clear 429; right ones from elsewhere still work', async (t) => {
  const app = await bareDashboardApp(t, { auth: { maxFailures: 3 } })
  const from = (ip: string) => ({ 'x-forwarded-for': `203.0.113.9, ${ip}` })
  for (let i = 0; i < 3; i++) {
    const res = await app.inject(json({ token: 'wrong-token-guess' }, from('198.51.100.1')))
    t.equal(res.statusCode, 401)
    t.match(res.json(), { error: 'invalid_token', message: 'That token is not right.' })
  }
  const limited = await app.inject(json({ token: 'wrong-token-guess' }, from('198.51.100.1')))
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { error: 'too_many_attempts', message: /Too many wrong tokens\. Try again in \d+ min\./ })
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After says when')
  const rightButLimited = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, from('198.51.100.1')))
  t.equal(rightButLimited.statusCode, 429, 'no more guesses from that client, right or wrong')
  const bearer = await app.inject({ url: '/api/session', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}`, ...from('198.51.100.1') } })
  t.equal(bearer.statusCode, 429, 'Bearer guesses share the same budget')
  // The client address is the one our proxy appended last; a spoofed leftmost entry changes nothing.
  const spoofed = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, { 'x-forwarded-for': '1.2.3.4, 198.51.100.1' }))
  t.equal(spoofed.statusCode, 429)
  const other = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, from('198.51.100.2')))
  t.equal(other.statusCode, 200, 'another client is unaffected')
})

t.test('wrong Bearer tokens count as failures; a global backstop bounds guesses from many addresses', async (t) => {
  const app = await bareDashboardApp(t, { auth: { maxFailures: 100, maxFailuresGlobal: 4 } })
  for (let i = 0; i < 4; i++) {
    const res = await app.inject({ url: '/api/session', headers: { authorization: 'Bearer nope-nope-nope', 'x-forwarded-for': `198.51.100.${i}` } })
    t.equal(res.statusCode, 401)
  }
  const res = await app.inject({ url: '/api/session', headers: { authorization: 'Bearer nope-nope-nope', 'x-forwarded-for': '198.51.100.77' } })
  t.equal(res.statusCode, 429)
})

t.test('a plain form post logs in and out with redirects (no JavaScript needed)', async (t) => {
  const app = await bareDashboardApp(t)
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const ok = await app.inject({ method: 'POST', url: '/login', headers: form, payload: `token=${TEST_DASHBOARD_TOKEN}` })
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, '/')
  const cookie = String(ok.headers['set-cookie']).split(';')[0] as string
  const bad = await app.inject({ method: 'POST', url: '/login', headers: form, payload: 'token=wrong' })
  t.equal(bad.statusCode, 303)
  t.equal(bad.headers.location, '/login#invalid_token')
  t.equal(bad.headers['set-cookie'], undefined)

  const out = await app.inject({ method: 'POST', url: '/logout', headers: { cookie } })
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/login')
  t.match(String(out.headers['set-cookie']), /talkhint_session=;.*Expires=Thu, 01 Jan 1970/)
  const replay = await app.inject({ url: '/api/session', headers: { cookie } })
  t.equal(replay.statusCode, 401, 'a logged-out session stays dead even if the cookie is replayed')
})

t.test('sessions expire, renew while in use, and forged ones fail', async (t) => {
  let now = 1_700_000_000_000
  const app = await bareDashboardApp(t, { now: () => now, env: { DASHBOARD_SESSION_HOURS: '2' } })
  const cookie = await loginCookie(app)
  now += 30 * 60_000
  const fresh = await app.inject({ url: '/api/session', headers: { cookie } })
  t.equal(fresh.statusCode, 200)
  t.equal(fresh.headers['set-cookie'], undefined, 'no renewal in the first half')
  now += 45 * 60_000
  const renewed = await app.inject({ url: '/api/session', headers: { cookie } })
  t.equal(renewed.statusCode, 200)
  t.match(String(renewed.headers['set-cookie']), /^talkhint_session=.*Max-Age=7200/, 'past half-life the cookie is renewed')
  now += 50 * 60_000
  const expired = await app.inject({ url: '/api/session', headers: { cookie } })
  t.equal(expired.statusCode, 401, 'the original cookie expired after 2 h')

  const [name, value] = cookie.split('=') as [string, string]
  const parts = value.split('.')
  const forgedExpiry = `${name}=${(now + 86_400_000).toString(36)}.${parts[1]}.${parts[2]}`
  const forged = await app.inject({ url: '/api/session', headers: { cookie: forgedExpiry } })
  t.equal(forged.statusCode, 401, 'extending the expiry breaks the signature')
  t.match(forged.json(), { error: 'invalid_token' })
})

t.test('a cookie on a cross-origin request is refused (CSRF / cross-site WebSocket)', async (t) => {
  const app = await bareDashboardApp(t)
  const cookie = await loginCookie(app)
  const evil = await app.inject({ url: '/api/session', headers: { cookie, origin: 'https://evil.example' } })
  t.equal(evil.statusCode, 403)
  t.match(evil.json(), { error: 'bad_origin' })
  const ours = await app.inject({ url: '/api/session', headers: { cookie, origin: 'https://talkhint.example.com' } })
  t.equal(ours.statusCode, 200, 'PUBLIC_BASE_URL origin is ours')
  const sameHost = await app.inject({ url: '/api/session', headers: { cookie, origin: 'http://localhost:80', host: 'localhost:80' } })
  t.equal(sameHost.statusCode, 200, 'so is the Host we were reached at')
})

t.test('rotating DASHBOARD_TOKEN ends every session', async (t) => {
  const a = await bareDashboardApp(t)
  const cookie = await loginCookie(a)
  const b = await bareDashboardApp(t, { env: { DASHBOARD_TOKEN: 'a-completely-new-token' } })
  const res = await b.inject({ url: '/api/session', headers: { cookie } })
  t.equal(res.statusCode, 401)
})
