import t from 'tap'
import { createServer, type AddressInfo } from 'node:net'
import type { ConversationItem, RealtimeConversationItemFunctionCall, RealtimeResponseStatus } from 'openai/resources/realtime/realtime'
import type { AiStatusEvent, StreamOutcomeEvent } from '../../../src/call/events.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../../fakes/twilio-rest.ts'
import { tone, type FakeRealtimeConnection } from '../../../fakes/realtime-server.ts'
import { signedPost, TEST_AUTH_TOKEN } from '../../helpers.ts'
import { callSid, realtimeHarness, sleep, type Harness } from '../../realtime-harness.ts'
import { parseTwiml, verbs } from '../../twiml-xml.ts'
import { until } from '../../until.ts'

type Json = Record<string, unknown>

/** A response that ends without a word, scripted with the fake's raw `send` (it has no helper for it). */
function silentResponse (conn: FakeRealtimeConnection, status: 'failed' | 'incomplete', details: Json, output: ConversationItem[] = []): string {
  const id = conn.id + '_' + Math.random().toString(36).slice(2, 10)
  conn.send({ type: 'response.created', response: { id, object: 'realtime.response', status: 'in_progress', output: [] } })
  conn.send({ type: 'response.done', response: { id, object: 'realtime.response', status, status_details: details, output } })
  return id
}

const FAILED = { type: 'failed', error: { type: 'server_error', code: 'internal_error', message: 'The server had an error.' } }

const creates = (conn: FakeRealtimeConnection): Json[] => conn.received.filter((e) => e.type === 'response.create')

/** Posts <Connect action> as Twilio does once the stream has ended; returns the verbs of its TwiML. */
async function connectAction (h: Harness, sid: string) {
  const res = await h.app.inject(signedPost('/twilio/connect-action', { CallSid: sid, AccountSid: 'AC' + '0'.repeat(32), CallStatus: 'in-progress' }))
  const root = parseTwiml(res.body)
  return { status: res.statusCode, verbs: verbs(root), say: root.children.find((c) => c.name === 'Say')?.text, dial: root.children.find((c) => c.name === 'Dial')?.children.find((c) => c.name === 'Number')?.text }
}

t.test('a failed response is retried once; a second failure gives the fallback sentence and the operator', async (t) => {
  const h = await realtimeHarness(t, { MODE: 'agent' })
  h.fake.onResponseCreate = (conn) => { silentResponse(conn, 'failed', FAILED) }
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  t.equal(await call.closed(), 1000, 'the stream ends normally, so Twilio moves on to <Connect action>')
  const asks = creates(conn)
  t.equal(asks.length, 2, 'the greeting, then one retry')
  t.same(asks[1].response, asks[0].response, 'the retry asks for the greeting again: it was never heard')
  const outcome = await h.waitEvent<StreamOutcomeEvent>((e) => e.type === 'stream.outcome')
  t.equal(outcome.outcome, 'fallback')
  t.ok(h.events.some((e): e is AiStatusEvent => e.type === 'ai.status' && e.status === 'degraded' && /failed/.test(e.detail ?? '')), 'the dashboard says why')
  const next = await connectAction(h, sid)
  t.same(next.verbs, ['Say', 'Start', 'Dial'], 'a warm transfer')
  t.equal(next.say, 'Sorry, I am having technical trouble. Let me connect you to a person.')
  t.equal(next.dial, '+15550001111')
})

t.test('with Twilio REST, the same fallback redirects the live call', async (t) => {
  const rest = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => rest.close())
  const h = await realtimeHarness(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: rest.url })
  h.fake.onResponseCreate = (conn) => { silentResponse(conn, 'incomplete', { type: 'incomplete', reason: 'content_filter' }) }
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const redirect = await rest.waitFor(new RegExp(`/Calls/${sid}\\.json$`))
  t.match(String(redirect.params.Twiml), /technical trouble.*<Start><Stream name="talkhint-person".*<Number url="[^"]*\/twilio\/whisper\?call=[^"]*"[^>]*>\+15550001111<\/Number><\/Dial>/)
  t.equal(creates(h.fake.connections[0] as FakeRealtimeConnection).length, 2, 'incomplete without a word counts as a failure too')
  t.equal(call.ws.readyState, call.ws.OPEN, 'the stream stays up until Twilio moves the call')
  call.stop()
})

t.test('one failure, then an answer: the caller hears the retry and the call goes on', async (t) => {
  const h = await realtimeHarness(t)
  const script = ['fail', 'answer', 'answer']
  let seed = 3
  h.fake.onResponseCreate = (conn) => {
    if (script.shift() === 'fail') silentResponse(conn, 'failed', FAILED)
    else conn.respond({ chunks: [tone(100, seed++)], transcript: 'Hello!' })
  }
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await call.waitFor((m) => m.event === 'media')
  await h.waitEvent((e) => e.type === 'agent.state' && e.state === 'listening')
  // A later turn (a VAD auto-response) fails too: after a good answer the count starts again, so it is retried.
  silentResponse(conn, 'failed', FAILED)
  await call.waitFor(() => call.mediaOut.length === 2)
  t.same(call.mediaOut, [tone(100, 3), tone(100, 4)], 'both retries were heard')
  const asks = creates(conn)
  t.equal(asks.length, 3, 'greeting, its retry, and one retry for the later turn')
  t.equal(asks[2].response, undefined, 'the later retry is a plain response.create, not the greeting')
  t.notOk(h.events.some((e) => e.type === 'stream.outcome'), 'no fallback')
  t.equal(call.ws.readyState, call.ws.OPEN)
  call.stop()
})

t.test('incomplete after some audio (max_output_tokens) is an answer, not a failure: nothing repeated', async (t) => {
  const h = await realtimeHarness(t)
  h.fake.onResponseCreate = () => {}
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('response.create')
  const id = 'resp_cut'
  conn.send({ type: 'response.created', response: { id, object: 'realtime.response', status: 'in_progress', output: [] } })
  conn.send({ type: 'response.output_audio.delta', response_id: id, item_id: 'item_cut', output_index: 0, content_index: 0, delta: tone(100, 9) })
  conn.send({ type: 'response.done', response: { id, object: 'realtime.response', status: 'incomplete', status_details: { type: 'incomplete', reason: 'max_output_tokens' }, output: [{ id: 'item_cut', type: 'message', role: 'assistant', status: 'incomplete', content: [] }] } })
  await h.waitEvent((e) => e.type === 'agent.state' && e.state === 'listening')
  t.same(call.mediaOut, [tone(100, 9)], 'the caller heard the cut-off answer')
  t.equal(creates(conn).length, 1, 'no retry: it would repeat the answer from the start')
  call.stop()
})

t.test('a cancelled response is a barge-in, not a failure', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  h.fake.onResponseCreate = (c) => { c.respond({ chunks: [tone(100)], complete: false }) }
  await conn.waitFor('response.create')
  conn.speechStarted()
  await h.waitEvent((e) => e.type === 'agent.state' && e.state === 'listening')
  // Counted once the call is over and its session closed: a retry or a fallback would be in by then.
  call.stop()
  await conn.whenClosed()
  t.equal(creates(conn).length, 1, 'not retried')
  t.notOk(h.events.some((e) => e.type === 'stream.outcome'))
})

/** A response with one function call, ending with `status` (the fake's functionCall always completes). */
function toolResponse (conn: FakeRealtimeConnection, name: string, status: 'cancelled' | 'incomplete' | 'completed', itemStatus: NonNullable<RealtimeConversationItemFunctionCall['status']>): string {
  const id = `resp_${name}_${status}`
  const callId = `call_${status}_${itemStatus}`
  const item: RealtimeConversationItemFunctionCall = { id: `item_${callId}`, object: 'realtime.item', type: 'function_call', status: itemStatus, name, call_id: callId, arguments: '{"reason":"x"}' }
  conn.send({ type: 'response.created', response: { id, object: 'realtime.response', status: 'in_progress', output: [] } })
  conn.send({ type: 'response.output_item.added', response_id: id, output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } })
  conn.send({ type: 'response.function_call_arguments.done', response_id: id, item_id: `item_${callId}`, output_index: 0, call_id: callId, name, arguments: item.arguments })
  const details: RealtimeResponseStatus | undefined = status === 'cancelled' ? { type: 'cancelled', reason: 'turn_detected' } : status === 'incomplete' ? { type: 'incomplete', reason: 'max_output_tokens' } : undefined
  conn.send({ type: 'response.done', response: { id, object: 'realtime.response', status, ...(details !== undefined ? { status_details: details } : {}), output: [item] } })
  return callId
}

t.test('tool calls from a cancelled or incomplete response, or an unfinished item, never run', async (t) => {
  const h = await realtimeHarness(t)
  h.fake.onResponseCreate = (conn) => { conn.respond({ chunks: [tone(50)], transcript: 'Hi.' }) }
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  toolResponse(conn, 'end_call', 'cancelled', 'incomplete')
  toolResponse(conn, 'end_call', 'incomplete', 'completed')
  toolResponse(conn, 'transfer_to_operator', 'completed', 'incomplete')
  // A completed one afterwards does run: proof the three above were skipped, not merely slow.
  const ran = toolResponse(conn, 'end_call', 'completed', 'completed')
  const output = await conn.waitFor('conversation.item.create', (e) => (e.item as unknown as Json).type === 'function_call_output')
  t.equal((output.item as unknown as Json).call_id, ran)
  t.equal(await call.closed(), 1000, 'end_call ends the stream')
  const outputs = conn.received.filter((e) => e.type === 'conversation.item.create' && (e.item as unknown as Json).type === 'function_call_output')
  t.equal(outputs.length, 1, 'only the completed call was answered')
  t.same(h.events.filter((e): e is StreamOutcomeEvent => e.type === 'stream.outcome').map((e) => e.outcome), ['hangup'], 'no transfer from the unfinished item')
})

t.test('end_call without TWILIO_ACCOUNT_SID: goodbye plays, the stream ends, and <Connect action> hangs up', async (t) => {
  const h = await realtimeHarness(t, { MODE: 'agent' })
  h.fake.onResponseCreate = (conn, event) => {
    const bye = String((event.response as Json | undefined)?.instructions ?? '').includes('goodbye')
    conn.respond({ chunks: [tone(100, bye ? 7 : 1)], transcript: bye ? 'Goodbye!' : 'Hello!' })
  }
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent', playback: 'manual' })
  const conn = await h.fake.waitForConnection()
  await call.waitFor((m) => m.event === 'mark')
  call.advancePlayback(100)
  await h.waitEvent((e) => e.type === 'agent.state' && e.state === 'listening')
  conn.functionCall('end_call', { reason: 'done' })
  await call.waitFor((m) => m.event === 'media' && (m.media as Json).payload === tone(100, 7))
  await sleep(50)
  t.equal(call.ws.readyState, call.ws.OPEN, 'the goodbye has not played yet: the line stays up')
  const played = Date.now()
  call.advancePlayback(100)
  t.equal(await call.closed(), 1000)
  t.ok(Date.now() - played < 1000, 'ended once the goodbye had played, not by the 15 s safety timer')
  const next = await connectAction(h, sid)
  t.equal(next.status, 200)
  t.same(next.verbs, ['Hangup'], 'hang up, not the operator')
})

t.test('transfer_to_operator without TWILIO_ACCOUNT_SID: the stream ends and <Connect action> dials the operator', async (t) => {
  const h = await realtimeHarness(t, { MODE: 'agent' })
  h.fake.onResponseCreate = (conn) => { conn.respond({ chunks: [tone(50)], transcript: 'Hi.' }) }
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  const { callId } = conn.functionCall('transfer_to_operator', { reason: 'wants a person' })
  const output = await conn.waitFor('conversation.item.create', (e) => (e.item as unknown as Json).call_id === callId)
  t.match(JSON.parse((output.item as unknown as Json).output as string), { ok: true })
  t.equal(await call.closed(), 1000)
  const next = await connectAction(h, sid)
  t.same(next.verbs, ['Say', 'Start', 'Dial'], 'a warm transfer')
  t.equal(next.say, 'Connecting you to a person now.')
  t.equal(next.dial, '+15550001111')
})

t.test('greeting vs. a server-VAD response already under way: the greeting is refused, not resent, and the caller hears the answer', async (t) => {
  const h = await realtimeHarness(t, { MODE: 'agent' })
  const sid = callSid()
  // Pre-warm: the session is ready before the stream, and the model starts answering the caller
  // (a VAD auto-response) just as the stream opens and the greeting goes out.
  const res = await h.app.inject(signedPost('/twilio/inbound', { CallSid: sid, From: '+14155550100', To: '+15550002222', AccountSid: 'AC' + '0'.repeat(32) }))
  t.equal(res.statusCode, 200)
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('session.update')
  await sleep(20)
  const vad = conn.respond({ chunks: [], transcript: 'Yes, how can I help?', complete: false })
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const greet = await conn.waitFor('response.create')
  await until('the refusal of the greeting', () => conn.errors.length > 0)
  t.match(conn.errors, [{ code: 'conversation_already_has_active_response', event_id: greet.event_id }], 'the API refuses the greeting')
  conn.audioDelta(vad.responseId, vad.itemId, tone(100, 4))
  conn.completeResponse()
  await call.waitFor((m) => m.event === 'media')
  t.same(call.mediaOut, [tone(100, 4)], 'the caller hears the answer under way')
  await h.waitEvent((e) => e.type === 'agent.state' && e.state === 'listening')
  t.equal(call.ws.readyState, call.ws.OPEN)
  // Counted once the call is over and its session closed: a resent greeting or a fallback would be in by then.
  call.stop()
  await conn.whenClosed()
  t.equal(creates(conn).length, 1, 'the greeting is not resent over the conversation')
  t.notOk(h.events.some((e) => e.type === 'stream.outcome'), 'no fallback')
})

t.test('end_call when the Twilio REST call fails: the stream ends and <Connect action> still hangs up', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
  const h = await realtimeHarness(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: `http://127.0.0.1:${port}` })
  h.fake.onResponseCreate = (conn) => { conn.respond({ chunks: [tone(50)], transcript: 'Bye.' }) }
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  conn.functionCall('end_call', {})
  t.equal(await call.closed(), 1000)
  t.ok(h.events.some((e) => e.type === 'call.error' && e.code === 'TWILIO_API_ERROR'), 'the REST failure is reported')
  t.same((await connectAction(h, sid)).verbs, ['Hangup'])
})
