/** Upstream roll-over timing against the Realtime API's 60-minute session cap (fake timers, stand-in sockets). */
import t from 'tap'
import { mock } from 'node:test'
import type { RealtimeServerEvent } from '../../../src/ai/events.ts'
import type { ConnectionHandlers, ConnectRealtime } from '../../../src/ai/realtime-connection.ts'
import { MIN_COMMIT_BYTES, Upstream, type Link, type ReadyKind, type Refusal } from '../../../src/ai/upstream.ts'
import { silentLogger } from '../../../src/log.ts'
import { testConfig } from '../../helpers.ts'

const MINUTE = 60_000
const CAP_MS = 60 * MINUTE

interface Sock { h: ConnectionHandlers, sent: string[], closed: boolean }

function setup (isIdle: () => boolean, refusals: Refusal[] = [], maxAttempts = 5): { up: Upstream, socks: Sock[], ready: ReadyKind[] } {
  const socks: Sock[] = []
  const ready: ReadyKind[] = []
  const connect: ConnectRealtime = (_target, h) => {
    const s: Sock = { h, sent: [], closed: false }
    socks.push(s)
    return {
      send: (e) => { s.sent.push(e.type) },
      sendRaw: (text) => { s.sent.push(text); return !s.closed },
      bufferedAmount: 0,
      close: () => { s.closed = true },
    }
  }
  const up = new Upstream({
    connect,
    target: { model: 'gpt-realtime' },
    sessionUpdate: { type: 'session.update', session: { type: 'realtime' } },
    log: silentLogger,
    rolloverMs: testConfig().realtimeRolloverMs,
    bufferBytes: 8000,
    maxAttempts,
    handlers: { onEvent () {}, onReady: (_l, kind) => { ready.push(kind) }, onStatus () {}, onGiveUp () {}, onRefused: (r) => { refusals.push(r) }, isIdle },
  })
  return { up, socks, ready }
}

const makeReady = (s: Sock): void => {
  s.h.onOpen()
  s.h.onEvent({ type: 'session.updated', session: {} } as unknown as RealtimeServerEvent)
}

t.beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }))
t.afterEach(() => mock.timers.reset())

t.test('a call that never pauses still moves to a new session before the 60-minute cap', async (t) => {
  const { up, socks, ready } = setup(() => false)
  makeReady(socks[0] as Sock)
  const rollover = testConfig().realtimeRolloverMs
  mock.timers.tick(rollover - 1)
  t.equal(socks.length, 1, 'no standby before the roll-over time')
  mock.timers.tick(1)
  t.equal(socks.length, 2, 'a standby session opens at the roll-over time')
  makeReady(socks[1] as Sock)
  up.append('AAAA', 3, rollover)
  t.same(ready, ['first'], 'busy: the audio stays on the old session for now')
  mock.timers.tick(CAP_MS - rollover - 1000)
  t.same(ready, ['first', 'rollover'], 'switched at least a second before the cap')
  up.append('BBBB', 3, CAP_MS - 1000)
  t.ok((socks[1] as Sock).sent.some((m) => m.includes('BBBB')), 'audio goes to the new session')
  t.notOk((socks[0] as Sock).sent.some((m) => m.includes('BBBB')), 'not to the old one')
  up.close()
})

t.test('an idle moment after the standby is ready switches at once', async (t) => {
  let idle = false
  const { up, socks, ready } = setup(() => idle)
  makeReady(socks[0] as Sock)
  mock.timers.tick(testConfig().realtimeRolloverMs)
  makeReady(socks[1] as Sock)
  up.append('AAAA', 3, 0)
  t.same(ready, ['first'])
  idle = true
  up.append('BBBB', 3, 0)
  t.same(ready, ['first', 'rollover'])
  t.ok((socks[1] as Sock).sent.some((m) => m.includes('BBBB')))
  mock.timers.tick(5_000)
  t.ok((socks[0] as Sock).closed, 'the old session is closed once it has had time to finish')
  up.close()
})

const refuse = (s: Sock): void => {
  s.h.onOpen()
  s.h.onEvent({ type: 'error', event_id: 'e1', error: { type: 'invalid_request_error', code: 'invalid_value', message: "Invalid value: 'robot'.", param: 'session.audio.output.voice' } })
}

t.test('an error answering session.update is a refused config: reported once, closed, never retried (even with no attempt limit)', async (t) => {
  const refusals: Refusal[] = []
  const { up, socks } = setup(() => true, refusals, Infinity)
  refuse(socks[0] as Sock)
  t.same(refusals, [{ message: "Invalid value: 'robot'.", param: 'session.audio.output.voice', code: 'invalid_value' }])
  t.ok(up.closed, 'the upstream is closed')
  t.ok((socks[0] as Sock).closed, 'and its socket')
  mock.timers.tick(10 * MINUTE)
  t.equal(socks.length, 1, 'no reconnect, however long we wait')
})

t.test('an error after session.updated is not a refusal', async (t) => {
  const refusals: Refusal[] = []
  const { up, socks } = setup(() => true, refusals)
  makeReady(socks[0] as Sock)
  ;(socks[0] as Sock).h.onEvent({ type: 'error', event_id: 'e2', error: { type: 'invalid_request_error', code: 'invalid_value', message: 'x', param: 'item_id' } })
  t.same(refusals, [])
  t.notOk(up.closed)
  up.close()
})

t.test('commit() never commits an empty or too short buffer: it clears instead', async (t) => {
  let link: Link | undefined
  const socks: Sock[] = []
  const connect: ConnectRealtime = (_target, h) => {
    const s: Sock = { h, sent: [], closed: false }
    socks.push(s)
    return { send: (e) => { s.sent.push(e.type) }, sendRaw: () => true, bufferedAmount: 0, close: () => { s.closed = true } }
  }
  const up = new Upstream({
    connect,
    target: { intent: 'transcription' },
    sessionUpdate: { type: 'session.update', session: { type: 'transcription' } },
    log: silentLogger,
    rolloverMs: testConfig().realtimeRolloverMs,
    bufferBytes: 8000,
    maxAttempts: 5,
    handlers: { onEvent () {}, onReady: (l) => { link = l }, onStatus () {}, onGiveUp () {}, onRefused () {}, isIdle: () => true },
  })
  const s = socks[0] as Sock
  t.notOk(up.commit({ id: 1, baseMs: 0, bytes: 0, uncommitted: 0 }), 'nothing is sent before the session is ready')
  makeReady(s)
  const l = link as Link
  t.notOk(up.commit(l), 'empty buffer: no commit')
  t.same(s.sent.filter((m) => m.startsWith('input_audio_buffer')), [], 'and nothing to clear')
  up.append('AAAA', MIN_COMMIT_BYTES - 8, 0)
  t.notOk(up.commit(l), 'under 100 ms: no commit')
  t.same(s.sent.filter((m) => m.startsWith('input_audio_buffer')), ['input_audio_buffer.clear'], 'cleared instead')
  up.append('AAAA', MIN_COMMIT_BYTES, 100)
  t.ok(up.commit(l))
  t.notOk(up.commit(l), 'a second commit right after has nothing left to commit')
  t.same(s.sent.filter((m) => m.startsWith('input_audio_buffer')), ['input_audio_buffer.clear', 'input_audio_buffer.commit'])
  up.close()
})

t.test('a server_error before session.updated is retried like a lost connection, not reported as refused', async (t) => {
  const refusals: Refusal[] = []
  const { up, socks, ready } = setup(() => true, refusals)
  const s = socks[0] as Sock
  s.h.onOpen()
  s.h.onEvent({ type: 'error', event_id: 'e3', error: { type: 'server_error', message: 'The server had an error.' } })
  t.same(refusals, [])
  t.notOk(up.closed)
  mock.timers.tick(1000)
  t.equal(socks.length, 2, 'a new connection is tried')
  makeReady(socks[1] as Sock)
  t.same(ready, ['first'])
  up.close()
})

t.test('a refused roll-over standby is dropped; the session in use carries on', async (t) => {
  const refusals: Refusal[] = []
  const { up, socks } = setup(() => true, refusals)
  makeReady(socks[0] as Sock)
  mock.timers.tick(testConfig().realtimeRolloverMs)
  t.equal(socks.length, 2, 'standby opened')
  refuse(socks[1] as Sock)
  t.ok((socks[1] as Sock).closed, 'the standby is closed')
  t.notOk(up.closed, 'the upstream is not')
  t.notOk((socks[0] as Sock).closed, 'nor the session in use')
  up.append('CCCC', 3, 0)
  t.ok((socks[0] as Sock).sent.some((m) => m.includes('CCCC')), 'audio still flows to it')
  up.close()
})
