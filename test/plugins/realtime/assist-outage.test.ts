/** Assist mode through a sustained Realtime outage: the call stays up, the bridge never gives up, transcripts resume. */
import t from 'tap'
import type { AiStatusEvent, TranscriptEvent } from '../../../src/call/events.ts'
import { callSid, frame, realtimeHarness, sleep } from '../../realtime-harness.ts'

/** Where the agent would give up (transfer to the operator); assist must outlast it. */
const AGENT_BUDGET = 2
const REFUSED = AGENT_BUDGET + 2

t.test('assist outlasts an outage longer than the agent\'s give-up budget; transcripts and ready return after it', async (t) => {
  const h = await realtimeHarness(t, { REALTIME_RECONNECT_ATTEMPTS: String(AGENT_BUDGET) })
  const call = await h.call({ callSid: callSid(), mode: 'assist', tracks: ['inbound'] })
  const first = await h.fake.waitForConnection()
  const firstReady = await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'ready')
  call.media(frame(0))
  await first.waitForAudio(160)

  h.fake.refuseNext(REFUSED, 503)
  first.drop()
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'degraded')
  // Twilio keeps streaming throughout; every frame is taken (and held for the next session).
  const sent: string[] = []
  const refused = (): number => h.fake.handshakes.filter((x) => x.status === 503).length
  const giveUpAt = Date.now() + 30_000
  for (let i = 1; refused() < REFUSED; i++) {
    if (Date.now() > giveUpAt) throw new Error(`only ${refused()} reconnect attempts`)
    sent.push(frame(i))
    call.media(frame(i))
    await sleep(20)
  }
  t.equal(call.ws.readyState, call.ws.OPEN, 'the Twilio media socket is still open after the refusals')
  t.same(h.events.filter((e): e is AiStatusEvent => e.type === 'ai.status').map((e) => e.status), ['connecting', 'ready', 'degraded'],
    'degraded throughout the outage; the bridge did not give up')

  const second = await h.fake.waitForConnection((c) => c.id === 2, 15_000)
  await second.waitFor('session.update')
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'ready' && e !== firstReady)
  t.equal(h.fake.handshakes.length, 1 + REFUSED + 1, 'kept retrying until the API accepted again')
  await second.waitForAudio(sent.length * 160)
  t.same(second.appended, sent, 'audio sent during the outage arrives, in order')

  const item = second.speechStarted({ audioStartMs: 0 })
  second.speechStopped(item, 200)
  second.transcribe(item, 'Are you still there?')
  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final')
  t.match(final, { speaker: 'remote', text: 'Are you still there?' }, 'transcripts resume')
  t.same(h.events.filter((e): e is AiStatusEvent => e.type === 'ai.status').map((e) => e.status), ['connecting', 'ready', 'degraded', 'ready'])
  t.equal(call.ws.readyState, call.ws.OPEN, 'the phone call never noticed')
  call.stop()
})
