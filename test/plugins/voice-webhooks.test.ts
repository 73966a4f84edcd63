import t from 'tap'
import type { Test } from 'tap'
import { buildTestApp, signedPost, TEST_AUTH_TOKEN, TEST_DASHBOARD_TOKEN, twilioSignature, form } from '../helpers.ts'
import { parseTwiml, streamParams, verbs } from '../twiml-xml.ts'
import type { CallEvent } from '../../src/call/events.ts'
import { streamTokenKey, verifyStreamToken } from '../../src/twilio/stream-token.ts'

/** The stream's parameters less its token, after checking the token verifies for `callSid` with exactly them. */
function checkedParams (t: Test, stream: Parameters<typeof streamParams>[0], callSid: string): Record<string, string> {
  const { token, ...rest } = streamParams(stream)
  t.ok(token !== undefined && 'token'.length + token.length < 500, 'a token <Parameter> under Twilio\'s 500 characters')
  const res = verifyStreamToken(streamTokenKey({ twilioAuthToken: TEST_AUTH_TOKEN }), { ...rest, token: token ?? '' }, callSid, Date.now())
  t.match(res, { ok: true, claims: { callSid, stream: rest.stream, mode: rest.mode, direction: rest.direction, from: rest.from, to: rest.to } }, 'the token vouches for these parameters')
  return rest
}

/** A `<Dial>` to one `<Number>` that reports its leg's progress to /twilio/dial-status (the dashboard's ringing state). */
function checkDialledNumber (t: Test, dial: ReturnType<typeof parseTwiml>, number: string): void {
  t.equal(dial.name, 'Dial')
  t.equal(dial.children.length, 1, 'one <Number>')
  const n = dial.children[0]!
  t.equal(n.name, 'Number')
  t.equal(n.text, number)
  t.same(n.attrs, { statusCallback: 'https://talkhint.example.com/twilio/dial-status', statusCallbackMethod: 'POST', statusCallbackEvent: 'initiated ringing answered completed' })
}

const inboundParams = { CallSid: 'CA00000000000000000000000000000001', AccountSid: 'AC1', From: '+14155550100', To: '+15550002222', Direction: 'inbound', CallStatus: 'ringing' }

t.test('assist: <Start><Stream both_tracks> with parameters, then <Dial answerOnBridge> to the operator', async (t) => {
  const app = await buildTestApp(t)
  const events: CallEvent[] = []
  app.bus.subscribe((e) => events.push(e))
  const res = await app.inject(signedPost('/twilio/inbound', inboundParams))
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/xml/)
  const root = parseTwiml(res.body)
  t.same(verbs(root), ['Start', 'Dial'])
  const stream = root.children[0].children[0]
  t.equal(stream.name, 'Stream')
  t.match(stream.attrs, { url: 'wss://talkhint.example.com/media', track: 'both_tracks', statusCallback: 'https://talkhint.example.com/twilio/stream-status' })
  t.same(checkedParams(t, stream, inboundParams.CallSid), { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start' })
  t.equal(root.children[1].attrs.answerOnBridge, 'true')
  checkDialledNumber(t, root.children[1], '+15550001111')
  t.match(events, [{ type: 'call.webhook', callSid: inboundParams.CallSid, mode: 'assist', direction: 'inbound', from: '+14155550100', ai: true }])
})

t.test('agent: <Connect action><Stream> (inbound track only) with the same parameters, nothing after it', async (t) => {
  const app = await buildTestApp(t, { MODE: 'agent' })
  const root = parseTwiml((await app.inject(signedPost('/twilio/inbound', inboundParams))).body)
  t.same(verbs(root), ['Connect'], 'what follows comes from the action, once the stream has ended')
  t.same(root.children[0].attrs, { action: 'https://talkhint.example.com/twilio/connect-action', method: 'POST' })
  const stream = root.children[0].children[0]
  t.equal(stream.attrs.url, 'wss://talkhint.example.com/media')
  t.notOk(stream.attrs.track, 'no track attribute: Connect allows inbound_track only (31941)')
  t.same(checkedParams(t, stream, inboundParams.CallSid), { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'agent', stream: 'connect' })
})

t.test('outbound: short <Say>, the same <Start><Stream>, then <Dial> to the validated number', async (t) => {
  const app = await buildTestApp(t)
  const params = { CallSid: 'CA00000000000000000000000000000002', From: '+15550002222', To: '+15550001111', Direction: 'outbound-api' }
  const root = parseTwiml((await app.inject(signedPost('/twilio/outbound?to=%2B14155550123', params))).body)
  t.same(verbs(root), ['Say', 'Start', 'Dial'])
  t.same(checkedParams(t, root.children[1].children[0], params.CallSid), { direction: 'outbound', from: '+15550002222', to: '+14155550123', mode: 'assist', stream: 'start' })
  t.match(root.children[2].attrs, { answerOnBridge: 'true', callerId: '+15550002222' })
  checkDialledNumber(t, root.children[2], '+14155550123')
})

t.test('outbound with a bad number gets a spoken error, not a 500', async (t) => {
  const app = await buildTestApp(t)
  for (const query of ['?to=12345', '?to=%2Bnot-a-number', '']) {
    const res = await app.inject(signedPost(`/twilio/outbound${query}`, { CallSid: 'CA3' }))
    t.equal(res.statusCode, 200, query)
    const root = parseTwiml(res.body)
    t.same(verbs(root), ['Say', 'Hangup'])
    t.match(root.children[0].text, /not a valid phone number/)
  }
})

t.test('assist with no OPERATOR_PHONE: the caller hears why, never a silent hang-up', async (t) => {
  const app = await buildTestApp(t, { OPERATOR_PHONE: undefined })
  const root = parseTwiml((await app.inject(signedPost('/twilio/inbound', inboundParams))).body)
  t.same(verbs(root), ['Say', 'Hangup'])
  t.match(root.children[0].text, /not set up yet/)
})

t.test('draining or over MAX_CALLS: the call still connects, without AI', async (t) => {
  const app = await buildTestApp(t, { MODE: 'agent' })
  app.lifecycle.startDrain()
  const root = parseTwiml((await app.inject(signedPost('/twilio/inbound', inboundParams))).body)
  t.same(verbs(root), ['Say', 'Dial'])
  checkDialledNumber(t, root.children[1], '+15550001111')
  const assist = await buildTestApp(t, { MAX_CALLS: '1' })
  // Fill the only slot with a fake live call.
  assist.calls.add({ callSid: 'CAx', streamSid: 'MZx', log: assist.log } as never)
  const root2 = parseTwiml((await assist.inject(signedPost('/twilio/inbound', inboundParams))).body)
  t.same(verbs(root2), ['Dial'], 'assist past MAX_CALLS: a plain dial, no stream')
})

t.test('every Twilio route rejects a missing or wrong signature with 403 and an empty body', async (t) => {
  const app = await buildTestApp(t)
  for (const path of ['/twilio/inbound', '/twilio/outbound?to=%2B14155550123', '/twilio/call-status', '/twilio/dial-status', '/twilio/stream-status']) {
    const missing = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(inboundParams) })
    t.equal(missing.statusCode, 403, `${path} without signature`)
    t.equal(missing.body, '')
    const wrongToken = await app.inject({ ...signedPost(path, inboundParams), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(path, inboundParams, 'other-token') } })
    t.equal(wrongToken.statusCode, 403, `${path} signed with another token`)
    const tampered = signedPost(path, inboundParams)
    tampered.payload = form({ ...inboundParams, From: '+19995550000' })
    t.equal((await app.inject(tampered)).statusCode, 403, `${path} with a tampered param`)
    const otherHost = await app.inject({ ...signedPost(path, inboundParams), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(path, inboundParams, undefined, 'https://evil.example.com') } })
    t.equal(otherHost.statusCode, 403, `${path} signed for another host`)
  }
})

t.test('status callbacks answer 204 at once and report to the bus', async (t) => {
  const app = await buildTestApp(t)
  const events: CallEvent[] = []
  app.bus.subscribe((e) => events.push(e))
  const status = await app.inject(signedPost('/twilio/call-status', { CallSid: 'CA9', CallStatus: 'completed', CallDuration: '42' }))
  t.equal(status.statusCode, 204)
  t.equal(status.body, '')
  const stream = await app.inject(signedPost('/twilio/stream-status', { CallSid: 'CA9', StreamSid: 'MZ9', StreamEvent: 'stream-error', StreamError: 'boom', Timestamp: new Date().toISOString() }))
  t.equal(stream.statusCode, 204)
  t.match(events, [{ type: 'call.status', callSid: 'CA9', status: 'completed', duration: 42 }])
  await app.inject(signedPost('/twilio/call-status', { CallSid: 'CA8', CallStatus: 'ringing', Direction: 'outbound-api' }))
  t.match(events[1], { type: 'call.status', callSid: 'CA8', status: 'ringing', direction: 'outbound' }, 'a click-to-call leg says it is outbound')
})

t.test('the dialled leg\'s progress (/twilio/dial-status) reaches the bus as call.dial on the parent call', async (t) => {
  const app = await buildTestApp(t)
  const events: CallEvent[] = []
  app.bus.subscribe((e) => events.push(e))
  for (const CallStatus of ['initiated', 'ringing', 'in-progress', 'completed']) {
    const res = await app.inject(signedPost('/twilio/dial-status', { CallSid: 'CAchild', ParentCallSid: 'CAparent', CallStatus, Direction: 'outbound-dial', To: '+14155550123' }))
    t.equal(res.statusCode, 204, CallStatus)
    t.equal(res.body, '')
  }
  t.match(events, ['initiated', 'ringing', 'in-progress', 'completed'].map((status) => ({ type: 'call.dial', callSid: 'CAparent', childSid: 'CAchild', status })))
  const noParent = await app.inject(signedPost('/twilio/dial-status', { CallSid: 'CAchild', CallStatus: 'ringing' }))
  t.equal(noParent.statusCode, 400, 'a signed request without ParentCallSid is malformed')
  t.match(noParent.json(), { error: String, message: /ParentCallSid/ })
  t.equal(events.length, 4, 'nothing published for it')
})

t.test('GET /twilio/inbound/preview shows the TwiML a call would get, behind the dashboard token', async (t) => {
  const app = await buildTestApp(t)
  t.equal((await app.inject('/twilio/inbound/preview')).statusCode, 401)
  const res = await app.inject({ url: '/twilio/inbound/preview', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.equal(res.statusCode, 200)
  t.same(verbs(parseTwiml(res.body)), ['Start', 'Dial'])
})

t.test('<Connect action> answers from why the agent ended the stream; unknown calls get the operator', async (t) => {
  const app = await buildTestApp(t, { MODE: 'agent' })
  const action = (callSid: string) => app.inject(signedPost('/twilio/connect-action', { CallSid: callSid, AccountSid: 'AC1', CallStatus: 'in-progress' }))
  const outcome = (callSid: string, o: 'hangup' | 'transfer' | 'fallback') => app.bus.publish({ type: 'stream.outcome', callSid, at: Date.now(), outcome: o })
  outcome('CA1', 'hangup')
  outcome('CA2', 'transfer')
  outcome('CA3', 'fallback')
  const hangup = await action('CA1')
  t.equal(hangup.statusCode, 200)
  t.match(hangup.headers['content-type'], /^text\/xml/)
  t.same(verbs(parseTwiml(hangup.body)), ['Hangup'], 'end_call: the call ends, no transfer')
  t.same(verbs(parseTwiml((await action('CA1')).body)), ['Hangup'], 'a repeated request gets the same answer')
  // To a person, always warm: one sentence, the copilot's fork of both tracks, the operator dialled with a whisper.
  const transfer = parseTwiml((await action('CA2')).body)
  t.same(verbs(transfer), ['Say', 'Start', 'Dial'])
  t.equal(transfer.children[0].text, 'Connecting you to a person now.')
  t.match(transfer.children[1].children[0].attrs, { name: 'talkhint-person', track: 'both_tracks' })
  t.equal(transfer.children[2].children[0].text, '+15550001111')
  t.equal(transfer.children[2].children[0].attrs.url, 'https://talkhint.example.com/twilio/whisper?call=CA2')
  const fallback = parseTwiml((await action('CA3')).body)
  t.same(verbs(fallback), ['Say', 'Start', 'Dial'])
  t.match(fallback.children[0].text, /technical trouble/)
  const started: unknown[] = []
  app.bus.subscribe((e) => { if (e.type === 'call.handoff' && e.stage === 'started') started.push(e) })
  const unknown = parseTwiml((await action('CA4')).body)
  t.same(verbs(unknown), ['Say', 'Start', 'Dial'], 'no record (another instance, a restart, AI off): the operator, as before')
  t.match(unknown.children[0].text, /technical trouble/)
  t.match(started, [{ callSid: 'CA4', reason: 'fallback' }], 'a handoff nobody recorded starts here')
  const unsigned = await app.inject({ method: 'POST', url: '/twilio/connect-action', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ CallSid: 'CA1' }) })
  t.equal(unsigned.statusCode, 403)
  t.equal(unsigned.body, '')
})

t.test('<Connect action> without OPERATOR_PHONE: a sentence and a hang-up, never a silent line', async (t) => {
  const app = await buildTestApp(t, { MODE: 'agent', OPERATOR_PHONE: undefined })
  app.bus.publish({ type: 'stream.outcome', callSid: 'CA5', at: Date.now(), outcome: 'fallback' })
  for (const sid of ['CA5', 'CA6']) {
    const root = parseTwiml((await app.inject(signedPost('/twilio/connect-action', { CallSid: sid }))).body)
    t.same(verbs(root), ['Say', 'Hangup'], sid)
    t.match(root.children[0].text, /Sorry/)
  }
})
