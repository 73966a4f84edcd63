/** Assist with a transcription model that takes no VAD: TalkHint ends each turn itself, commits it, and transcripts and hints hold. */
import t from 'tap'
import type { CallEvent, TranscriptEvent } from '../../../src/call/events.ts'
import { mulawSilence } from '../../../src/audio/mulaw.ts'
import { createFakeResponses } from '../../../fakes/openai-http.ts'
import { FAKE_OPENAI_KEY, type FakeRealtimeConnection } from '../../../fakes/realtime-server.ts'
import { callSid, frame, realtimeHarness, sleep } from '../../realtime-harness.ts'

type HintDone = Extract<CallEvent, { type: 'hint.done' }>
const QUIET = mulawSilence(20).toString('base64')

t.test('gpt-live-transcribe: turn_detection null, one commit per utterance, finals in spoken order with hints', async (t) => {
  const responses = createFakeResponses({
    apiKey: FAKE_OPENAI_KEY,
    reply: (req) => (req.body?.text as { format?: { type?: string } } | undefined)?.format?.type === 'json_schema'
      ? JSON.stringify({ summary: 'A short call.', intent: 'question', action_items: [] })
      : 'Offer the 30-day guarantee.',
  })
  t.teardown(() => responses.stop())
  const h = await realtimeHarness(t, { TRANSCRIBE_MODEL: 'gpt-live-transcribe', TRANSCRIBE_TURNS: undefined, HINTS_PROMPT: 'Client turns playbook.' }, { http: responses.listener })
  const call = await h.call({ callSid: callSid(), mode: 'assist', direction: 'inbound' })
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'ready')
  for (const conn of h.fake.connections) {
    const update = await conn.waitFor('session.update')
    t.equal(update.session.audio?.input?.turn_detection, null, `session ${conn.id}: turn detection off (the model takes none)`)
  }

  // The caller speaks 0–2000 ms; the operator says something short over it, 500–1000 ms. Then quiet.
  for (let i = 0; i < 140; i++) {
    call.media(i < 100 ? frame(i) : QUIET, 'inbound')
    call.media(i >= 25 && i < 50 ? frame(500 + i) : QUIET, 'outbound')
    if (i % 20 === 0) await sleep(5)
  }
  const track = async (n: number): Promise<FakeRealtimeConnection> => {
    for (let i = 0; i < 500; i++) {
      const conn = h.fake.connections.find((c) => c.appended[0] === frame(n))
      if (conn !== undefined) return conn
      await sleep(5)
    }
    throw new Error('track not found')
  }
  const inbound = await track(0)
  const outbound = h.fake.connections.find((c) => c !== inbound) as FakeRealtimeConnection
  await inbound.waitFor('input_audio_buffer.commit')
  await outbound.waitFor('input_audio_buffer.commit')
  t.equal(inbound.commits.length, 1, 'one commit for the caller\'s utterance')
  t.equal(outbound.commits.length, 1, 'one for the operator\'s')
  t.same([...inbound.errors, ...outbound.errors], [], 'no commit was refused (never an empty buffer)')

  // The operator's (later-starting) utterance is transcribed first; the caller's must still come out first.
  outbound.transcribe(outbound.commits[0]?.itemId as string, 'We have a guarantee.')
  // Handled (its partial is out) yet held; the exact order of the finals below catches a release at any later moment.
  await h.waitEvent((e) => e.type === 'transcript.partial' && e.speaker === 'operator' && e.text === 'We have a guarantee.')
  t.notOk(h.events.some((e) => e.type === 'transcript.final'), 'the operator\'s final waits for the caller\'s, which started earlier')
  inbound.transcribe(inbound.commits[0]?.itemId as string, 'Can I cancel my plan?')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'operator')
  const finals = h.events.filter((e): e is TranscriptEvent => e.type === 'transcript.final')
  t.same(finals.map((f) => [f.speaker, f.text, f.startMs, f.endMs]), [
    ['remote', 'Can I cancel my plan?', 0, 2000],
    ['operator', 'We have a guarantee.', 500, 1000],
  ], 'speaker, text and the detector\'s times, in spoken order')
  t.ok(h.events.findIndex((e) => e.type === 'transcript.partial' && e.speaker === 'remote') < h.events.findIndex((e) => e.type === 'transcript.final' && e.speaker === 'remote'), 'partials stream before the final')
  const hint = await h.waitEvent<HintDone>((e) => e.type === 'hint.done')
  t.match(hint, { text: 'Offer the 30-day guarantee.', itemId: inbound.commits[0]?.itemId }, 'a hint for the caller\'s utterance')
  call.stop()
})

t.test('the fake transcribes commits by itself when scripted; a click is cleared, not committed', async (t) => {
  const h = await realtimeHarness(t, { TRANSCRIBE_MODEL: 'gpt-realtime-whisper' }, { transcribeCommit: (_c, _id, seconds) => `(${seconds.toFixed(1)} s)` })
  const call = await h.call({ callSid: callSid(), mode: 'assist', tracks: ['inbound'] })
  const conn = await h.fake.waitForConnection()
  for (let i = 0; i < 5; i++) call.media(frame(i)) // a 100 ms click
  for (let i = 0; i < 30; i++) call.media(QUIET)
  for (let i = 0; i < 40; i++) call.media(frame(100 + i)) // 800 ms of speech
  for (let i = 0; i < 30; i++) call.media(QUIET)
  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final')
  // Cleared at 600 ms (the click's end + 500 ms); committed at 2000 ms: 100 ms lead-in + 800 ms speech + 500 ms quiet.
  t.equal(final.text, '(1.4 s)', 'one item: the click was cleared, the speech committed with its lead-in')
  t.equal(conn.commits.length, 1)
  t.ok(conn.received.some((e) => e.type === 'input_audio_buffer.clear'), 'the click was cleared')
  t.same(conn.errors, [])
  t.match(final, { startMs: 700, endMs: 1500 })
  call.stop()
})
