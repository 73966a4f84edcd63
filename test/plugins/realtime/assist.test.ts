import t from 'tap'
import type { TranscriptEvent } from '../../../src/call/events.ts'
import { FAKE_OPENAI_KEY } from '../../../fakes/realtime-server.ts'
import { callSid, frame, realtimeHarness } from '../../realtime-harness.ts'
import { until } from '../../until.ts'

t.test('assist opens one transcription session per track with the exact GA session.update', async (t) => {
  const h = await realtimeHarness(t, { TRANSCRIBE_MODEL: 'gpt-4o-transcribe', LANGUAGE: 'en' })
  const call = await h.call({ callSid: callSid(), mode: 'assist' })
  await h.fake.waitForConnection((c) => c.id === 2)
  t.equal(h.fake.connections.length, 2, 'two sessions: inbound and outbound')
  for (const conn of h.fake.connections) {
    t.equal(conn.url, '/v1/realtime?intent=transcription', 'transcription intent, no model in the URL')
    t.equal(conn.headers.authorization, `Bearer ${FAKE_OPENAI_KEY}`)
    t.notOk(conn.headers['openai-beta'], 'no beta header')
    const update = await conn.waitFor('session.update')
    t.same(update, {
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcmu' },
            noise_reduction: { type: 'near_field' },
            transcription: { model: 'gpt-4o-transcribe', language: 'en' },
            turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
          },
        },
      },
    })
    t.same(conn.errors, [], 'the fake accepted the GA shape')
  }
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'ready')
  call.stop()
})

t.test('μ-law payloads reach each track session byte-exact, including frames sent before it was ready', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'assist' })
  // Sent at once: the upstream sessions are still connecting, so these are buffered, not dropped.
  const inbound = Array.from({ length: 60 }, (_, i) => frame(i))
  const outbound = Array.from({ length: 40 }, (_, i) => frame(1000 + i))
  for (let i = 0; i < 60; i++) {
    call.media(inbound[i] as string, 'inbound')
    if (i < 40) call.media(outbound[i] as string, 'outbound')
  }
  const a = await h.fake.waitForConnection((c) => c.id === 1)
  const b = await h.fake.waitForConnection((c) => c.id === 2)
  await a.waitForAudio(60 * 160).catch(() => {})
  await b.waitForAudio(40 * 160).catch(() => {})
  const byCount = [a, b].sort((x, y) => y.appended.length - x.appended.length)
  t.same(byCount[0]?.appended, inbound, 'inbound payloads in order, unchanged')
  t.same(byCount[1]?.appended, outbound, 'outbound payloads in order, unchanged')
  t.equal(call.received.length, 0, 'nothing is ever sent back on a <Start> stream')
  call.stop()
  const stopped = await h.waitEvent((e) => e.type === 'call.metric' && e.name === 'frames_forwarded')
  t.match(stopped, { value: 100 })
  t.match(await h.waitEvent((e) => e.type === 'call.metric' && e.name === 'frames_dropped'), { value: 0 })
})

t.test('transcripts carry speaker labels and come out in spoken order when the sessions answer out of order', async (t) => {
  const h = await realtimeHarness(t)
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'assist', direction: 'inbound' })
  for (let i = 0; i < 100; i++) {
    call.media(frame(i), 'inbound')
    call.media(frame(500 + i), 'outbound')
  }
  const conns = [await h.fake.waitForConnection((c) => c.id === 1), await h.fake.waitForConnection((c) => c.id === 2)]
  await Promise.all(conns.map((c) => c.waitForAudio(100 * 160)))
  // Which fake connection is which track: the one that got frame(0) carries the inbound track.
  const inbound = conns.find((c) => c.appended[0] === frame(0))
  const outbound = conns.find((c) => c !== inbound)
  if (inbound === undefined || outbound === undefined) throw new Error('tracks not found')

  const caller = inbound.speechStarted({ audioStartMs: 200 })
  const operator = outbound.speechStarted({ audioStartMs: 600 })
  outbound.speechStopped(operator, 1500)
  inbound.speechStopped(caller, 1800)
  // The later utterance (operator, 600 ms) is transcribed first; the caller's (200 ms) arrives after.
  outbound.transcribe(operator, 'How can I help?')
  // Its transcript has been handled (the partial is out) yet no final: it is held. The exact order of the finals
  // below catches a release at any later moment, so no pause is needed here.
  await h.waitEvent((e) => e.type === 'transcript.partial' && e.itemId === operator && e.text === 'How can I help?')
  t.notOk(h.events.some((e) => e.type === 'transcript.final'), 'the operator final waits for the earlier caller utterance')
  inbound.transcribe(caller, 'Hi, my order is late.', ['Hi, ', 'my order ', 'is late.'])
  await h.waitEvent((e) => e.type === 'transcript.final' && e.itemId === operator)

  const finals = h.events.filter((e): e is TranscriptEvent => e.type === 'transcript.final')
  t.same(finals.map((f) => [f.speaker, f.text, f.startMs, f.endMs]), [
    ['remote', 'Hi, my order is late.', 200, 1800],
    ['operator', 'How can I help?', 600, 1500],
  ], 'spoken order, call-relative times, speakers from speakerForTrack')
  const partials = h.events.filter((e): e is TranscriptEvent => e.type === 'transcript.partial' && e.itemId === caller)
  t.same(partials.map((p) => p.text), ['Hi, ', 'Hi, my order ', 'Hi, my order is late.'], 'deltas joined on item_id')
  t.ok(h.events.some((e) => e.type === 'call.metric' && e.name === 'utterance_to_final_ms'), 'utterance end → final is measured')
  t.equal(call.received.length, 0)
  call.stop()
})

t.test('an outbound (click-to-call) leg labels its inbound track as the operator', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'assist', direction: 'outbound' })
  call.media(frame(1), 'inbound')
  await h.fake.waitForConnection((c) => c.id === 2)
  const conn = await until('the session that got frame 1', () => h.fake.connections.find((c) => c.appended[0] === frame(1)))
  const item = conn.speechStarted({ audioStartMs: 0 })
  conn.speechStopped(item, 20)
  conn.transcribe(item, 'Calling the customer now.')
  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final')
  t.equal(final.speaker, 'operator')
  call.stop()
})

t.test('upstream sockets close when the call stops', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'assist' })
  const a = await h.fake.waitForConnection((c) => c.id === 1)
  const b = await h.fake.waitForConnection((c) => c.id === 2)
  await a.waitFor('session.update')
  call.stop()
  await Promise.all([a.whenClosed(), b.whenClosed()])
  t.equal(a.closeCode, 1000)
  t.equal(h.app.realtime.stats.live, 0)
})

t.test('the fake in demo mode (auto VAD) drives a transcript end to end', async (t) => {
  const h = await realtimeHarness(t, {}, { auto: true })
  const call = await h.call({ callSid: callSid(), mode: 'assist', tracks: ['inbound'] })
  const loud = Buffer.alloc(160, 0x10).toString('base64')
  const quiet = Buffer.alloc(160, 0xff).toString('base64')
  for (let i = 0; i < 15; i++) call.media(loud)
  for (let i = 0; i < 30; i++) call.media(quiet)
  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final')
  t.match(final, { speaker: 'remote', text: /fake transcript of 0\.3 s/, startMs: 0, endMs: 800 })
  call.stop()
})
