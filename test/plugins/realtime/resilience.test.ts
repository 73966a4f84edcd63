import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { AiStatusEvent, CallWebhookEvent } from '../../../src/call/events.ts'
import { TWILIO_PATHS } from '../../../src/routes.ts'
import { TwilioMediaClient } from '../../../fakes/twilio-media-client.ts'
import { buildTestApp, listen, signedPost } from '../../helpers.ts'
import { callSid, frame, realtimeHarness, sleep } from '../../realtime-harness.ts'

/** The default AGENT_GREETING; the fake speaks the quoted text of a response.create. */
const GREETING = 'Hello! Thanks for calling. How can I help you today?'

const statuses = (events: Array<{ type: string }>): string[] =>
  events.filter((e): e is AiStatusEvent => e.type === 'ai.status').map((e) => e.status)

t.test('assist: a dropped upstream is replaced while the call stays up; frames meanwhile are kept', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'assist', tracks: ['inbound'] })
  const first = await h.fake.waitForConnection()
  call.media(frame(1))
  await first.waitForAudio(160)
  first.drop()
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'degraded')
  for (let i = 2; i <= 6; i++) call.media(frame(i))
  const second = await h.fake.waitForConnection((c) => c.id === 2)
  await second.waitFor('session.update')
  await second.waitForAudio(5 * 160)
  t.same(second.appended, [2, 3, 4, 5, 6].map((i) => frame(i)), 'frames sent during the outage arrive, in order')
  t.same(statuses(h.events), ['connecting', 'ready', 'degraded', 'ready'])
  t.equal(call.ws.readyState, call.ws.OPEN, 'the phone call never noticed')
  call.media(frame(7))
  await second.waitForAudio(6 * 160)
  call.stop()
})

t.test('agent: after a dropped upstream the transcript is re-injected and the greeting is not repeated', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const first = await h.fake.waitForConnection()
  await first.waitFor('response.create')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  for (let i = 0; i < 20; i++) call.media(frame(i))
  await first.waitForAudio(20 * 160)
  // VAD's own response to this turn (create_response) is left unanswered here: this test is about
  // re-injection. The test below covers the answered case.
  h.fake.onResponseCreate = () => {}
  const item = first.speechStarted({ audioStartMs: 0 })
  first.speechStopped(item, 400)
  first.transcribe(item, 'I need to change my address.')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'remote')

  first.drop()
  const second = await h.fake.waitForConnection((c) => c.id === 2)
  await second.waitFor('session.update')
  const items = await (async () => {
    await second.waitFor('conversation.item.create', (e) => (e.item as { role?: string }).role === 'user')
    return second.received.filter((e) => e.type === 'conversation.item.create').map((e) => e.item)
  })()
  t.same(items, [
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: GREETING }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'I need to change my address.' }] },
  ], 'the conversation so far, in order')
  call.media(frame(100))
  await second.waitForAudio(160)
  t.equal(call.ws.readyState, call.ws.OPEN)
  // Counted once the call is over and the session closed, so a late greeting cannot slip past.
  call.stop()
  await second.whenClosed()
  t.equal(second.received.filter((e) => e.type === 'response.create').length, 0, 'no second greeting')
  t.same(second.errors, [])
})

t.test('agent: the re-injected history keeps spoken order when VAD\'s auto-response finishes before the caller\'s transcription', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const first = await h.fake.waitForConnection()
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  for (let i = 0; i < 20; i++) call.media(frame(i))
  await first.waitForAudio(20 * 160)
  const item = first.speechStarted({ audioStartMs: 0 })
  first.speechStopped(item, 400) // the API answers at once (create_response), as it does by default
  first.transcribe(item, 'I need to change my address.') // the transcription completes after the answer's transcript
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'remote')
  first.drop()
  const second = await h.fake.waitForConnection((c) => c.id === 2)
  await second.waitFor('conversation.item.create', (e) => e.item.type === 'message' && e.item.role === 'user')
  // Counted once the call is over and the session closed: every item the bridge re-injected is in, and none twice.
  call.stop()
  await second.whenClosed()
  const roles = second.received.filter((e) => e.type === 'conversation.item.create').map((e) => (e.item as { role?: string }).role)
  t.same(roles, ['assistant', 'user', 'assistant'], 'greeting, the caller, then the answer')
})

t.test('session_expired moves the call to a new session', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'assist', tracks: ['inbound'] })
  const first = await h.fake.waitForConnection()
  await first.waitFor('session.update')
  first.expire()
  const second = await h.fake.waitForConnection((c) => c.id === 2)
  await second.waitFor('session.update')
  call.media(frame(1))
  await second.waitForAudio(160)
  t.ok(first.closed, 'the expired session is closed')
  call.stop()
})

t.test('roll-over: a new session takes over before the cap, at a quiet moment, with the transcript', async (t) => {
  const h = await realtimeHarness(t, { REALTIME_ROLLOVER_MS: '300' })
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const first = await h.fake.waitForConnection()
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  call.media(frame(1))
  await first.waitForAudio(160)
  const second = await h.fake.waitForConnection((c) => c.id === 2)
  await second.waitFor('session.update')
  await sleep(20)
  for (let i = 2; i <= 5; i++) call.media(frame(i))
  await second.waitForAudio(4 * 160)
  t.same(first.appended, [frame(1)], 'the old session gets nothing after the switch')
  t.same(second.appended, [2, 3, 4, 5].map((i) => frame(i)))
  t.match(second.received.find((e) => e.type === 'conversation.item.create'), { item: { role: 'assistant', content: [{ text: GREETING }] } })
  t.equal(second.received.filter((e) => e.type === 'response.create').length, 0, 'no second greeting')
  t.equal(call.ws.readyState, call.ws.OPEN)
  call.stop()
})

t.test('pre-warm: the webhook opens the session and the media stream adopts it', async (t) => {
  const h = await realtimeHarness(t, { MODE: 'agent' })
  const sid = callSid()
  const res = await h.app.inject(signedPost(TWILIO_PATHS.inbound, { CallSid: sid, From: '+14155550100', To: '+15550002222', AccountSid: 'AC' + '0'.repeat(32) }))
  t.equal(res.statusCode, 200)
  await h.waitEvent<CallWebhookEvent>((e) => e.type === 'call.webhook' && e.ai)
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('session.update')
  await sleep(20)
  t.equal(conn.received.filter((e) => e.type === 'response.create').length, 0, 'no greeting before the caller can hear it')
  const call = await h.call({ callSid: sid, mode: 'agent' })
  await conn.waitFor('response.create')
  call.media(frame(1))
  await conn.waitForAudio(160)
  t.equal(h.fake.connections.length, 1, 'no second connection')
  t.match(h.app.realtime.stats, { adopted: 1, expired: 0 })
  call.stop()
})

t.test('pre-warm: a session no media stream adopts is closed after the TTL', async (t) => {
  const h = await realtimeHarness(t, { REALTIME_PREWARM_TTL_MS: '150' })
  const sid = callSid()
  await h.app.inject(signedPost(TWILIO_PATHS.inbound, { CallSid: sid, From: '+14155550100', To: '+15550002222' }))
  await h.fake.waitForConnection((c) => c.id === 2)
  t.equal(h.fake.connections.length, 2, 'assist pre-warms both tracks')
  await Promise.all(h.fake.connections.map((c) => c.whenClosed()))
  t.match(h.app.realtime.stats, { adopted: 0, expired: 1, prewarmed: 0 })
  t.notOk(h.events.some((e) => e.type === 'ai.status'), 'no status for a call that never started')
})

t.test('app close closes every upstream socket and the media stream', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('session.update')
  const closed = call.closed()
  await h.app.close()
  await conn.whenClosed()
  t.equal(await closed, 1001)
})

t.test('no OPENAI_API_KEY: the bridge is off, says so once, calls connect and report ai off', async (t) => {
  const lines: Array<{ level: number, msg: string, part?: string }> = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  const app = await buildTestApp(t, { OPENAI_API_KEY: undefined, LOG_LEVEL: 'info' }, { loggerInstance: pino({ level: 'info' }, stream) })
  const base = await listen(app)
  const events: Array<{ type: string, status?: string }> = []
  app.bus.subscribe((e) => events.push(e))
  const assist = await TwilioMediaClient.open({ base, callSid: callSid(), mode: 'assist' })
  t.teardown(() => assist.close())
  assist.media(frame(1))
  const agent = await TwilioMediaClient.open({ base, callSid: callSid(), mode: 'agent' })
  t.teardown(() => agent.close())
  t.equal(await agent.closed(), 1000, 'an agent call ends its stream: <Connect action> gives the sentence, then the operator')
  await sleep(20)
  t.equal(assist.ws.readyState, assist.ws.OPEN, 'an assist call goes on without AI')
  t.same(statuses(events), ['off', 'off'])
  const said = lines.filter((l) => l.part === 'realtime' && /OPENAI_API_KEY is not set/.test(l.msg))
  t.equal(said.length, 1, 'said once, at start-up')
  assist.stop()
})

t.test('frames beyond REALTIME_BUFFER_MS while the upstream is away are dropped oldest-first and counted', async (t) => {
  const h = await realtimeHarness(t, { REALTIME_BUFFER_MS: '100' })
  h.fake.refuseNext(1, 503)
  const call = await h.call({ callSid: callSid(), mode: 'assist', tracks: ['inbound'] })
  for (let i = 0; i < 10; i++) call.media(frame(i))
  const conn = await h.fake.waitForConnection()
  await conn.waitForAudio(5 * 160)
  call.stop()
  t.match(await h.waitEvent((e) => e.type === 'call.metric' && e.name === 'frames_dropped'), { value: 5 })
  await conn.whenClosed()
  t.same(conn.appended, [5, 6, 7, 8, 9].map((i) => frame(i)), 'the newest 100 ms are kept (counted once the session closed)')
})
