/** What each mode asks of the Realtime API by default and as configured; the session-lifetime defaults; assist pre-warm. */
import t from 'tap'
import { mock } from 'node:test'
import { createRealtimeBridge } from '../../../src/ai/bridge.ts'
import type { ConnectRealtime } from '../../../src/ai/realtime-connection.ts'
import { createCallEventBus } from '../../../src/call/bus.ts'
import type { CallWebhookEvent, TranscriptEvent } from '../../../src/call/events.ts'
import { silentLogger } from '../../../src/log.ts'
import { TWILIO_PATHS } from '../../../src/routes.ts'
import { signedPost, testConfig } from '../../helpers.ts'
import { callSid, frame, realtimeHarness } from '../../realtime-harness.ts'

const MINUTE = 60_000

t.test('agent without TURN_DETECTION: server VAD that answers and can be interrupted', async (t) => {
  const h = await realtimeHarness(t, { TURN_DETECTION: undefined })
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  const update = await conn.waitFor('session.update')
  t.same(update.session.audio?.input, {
    format: { type: 'audio/pcmu' },
    noise_reduction: { type: 'near_field' },
    transcription: { model: 'gpt-transcribe' },
    turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true, interrupt_response: true },
  })
  await conn.waitFor('response.create')
  t.same(conn.errors, [], 'the fake accepted it')
  call.stop()
})

t.test('assist sends a non-default TRANSCRIBE_MODEL to each track session', async (t) => {
  const h = await realtimeHarness(t, { TRANSCRIBE_MODEL: 'gpt-4o-mini-transcribe', LANGUAGE: undefined })
  const call = await h.call({ callSid: callSid(), mode: 'assist' })
  await h.fake.waitForConnection((c) => c.id === 2)
  t.equal(h.fake.connections.length, 2)
  for (const conn of h.fake.connections) {
    const update = await conn.waitFor('session.update')
    t.same(update.session.audio?.input?.transcription, { model: 'gpt-4o-mini-transcribe' }, `connection ${conn.id}: the configured model, no language`)
    t.same(conn.errors, [])
  }
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'ready')
  call.stop()
})

t.test('the roll-over default comes before the Realtime API\'s 60-minute session cap', async (t) => {
  const { realtimeRolloverMs } = testConfig()
  t.ok(realtimeRolloverMs < 60 * MINUTE, `${realtimeRolloverMs} ms is under 60 min`)
  t.ok(realtimeRolloverMs >= 30 * MINUTE, `${realtimeRolloverMs} ms is not needlessly early (≥ 30 min)`)
})

t.test('the pre-warm TTL default is 15 s: an unadopted pre-warmed session closes then, not before', async (t) => {
  const config = testConfig()
  t.equal(config.realtimePrewarmTtlMs, 15_000)
  // Upstream sockets that become ready at once; only setTimeout is mocked (the TTL timer is one).
  let closed = 0
  const connect: ConnectRealtime = (_target, h) => {
    setImmediate(() => h.onOpen())
    return {
      send: (event) => { if (event.type === 'session.update') h.onEvent({ type: 'session.updated', event_id: 'e', session: {} } as never) },
      sendRaw: () => true,
      bufferedAmount: 0,
      close: () => { closed++; h.onClose(1000, '') },
    }
  }
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const bus = createCallEventBus(silentLogger)
  const bridge = createRealtimeBridge({ connect, config, bus, twilio: undefined, log: silentLogger, now: Date.now })
  t.teardown(() => bridge.close())
  const webhook: CallWebhookEvent = { type: 'call.webhook', callSid: callSid(), at: Date.now(), mode: 'assist', direction: 'inbound', from: '+14155550100', to: '+15550002222', ai: true }
  bridge.prewarm(webhook)
  await new Promise((resolve) => setImmediate(resolve))
  mock.timers.tick(14_999)
  t.equal(closed, 0, 'still open just before 15 s')
  t.match(bridge.stats, { prewarmed: 1, expired: 0 })
  mock.timers.tick(1)
  t.equal(closed, 2, 'both track sessions closed at 15 s')
  t.match(bridge.stats, { prewarmed: 0, expired: 1, adopted: 0 })
})

t.test('pre-warm in assist mode: the webhook opens both track sessions and the media stream adopts them', async (t) => {
  const h = await realtimeHarness(t, { MODE: 'assist' })
  const sid = callSid()
  const res = await h.app.inject(signedPost(TWILIO_PATHS.inbound, { CallSid: sid, From: '+14155550100', To: '+15550002222', AccountSid: 'AC' + '0'.repeat(32) }))
  t.equal(res.statusCode, 200)
  await h.waitEvent<CallWebhookEvent>((e) => e.type === 'call.webhook' && e.ai && e.mode === 'assist')
  await h.fake.waitForConnection((c) => c.id === 2)
  await Promise.all(h.fake.connections.map((c) => c.waitFor('session.update')))

  const call = await h.call({ callSid: sid, mode: 'assist' })
  for (let i = 0; i < 5; i++) {
    call.media(frame(i), 'inbound')
    call.media(frame(100 + i), 'outbound')
  }
  await Promise.all(h.fake.connections.map((c) => c.waitForAudio(5 * 160)))
  const inbound = h.fake.connections.find((c) => c.appended[0] === frame(0))
  const outbound = h.fake.connections.find((c) => c.appended[0] === frame(100))
  if (inbound === undefined || outbound === undefined) throw new Error('tracks not found')
  t.same(inbound.appended, [0, 1, 2, 3, 4].map((i) => frame(i)), 'the inbound track reaches one pre-warmed session')
  t.same(outbound.appended, [100, 101, 102, 103, 104].map((i) => frame(i)), 'the outbound track reaches the other')
  t.equal(h.fake.connections.length, 2, 'no further connection')
  t.equal(h.fake.handshakes.length, 2, 'no further handshake either')
  t.match(h.app.realtime.stats, { adopted: 1, expired: 0, prewarmed: 0, live: 1 })
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'ready')

  const item = inbound.speechStarted({ audioStartMs: 0 })
  inbound.speechStopped(item, 100)
  inbound.transcribe(item, 'Hi, is this support?')
  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final')
  t.match(final, { speaker: 'remote', text: 'Hi, is this support?' }, 'the adopted session transcribes the caller')
  call.stop()
})
