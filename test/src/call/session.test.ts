import t from 'tap'
import { createCallEventBus } from '../../../src/call/bus.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import { MediaSession, describeClose, type RefuseReason, type SessionDeps } from '../../../src/call/session.ts'
import { silentLogger } from '../../../src/log.ts'
import { createStreamTokens } from '../../../src/twilio/stream-token.ts'
import { TEST_AUTH_TOKEN, withStreamToken } from '../../helpers.ts'
import { mediaFrame, startFrame } from '../../media-helpers.ts'

/** A session on a fake transport, with the real token verifier; records closes, refusals, events and starts. */
function session (over: Partial<SessionDeps> = {}) {
  const closes: Array<[number, string]> = []
  const refused: RefuseReason[] = []
  const events: CallEvent[] = []
  const bus = createCallEventBus(silentLogger)
  bus.subscribe((e) => events.push(e))
  let started = 0
  const tokens = createStreamTokens({ twilioAuthToken: TEST_AUTH_TOKEN, streamTokenSecret: undefined }, Date.now)
  const s = new MediaSession({
    transport: { send: () => {}, close: (code, reason) => closes.push([code, reason]) },
    bus,
    log: silentLogger,
    now: Date.now,
    authorize: (p, sid) => tokens.verify(p, sid),
    startTimeoutMs: 0,
    idleTimeoutMs: 0,
    onRefused: (r) => refused.push(r),
    onStart: () => { started++; return [] },
    onEnd: () => {},
    ...over,
  })
  return { s, closes, refused, events, started: () => started }
}

t.test('a start without a valid token: closed 1008 before onStart, no event published', async (t) => {
  const r = session()
  r.s.onText(startFrame('CA1', 'MZ1', { token: 'nope' }))
  t.same(r.closes, [[1008, 'stream not authorised']])
  t.same(r.refused, ['malformed'])
  t.equal(r.started(), 0, 'no handlers were asked for')
  t.same(r.events, [], 'no call.started, no call.stopped')
  t.equal(r.s.call, undefined)
})

t.test('the call takes mode, stream kind, direction and numbers from the token', async (t) => {
  const r = session()
  const { token } = withStreamToken('CA2', { mode: 'assist', stream: 'start', direction: 'outbound', from: '+1555', to: '+1666' })
  r.s.onText(startFrame('CA2', 'MZ2', { token, mode: 'agent', stream: 'connect', direction: 'outbound', from: '+1555', to: '+1666' }))
  t.match(r.s.call, { mode: 'assist', bidirectional: false, direction: 'outbound', from: '+1555', to: '+1666' })
  t.notOk('token' in (r.s.call?.params ?? {}), 'the token is not handed on to handlers')
  t.equal(r.s.call?.sendMedia('AAAA'), false, 'a <Start> stream never sends back')
  t.equal(r.started(), 1)
})

t.test('the media path arms no timer per frame: one idle timer per idle period', async (t) => {
  const orig = globalThis.setTimeout
  let armed = 0
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => { armed++; return orig(...args) }) as typeof setTimeout
  t.teardown(() => { globalThis.setTimeout = orig })
  const r = session({ startTimeoutMs: 5000, idleTimeoutMs: 60_000 })
  r.s.onText(startFrame('CA3', 'MZ3'))
  for (let n = 1; n <= 2000; n++) r.s.onText(mediaFrame('MZ3', 'inbound', n))
  globalThis.setTimeout = orig
  t.equal(armed, 2, 'the start deadline, then one idle check, for 2000 frames')
  r.s.finish('stop')
})

t.test('describeClose names who closed and how', async (t) => {
  t.equal(describeClose(1000, false), 'twilio_normal')
  t.equal(describeClose(1001, false), 'twilio_going_away')
  t.equal(describeClose(1006, false), 'twilio_abnormal')
  t.equal(describeClose(1008, true), 'server_policy')
  t.equal(describeClose(1013, true), 'server_try_again_later')
  t.equal(describeClose(4000, false), 'twilio_code_4000')
})

const LOUD = Buffer.alloc(160, 0x10).toString('base64')
const QUIET = Buffer.alloc(160, 0xff).toString('base64')
const levelEvents = (events: CallEvent[]) => events.filter((e): e is Extract<CallEvent, { type: 'call.levels' }> => e.type === 'call.levels')

for (const first of ['inbound', 'outbound'] as const) {
  t.test(`both tracks are measured on their own frames when the ${first} frame comes first in each slot`, async (t) => {
    const r = session()
    r.s.onText(startFrame('CA4', 'MZ4'))
    const second = first === 'inbound' ? 'outbound' : 'inbound'
    // 1 s of both tracks (50 frames each), interleaved; only the second track of each pair has speech.
    for (let n = 1; n <= 50; n++) {
      r.s.onText(mediaFrame('MZ4', first, n, QUIET))
      r.s.onText(mediaFrame('MZ4', second, n, LOUD))
    }
    const levels = levelEvents(r.events)
    t.equal(levels.length, 5, 'one call.levels per 200 ms interval (timestamps 0..980)')
    const late = levels.slice(1)
    t.ok(late.every((e) => e[second] > 0.5), `the ${second} track (never first in its slot) is measured: ${late.map((e) => e[second]).join(',')}`)
    t.ok(late.every((e) => e[first] === 0), `the quiet ${first} track reads 0`)
    r.s.finish('stop')
  })
}

t.test('a track whose frames stop reads 0 again; one event per interval either way', async (t) => {
  const r = session()
  r.s.onText(startFrame('CA5', 'MZ5'))
  for (let n = 1; n <= 20; n++) {
    r.s.onText(mediaFrame('MZ5', 'outbound', n, LOUD))
    r.s.onText(mediaFrame('MZ5', 'inbound', n, LOUD))
  }
  for (let n = 21; n <= 60; n++) r.s.onText(mediaFrame('MZ5', 'inbound', n, LOUD))
  const levels = levelEvents(r.events)
  t.equal(levels.length, 6, 'timestamps 0..1180: six intervals')
  t.ok((levels[1]?.outbound ?? 0) > 0.5, 'measured while it had frames')
  t.equal(levels[levels.length - 1]?.outbound, 0, 'no outbound frames for 800 ms: 0')
  t.ok(levels.slice(1).every((e) => e.inbound > 0.5), 'inbound (second in the first slot) measured from the next interval on')
  r.s.finish('stop')
})

t.test("the agent's sent audio is counted as sentMs; a clear takes off what had not played", async (t) => {
  let now = 1_000_000
  const r = session({ now: () => now })
  r.s.onText(startFrame('CA6', 'MZ6', { mode: 'agent', stream: 'connect' }, ['inbound']))
  const call = r.s.call
  if (call === undefined) throw new Error('no call')
  r.s.onText(mediaFrame('MZ6', 'inbound', 1))
  t.equal(levelEvents(r.events)[0]?.sentMs, 0, 'nothing sent yet')
  // 1 s of agent audio (50 × 160 bytes) sent at once, as a response streams in faster than real time.
  for (let i = 0; i < 50; i++) t.ok(call.sendMedia(QUIET))
  t.equal(call.stats.framesOut, 50)
  r.s.onText(mediaFrame('MZ6', 'inbound', 11))
  t.equal(levelEvents(r.events)[1]?.sentMs, 1000, '8000 bytes of μ-law = 1000 ms')
  // The caller barges in 300 ms later: 700 ms were still queued and never play.
  now += 300
  t.ok(call.sendClear())
  r.s.onText(mediaFrame('MZ6', 'inbound', 21))
  t.equal(levelEvents(r.events)[2]?.sentMs, 300, 'the cleared, unplayed part is not talk time')
  // Later audio sent after the queue drained counts in full.
  now += 5000
  for (let i = 0; i < 25; i++) call.sendMedia(QUIET)
  now += 5000
  t.ok(call.sendClear(), 'a clear after everything played takes nothing off')
  r.s.onText(mediaFrame('MZ6', 'inbound', 31))
  t.equal(levelEvents(r.events)[3]?.sentMs, 800)
  r.s.finish('stop')
  const stopped = r.events.find((e) => e.type === 'call.stopped')
  t.equal(stopped?.type === 'call.stopped' ? stopped.stats.sentMs : undefined, 800, 'the stop carries it too (levels are not replayed to peers)')
})

t.test("the agent's level is measured on the audio sent for it, as it plays; <Start> streams carry none", async (t) => {
  let now = 2_000_000
  const r = session({ now: () => now })
  r.s.onText(startFrame('CA7', 'MZ7', { mode: 'agent', stream: 'connect' }, ['inbound']))
  const call = r.s.call
  if (call === undefined) throw new Error('no call')
  r.s.onText(mediaFrame('MZ7', 'inbound', 1, QUIET))
  t.equal(levelEvents(r.events)[0]?.sent, 0, 'nothing sent: 0')
  // 600 ms of loud agent audio sent at once; then 400 ms later it is still playing.
  for (let i = 0; i < 30; i++) call.sendMedia(LOUD)
  now += 400
  r.s.onText(mediaFrame('MZ7', 'inbound', 11, QUIET))
  const playing = levelEvents(r.events)[1]
  t.ok((playing?.sent ?? 0) > 0.5, `loud while it plays: ${playing?.sent}`)
  t.equal(playing?.inbound, 0, 'the quiet caller reads 0')
  // The caller barges in: a clear drops the rest, the meter drops with it.
  call.sendClear()
  r.s.onText(mediaFrame('MZ7', 'inbound', 21, QUIET))
  t.equal(levelEvents(r.events)[2]?.sent, 0)
  r.s.finish('stop')

  const assist = session()
  assist.s.onText(startFrame('CA8', 'MZ8'))
  assist.s.onText(mediaFrame('MZ8', 'inbound', 1, LOUD))
  t.notOk('sent' in (levelEvents(assist.events)[0] ?? {}), 'assist: nothing is sent back, no sent level')
  assist.s.finish('stop')
})
