/** Finding 4: click-to-call must not dial premium-rate or revenue-share numbers, nor place calls without limit. */
import t, { type Test } from 'tap'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../fakes/twilio-rest.ts'
import { login, send } from './client.ts'
import { checkDialDestination, dialPolicy } from '../../src/call/dial-guard.ts'
import { loadConfig } from '../../src/config.ts'
import { loggerOptions } from '../../src/log.ts'
import { pino } from 'pino'

const bearer = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}`, 'content-type': 'application/json' }

async function setup (t: Test, env: Record<string, string> = {}) {
  const fake = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => fake.close())
  const lines: Array<Record<string, unknown>> = []
  const logger = pino(loggerOptions({ level: 'info', logPhoneNumbers: false, pretty: false }), { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } })
  // A loaded test machine must not turn requests into under-pressure 503s: this file counts answers exactly.
  const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: fake.url, MAX_EVENT_LOOP_DELAY_MS: '60000', ...env }, { loggerInstance: logger })
  const base = await listen(app)
  const dial = async (to: string, headers: Record<string, string> = bearer) => await send(base, { method: 'POST', path: '/api/calls', headers, body: JSON.stringify({ to }) })
  const placed = () => fake.requests.filter((r) => r.path.endsWith('/Calls.json')).length
  return { fake, base, lines, dial, placed }
}

t.test('premium-rate, revenue-share, foreign and nonsense numbers are refused with a clear message; nothing reaches Twilio', async (t) => {
  const { base, lines, dial, placed } = await setup(t)
  const cases: Array<[string, number, RegExp]> = [
    ['+1 900 555 0123', 403, /premium-rate number/],
    ['+1 976 555 0123', 400, /not a valid phone number/],
    ['+1 212 976 1234', 403, /976 pay-per-call/],
    ['+882 1234 567890', 403, /international non-geographic/],
    ['+883 5100 12345678', 403, /international non-geographic/],
    ['+247 40123', 403, /country AC are not allowed/],
    ['+53 5 123 4567', 403, /country CU are not allowed/],
    ['+1 876 555 0123', 403, /country JM are not allowed/],
    ['+44 70 1234 5678', 403, /personal \(follow-me\) number/],
    ['+44 871 234 5678', 403, /premium-rate number/],
    ['+44 845 123 4567', 403, /premium-rate number|shared-cost number/],
    ['+123456789012345', 400, /not a valid phone number/],
    ['+999999999999999', 400, /not a valid phone number/],
  ]
  for (const [to, status, message] of cases) {
    const r = await dial(to)
    t.equal(r.status, status, `${to} → ${status}`)
    t.match(JSON.parse(r.body), { message }, to)
  }
  t.equal(placed(), 0, 'not one call reached Twilio')
  const refusals = lines.filter((l) => l.msg === 'click-to-call refused')
  t.equal(refusals.length, cases.length, 'every refusal is logged once')
  t.notOk(refusals.some((l) => /\d{5}/.test(String(l.to))), 'numbers are masked in the log')
  t.match(refusals[0], { to: '***0123', reason: 'premium_rate' })
  const m = await send(base, { path: '/metrics', headers: bearer })
  t.match(m.body, /talkhint_dial_refused_total\{reason="premium_rate"\} 3/)
  t.match(m.body, /talkhint_dial_refused_total\{reason="country_not_allowed"\} 3/)
  t.match(m.body, /talkhint_dial_refused_total\{reason="revenue_share_range"\} 3/)
})

t.test('a normal number in an allowed country is placed on Twilio', async (t) => {
  const { fake, dial } = await setup(t, { DIAL_ALLOWED_COUNTRIES: 'US,GB' })
  const us = await dial('+1 (415) 555-0123')
  t.equal(us.status, 201, us.body)
  const gb = await dial('+44 20 7123 4567')
  t.equal(gb.status, 201, gb.body)
  const calls = fake.requests.filter((r) => r.path.endsWith('/Calls.json'))
  t.match(calls.map((c) => c.params.Url), [/to=%2B14155550123$/, /to=%2B442071234567$/])
})

t.test('30 calls in a row from one session: 5 a minute are placed, the rest refused (429 with Retry-After)', async (t) => {
  const { base, dial, placed } = await setup(t)
  const l = await login(base, TEST_DASHBOARD_TOKEN, '127.0.0.1')
  const cookie = String(l.headers['set-cookie']).split(';')[0] as string
  const statuses: number[] = []
  let last
  for (let i = 0; i < 30; i++) {
    last = await dial('+14155550123', { cookie, 'content-type': 'application/json' })
    statuses.push(last.status)
  }
  t.same(statuses.slice(0, 5), [201, 201, 201, 201, 201])
  t.ok(statuses.slice(5).every((s) => s === 429), 'then refused')
  t.match(JSON.parse(last?.body ?? '{}'), { error: 'too_many_calls', message: /At most 5 calls a minute/ })
  t.ok(Number(last?.headers['retry-after']) > 0)
  t.equal(placed(), 5)
  const other = await login(base, TEST_DASHBOARD_TOKEN, '127.0.0.1')
  const otherCookie = String(other.headers['set-cookie']).split(';')[0] as string
  const fresh = await dial('+14155550123', { cookie: otherCookie, 'content-type': 'application/json' })
  t.equal(fresh.status, 201, 'another session has its own minute budget')
})

t.test('the instance budget caps every caller together', async (t) => {
  const { dial, placed } = await setup(t, { DIAL_RATE_PER_SESSION_PER_MIN: '1000', DIAL_RATE_PER_INSTANCE_PER_HOUR: '30' })
  const statuses: number[] = []
  for (let i = 0; i < 32; i++) statuses.push((await dial('+14155550123')).status)
  t.equal(statuses.filter((s) => s === 201).length, 30)
  t.same(statuses.slice(30), [429, 429])
  t.equal(placed(), 30)
})

t.test('checkDialDestination: the allow-list defaults to the Twilio number\'s country', async (t) => {
  const cfg = (env: Record<string, string>) => loadConfig({ PUBLIC_BASE_URL: 'https://x.example', TWILIO_AUTH_TOKEN: 'x', ...env })
  t.same([...dialPolicy(cfg({ TWILIO_PHONE_NUMBER: '+442071234567' })).allowedCountries], ['GB'])
  t.same([...dialPolicy(cfg({ TWILIO_PHONE_NUMBER: '+15550002222' })).allowedCountries], ['US'], 'a fictional +1 555 number: US')
  t.same([...dialPolicy(cfg({})).allowedCountries], ['US'], 'no Twilio number: US')
  t.same([...dialPolicy(cfg({ DIAL_ALLOWED_COUNTRIES: 'us, ca' })).allowedCountries], ['US', 'CA'])
  t.throws(() => cfg({ DIAL_ALLOWED_COUNTRIES: 'US,XX' }), /DIAL_ALLOWED_COUNTRIES/)
  const gb = dialPolicy(cfg({ TWILIO_PHONE_NUMBER: '+442071234567' }))
  t.match(checkDialDestination('+44 20 7123 4567', gb), { ok: true, e164: '+442071234567', country: 'GB' })
  t.match(checkDialDestination('+1 415 555 0123', gb), { ok: false, reason: 'country_not_allowed' })
  t.match(checkDialDestination('+44 20 7123 4567x', gb), { ok: false, reason: 'invalid_number' })
})
