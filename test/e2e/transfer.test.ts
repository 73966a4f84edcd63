/** The simulator plays a warm transfer against the real app (no Twilio REST: the agent ends its stream, `<Connect action>` transfers). */
import t, { type Test } from 'tap'
import type { CallEvent, CallHandoffEvent, TranscriptEvent } from '../../src/call/events.ts'
import { createFakeResponses, type RecordedResponsesRequest } from '../../fakes/openai-http.ts'
import { guessSentence, FIXTURE_SENTENCES } from '../../fakes/openai-demo.ts'
import { FAKE_OPENAI_KEY, FakeRealtimeServer, tone, type FakeRealtimeConnection } from '../../fakes/realtime-server.ts'
import { simulateCall, type SimulateOptions } from '../../tools/sim/simulate.ts'
import type { OperatorPickup } from '../../tools/sim/transfer.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL } from '../helpers.ts'
import { until } from '../until.ts'

const BRIEFING = 'A caller asks about premium plan pricing. The agent promised a person would confirm the annual price.'

function reply (req: RecordedResponsesRequest): string {
  if ((req.instructions ?? '').includes('brief a human operator')) return BRIEFING
  if ((req.body?.text as { format?: { type?: string } } | undefined)?.format?.type === 'json_schema') {
    return JSON.stringify({ summary: 'Pricing question, handed to a person.', intent: 'pricing', action_items: [] })
  }
  return 'Confirm the annual discount.'
}

type Json = Record<string, unknown>

/**
 * The app in agent mode without Twilio REST, on fakes that transcribe the fixtures: the agent greets, and when the
 * caller has spoken it transfers (or, back from a transfer nobody took, offers to take a message).
 */
async function setup (t: Test, env: Record<string, string | undefined> = {}) {
  const responses = createFakeResponses({ apiKey: FAKE_OPENAI_KEY, reply, tokenDelayMs: 1 })
  const agentSessions: FakeRealtimeConnection[] = []
  const realtime = new FakeRealtimeServer({
    auto: true,
    record: false,
    http: responses.listener,
    transcribe: (_conn, seconds) => guessSentence(seconds) ?? 'unrecognised',
    onResponseCreate: (conn, event: Json) => {
      if (!agentSessions.includes(conn)) agentSessions.push(conn)
      const instructions = String((event.response as Json | undefined)?.instructions ?? '')
      if (instructions.includes('Greet')) conn.respond({ chunks: [tone(100, 1)], transcript: 'Hello, how can I help?' })
      else if ([...conn.items.values()].some((i) => i.role === 'system')) conn.respond({ chunks: [tone(100, 2)], transcript: 'Nobody is free right now. May I take a message?' })
      else conn.functionCall('transfer_to_operator', { reason: 'pricing' })
    },
  })
  await realtime.listen(0)
  t.teardown(async () => { responses.stop(); await realtime.close() })
  const app = await buildTestApp(t, { MODE: 'agent', OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: realtime.url, ...env })
  const events: CallEvent[] = []
  app.bus.subscribe((e) => events.push(e))
  const serverUrl = await listen(app)
  const call = async (operatorPickup: OperatorPickup, extra: Partial<SimulateOptions> = {}) =>
    await simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, speed: 8, tailMs: 10_000, maxReplyMs: 5_000, operatorPickup, ...extra })
  return { app, events, agentSessions, call }
}

t.test('answered: the operator hears the briefing the app published, the fork is transcribed under the same call, one summary', async (t) => {
  const { app, events, call } = await setup(t)
  const r = await call('answer')
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  const after = r.afterConnect
  t.match(after?.said, ['Connecting you to a person now.'], 'the caller hears the transfer sentence')
  t.equal(after?.dials.length, 1)
  const dial = after?.dials[0]
  t.equal(dial?.status, 'completed')
  t.equal(dial?.to, '+15550001111', 'the operator (OPERATOR_PHONE) is dialled')
  const joined = events.find((e): e is CallHandoffEvent => e.type === 'call.handoff' && e.callSid === r.callSid && e.stage === 'briefed')
  t.equal(joined?.briefing, BRIEFING, 'the app wrote this briefing')
  t.equal(dial?.whisper, BRIEFING, 'and the operator heard exactly it before the bridge')
  t.ok(events.some((e) => e.type === 'call.handoff' && e.callSid === r.callSid && e.stage === 'ringing'), 'the leg\'s ringing status callback reached the app')
  t.match(dial?.action?.summary, /^Hangup$/, '<Dial action> with DialCallStatus=completed ends the call')
  t.ok(events.some((e) => e.type === 'call.handoff' && e.stage === 'completed' && e.dialStatus === 'completed'))
  t.match(after?.forks, [{ name: 'talkhint-person', stoppedBy: 'dial ended' }])
  t.equal(after?.ended, 'hangup')

  const lines = events.filter((e): e is TranscriptEvent => e.type === 'transcript.final')
  t.ok(lines.every((l) => l.callSid === r.callSid), 'every transcript is on the one call')
  t.ok(lines.some((l) => l.speaker === 'operator' && l.text === FIXTURE_SENTENCES[1]), 'the person\'s words, from the fork\'s outbound track')
  t.ok(lines.some((l) => l.speaker === 'agent' && l.text === 'Hello, how can I help?'), 'the agent\'s greeting is on the same timeline')
  await until('the call summary', () => events.some((e) => e.type === 'call.summary'), 10_000)
  await app.close()
  t.equal(events.filter((e) => e.type === 'call.summary').length, 1, 'one summary for the whole call, counted once the app closed')
})

t.test('no answer: the fork stops and the caller is back with the agent on a second <Connect><Stream>', async (t) => {
  const { events, agentSessions, call } = await setup(t)
  const r = await call('no-answer')
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  const after = r.afterConnect
  t.match(after?.dials, [{ status: 'no-answer', whisper: undefined, durationMs: 0 }])
  t.match(after?.forks, [{ name: 'talkhint-person', stoppedBy: 'Stop' }], '<Stop><Stream name> closed the fork')
  t.equal(after?.agentStreams.length, 1, 'a second agent stream opened')
  t.equal(agentSessions.length, 2, 'and the app opened a second agent session for it')
  t.ok(events.some((e) => e.type === 'call.handoff' && e.stage === 'returned' && e.dialStatus === 'no-answer'))
  t.ok(events.some((e) => e.type === 'transcript.final' && e.speaker === 'agent' && e.text === 'Nobody is free right now. May I take a message?'), 'the agent says nobody is free')
})

t.test('busy with no AI: the caller hears the callback sentence and the call hangs up', async (t) => {
  const { events, call } = await setup(t, { OPENAI_API_KEY: undefined })
  const r = await call('busy')
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  const after = r.afterConnect
  t.match(after?.dials, [{ status: 'busy' }])
  t.match(after?.said.at(-1), /^Sorry, nobody is free to take your call right now\./)
  t.equal(after?.ended, 'hangup')
  t.equal(after?.agentStreams.length, 0, 'no agent to go back to')
  t.match(after?.forks, [{ stoppedBy: 'call ended' }], 'the fork stops when the call ends')
  t.ok(events.some((e) => e.type === 'callback.requested' && e.callSid === r.callSid), 'a callback task is stored')
})
