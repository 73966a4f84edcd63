import t from 'tap'
import { bareDashboardApp, loginCookie } from '../e2e/browser/harness.ts'
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

t.test('wrong tokens back off per client address with a clear 429; right ones from elsewhere still work', async (t) => {
  let now = 1_700_000_000_000
  // Behind one proxy hop: the client is the X-Forwarded-For entry that proxy appended (the rightmost).
  const app = await bareDashboardApp(t, { auth: { freeFailures: 3 }, now: () => now, env: { TRUST_PROXY: '1' } })
  const from = (ip: string) => ({ 'x-forwarded-for': `203.0.113.9, ${ip}` })
  for (let i = 0; i < 3; i++) {
    const res = await app.inject(json({ token: `wrong-token-guess-${i}` }, from('198.51.100.1')))
    t.equal(res.statusCode, 401)
    t.match(res.json(), { error: 'invalid_token', message: 'That token is not right.' })
  }
  const limited = await app.inject(json({ token: 'wrong-token-guess-x' }, from('198.51.100.1')))
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { error: 'too_many_attempts', message: /Too many wrong tokens\. Try again in \d+ (s|min)\./ })
  t.equal(limited.headers['retry-after'], '1', 'Retry-After says when (the first backoff is 1 s)')
  const rightButLimited = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, from('198.51.100.1')))
  t.equal(rightButLimited.statusCode, 429, 'a backing-off address is not checked at all (no oracle), right or wrong')
  const bearer = await app.inject({ url: '/api/session', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}`, ...from('198.51.100.1') } })
  t.equal(bearer.statusCode, 429, 'Bearer guesses from that address wait too')
  // A spoofed leftmost entry changes nothing: the proxy's own entry is the client.
  const spoofed = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, { 'x-forwarded-for': '1.2.3.4, 198.51.100.1' }))
  t.equal(spoofed.statusCode, 429)
  const other = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, from('198.51.100.2')))
  t.equal(other.statusCode, 200, 'another client is unaffected')

  now += 1001
  const again = await app.inject(json({ token: 'wrong-token-guess-y' }, from('198.51.100.1')))
  t.equal(again.statusCode, 401, 'after the backoff the address may try once more')
  const doubled = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, from('198.51.100.1')))
  t.equal(doubled.statusCode, 429)
  t.equal(doubled.headers['retry-after'], '2', 'each further failure doubles the wait')
  now += 2001
  const owner = await app.inject(json({ token: TEST_DASHBOARD_TOKEN }, from('198.51.100.1')))
  t.equal(owner.statusCode, 200, 'once the wait is over the right token works from that address too')
})

t.test('without TRUST_PROXY, X-Forwarded-For is client input: forging it buys no fresh budget', async (t) => {
  const app = await bareDashboardApp(t, { auth: { freeFailures: 3 } })
  for (let i = 0; i < 3; i++) {
    const res = await app.inject(json({ token: `guess-${i}` }, { 'x-forwarded-for': `198.51.100.${i}` }))
    t.equal(res.statusCode, 401)
  }
  const res = await app.inject(json({ token: 'guess-3' }, { 'x-forwarded-for': '198.51.100.99' }))
  t.equal(res.statusCode, 429, 'every forged address is the same socket peer')
})

t.test('no shared ceiling: the same wrong guess backs off everywhere, the right token never does', async (t) => {
  const app = await bareDashboardApp(t, { auth: { freeFailures: 3 }, env: { TRUST_PROXY: '1' } })
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ url: '/api/session', headers: { authorization: 'Bearer nope-nope-nope', 'x-forwarded-for': `198.51.100.${i}` } })
    t.equal(res.statusCode, 401)
  }
  const sprayed = await app.inject({ url: '/api/session', headers: { authorization: 'Bearer nope-nope-nope', 'x-forwarded-for': '198.51.100.77' } })
  t.equal(sprayed.statusCode, 429, 'one guess sprayed from many addresses backs off')
  for (let i = 0; i < 30; i++) {
    const res = await app.inject({ url: '/api/session', headers: { authorization: `Bearer wrong-${i}-xxxxxxxx`, 'x-forwarded-for': `198.51.100.${100 + (i % 10)}` } })
    t.not(res.statusCode, 200)
  }
  const right = await app.inject({ url: '/api/session', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}`, 'x-forwarded-for': '192.0.2.50' } })
  t.equal(right.statusCode, 200, 'after 33 failures from 13 addresses the right token from a fresh address works')
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
