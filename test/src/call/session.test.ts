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
