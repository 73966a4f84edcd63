import t from 'tap'
import { buildTestApp, form, signedPost, TEST_AUTH_TOKEN, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest, type FakeTwilioRest } from '../../fakes/twilio-rest.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
const CUSTOMER = '+14155550101'
const SENDER = '+15550003333'

async function withFake (t: Parameters<typeof buildTestApp>[0], env: Record<string, string | undefined> = {}) {
  const fake: FakeTwilioRest = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: fake.url, TWILIO_WHATSAPP_NUMBER: SENDER, ...env })
  return { app, fake }
}

const inbound = (sid: string, body: string) => ({
  MessageSid: sid,
  SmsMessageSid: sid,
  AccountSid: FAKE_ACCOUNT_SID,
  From: `whatsapp:${CUSTOMER}`,
  To: `whatsapp:${SENDER}`,
  Body: body,
  NumMedia: '0',
  ProfileName: 'Ada',
  WaId: CUSTOMER.slice(1),
  SmsStatus: 'received',
  ApiVersion: '2010-04-01',
})

t.test('POST /twilio/whatsapp stores a signed inbound message and answers at once with empty TwiML', async (t) => {
  const { app } = await withFake(t)
  const res = await app.inject(signedPost('/twilio/whatsapp', inbound('SM00000000000000000000000000000001', 'Hi, is my order ready?')))
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/xml/)
  t.equal(res.body, '<?xml version="1.0" encoding="UTF-8"?><Response/>', 'no reply is sent')
  await app.recorder.idle()
  const contact = (await app.inject({ url: `/api/contacts/${encodeURIComponent(CUSTOMER)}`, headers: auth })).json()
  t.match(contact.contact, { phone: CUSTOMER, name: 'Ada' }, 'the WhatsApp profile name becomes the contact name')
  t.match(contact.timeline, [{ kind: 'message', message: { sid: 'SM00000000000000000000000000000001', direction: 'inbound', body: 'Hi, is my order ready?', status: 'received', from: `whatsapp:${CUSTOMER}` } }])
})

t.test('unsigned or wrongly signed WhatsApp webhooks get 403 with an empty body and store nothing', async (t) => {
  const { app } = await withFake(t)
  const params = inbound('SM00000000000000000000000000000002', 'forged')
  for (const path of ['/twilio/whatsapp', '/twilio/whatsapp-status']) {
    const none = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(params) })
    t.equal(none.statusCode, 403, `${path} unsigned`)
    t.equal(none.body, '')
    const signed = signedPost(path, params)
    const tampered = await app.inject({ ...signed, payload: form({ ...params, Body: 'changed' }) })
    t.equal(tampered.statusCode, 403, `${path} tampered`)
  }
  const other = signedPost('/twilio/whatsapp', params)
  const wrongPath = await app.inject({ ...other, url: '/twilio/whatsapp?x=1' })
  t.equal(wrongPath.statusCode, 403, 'the query string is part of what is signed')
  await app.recorder.idle()
  t.equal((await app.inject({ url: `/api/contacts/${encodeURIComponent(CUSTOMER)}`, headers: auth })).statusCode, 404)
})

t.test('POST /api/whatsapp/send sends through the twilio client with whatsapp: addresses and a status callback', async (t) => {
  const { app, fake } = await withFake(t)
  const res = await app.inject({ method: 'POST', url: '/api/whatsapp/send', headers: auth, payload: { to: '+1 (415) 555-0101', body: 'Your order is ready.' } })
  t.equal(res.statusCode, 201, res.body)
  const { sid, status } = res.json()
  t.match(sid, /^SM[0-9a-f]{32}$/)
  t.equal(status, 'queued')
  const req = fake.requests.find((r) => r.path.endsWith('/Messages.json'))
  t.match(req?.params, {
    From: `whatsapp:${SENDER}`,
    To: `whatsapp:${CUSTOMER}`,
    Body: 'Your order is ready.',
    StatusCallback: 'https://talkhint.example.com/twilio/whatsapp-status',
  })
  t.equal(req?.username, FAKE_ACCOUNT_SID)
  await app.recorder.idle()
  t.match(await app.store.getMessage(sid), { direction: 'outbound', status: 'queued', body: 'Your order is ready.', contactPhone: CUSTOMER })

  // Twilio's status callbacks (signed), possibly out of order: the stored status only moves forward.
  const statusPost = (s: string, extra: Record<string, string> = {}) => signedPost('/twilio/whatsapp-status', {
    MessageSid: sid, SmsSid: sid, MessageStatus: s, SmsStatus: s, AccountSid: FAKE_ACCOUNT_SID, From: `whatsapp:${SENDER}`, To: `whatsapp:${CUSTOMER}`, ApiVersion: '2010-04-01', ...extra,
  })
  for (const s of ['sent', 'delivered', 'sent']) {
    const r = await app.inject(statusPost(s))
    t.equal(r.statusCode, 204)
    t.equal(r.body, '')
  }
  await app.recorder.idle()
  t.equal((await app.store.getMessage(sid))?.status, 'delivered')
  await app.inject(statusPost('read'))
  await app.recorder.idle()
  t.equal((await app.store.getMessage(sid))?.status, 'read')
})

t.test('the 24-hour window refusal (63016) is a clear 422, kept in the timeline as failed', async (t) => {
  const { app, fake } = await withFake(t)
  fake.failNextMessage(63016, 'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.')
  const res = await app.inject({ method: 'POST', url: '/api/whatsapp/send', headers: auth, payload: { to: CUSTOMER, body: 'Following up on our call' } })
  t.equal(res.statusCode, 422)
  t.match(res.json(), { error: 'outside_session_window', twilioCode: 63016, message: /24 hours.*template/s })
  await app.recorder.idle()
  const timeline = (await app.inject({ url: `/api/contacts/${encodeURIComponent(CUSTOMER)}`, headers: auth })).json().timeline
  t.match(timeline, [{ kind: 'message', message: { sid: null, direction: 'outbound', status: 'failed', errorCode: 63016, body: 'Following up on our call' } }])
})

t.test('send: other Twilio errors are 502 with the reason; bad input 400; missing settings 503; auth 401', async (t) => {
  const { app, fake } = await withFake(t)
  const send = (payload: object, headers: Record<string, string> = auth) => app.inject({ method: 'POST', url: '/api/whatsapp/send', headers, payload })
  fake.failNextMessage(30007, 'Message filtered', 400)
  const filtered = await send({ to: CUSTOMER, body: 'hi' })
  t.equal(filtered.statusCode, 502)
  t.match(filtered.json().message, /Message filtered.*30007/)
  t.equal((await send({ to: '555', body: 'hi' })).json().error, 'invalid_number')
  t.equal((await send({ to: CUSTOMER, body: '   ' })).statusCode, 400)
  t.equal((await send({ to: CUSTOMER, body: 'x'.repeat(1601) })).statusCode, 400)
  t.equal((await send({ to: CUSTOMER })).statusCode, 400)
  t.equal((await send({ to: CUSTOMER, body: 'hi' }, {})).statusCode, 401)

  const bare = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: fake.url })
  const off = await bare.inject({ method: 'POST', url: '/api/whatsapp/send', headers: auth, payload: { to: CUSTOMER, body: 'hi' } })
  t.equal(off.statusCode, 503)
  t.match(off.json().message, /TWILIO_WHATSAPP_NUMBER/)
})
