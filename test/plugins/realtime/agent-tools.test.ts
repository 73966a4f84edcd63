import t from 'tap'
import type { AiStatusEvent } from '../../../src/call/events.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../../fakes/twilio-rest.ts'
import { tone, type FakeRealtimeConnection } from '../../../fakes/realtime-server.ts'
import { TEST_AUTH_TOKEN } from '../../helpers.ts'
import { callSid, realtimeHarness, sleep } from '../../realtime-harness.ts'

async function setup (t: { teardown (fn: () => unknown): void }, overrides: Record<string, string | undefined> = {}) {
  const rest = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => rest.close())
  const h = await realtimeHarness(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: rest.url, ...overrides })
  // Greeting and goodbye are answered with one 100 ms chunk each.
  h.fake.onResponseCreate = (conn, event) => {
    const instructions = String((event.response as { instructions?: string } | undefined)?.instructions ?? '')
    conn.respond({ chunks: [tone(100, instructions.includes('goodbye') ? 7 : 1)], transcript: instructions.includes('goodbye') ? 'Goodbye!' : 'Hello!' })
  }
  return { rest, h }
}

async function greeted (conn: FakeRealtimeConnection): Promise<void> {
  await conn.waitFor('response.create')
  await sleep(30)
}

t.test('end_call: answers the tool, says goodbye, and hangs up through the Twilio REST API once it has played', async (t) => {
  const { rest, h } = await setup(t)
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await greeted(conn)
  const { callId } = conn.functionCall('end_call', { reason: 'caller is done' })
  const output = await conn.waitFor('conversation.item.create', (e) => (e.item as { type: string }).type === 'function_call_output')
  t.match(output, { item: { type: 'function_call_output', call_id: callId, output: '{"ok":true}' } })
  const goodbye = await conn.waitFor('response.create', (e) => String((e.response as { instructions?: string })?.instructions).includes('goodbye'))
  t.match(goodbye, { response: { tool_choice: 'none' } })
  const hangup = await rest.waitFor(new RegExp(`/Calls/${sid}\\.json$`))
  t.equal(hangup.method, 'POST')
  t.equal(hangup.params.Status, 'completed')
  t.ok(call.mediaOut.includes(tone(100, 7)), 'the goodbye was played before the hang-up')
  t.same(conn.errors, [])
  call.stop()
})

t.test('transfer_to_operator: a warm transfer — one sentence, the copilot\'s fork, OPERATOR_PHONE dialled with a whisper', async (t) => {
  const { rest, h } = await setup(t)
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await greeted(conn)
  const { callId } = conn.functionCall('transfer_to_operator', { reason: 'wants a person' })
  await conn.waitFor('conversation.item.create', (e) => (e.item as { call_id?: string }).call_id === callId)
  const redirect = await rest.waitFor(new RegExp(`/Calls/${sid}\\.json$`))
  const twiml = String(redirect.params.Twiml)
  t.match(twiml, /<Say[^>]*>Connecting you to a person now\.<\/Say>/)
  t.match(twiml, /<Start><Stream name="talkhint-person" url="wss:\/\/talkhint\.example\.com\/media" track="both_tracks"/)
  t.match(twiml, new RegExp(`<Dial answerOnBridge="true" timeout="20" action="https://talkhint\\.example\\.com/twilio/transfer-action\\?call=${sid}" method="POST"[^>]*><Number url="https://talkhint\\.example\\.com/twilio/whisper\\?call=${sid}"[^>]*>\\+15550001111</Number></Dial>`))
  t.notOk(redirect.params.Status, 'a redirect, not a hang-up')
  const started = await h.waitEvent((e) => e.type === 'call.handoff' && e.stage === 'started')
  t.match(started, { callSid: sid, reason: 'tool' }, 'the handoff is announced before the agent stream ends')
  call.stop()
})

t.test('transfer_to_operator without OPERATOR_PHONE tells the model, which keeps the call', async (t) => {
  const { rest, h } = await setup(t, { OPERATOR_PHONE: undefined })
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await greeted(conn)
  const { callId } = conn.functionCall('transfer_to_operator', {})
  const output = await conn.waitFor('conversation.item.create', (e) => (e.item as { call_id?: string }).call_id === callId)
  t.match(JSON.parse((output.item as { output: string }).output), { ok: false, error: /No operator/ })
  await conn.waitFor('response.create', (e) => e.response === undefined)
  // Counted once the call has stopped and its session closed: the tool's work is done by then.
  call.stop()
  await conn.whenClosed()
  await h.waitEvent((e) => e.type === 'call.stopped')
  t.equal(rest.requests.length, 0, 'no REST call')
})

t.test('when the AI cannot be reached, the agent says one sentence and transfers to the operator', async (t) => {
  const { rest, h } = await setup(t, { REALTIME_RECONNECT_ATTEMPTS: '2' })
  h.fake.refuseNext(10, 503)
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent' })
  const redirect = await rest.waitFor(new RegExp(`/Calls/${sid}\\.json$`))
  t.match(String(redirect.params.Twiml), /<Say[^>]*>Sorry, I am having technical trouble\. Let me connect you to a person\.<\/Say><Start><Stream name="talkhint-person"[^]*<Number url="[^"]*\/twilio\/whisper\?call=[^"]*"[^>]*>\+15550001111<\/Number><\/Dial>/)
  const degraded = await h.waitEvent<AiStatusEvent>((e) => e.type === 'ai.status' && e.status === 'degraded' && /operator/.test(e.detail ?? ''))
  t.ok(degraded)
  t.ok(h.fake.handshakes.length >= 2 && h.fake.handshakes.every((x) => x.status === 503), 'it tried more than once')
  t.equal(call.ws.readyState, call.ws.OPEN, 'the media stream stays up until Twilio moves the call')
  call.stop()
})
