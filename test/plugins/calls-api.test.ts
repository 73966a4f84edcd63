import t from 'tap'
import { buildTestApp, TEST_AUTH_TOKEN, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../fakes/twilio-rest.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }

t.test('POST /api/calls rings the operator through the real twilio client', async (t) => {
  const fake = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: fake.url })
  const res = await app.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: { to: '+1 (415) 555-0123' } })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json(), { callSid: /^CA[0-9a-f]{32}$/, status: 'queued' })
  const req = fake.requests.find((r) => r.path.endsWith('/Calls.json'))
  t.ok(req, 'the fake received Calls.create')
  t.equal(req?.username, FAKE_ACCOUNT_SID)
  t.match(req?.params, {
    To: '+15550001111',
    From: '+15550002222',
    Url: 'https://talkhint.example.com/twilio/outbound?to=%2B14155550123',
    Method: 'POST',
    StatusCallback: 'https://talkhint.example.com/twilio/call-status',
    StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
  })
})

t.test('POST /api/calls rejects a bad number, missing auth and missing Twilio settings', async (t) => {
  const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: 'http://127.0.0.1:9' })
  const bad = await app.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: { to: '12345' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().error, 'invalid_number')
  const noAuth = await app.inject({ method: 'POST', url: '/api/calls', payload: { to: '+14155550123' } })
  t.equal(noAuth.statusCode, 401)
  const wrong = await app.inject({ method: 'POST', url: '/api/calls', headers: { authorization: 'Bearer nope-nope-nope' }, payload: { to: '+14155550123' } })
  t.equal(wrong.statusCode, 401)
  const down = await app.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: { to: '+14155550123' } })
  t.equal(down.statusCode, 502, 'Twilio unreachable is a 502 with a message, not a 500')
  t.match(down.json().message, /Twilio refused the call/)

  const bare = await buildTestApp(t, { TWILIO_ACCOUNT_SID: undefined })
  const off = await bare.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: { to: '+14155550123' } })
  t.equal(off.statusCode, 503)
  t.match(off.json().message, /TWILIO_ACCOUNT_SID/)
})
