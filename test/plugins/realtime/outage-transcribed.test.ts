/** Speech during a short upstream outage (8 s, under REALTIME_BUFFER_MS) is transcribed once the session returns. */
import t from 'tap'
import type { TranscriptEvent } from '../../../src/call/events.ts'
import { mulawSilence } from '../../../src/audio/mulaw.ts'
import { callSid, frame, realtimeHarness, sleep } from '../../realtime-harness.ts'

const QUIET = mulawSilence(20).toString('base64')
const OUTAGE_MS = 8000

t.test('assist: the caller speaks during an 8 s outage; the recovered session gets every frame and transcribes the speech', async (t) => {
  // The fake's own energy VAD (auto) transcribes whatever audio reaches it, as the API would.
  const h = await realtimeHarness(t, { REALTIME_BUFFER_MS: '10000' }, { auto: true, transcribe: (_c, seconds) => `speech of ${seconds.toFixed(1)} s` })
  const call = await h.call({ callSid: callSid(), mode: 'assist', tracks: ['inbound'] })
  const first = await h.fake.waitForConnection()
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'ready')
  for (let i = 0; i < 10; i++) call.media(QUIET)
  await first.waitForAudio(10 * 160)

  h.fake.refuseFor(OUTAGE_MS)
  first.drop()
  // Twilio keeps streaming in real time: 2 s of speech at once, then quiet, for the whole outage.
  const sent: string[] = []
  const started = Date.now()
  for (let i = 0; Date.now() - started < OUTAGE_MS || h.fake.connections.length < 2; i++) {
    const payload = i < 100 ? frame(i) : QUIET
    sent.push(payload)
    call.media(payload)
    if (i % 5 === 4) await sleep(Math.max(0, (i + 1) * 20 - (Date.now() - started)))
  }
  const second = await h.fake.waitForConnection((c) => c.id === 2)
  t.ok(h.fake.handshakes.some((x) => x.status === 503), 'the API was really away')
  for (let i = 0; i < 40; i++) call.media(QUIET) // 800 ms more quiet: the end of the speech is long past
  await second.waitForAudio((sent.length + 40) * 160, 15_000)
  t.same(second.appended.slice(0, sent.length), sent, 'every frame sent during the outage reaches the new session, in order')
  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final', 5000)
  t.match(final, { speaker: 'remote', text: 'speech of 2.0 s' }, 'all 2 s of the speech is transcribed')
  t.ok(final.startMs >= 200 && final.startMs <= 260, `placed at the call time it was spoken (${final.startMs} ms)`)
  call.stop()
  const dropped = await h.waitEvent((e) => e.type === 'call.metric' && e.name === 'frames_dropped')
  t.match(dropped, { value: 0 }, 'no frame dropped')
})
