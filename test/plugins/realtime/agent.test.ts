import t from 'tap'
import type { AgentStateEvent, TranscriptEvent } from '../../../src/call/events.ts'
import { tone } from '../../../fakes/realtime-server.ts'
import { callSid, frame, realtimeHarness, sleep } from '../../realtime-harness.ts'

const GREETING = 'Hi, this is Talk Hint. How can I help?'

t.test('agent opens one model session with the exact GA session.update', async (t) => {
  const h = await realtimeHarness(t, { REALTIME_MODEL: 'gpt-realtime-2.1', VOICE: 'cedar', AGENT_INSTRUCTIONS: 'Be brief.', TURN_DETECTION: 'semantic_vad' })
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  t.equal(conn.url, '/v1/realtime?model=gpt-realtime-2.1')
  const update = await conn.waitFor('session.update') as unknown as { session: Record<string, unknown> & { tools: Array<Record<string, unknown>> } }
  const { tools, ...session } = update.session
  t.same(session, {
    type: 'realtime',
    model: 'gpt-realtime-2.1',
    instructions: 'Be brief.',
    output_modalities: ['audio'],
    audio: {
      input: {
        format: { type: 'audio/pcmu' },
        noise_reduction: { type: 'near_field' },
        transcription: { model: 'gpt-transcribe' },
        turn_detection: { type: 'semantic_vad', eagerness: 'auto', create_response: true, interrupt_response: true },
      },
      output: { format: { type: 'audio/pcmu' }, voice: 'cedar' },
    },
    tool_choice: 'auto',
  })
  t.same(tools.map((x) => [x.type, x.name]), [['function', 'end_call'], ['function', 'transfer_to_operator'], ['function', 'take_message']])
  t.match(tools[0], { description: /hang/, parameters: { type: 'object' } })
  t.same(conn.errors, [], 'the fake accepted it')
  call.stop()
})

t.test('the greeting is spoken once; audio reaches Twilio byte-exact with item:ms marks; turn states follow', async (t) => {
  const h = await realtimeHarness(t, { AGENT_GREETING: GREETING })
  const chunks = [tone(100, 1), tone(100, 2), tone(100, 3)]
  h.fake.onResponseCreate = (conn) => { conn.respond({ chunks, transcript: GREETING }) }
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'agent', playback: 'manual' })
  const conn = await h.fake.waitForConnection()
  const greet = await conn.waitFor('response.create')
  t.match(greet, { response: { instructions: new RegExp(GREETING.replace(/[?.]/g, '\\$&')) } })
  await call.waitFor((m) => m.event === 'mark' && (m.mark as { name: string }).name.endsWith(':300'))
  t.same(call.mediaOut, chunks, 'agent audio forwarded unchanged')
  const itemId = conn.items.values().next().value?.id as string
  t.same(call.marksOut, [`${itemId}:100`, `${itemId}:200`, `${itemId}:300`], 'one mark per chunk: item:ms played so far')
  t.same(call.received.map((m) => m.event), ['media', 'mark', 'media', 'mark', 'media', 'mark'])
  for (const m of call.received) t.equal(m.streamSid, call.streamSid)

  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  t.equal(final.text, GREETING)
  t.same(call.echoed, [], 'nothing has played yet: no mark is echoed')
  call.advancePlayback(150)
  t.same(call.echoed, [{ name: `${itemId}:100`, cause: 'played' }], 'a mark comes back once the audio before it has played')
  await sleep(50)
  const states = (): string[] => h.events.filter((e): e is AgentStateEvent => e.type === 'agent.state').map((e) => e.state)
  t.equal(states().at(-1), 'speaking', 'still speaking: 200 ms are unheard')
  call.advancePlayback(150)
  await h.waitEvent((e) => e.type === 'agent.state' && e.state === 'listening')
  t.same(states(), ['thinking', 'speaking', 'listening'])
  // Counted once the call is over and its upstream session closed: a late second greeting would be in by then.
  call.stop()
  await conn.whenClosed()
  t.equal(conn.received.filter((e) => e.type === 'response.create').length, 1, 'greeting requested exactly once')
  t.same(conn.errors, [])
})

t.test('caller audio passes through byte-exact; timestamp gaps become μ-law silence', async (t) => {
  const h = await realtimeHarness(t)
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  call.media(frame(1), 'inbound', 0)
  call.media(frame(2), 'inbound', 20)
  call.media(frame(3), 'inbound', 100) // 60 ms missing
  call.media(frame(4), 'inbound', 120)
  await conn.waitForAudio(160 * 4 + 480)
  t.same(conn.appended, [frame(1), frame(2), Buffer.alloc(480, 0xff).toString('base64'), frame(3), frame(4)])
  call.stop()
})

t.test('barge-in: clear, then truncate at the ms the marks say were played; late deltas dropped', async (t) => {
  const h = await realtimeHarness(t)
  h.fake.onResponseCreate = () => {} // the greeting is not answered in this test
  const call = await h.call({ callSid: callSid(), mode: 'agent', playback: 'manual' })
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('response.create')
  for (let i = 0; i < 5; i++) call.media(frame(i))

  const chunks = Array.from({ length: 10 }, (_, i) => tone(100, i))
  const { responseId, itemId } = conn.respond({ chunks, transcript: 'Let me tell you all about our plans', complete: false })
  await call.waitFor((m) => m.event === 'mark' && (m.mark as { name: string }).name === `${itemId}:1000`)
  // Twilio plays three chunks (and a bit): it echoes their marks.
  call.advancePlayback(350)
  t.same(call.echoed.map((e) => e.name), [100, 200, 300].map((ms) => `${itemId}:${ms}`))
  await sleep(50)
  const caller = conn.speechStarted()
  const truncate = await conn.waitFor('conversation.item.truncate')
  t.same(truncate, { type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 300 })
  await call.waitFor((m) => m.event === 'clear')
  t.same(call.echoed.filter((e) => e.cause === 'clear').map((e) => e.name), [400, 500, 600, 700, 800, 900, 1000].map((ms) => `${itemId}:${ms}`), 'clear echoes every outstanding mark')
  const clearAt = call.received.findIndex((m) => m.event === 'clear')
  t.equal(clearAt, 20, 'clear comes after the 10 chunks and marks already sent')

  // In-flight deltas of the cancelled response arrive late: none may reach the caller.
  conn.audioDelta(responseId, itemId, tone(100, 99))
  conn.speechStopped(caller)
  const next = conn.respond({ chunks: [tone(100, 50)], transcript: 'Sure.' })
  await call.waitFor((m) => m.event === 'mark' && (m.mark as { name: string }).name === `${next.itemId}:100`)
  const afterClear = call.received.slice(clearAt + 1).filter((m) => m.event === 'media').map((m) => (m.media as { payload: string }).payload)
  t.same(afterClear, [tone(100, 50)], 'only the new response is played')
  const states = h.events.filter((e): e is AgentStateEvent => e.type === 'agent.state').map((e) => e.state)
  t.same(states, ['thinking', 'speaking', 'listening', 'thinking', 'speaking'])
  t.ok(h.events.some((e) => e.type === 'call.metric' && e.name === 'caller_stop_to_agent_audio_ms'), 'caller stop → first agent audio is measured')
  // Checked once the session has closed, so an error answering the truncate (or anything later) is in by then.
  call.stop()
  await conn.whenClosed()
  t.same(conn.errors, [], 'audio_end_ms is within the audio the server sent')
})

t.test('caller and agent transcripts both reach the call events, in spoken order', async (t) => {
  const h = await realtimeHarness(t)
  h.fake.onResponseCreate = () => {}
  const call = await h.call({ callSid: callSid(), mode: 'agent' })
  const conn = await h.fake.waitForConnection()
  await conn.waitFor('response.create')
  for (let i = 0; i < 50; i++) call.media(frame(i))
  await conn.waitForAudio(50 * 160)
  const item = conn.speechStarted({ audioStartMs: 100 })
  conn.speechStopped(item, 900)
  // The model answers before the caller's transcription is done.
  conn.respond({ chunks: [tone(100)], transcript: 'Your order ships today.' })
  await sleep(50)
  conn.transcribe(item, 'Where is my order?')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.speaker === 'agent')
  const finals = h.events.filter((e): e is TranscriptEvent => e.type === 'transcript.final')
  t.same(finals.map((f) => [f.speaker, f.text]), [['remote', 'Where is my order?'], ['agent', 'Your order ships today.']])
  t.equal(finals[0]?.startMs, 100)
  t.equal(finals[0]?.endMs, 900)
  call.stop()
})
