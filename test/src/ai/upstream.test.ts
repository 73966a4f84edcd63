/** Upstream roll-over timing against the Realtime API's 60-minute session cap (fake timers, stand-in sockets). */
import t from 'tap'
import { mock } from 'node:test'
import type { RealtimeServerEvent } from '../../../src/ai/events.ts'
import type { ConnectionHandlers, ConnectRealtime } from '../../../src/ai/realtime-connection.ts'
import { Upstream, type ReadyKind } from '../../../src/ai/upstream.ts'
import { silentLogger } from '../../../src/log.ts'
import { testConfig } from '../../helpers.ts'

const MINUTE = 60_000
const CAP_MS = 60 * MINUTE

interface Sock { h: ConnectionHandlers, sent: string[], closed: boolean }

function setup (isIdle: () => boolean): { up: Upstream, socks: Sock[], ready: ReadyKind[] } {
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
    maxAttempts: 5,
    handlers: { onEvent () {}, onReady: (_l, kind) => { ready.push(kind) }, onStatus () {}, onGiveUp () {}, onRefused () {}, isIdle },
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
