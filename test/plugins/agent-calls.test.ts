/** POST /api/calls with mode "agent", and the agent call's webhooks: auth, schema, guard, the REST request with AMD, outcomes stored. */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, signedPost, TEST_AUTH_TOKEN, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest, type FakeTwilioRest } from '../../fakes/twilio-rest.ts'
import { FAKE_OPENAI_KEY } from '../../fakes/realtime-server.ts'
import type { CallEvent } from '../../src/call/events.ts'
import { parseTwiml, verbs } from '../twiml-xml.ts'
import { until } from '../until.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
const PURPOSE = 'Confirm the cleaning on Tuesday at 3 pm'

async function setup (t: Test, env: Record<string, string | undefined> = {}): Promise<{ app: FastifyInstance, fake: FakeTwilioRest, events: CallEvent[] }> {
  const fake = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: fake.url, OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: 'http://127.0.0.1:9', ...env })
  const events: CallEvent[] = []
  app.bus.subscribe((e) => { events.push(e) })
  return { app, fake, events }
}

const agentCall = (app: FastifyInstance, body: Record<string, unknown>, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: '/api/calls', headers, payload: body })
const calls = (fake: FakeTwilioRest) => fake.requests.filter((r) => r.path.endsWith('/Calls.json'))
/** The path and query of the Url the server gave Twilio (what Twilio requests, and signs). */
const urlPath = (url: string): string => { const u = new URL(url); return u.pathname + u.search }

t.test('an agent call asks Twilio for AMD (DetectMessageEnd, synchronous), our signed TwiML URL and our status callback', async (t) => {
  const { app, fake, events } = await setup(t)
  const res = await agentCall(app, { to: '+1 (415) 555-0123', mode: 'agent', purpose: `  ${PURPOSE} ` })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json(), { callSid: /^CA[0-9a-f]{32}$/, status: 'queued', mode: 'agent' })
  const [req] = calls(fake)
  t.match(req?.params, {
    To: '+14155550123',
    From: '+15550002222',
    Url: /^https:\/\/talkhint\.example\.com\/twilio\/agent-call\?to=%2B14155550123&purpose=Confirm\+the\+cleaning\+on\+Tuesday\+at\+3\+pm&sig=[\w-]{43}$/,
    Method: 'POST',
    StatusCallback: 'https://talkhint.example.com/twilio/agent-call-status',
    MachineDetection: 'DetectMessageEnd',
  })
  t.notOk('AsyncAmd' in (req?.params ?? {}), 'synchronous AMD: the TwiML is requested after the verdict')
  t.match(events.find((e) => e.type === 'call.placed'), { callSid: res.json().callSid, mode: 'agent', direction: 'outbound', from: '+15550002222', to: '+14155550123', purpose: PURPOSE })
})

t.test('mode defaults to click-to-call, which takes no purpose and asks for no AMD', async (t) => {
  const { app, fake } = await setup(t)
  t.equal((await agentCall(app, { to: '+14155550123' })).statusCode, 201)
  t.notOk('MachineDetection' in (calls(fake)[0]?.params ?? {}))
  const withPurpose = await agentCall(app, { to: '+14155550123', purpose: PURPOSE })
  t.equal(withPurpose.statusCode, 400)
  t.match(withPurpose.json(), { error: 'invalid_purpose', message: /for AI agent calls/ })
})

t.test('refused: no login, bad input, a guarded destination, missing settings; nothing reaches Twilio', async (t) => {
  const { app, fake } = await setup(t)
  t.equal((await agentCall(app, { to: '+14155550123', mode: 'agent', purpose: PURPOSE }, {})).statusCode, 401)
  const cases: Array<[Record<string, unknown>, number, string, RegExp]> = [
    [{ to: '+14155550123', mode: 'agent' }, 400, 'invalid_purpose', /needs a purpose/],
    [{ to: '+14155550123', mode: 'agent', purpose: '   ' }, 400, 'invalid_purpose', /needs a purpose/],
    [{ to: '+14155550123', mode: 'agent', purpose: 'Confirm\nthen read this out' }, 400, 'invalid_purpose', /one line/],
    [{ to: '+14155550123', mode: 'agent', purpose: 'x'.repeat(301) }, 400, 'invalid_request', /purpose/],
    [{ to: '+14155550123', mode: 'robot', purpose: PURPOSE }, 400, 'invalid_request', /mode/],
    [{ to: '+1 900 555 0123', mode: 'agent', purpose: PURPOSE }, 403, 'destination_refused', /premium-rate number/],
    [{ to: '+44 20 7123 4567', mode: 'agent', purpose: PURPOSE }, 403, 'destination_refused', /country GB/],
    [{ to: '12345', mode: 'agent', purpose: PURPOSE }, 400, 'invalid_number', /international form/],
  ]
  for (const [body, status, error, message] of cases) {
    const res = await agentCall(app, body)
    t.equal(res.statusCode, status, JSON.stringify(body))
    t.match(res.json(), { error, message })
  }
  t.equal(calls(fake).length, 0)

  const noTwilio = (await setup(t, { TWILIO_ACCOUNT_SID: undefined })).app
  const off = await agentCall(noTwilio, { to: '+14155550123', mode: 'agent', purpose: PURPOSE })
  t.equal(off.statusCode, 503)
  t.match(off.json(), { error: 'not_configured', message: 'An AI agent call needs TWILIO_ACCOUNT_SID to be set.' })
  const noAi = (await setup(t, { OPENAI_API_KEY: undefined })).app
  t.match((await agentCall(noAi, { to: '+14155550123', mode: 'agent', purpose: PURPOSE })).json(), { error: 'not_configured', message: /needs OPENAI_API_KEY/ })
})

t.test('agent calls and click-to-calls share one rate limit per session', async (t) => {
  const { app, fake } = await setup(t, { DIAL_RATE_PER_SESSION_PER_MIN: '2' })
  t.equal((await agentCall(app, { to: '+14155550123' })).statusCode, 201)
  t.equal((await agentCall(app, { to: '+14155550123', mode: 'agent', purpose: PURPOSE })).statusCode, 201)
  const third = await agentCall(app, { to: '+14155550123', mode: 'agent', purpose: PURPOSE })
  t.equal(third.statusCode, 429)
  t.match(third.json(), { error: 'too_many_calls' })
  t.ok(Number(third.headers['retry-after']) > 0)
  t.equal(calls(fake).length, 2)
})

t.test('the TwiML webhook: signed by Twilio and by us; a machine gets the voicemail, and the outcome and purpose are stored', async (t) => {
  const { app, fake, events } = await setup(t, { BUSINESS_NAME: 'Acme Dental' })
  const { callSid } = (await agentCall(app, { to: '+14155550123', mode: 'agent', purpose: PURPOSE })).json()
  const path = urlPath(String(calls(fake)[0]?.params.Url))
  const params = { CallSid: callSid, From: '+15550002222', To: '+14155550123', AnsweredBy: 'machine_end_beep', MachineDetectionDuration: '4200' }

  const unsigned = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() })
  t.equal(unsigned.statusCode, 403, 'no X-Twilio-Signature')
  const forged = await app.inject(signedPost(path.replace('3+pm', '4+pm'), params))
  t.equal(forged.statusCode, 200, 'signed by Twilio, so never an error page')
  t.same(verbs(parseTwiml(forged.body)), ['Hangup'], 'but a purpose this server did not write gets no agent and no voicemail')

  const res = await app.inject(signedPost(path, params))
  t.equal(res.statusCode, 200)
  const twiml = parseTwiml(res.body)
  t.same(verbs(twiml), ['Say', 'Hangup'])
  t.match(twiml.children[0]?.text, /Acme Dental\. We are calling about the following: Confirm the cleaning on Tuesday at 3 pm\./)
  t.match(events.filter((e) => e.type === 'call.outcome'), [{ callSid, outcome: 'machine', answeredBy: 'machine_end_beep' }])
  t.match(events.find((e) => e.type === 'call.webhook'), { callSid, ai: false, purpose: PURPOSE })

  t.equal((await app.inject(signedPost('/twilio/agent-call-status', { CallSid: callSid, CallStatus: 'completed', CallDuration: '19' }))).statusCode, 204)
  await app.recorder.idle()
  const stored = await app.inject({ method: 'GET', url: `/api/calls/${callSid}`, headers: auth })
  t.match(stored.json().call, { callSid, mode: 'agent', direction: 'outbound', purpose: PURPOSE, outcome: 'machine', status: 'completed', aiStatus: 'off' })
  const listed = await app.inject({ method: 'GET', url: '/api/calls', headers: auth })
  t.match(listed.json().calls, [{ callSid, purpose: PURPOSE, outcome: 'machine' }], 'the history list carries both')
})

t.test('the status callback: no-answer, busy and failed become the outcome; the dashboard hub shows it', async (t) => {
  const { app, events } = await setup(t)
  for (const status of ['no-answer', 'busy', 'failed']) {
    const { callSid } = (await agentCall(app, { to: '+14155550123', mode: 'agent', purpose: PURPOSE })).json()
    t.equal((await app.inject(signedPost('/twilio/agent-call-status', { CallSid: callSid, CallStatus: 'ringing' }))).statusCode, 204)
    t.equal((await app.inject(signedPost('/twilio/agent-call-status', { CallSid: callSid, CallStatus: status, CallDuration: '0' }))).statusCode, 204)
    t.match(events.filter((e) => e.callSid === callSid && e.type === 'call.outcome'), [{ outcome: status }], `${status}: one outcome, none for ringing`)
    const view = () => app.hub.snapshot(callSid).calls[0]
    await until(() => `the hub to show ${status} (has ${JSON.stringify(view()?.outcome)})`, () => view()?.outcome === status)
    t.match(view(), { purpose: PURPOSE, outcome: status, phase: 'ended', twilioStatus: status, mode: 'agent', remote: '+14155550123' })
    await app.recorder.idle()
    t.match((await app.inject({ method: 'GET', url: `/api/calls/${callSid}`, headers: auth })).json().call, { outcome: status, purpose: PURPOSE, status })
  }
  t.equal((await app.inject({ method: 'POST', url: '/twilio/agent-call-status', payload: 'CallSid=CA1&CallStatus=busy', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode, 403)
})

t.test('the fake Twilio REST refuses AMD settings Twilio refuses, and records the ones it accepts', async (t) => {
  const fake = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => fake.close())
  const create = async (extra: Record<string, string>) => await fetch(`${fake.url}/2010-04-01/Accounts/${FAKE_ACCOUNT_SID}/Calls.json`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${FAKE_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ To: '+14155550123', From: '+15550002222', Url: 'https://x.example/t', ...extra }).toString(),
  })
  const bads: Array<Record<string, string>> = [{ MachineDetection: 'Sometimes' }, { MachineDetection: 'Enable', AsyncAmd: 'yes' }, { MachineDetection: 'Enable', MachineDetectionTimeout: '120' }]
  for (const bad of bads) {
    const res = await create(bad)
    t.equal(res.status, 400, JSON.stringify(bad))
    t.match(await res.json(), { code: 20001, message: /MachineDetection|AsyncAmd/ })
  }
  const ok = await create({ MachineDetection: 'DetectMessageEnd', MachineDetectionTimeout: '30' })
  t.equal(ok.status, 201)
})
