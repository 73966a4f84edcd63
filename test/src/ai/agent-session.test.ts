import t from 'tap'
import { AgentSession } from '../../../src/ai/agent.ts'
import { CallContext } from '../../../src/ai/call-context.ts'
import type { RealtimeServerEvent } from '../../../src/ai/events.ts'
import type { ConnectionHandlers, ConnectRealtime } from '../../../src/ai/realtime-connection.ts'
import { createCallEventBus } from '../../../src/call/bus.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import type { LiveCall } from '../../../src/call/session.ts'
import { silentLogger } from '../../../src/log.ts'
import { testConfig } from '../../helpers.ts'
import { until } from '../../until.ts'

/** One ordered log of everything sent to Twilio and to OpenAI, so cross-socket order is visible. */
function rig (t: { teardown (fn: () => void): void }) {
  const log: string[] = []
  const sent: Array<Record<string, unknown>> = []
  let handlers: ConnectionHandlers | undefined
  let connects = 0
  const connect: ConnectRealtime = (_target, h) => {
    handlers = h
    connects++
    return {
      send: (event) => {
        sent.push(event as unknown as Record<string, unknown>)
        const e = event as { type: string, audio_end_ms?: number, item_id?: string }
        log.push(e.type === 'conversation.item.truncate' ? `openai:truncate ${e.item_id}@${e.audio_end_ms}` : `openai:${e.type}`)
      },
      sendRaw: () => { log.push('openai:append'); return true },
      bufferedAmount: 0,
      close: () => {},
    }
  }
  const events: CallEvent[] = []
  const bus = createCallEventBus(silentLogger)
  bus.subscribe((e) => events.push(e))
  const ctx = new CallContext('CA1', bus, Date.now)
  const agent = new AgentSession({
    ctx,
    connect,
    config: testConfig(),
    tools: { twilio: undefined },
    log: silentLogger,
    callerSpeaker: 'remote',
    onStatus: () => {},
  })
  const call = {
    callSid: 'CA1',
    streamSid: 'MZ1',
    bidirectional: true,
    startedAt: Date.now(),
    log: silentLogger,
    sendMedia: (p: string) => { log.push(`twilio:media ${Buffer.from(p, 'base64').length}`); return true },
    sendMark: (name: string) => { log.push(`twilio:mark ${name}`); return true },
    sendClear: () => { log.push('twilio:clear'); return true },
    end: () => { log.push('twilio:end') },
  } as unknown as LiveCall
  t.teardown(() => agent.close('test over'))
  const emit = (e: Record<string, unknown>): void => handlers?.onEvent(e as unknown as RealtimeServerEvent)
  return { log, sent, events, agent, call, emit, open: () => handlers?.onOpen(), dropped: (code: number) => handlers?.onClose(code, ''), connects: () => connects }
}

const audio = (ms: number): string => Buffer.alloc(ms * 8, 0x55).toString('base64')

t.test('barge-in sends Twilio clear strictly before the truncate, at the last echoed mark', async (t) => {
  const r = rig(t)
  r.open()
  r.emit({ type: 'session.updated', session: {} })
  r.agent.attach(r.call)
  t.equal(r.log.at(-1), 'openai:response.create', 'greeting once attached and ready')
  r.emit({ type: 'response.created', response: { id: 'r1' } })
  for (let i = 0; i < 4; i++) r.emit({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'it1', output_index: 0, content_index: 0, delta: audio(120) })
  t.same(r.log.slice(-2), ['twilio:media 960', 'twilio:mark it1:480'])
  r.agent.mark('it1:120')
  r.agent.mark('it1:240')
  r.agent.mark('bogus')
  r.log.length = 0
  r.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' })
  t.same(r.log, ['twilio:clear', 'openai:truncate it1@240'])
  // Twilio echoes every outstanding mark after a clear: that is not playback.
  r.agent.mark('it1:360')
  r.agent.mark('it1:480')
  r.log.length = 0
  r.emit({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'it1', output_index: 0, content_index: 0, delta: audio(120) })
  t.same(r.log, [], 'a late delta of the cancelled response is dropped')
  t.equal(r.agent.lateDeltasDropped, 1)
  t.equal(r.agent.state, 'listening')
})

t.test('no truncate when everything sent was heard and the response is over', async (t) => {
  const r = rig(t)
  r.open()
  r.emit({ type: 'session.updated', session: {} })
  r.agent.attach(r.call)
  r.emit({ type: 'response.created', response: { id: 'r1' } })
  r.emit({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'it1', output_index: 0, content_index: 0, delta: audio(100) })
  r.emit({ type: 'response.done', response: { id: 'r1', status: 'completed', output: [{ id: 'it1', type: 'message' }] } })
  t.equal(r.agent.state, 'speaking', 'still playing until the mark comes back')
  r.agent.mark('it1:100')
  t.equal(r.agent.state, 'listening')
  r.log.length = 0
  r.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' })
  t.same(r.log, [])
  t.same(r.events.filter((e) => e.type === 'agent.state').map((e) => (e as { state: string }).state), ['thinking', 'speaking', 'listening'])
})

t.test('a speech_started while thinking cancels the response before any audio plays', async (t) => {
  const r = rig(t)
  r.open()
  r.emit({ type: 'session.updated', session: {} })
  r.agent.attach(r.call)
  r.emit({ type: 'response.created', response: { id: 'r2' } })
  r.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' })
  r.log.length = 0
  r.emit({ type: 'response.output_audio.delta', response_id: 'r2', item_id: 'it2', output_index: 0, content_index: 0, delta: audio(20) })
  t.same(r.log, [], 'nothing of r2 reaches the caller')
})

t.test('small deltas are marked every 100 ms and at the end of the item', async (t) => {
  const r = rig(t)
  r.open()
  r.emit({ type: 'session.updated', session: {} })
  r.agent.attach(r.call)
  r.log.length = 0
  r.emit({ type: 'response.created', response: { id: 'r1' } })
  for (let i = 0; i < 5; i++) r.emit({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'it1', output_index: 0, content_index: 0, delta: audio(30) })
  r.emit({ type: 'response.output_audio.done', response_id: 'r1', item_id: 'it1', output_index: 0, content_index: 0 })
  t.same(r.log, ['twilio:media 240', 'twilio:media 240', 'twilio:media 240', 'twilio:media 240', 'twilio:mark it1:120', 'twilio:media 240', 'twilio:mark it1:150'])
})

t.test('after a reconnect, audio of the old session still playing is cleared but not truncated in the new one', async (t) => {
  const r = rig(t)
  r.open()
  r.emit({ type: 'session.updated', session: {} })
  r.agent.attach(r.call)
  r.emit({ type: 'response.created', response: { id: 'r1' } })
  r.emit({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'old1', output_index: 0, content_index: 0, delta: audio(500) })
  r.dropped(1006)
  await until('the reconnect', () => r.connects() === 2)
  r.open()
  r.emit({ type: 'session.updated', session: {} })
  r.log.length = 0
  r.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' })
  t.same(r.log, ['twilio:clear'], 'Twilio stops playing; the new session is not asked to truncate an item it never had')
})
