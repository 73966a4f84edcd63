/** Route schemas: wrong types are clear 400s (never coerced), auth and Twilio's signature come before the schema. */
import t from 'tap'
import type { CallEvent } from '../../src/call/events.ts'
import { buildTestApp, form, signedPost, TEST_DASHBOARD_TOKEN } from '../helpers.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }

t.test('a wrong type in a JSON body is a 400 in the error shape, naming the field; nothing is coerced', async (t) => {
  // Twilio at a closed port: if the number reached click-to-call, the answer would be 400 invalid_number or 502.
  const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000', TWILIO_API_BASE_URL: 'http://127.0.0.1:9' })
  const call = await app.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: { to: 14155550123 } })
  t.equal(call.statusCode, 400)
  t.same(call.json(), { error: 'invalid_request', message: 'body/to must be string' })

  // An unknown field is ignored, as it was before the schemas moved to TypeBox: the call goes on to Twilio
  // (a closed port here, so 502), never a 400 about `from`.
  const extra = await app.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: { to: '+14155550123', from: '+15550001111' } })
  t.equal(extra.statusCode, 502, 'an unknown field is ignored, the number still reaches click-to-call')
  t.equal(extra.json().error, 'twilio_error')

  const missing = await app.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: {} })
  t.same(missing.json(), { error: 'invalid_request', message: 'body must have required properties to' })

  const message = await app.inject({ method: 'POST', url: '/api/whatsapp/send', headers: auth, payload: { to: '+14155550101', body: 42 } })
  t.equal(message.statusCode, 400)
  t.same(message.json(), { error: 'invalid_request', message: 'body/body must be string' })

  const login = await app.inject({ method: 'POST', url: '/login', payload: { token: 12345678901234 } })
  t.equal(login.statusCode, 400)
  t.match(login.json(), { error: 'invalid_request', message: 'body/token must be string' })

  const socket = await app.inject({ url: '/ui?callSid=%3Cscript%3E', headers: auth })
  t.equal(socket.statusCode, 400, 'the dashboard socket\'s query too')
  t.match(socket.json(), { error: 'invalid_request', message: /^querystring\/callSid must match pattern/ })
})

t.test('auth comes before the schema: a stranger learns nothing from a malformed request', async (t) => {
  const app = await buildTestApp(t)
  const call = await app.inject({ method: 'POST', url: '/api/calls', payload: { to: 5 } })
  t.equal(call.statusCode, 401)
  const preview = await app.inject({ url: '/twilio/inbound/preview?from=a&from=b' })
  t.equal(preview.statusCode, 401)
  const previewSignedIn = await app.inject({ url: '/twilio/inbound/preview?from=a&from=b', headers: auth })
  t.same(previewSignedIn.json(), { error: 'invalid_request', message: 'querystring/from must be string' }, 'the same request with auth reaches the schema')
})

t.test('the history list keeps its own messages and still takes the first of a repeated key', async (t) => {
  const app = await buildTestApp(t)
  const repeated = await app.inject({ url: '/api/calls?limit=1&limit=5000', headers: auth })
  t.equal(repeated.statusCode, 200, repeated.body)
  const bad = await app.inject({ url: '/api/calls?limit=5000', headers: auth })
  t.same(bad.json(), { error: 'invalid_request', message: 'limit must be a whole number from 1 to 100' })
})

t.test('Twilio webhooks: the signature is checked before the schema, and params Twilio adds later pass', async (t) => {
  const app = await buildTestApp(t)
  const events: CallEvent[] = []
  app.bus.subscribe((e) => events.push(e))

  // A body the schema would refuse (a number, JSON) is still a plain 403 without a signature, not a 400.
  const unsigned = await app.inject({ method: 'POST', url: '/twilio/call-status', payload: { CallSid: 5, CallStatus: ['completed'] } })
  t.equal(unsigned.statusCode, 403)
  t.equal(unsigned.body, '')
  const unsignedForm = await app.inject({ method: 'POST', url: '/twilio/whatsapp', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ MessageSid: 'SM1', From: 'whatsapp:+14155550101' }) })
  t.equal(unsignedForm.statusCode, 403)

  const params = { CallSid: 'CA00000000000000000000000000000009', CallStatus: 'completed', CallDuration: '7', AccountSid: 'AC1', ApiVersion: '2010-04-01', SomeParamTwilioAddsIn2027: '0042' }
  const signed = await app.inject(signedPost('/twilio/call-status', params))
  t.equal(signed.statusCode, 204, signed.body)
  t.match(events, [{ type: 'call.status', callSid: params.CallSid, status: 'completed', duration: 7 }])

  const message = await app.inject(signedPost('/twilio/whatsapp', { MessageSid: 'SM00000000000000000000000000000001', From: 'whatsapp:+14155550101', To: 'whatsapp:+15550002222', Body: '12', NumMedia: '0', WaId: '14155550101', ChannelMetadata: '{"type":"whatsapp"}' }))
  t.equal(message.statusCode, 200, message.body)
  await app.recorder.idle()
  const timeline = (await app.inject({ url: '/api/contacts/%2B14155550101', headers: auth })).json().timeline
  t.match(timeline, [{ kind: 'message', message: { sid: 'SM00000000000000000000000000000001', body: '12' } }], 'a numeric-looking body is stored as sent')
})

t.test('the dashboard API takes JSON only; form bodies are for Twilio\'s webhooks, login and WhatsApp send', async (t) => {
  const app = await buildTestApp(t)
  const formHeaders = { ...auth, 'content-type': 'application/x-www-form-urlencoded' }
  const call = await app.inject({ method: 'POST', url: '/api/calls', headers: formHeaders, payload: form({ to: '+14155550123' }) })
  t.equal(call.statusCode, 415, 'click-to-call refuses a form body')
  const contact = await app.inject({ method: 'PATCH', url: '/api/contacts/%2B14155550101', headers: formHeaders, payload: form({ name: 'Ada' }) })
  t.equal(contact.statusCode, 415, 'a contact edit refuses a form body')
  const json = await app.inject({ method: 'PATCH', url: '/api/contacts/%2B14155550101', headers: auth, payload: { name: 'Ada' } })
  t.equal(json.statusCode, 200, 'the same edit as JSON is stored')
  // WhatsApp send accepted forms before (its plugin registered formbody) and still does: past the parser to the
  // "not configured" answer, not a 415.
  const send = await app.inject({ method: 'POST', url: '/api/whatsapp/send', headers: formHeaders, payload: form({ to: '+14155550101', body: 'hi' }) })
  t.not(send.statusCode, 415)
  const login = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ token: 'wrong-token-wrong' }) })
  t.not(login.statusCode, 415, 'the login form still posts')
})
