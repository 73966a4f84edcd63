/** Finding 5 (webhooks): a signed but malformed webhook is a clear 400; a repeated key takes its first value everywhere. */
import t from 'tap'
import twilio from 'twilio'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { send } from './client.ts'
import { loggerOptions } from '../../src/log.ts'
import { pino } from 'pino'

const bearer = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
const sign = (path: string, params: Record<string, string | string[]>) => twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, TEST_BASE_URL + path, params)

t.test('a signed webhook with no body is a 400 with a clear body, on every Twilio route', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  for (const path of ['/twilio/inbound', '/twilio/outbound?to=%2B14155550123', '/twilio/call-status', '/twilio/dial-status', '/twilio/stream-status', '/twilio/whatsapp', '/twilio/whatsapp-status']) {
    const r = await send(base, { method: 'POST', path, headers: { 'x-twilio-signature': sign(path, {}) } })
    t.equal(r.status, 400, `${path}: ${r.body}`)
    t.match(JSON.parse(r.body), { error: 'invalid_webhook', message: /form posts/ }, path)
    const unsigned = await send(base, { method: 'POST', path })
    t.equal(unsigned.status, 403, `${path} unsigned is still a 403`)
  }
})

t.test('a signed voice webhook whose form is empty (no CallSid) is a 400 naming the field, not TwiML for nobody', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  const headers = { 'content-type': 'application/x-www-form-urlencoded' }
  for (const path of ['/twilio/inbound', '/twilio/outbound?to=%2B14155550123', '/twilio/call-status', '/twilio/dial-status', '/twilio/stream-status', '/twilio/connect-action']) {
    const r = await send(base, { method: 'POST', path, headers: { ...headers, 'x-twilio-signature': sign(path, {}) }, body: '' })
    t.equal(r.status, 400, `${path}: ${r.body}`)
    t.match(JSON.parse(r.body), { error: 'invalid_request', message: /CallSid/ }, path)
  }
  const events: string[] = []
  app.bus.subscribe((e) => { events.push(e.type) })
  const ok = await send(base, { method: 'POST', path: '/twilio/call-status', headers: { ...headers, 'x-twilio-signature': sign('/twilio/call-status', { CallSid: 'CA1', CallStatus: 'completed' }) }, body: 'CallSid=CA1&CallStatus=completed' })
  t.equal(ok.status, 204, 'a well-formed one still passes')
  t.same(events, ['call.status'])
})

t.test('a repeated key: the signature is checked over every value (as Twilio signs), the first value is used', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  const path = '/twilio/inbound'
  const params = { CallSid: ['CA00000000000000000000000000000001', 'CA00000000000000000000000000000002'], From: ['+14155550123', '+14155550999'], To: '+15550002222', AccountSid: 'AC0' }
  const body = 'CallSid=CA00000000000000000000000000000001&CallSid=CA00000000000000000000000000000002&From=%2B14155550123&From=%2B14155550999&To=%2B15550002222&AccountSid=AC0'
  const headers = { 'content-type': 'application/x-www-form-urlencoded' }
  const r = await send(base, { method: 'POST', path, headers: { ...headers, 'x-twilio-signature': sign(path, params) }, body })
  t.equal(r.status, 200, r.body)
  t.match(r.body, /<Response>/)
  const firstOnly = sign(path, { CallSid: params.CallSid[0] as string, From: params.From[0] as string, To: params.To, AccountSid: 'AC0' })
  const forged = await send(base, { method: 'POST', path, headers: { ...headers, 'x-twilio-signature': firstOnly }, body })
  t.equal(forged.status, 403, 'a signature over the first values only does not cover the second ones')

  await app.recorder.idle()
  const calls = (await app.inject({ url: '/api/calls', headers: bearer })).json() as { calls: Array<{ callSid: string, remote?: string, from?: string }> }
  t.equal(calls.calls.length, 1, 'the call row is stored (no bind error)')
  t.match(calls.calls[0], { callSid: 'CA00000000000000000000000000000001' })

  const status = '/twilio/call-status'
  const sp = { CallSid: ['CA00000000000000000000000000000001', 'CAzz'], CallStatus: ['completed', 'busy'] }
  const sr = await send(base, {
    method: 'POST',
    path: status,
    headers: { ...headers, 'x-twilio-signature': sign(status, sp) },
    body: 'CallSid=CA00000000000000000000000000000001&CallSid=CAzz&CallStatus=completed&CallStatus=busy',
  })
  t.equal(sr.status, 204)
  await app.recorder.idle()
  const detail = (await app.inject({ url: '/api/calls/CA00000000000000000000000000000001', headers: bearer })).json() as { call: { status?: string, endedAt?: unknown } }
  t.match(detail.call, { status: 'completed' }, 'the status callback took the first values too')
})

t.test('an invalid "to" on the click-to-call leg is logged masked', async (t) => {
  const lines: string[] = []
  const logger = pino(loggerOptions({ level: 'info', logPhoneNumbers: false, pretty: false }), { write: (s: string) => { lines.push(s) } })
  const app = await buildTestApp(t, {}, { loggerInstance: logger })
  const base = await listen(app)
  const path = '/twilio/outbound?to=%2B1415555012399999999'
  const params = { CallSid: 'CA00000000000000000000000000000003', From: '+15550001111' }
  const r = await send(base, { method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sign(path, params) }, body: new URLSearchParams(params).toString() })
  t.equal(r.status, 200)
  t.match(r.body, /not a valid phone number/)
  const problem = lines.find((l) => l.includes('invalid \\"to\\" number'))
  t.ok(problem, 'the problem is logged')
  t.notMatch(problem ?? '', /14155550123/, 'not in full')
  t.match(problem ?? '', /got \*\*\*9999/)
})
