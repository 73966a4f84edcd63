/** AI → person through the whole app: warm transfer with a whispered briefing, the copilot on the person's leg, and the way back. */
import t, { type Test } from 'tap'
import type { CallEvent, CallHandoffEvent, CallbackRequestedEvent, TranscriptEvent } from '../../../src/call/events.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../../fakes/twilio-rest.ts'
import { createFakeResponses, type RecordedResponsesRequest } from '../../../fakes/openai-http.ts'
import { FAKE_OPENAI_KEY, tone, type FakeRealtimeConnection } from '../../../fakes/realtime-server.ts'
import { buildTestApp, signedPost, TEST_AUTH_TOKEN, TEST_DASHBOARD_TOKEN } from '../../helpers.ts'
import { callSid, realtimeHarness, sleep, type Harness } from '../../realtime-harness.ts'

const BRIEFING = 'Ada is calling about upgrading to the premium plan. The agent promised a person would confirm the annual price.'

function reply (req: RecordedResponsesRequest): string {
  if ((req.instructions ?? '').includes('brief a human operator')) return BRIEFING
  if ((req.body?.text as { format?: { type?: string } } | undefined)?.format?.type === 'json_schema') {
    return JSON.stringify({ summary: 'Premium upgrade; handed to a person who confirmed the price.', intent: 'upgrade', action_items: [] })
  }
  return 'Confirm the annual price, then offer to send the quote.'
}

async function setup (t: Test) {
  const rest = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => rest.close())
  const responses = createFakeResponses({ apiKey: FAKE_OPENAI_KEY, reply, tokenDelayMs: 1 })
  t.teardown(() => responses.stop())
  const h = await realtimeHarness(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: rest.url, MODE: 'agent' }, { http: responses.listener })
  h.fake.onResponseCreate = (conn, event) => {
    const instructions = String((event.response as { instructions?: string } | undefined)?.instructions ?? '')
    if (instructions.includes('Greet')) conn.respond({ chunks: [tone(100, 1)], transcript: 'Hello, how can I help?' })
    else if (event.response === undefined && (event as { type?: string }).type === 'response.create') conn.respond({ chunks: [tone(100, 2)], transcript: 'Nobody is free right now. May I take a message?' })
  }
  return { rest, h }
}

/** The caller says `text` on an agent session (VAD and transcription as the API sends them). */
async function callerSays (h: Harness, conn: FakeRealtimeConnection, text: string): Promise<void> {
  const item = conn.speechStarted({ audioStartMs: 0 })
  conn.speechStopped(item, 500)
  conn.transcribe(item, text)
  await h.waitEvent((e) => e.type === 'transcript.final' && e.itemId.endsWith(item))
}

const handoff = (h: Harness, sid: string, stage: CallHandoffEvent['stage']) =>
  h.waitEvent<CallHandoffEvent>((e) => e.type === 'call.handoff' && e.callSid === sid && e.stage === stage)

t.test('warm transfer: the operator hears a briefing, the copilot follows them, and it stays one call with one summary', async (t) => {
  const { rest, h } = await setup(t)
  const sid = callSid()
  const agent = await h.call({ callSid: sid, mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('response.create')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  await callerSays(h, conn, 'I want the premium plan, can I talk to a person about the price?')

  conn.functionCall('transfer_to_operator', { reason: 'pricing' })
  const redirect = await rest.waitFor(new RegExp(`/Calls/${sid}\\.json$`))
  const twiml = String(redirect.params.Twiml)
  t.match(twiml, /<Say[^>]*>Connecting you to a person now\.<\/Say><Start><Stream name="talkhint-person"/, 'the caller hears one sentence, then the copilot forks the call')
  t.match(twiml, /<Number url="https:\/\/talkhint\.example\.com\/twilio\/whisper\?call=CA\w+"/)
  const briefed = await handoff(h, sid, 'briefed')
  t.equal(briefed.briefing, BRIEFING, 'the briefing is written by the text model from the conversation')

  // Twilio moves the call: the agent stream stops. The call is not over.
  agent.stop()
  await h.waitEvent((e) => e.type === 'call.stopped' && e.callSid === sid)
  let view = h.app.hub.snapshot(sid).calls[0]
  t.equal(view?.phase, 'live', 'the agent stream ending does not end a call being handed over')
  t.match(view?.handoff, { stage: 'briefed', reason: 'tool', briefing: BRIEFING })

  // The operator's phone rings, they answer, and hear the briefing before the caller is bridged.
  t.equal((await h.app.inject(signedPost(`/twilio/transfer-status?call=${sid}`, { CallSid: 'CAleg', ParentCallSid: sid, CallStatus: 'ringing' }))).statusCode, 204)
  const whisper = await h.app.inject(signedPost(`/twilio/whisper?call=${sid}`, { CallSid: 'CAleg', ParentCallSid: sid, CallStatus: 'in-progress' }))
  t.equal(whisper.statusCode, 200)
  t.match(whisper.body, new RegExp(`<Response><Say[^>]*>${BRIEFING.replace(/\./g, '\\.')}</Say></Response>`))
  await handoff(h, sid, 'joined')
  const unsigned = await h.app.inject({ method: 'POST', url: `/twilio/whisper?call=${sid}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `CallSid=${sid}` })
  t.equal(unsigned.statusCode, 403, 'a stranger cannot read the briefing')

  // The person's leg: the <Start><Stream> of the transfer TwiML, both tracks, under the same CallSid.
  const joinedAt = h.events.length
  const person = await h.call({ callSid: sid, mode: 'assist', stream: 'start', tracks: ['inbound', 'outbound'] })
  const [caller, operator] = await Promise.all([h.fake.waitForConnection((c) => c.id === 2), h.fake.waitForConnection((c) => c.id === 3)])
  for (const c of [caller, operator]) await c.waitFor('session.update')
  const callerItem = caller.speechStarted({ audioStartMs: 0 })
  caller.speechStopped(callerItem, 400)
  const operatorItem = operator.speechStarted({ audioStartMs: 500 })
  operator.speechStopped(operatorItem, 900)
  caller.transcribe(callerItem, 'Hi, is the annual price lower?')
  operator.transcribe(operatorItem, 'Yes, annual billing saves twenty percent.')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'operator')
  const hint = await h.waitEvent((e) => e.type === 'hint.done' && e.callSid === sid)
  t.ok(h.events.indexOf(hint) > joinedAt, 'hints come once the person is on the call')

  person.stop()
  await h.waitEvent((e) => e.type === 'call.stopped' && e.callSid === sid && e.streamSid === person.streamSid)
  const done = await h.app.inject(signedPost(`/twilio/transfer-action?call=${sid}`, { CallSid: sid, DialCallStatus: 'completed', DialCallSid: 'CAleg' }))
  t.match(done.body, /<Response><Hangup\/><\/Response>/)
  await h.waitEvent((e) => e.type === 'call.summary' && e.callSid === sid)
  await sleep(100)

  view = h.app.hub.snapshot(sid).calls[0]
  t.equal(view?.phase, 'ended')
  const speakers = (view?.lines ?? []).map((l) => l.speaker)
  t.same([...new Set(speakers)].sort(), ['agent', 'operator', 'remote'], 'one timeline: the agent, the caller and the operator')
  t.equal(view?.lines.find((l) => l.speaker === 'agent')?.text, 'Hello, how can I help?', 'the agent\'s greeting is on it')
  t.equal(h.events.filter((e) => e.type === 'call.summary' && e.callSid === sid).length, 1, 'one summary for the whole call')
  const summarized = h.events.filter((e): e is TranscriptEvent => e.type === 'transcript.final' && e.callSid === sid).map((e) => e.text)
  t.ok(summarized.includes('Yes, annual billing saves twenty percent.') && summarized.includes('Hello, how can I help?'))
})

t.test('nobody answers: the caller is back with the agent, which knows the conversation and takes a message', async (t) => {
  const { h } = await setup(t)
  const sid = callSid()
  const agent = await h.call({ callSid: sid, mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('response.create')
  await callerSays(h, conn, 'Can I speak to someone about my invoice?')
  conn.functionCall('transfer_to_operator', { reason: 'invoice' })
  await handoff(h, sid, 'started')
  agent.stop()
  await h.waitEvent((e) => e.type === 'call.stopped' && e.callSid === sid)

  const back = await h.app.inject(signedPost(`/twilio/transfer-action?call=${sid}`, { CallSid: sid, DialCallStatus: 'no-answer', DialCallSid: 'CAleg' }))
  t.equal(back.statusCode, 200)
  t.match(back.body, /<Stop><Stream name="talkhint-person"\/><\/Stop><Connect action="https:\/\/talkhint\.example\.com\/twilio\/connect-action" method="POST"><Stream url="wss:\/\/talkhint\.example\.com\/media"/, 'the fork stops and the agent takes the caller back')
  t.match(back.body, /<Parameter name="mode" value="agent"\/>/)
  const returned = await handoff(h, sid, 'returned')
  t.equal(returned.dialStatus, 'no-answer')

  await h.call({ callSid: sid, mode: 'agent' })
  const again = await h.fake.waitForConnection((c) => c.id === 2)
  const history = await again.waitFor('conversation.item.create', (e) => JSON.stringify(e).includes('my invoice'))
  t.match(history, { item: { type: 'message', role: 'user' } }, 'the new session knows what the caller said')
  const note = await again.waitFor('conversation.item.create', (e) => (e.item as { role?: string }).role === 'system')
  t.match(JSON.stringify(note), /nobody is free/)
  const first = await again.waitFor('response.create')
  t.notMatch(JSON.stringify(first), /Greet/, 'not greeted twice')

  again.functionCall('take_message', { name: 'Ada Lovelace', callback_number: '+14155550199', reason: 'A question about invoice 42' })
  const task = await h.waitEvent<CallbackRequestedEvent>((e) => e.type === 'callback.requested')
  t.match(task, { callSid: sid, name: 'Ada Lovelace', callbackNumber: '+14155550199', reason: 'A question about invoice 42', caller: '+14155550100' })
  const output = await again.waitFor('conversation.item.create', (e) => (e.item as { type?: string }).type === 'function_call_output')
  t.match(String((output.item as { output: string }).output), /"ok":true/)

  await h.app.recorder.idle()
  const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
  const listed = await h.app.inject({ url: '/api/callbacks?open=true', headers: auth })
  t.equal(listed.statusCode, 200)
  t.match(listed.json().callbacks, [{ callSid: sid, contactPhone: '+14155550100', name: 'Ada Lovelace', callbackNumber: '+14155550199', doneAt: null }])
  t.match(h.app.hub.snapshot(sid).calls[0]?.callbacks, [{ name: 'Ada Lovelace' }], 'shown on the dashboard with the call')
  const closed = await h.app.inject({ method: 'PATCH', url: `/api/callbacks/${encodeURIComponent(task.taskId)}`, headers: auth, payload: { done: true } })
  t.equal(closed.statusCode, 204)
  t.same((await h.app.inject({ url: '/api/callbacks?open=true', headers: auth })).json().callbacks, [], 'done tasks leave the open list')
  t.equal((await h.app.inject({ url: '/api/callbacks' })).statusCode, 401, 'callbacks need the dashboard login')
})

t.test('nobody answers and no AI can take the call back: a callback is promised and stored, never silence', async (t) => {
  // No OPENAI_API_KEY: the agent cannot come back, so Twilio gets a sentence and a hang-up, and a task is stored.
  const app = await buildTestApp(t, { MODE: 'agent' })
  const events: CallEvent[] = []
  app.bus.subscribe((e) => events.push(e))
  app.bus.publish({ type: 'call.webhook', callSid: 'CAnoai', at: Date.now(), mode: 'agent', direction: 'inbound', from: '+14155550100', to: '+15550002222', ai: true })
  const res = await app.inject(signedPost('/twilio/transfer-action?call=CAnoai', { CallSid: 'CAnoai', DialCallStatus: 'busy' }))
  t.match(res.body, /<Say[^>]*>Sorry, nobody is free to take your call right now\. We have your number and will call you back[^<]*<\/Say><Hangup\/>/)
  t.match(events.filter((e) => e.type === 'callback.requested'), [{ callSid: 'CAnoai', callbackNumber: '+14155550100', caller: '+14155550100' }])
  await app.recorder.idle()
  const listed = await app.inject({ url: '/api/callbacks', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.match(listed.json().callbacks, [{ callSid: 'CAnoai', contactPhone: '+14155550100' }])
})

t.test('the whisper does not wait for a slow or missing model: the plain briefing names the caller and their last words', async (t) => {
  const { h } = await setup(t)
  const sid = callSid()
  h.app.bus.publish({ type: 'call.webhook', callSid: sid, at: Date.now(), mode: 'agent', direction: 'inbound', from: '+14155550100', to: '+15550002222', ai: true })
  h.app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: 'i1', speaker: 'remote', text: 'My order never arrived.', startMs: 0, endMs: 900 })
  // A handoff nobody briefed (say, the instance that started it died): the whisper waits 4 s at most.
  h.app.bus.publish({ type: 'call.handoff', callSid: sid, at: Date.now(), stage: 'started', reason: 'fallback' })
  const started = Date.now()
  const whisper = await h.app.inject(signedPost(`/twilio/whisper?call=${sid}`, { CallSid: 'CAleg', ParentCallSid: sid }))
  t.ok(Date.now() - started < 6000)
  t.match(whisper.body, /A caller from \+14155550100 is being transferred to you\. The AI agent had a technical problem\. Their last words were: My order never arrived\./)
  const joined = h.events.find((e: CallEvent): e is CallHandoffEvent => e.type === 'call.handoff' && e.stage === 'joined')
  t.match(joined?.briefing, /My order never arrived/, 'the dashboard shows what the operator heard')
})
