/** Reading Realtime server events: frames that are not events are reported, the connection carries on. */
import t, { type Test } from 'tap'
import OpenAI from 'openai'
import type { RealtimeServerEvent } from '../../../src/ai/events.ts'
import { createSdkConnect, MAX_EVENT_BYTES } from '../../../src/ai/realtime-connection.ts'
import { readServerEvent } from '../../../src/ai/server-events.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime } from '../../../fakes/realtime-server.ts'
import { until } from '../../until.ts'

const payload = Buffer.from(Array.from({ length: 160 }, (_, i) => (i * 7) & 0xff)).toString('base64')
const delta = { type: 'response.output_audio.delta', event_id: 'event_1', response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 12, delta: payload }

t.test('frames that are not events are errors, not exceptions', async (t) => {
  for (const text of ['{"type":', 'null', '[]', '"response.output_audio.delta"', '{"type":5}', '{}', '']) {
    const res = readServerEvent(text)
    t.ok(res instanceof Error, JSON.stringify(text))
  }
})

/** A real SDK connection (createSdkConnect) to a fake Realtime server, recording what its handlers get. */
async function sdkSession (t: Test) {
  const fake = await startFakeRealtime()
  t.teardown(() => fake.close())
  const connect = createSdkConnect(new OpenAI({ apiKey: FAKE_OPENAI_KEY, baseURL: fake.url }))
  const got = { open: false, events: [] as RealtimeServerEvent[], errors: [] as Error[], closedWith: undefined as number | undefined }
  const conn = connect({ model: 'gpt-realtime' }, {
    onOpen: () => { got.open = true },
    onEvent: (e) => got.events.push(e),
    onError: (e) => got.errors.push(e),
    onClose: (code) => { got.closedWith = code },
  })
  t.teardown(() => conn.close())
  const server = await fake.waitForConnection()
  await until('session.created on an open socket', () => got.open && got.events.some((e) => e.type === 'session.created'))
  return { conn, server, got }
}

t.test('through the SDK connection: events in order, a malformed frame reported once and the session carries on', async (t) => {
  const { conn, server, got: { events, errors } } = await sdkSession(t)
  server.sendText(JSON.stringify(delta))
  server.sendText('{"type":"response.output_audio.delta", oops')
  server.sendText(JSON.stringify({ ...delta, event_id: 'event_2', delta: 'AAAA' }))
  server.send({ type: 'response.output_audio.done', response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 0 })
  await until('response.output_audio.done', () => events.some((e) => e.type === 'response.output_audio.done'))
  t.same(events.map((e) => e.type), ['session.created', 'response.output_audio.delta', 'response.output_audio.delta', 'response.output_audio.done'])
  t.strictSame(events[1], delta, 'the delta exactly as sent')
  t.equal((events[2] as { delta: string }).delta, 'AAAA')
  t.equal(errors.length, 1, 'the malformed frame is reported once')
  t.match(errors[0]?.message, /unparsable Realtime event/)
  t.ok(conn.sendRaw('{"type":"input_audio_buffer.clear"}'), 'the connection is still open')
  await server.waitFor('input_audio_buffer.clear')
  t.ok(conn.sendRaw('{"type":"input_audio_buffer.append","audio":"AAAA"}'))
  await server.waitFor('input_audio_buffer.append')
  t.equal(server.binaryFrames, 0, 'client events go out as text frames')
})

t.test('a server event past MAX_EVENT_BYTES is refused: an error, the socket closed, nothing handled', async (t) => {
  const { server, got } = await sdkSession(t)
  server.sendText(JSON.stringify({ type: 'conversation.item.retrieved', item: { id: 'x', pad: 'A'.repeat(MAX_EVENT_BYTES) } }))
  await until('the socket to close', () => got.closedWith !== undefined)
  t.match(got.errors.map((e) => e.message).join('\n'), /max payload size exceeded/i, 'ws refuses it for its size')
  t.ok(got.closedWith === 1006 || got.closedWith === 1009, `closed (${String(got.closedWith)})`)
  t.notOk(got.events.some((e) => (e.type as string) === 'conversation.item.retrieved'), 'the oversized event never reached the handlers')
})
