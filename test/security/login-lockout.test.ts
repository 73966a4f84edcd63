/** Finding 3: wrong tokens from anyone must not lock the owner out of /login, Bearer API calls or /metrics. */
import t from 'tap'
import { buildTestApp, listen, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { login, send } from './client.ts'
import { addressKey, clientAddress } from '../../src/auth.ts'
import { loadConfig } from '../../src/config.ts'
import { LoginLimiter } from '../../src/login-limiter.ts'

const ATTACKER = '127.0.0.2'
const OWNER = '127.0.0.3'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
/** A loaded test machine must not turn requests into under-pressure 503s: these tests count answers exactly. */
const CALM = { MAX_EVENT_LOOP_DELAY_MS: '60000' }
/** A stopped clock: a backoff cannot lapse mid-test however slowly a loaded machine answers. */
const START = Date.now()
const FROZEN = { now: () => START }

t.test('100 wrong tokens behind 10 forged X-Forwarded-For addresses leave the owner working everywhere', async (t) => {
  const app = await buildTestApp(t, CALM, FROZEN)
  const base = await listen(app)
  const statuses: number[] = []
  for (let i = 0; i < 100; i++) {
    const forged = { 'x-forwarded-for': `198.51.100.${i % 10}` }
    const path = ['/login', '/api/session', '/metrics'][i % 3] as string
    const r = path === '/login'
      ? await login(base, `wrong-token-${i}`, ATTACKER, forged)
      : await send(base, { path, headers: { ...forged, ...bearer(`wrong-token-${i}`) }, from: ATTACKER })
    statuses.push(r.status)
  }
  t.same(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'the attacker gets 5 checked guesses')
  t.ok(statuses.slice(5).every((s) => s === 429), 'then 429 unchecked: forged X-Forwarded-For buys nothing')

  const l = await login(base, TEST_DASHBOARD_TOKEN, OWNER)
  t.equal(l.status, 200, '/login with the right token works for the owner')
  const api = await send(base, { path: '/api/session', headers: bearer(TEST_DASHBOARD_TOKEN), from: OWNER })
  t.equal(api.status, 200, 'Bearer API works for the owner')
  const m = await send(base, { path: '/metrics', headers: bearer(TEST_DASHBOARD_TOKEN), from: OWNER })
  t.equal(m.status, 200, '/metrics works for the owner')
  t.match(m.body, /talkhint_auth_failures_total\{reason="wrong_token_login"\} 2/)
  t.match(m.body, /talkhint_auth_failures_total\{reason="wrong_bearer"\} 3/)
  t.match(m.body, /talkhint_auth_backoff_refusals_total\{by="address"\} 95/)
  const cookie = String(l.headers['set-cookie']).split(';')[0] as string
  const viaCookie = await send(base, { path: '/api/session', headers: { cookie }, from: ATTACKER })
  t.equal(viaCookie.status, 200, 'a valid session cookie is never limited, even from a backing-off address')
})

t.test('TRUST_PROXY=fly: the client is Fly-Client-IP; X-Forwarded-For is ignored', async (t) => {
  const app = await buildTestApp(t, { ...CALM, TRUST_PROXY: 'fly' }, FROZEN)
  const base = await listen(app)
  for (let i = 0; i < 5; i++) await login(base, `wrong-${i}`, ATTACKER, { 'fly-client-ip': '203.0.113.66', 'x-forwarded-for': `198.51.100.${i}` })
  const blocked = await login(base, 'wrong-6', ATTACKER, { 'fly-client-ip': '203.0.113.66', 'x-forwarded-for': '198.51.100.200' })
  t.equal(blocked.status, 429)
  const owner = await login(base, TEST_DASHBOARD_TOKEN, ATTACKER, { 'fly-client-ip': '203.0.113.7' })
  t.equal(owner.status, 200, 'another Fly client through the same proxy socket is unaffected')
  const session = await send(base, { path: '/api/session', headers: { ...bearer(TEST_DASHBOARD_TOKEN), 'fly-client-ip': '203.0.113.7' }, from: ATTACKER })
  t.match(JSON.parse(session.body), { ok: true, clientAddress: '203.0.113.7' }, 'GET /api/session shows the address the server sees')
})

t.test('one log line per address per window, not one per guess', async (t) => {
  const lines: Array<{ msg: string, address?: string }> = []
  const { default: pino } = await import('pino')
  const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as { msg: string }) } })
  const app = await buildTestApp(t, CALM, { ...FROZEN, loggerInstance: logger })
  const base = await listen(app)
  for (let i = 0; i < 40; i++) await login(base, `wrong-${i}`, ATTACKER)
  const auth = lines.filter((l) => l.msg.startsWith('dashboard auth'))
  t.same(auth.map((l) => [l.msg, l.address]), [
    ['dashboard auth failed', ATTACKER],
    ['dashboard auth: repeated wrong tokens from one address; backing off', ATTACKER],
  ])
})

t.test('client address per TRUST_PROXY', async (t) => {
  const cfg = (v?: string) => loadConfig({ PUBLIC_BASE_URL: 'https://x.example', TWILIO_AUTH_TOKEN: 'x', TRUST_PROXY: v }).trustProxy
  const xff = { 'x-forwarded-for': '6.6.6.6, 203.0.113.5, 10.0.0.2', 'fly-client-ip': '203.0.113.9' }
  t.equal(clientAddress(cfg(), xff, '10.0.0.1'), '10.0.0.1', 'default: the socket peer')
  t.equal(clientAddress(cfg('false'), xff, '10.0.0.1'), '10.0.0.1')
  t.equal(clientAddress(cfg('fly'), xff, '10.0.0.1'), '203.0.113.9')
  t.equal(clientAddress(cfg('fly'), { 'fly-client-ip': 'not-an-ip' }, '10.0.0.1'), '10.0.0.1')
  t.equal(clientAddress(cfg('replit'), xff, '10.0.0.1'), '10.0.0.2', 'replit: one hop, the entry its proxy appended')
  t.equal(clientAddress(cfg('2'), xff, '10.0.0.1'), '203.0.113.5')
  t.equal(clientAddress(cfg('9'), xff, '10.0.0.1'), '6.6.6.6', 'more hops than entries: the leftmost')
  t.equal(clientAddress(cfg('10.0.0.0/8'), xff, '10.0.0.1'), '203.0.113.5', 'CIDRs: right to left past trusted proxies')
  t.equal(clientAddress(cfg('10.0.0.0/8'), xff, '::ffff:10.0.0.1'), '203.0.113.5', 'IPv4-mapped socket address')
  t.equal(clientAddress(cfg('10.0.0.0/8'), xff, '192.0.2.1'), '192.0.2.1', 'an untrusted peer is the client')
  t.throws(() => cfg('yes'), /TRUST_PROXY must be/)
  t.throws(() => cfg('10.0.0.0/99'), /TRUST_PROXY must be/)
  t.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
  t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(addressKey('::ffff:198.51.100.1'), '198.51.100.1')
  t.equal(addressKey('198.51.100.1'), '198.51.100.1')
})

t.test('the limiter stays bounded and forgets', async (t) => {
  const l = new LoginLimiter({ maxEntries: 100, freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 60_000 })
  for (let i = 0; i < 1000; i++) l.fail(`198.51.${i >> 8}.${i & 255}`, `guess-${i}`, 0)
  t.same(l.size, { addresses: 100, guesses: 100 })
  for (let i = 0; i < 10; i++) l.fail('a', undefined, 0)
  const c = l.check('a', undefined, 0)
  t.same(c, { ok: false, by: 'address', retryAfterMs: 8000 }, 'backoff capped at maxDelayMs')
  t.same(l.check('a', undefined, 60_001), { ok: true }, 'forgotten after forgetAfterMs without failures')
  t.equal(l.fail('a', undefined, 60_001).failures, 1, 'and its count starts again')
})
