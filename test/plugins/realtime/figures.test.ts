/** Per-call figures measure the right interval (on the app's injected clock) and reach the call events and the stop log. */
import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { CallMetricEvent, TranscriptEvent } from '../../../src/call/events.ts'
import type { MetricSummary } from '../../../src/ai/call-context.ts'
import { tone } from '../../../fakes/realtime-server.ts'
import { callSid, frame, realtimeHarness } from '../../realtime-harness.ts'
import { until } from '../../until.ts'

interface LogLine { msg: string, callSid?: string, metrics?: Record<string, MetricSummary> }

/** The realtime harness on a clock that only moves when the test says, with the app's log kept in memory. */
async function rig (t: { teardown (fn: () => unknown): void }) {
  const clock = { ms: 1_700_000_000_000 }
  const lines: LogLine[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  const h = await realtimeHarness(t, { LOG_LEVEL: 'info' }, {}, { now: () => clock.ms, loggerInstance: pino({ level: 'info' }, stream) })
  return {
    ...h,
    clock,
    call: (opts: { mode: 'assist' | 'agent', tracks?: Array<'inbound' | 'outbound'> }) => h.call({ callSid: callSid(), ...opts }),
    metric: (name: string) => h.waitEvent<CallMetricEvent>((e) => e.type === 'call.metric' && e.name === name),
    /** The call's `ai bridge stopped` line (logged once its stream has closed). */
    stopLog: async (sid: string): Promise<LogLine> =>
      await until(`the stop log of ${sid}`, () => lines.find((l) => l.msg === 'ai bridge stopped' && l.callSid === sid)),
  }
}

t.test('utterance_to_final_ms is the time from the end of speech to its final transcript', async (t) => {
  const r = await rig(t)
  const call = await r.call({ mode: 'assist', tracks: ['inbound'] })
  const conn = await r.fake.waitForConnection()
  for (let i = 0; i < 20; i++) call.media(frame(i))
  await conn.waitForAudio(20 * 160)
  const item = conn.speechStarted({ audioStartMs: 0 })
  conn.speechStopped(item, 400)
  // A partial after speech_stopped on the same socket: once it is out, the stop has been seen.
  conn.send({ type: 'conversation.item.input_audio_transcription.delta', item_id: item, content_index: 0, delta: 'Where is ' })
  await r.waitEvent((e) => e.type === 'transcript.partial' && e.itemId === item)
  r.clock.ms += 850
  conn.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: item, content_index: 0, transcript: 'Where is my order?', usage: { type: 'duration', seconds: 1 } })
  await r.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final' && e.itemId === item)
  t.match(await r.metric('utterance_to_final_ms'), { callSid: call.callSid, value: 850 }, 'a call event with the exact interval')
  call.stop()
  const line = await r.stopLog(call.callSid)
  t.same(line.metrics?.utterance_to_final_ms, { count: 1, p50: 850, p99: 850, max: 850 }, 'and in the call\'s stop log')
})

t.test('caller_stop_to_agent_audio_ms is the time from the caller\'s end of speech to the first agent audio', async (t) => {
  const r = await rig(t)
  r.fake.onResponseCreate = () => {} // the greeting is not answered: the only response is the one below
  const call = await r.call({ mode: 'agent' })
  const conn = await r.fake.waitForConnection()
  await conn.waitFor('response.create')
  for (let i = 0; i < 20; i++) call.media(frame(i))
  await conn.waitForAudio(20 * 160)
  const item = conn.speechStarted({ audioStartMs: 0 })
  conn.speechStopped(item, 400)
  await r.waitEvent((e) => e.type === 'agent.state' && e.state === 'thinking')
  r.clock.ms += 1234
  conn.respond({ chunks: [tone(100), tone(100, 1)], transcript: 'It ships today.' })
  await call.waitFor((m) => m.event === 'media')
  t.match(await r.metric('caller_stop_to_agent_audio_ms'), { callSid: call.callSid, value: 1234 }, 'a call event with the exact interval')
  t.equal(r.events.filter((e) => e.type === 'call.metric' && e.name === 'caller_stop_to_agent_audio_ms').length, 1, 'once per response, not per chunk')
  call.stop()
  const line = await r.stopLog(call.callSid)
  t.same(line.metrics?.caller_stop_to_agent_audio_ms, { count: 1, p50: 1234, p99: 1234, max: 1234 }, 'and in the call\'s stop log')
})
