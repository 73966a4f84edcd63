/** The hub's ringing sub-state (whose phone rings) and its one duration clock, replayed through the browser store. */
import t from 'tap'
import { HubState } from '../../../src/hub/state.ts'
import type { UiCall, UiEvent } from '../../../src/hub/schema.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import { applyMessage, createStore } from '../../../static/js/store.js'

const SID = 'CA00000000000000000000000000000c2c'
const started = (at: number, direction: 'inbound' | 'outbound' = 'outbound'): CallEvent => ({
  type: 'call.started', callSid: SID, at, streamSid: 'MZ1', mode: 'assist', direction, from: '+15550002222', to: direction === 'outbound' ? '+14155550123' : '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: at,
})
const stats = { frames: { inbound: 1, outbound: 1 }, bytes: { inbound: 160, outbound: 160 }, gapMs: { inbound: 0, outbound: 0 }, gaps: { inbound: 0, outbound: 0 }, framesOut: 0, rejected: {} }

/** Feeds events one by one; after each, what the call looks like on the hub and in a browser store fed its UI events. */
function run (events: CallEvent[]): { steps: Array<Pick<UiCall, 'phase' | 'ringing' | 'dialStatus'> | undefined>, state: HubState, store: ReturnType<typeof createStore> } {
  const state = new HubState()
  const store = createStore()
  applyMessage(store, { type: 'snapshot', v: 1, seq: 0, scope: '*', serverTime: 0, calls: [] }, 0)
  const steps = events.map((e) => {
    state.apply(e, (ev: UiEvent) => applyMessage(store, ev, 0))
    const v = state.view(e.callSid)
    return v === undefined ? undefined : { phase: v.phase, ringing: v.ringing, dialStatus: v.dialStatus }
  })
  return { steps, state, store }
}

t.test('click-to-call: your phone rings, then the number, then the call is live, then over', async (t) => {
  const { steps, state, store } = run([
    { type: 'call.status', callSid: SID, at: 100, status: 'initiated', direction: 'outbound' },
    { type: 'call.status', callSid: SID, at: 200, status: 'ringing', direction: 'outbound' },
    { type: 'call.status', callSid: SID, at: 900, status: 'in-progress', direction: 'outbound' },
    { type: 'call.webhook', callSid: SID, at: 950, mode: 'assist', direction: 'outbound', from: '+15550002222', to: '+14155550123', ai: true },
    started(1000),
    { type: 'call.dial', callSid: SID, at: 1100, childSid: 'CAchild', status: 'initiated' },
    { type: 'call.dial', callSid: SID, at: 1300, childSid: 'CAchild', status: 'ringing' },
    { type: 'call.dial', callSid: SID, at: 5000, childSid: 'CAchild', status: 'in-progress' },
    { type: 'call.dial', callSid: SID, at: 20000, childSid: 'CAchild', status: 'completed' },
    { type: 'call.stopped', callSid: SID, at: 20100, streamSid: 'MZ1', reason: 'stop', durationMs: 19100, stats },
  ])
  t.same(steps, [
    { phase: 'ringing', ringing: 'operator', dialStatus: null },
    { phase: 'ringing', ringing: 'operator', dialStatus: null },
    { phase: 'ringing', ringing: null, dialStatus: null },
    { phase: 'ringing', ringing: 'remote', dialStatus: null },
    { phase: 'live', ringing: 'remote', dialStatus: null },
    { phase: 'live', ringing: 'remote', dialStatus: 'initiated' },
    { phase: 'live', ringing: 'remote', dialStatus: 'ringing' },
    { phase: 'live', ringing: null, dialStatus: 'in-progress' },
    { phase: 'live', ringing: null, dialStatus: 'completed' },
    { phase: 'ended', ringing: null, dialStatus: 'completed' },
  ])
  t.match(state.view(SID), { direction: 'outbound', remote: '+14155550123' })
  t.same(JSON.parse(JSON.stringify(store.calls.get(SID))), JSON.parse(JSON.stringify(state.view(SID))), 'a browser store fed the UI events holds the same call')
})

t.test('click-to-call: the webhook may beat the "answered" status; that status never clears the number\'s ringing', async (t) => {
  const { steps } = run([
    { type: 'call.status', callSid: SID, at: 100, status: 'ringing', direction: 'outbound' },
    { type: 'call.webhook', callSid: SID, at: 900, mode: 'assist', direction: 'outbound', from: '+15550002222', to: '+14155550123', ai: true },
    { type: 'call.status', callSid: SID, at: 910, status: 'in-progress', direction: 'outbound' },
    // A late "ringing" for the first leg (callbacks are not ordered) does not put your phone back to ringing.
    { type: 'call.status', callSid: SID, at: 920, status: 'ringing', direction: 'outbound' },
  ])
  t.same(steps.map((s) => s?.ringing), ['operator', 'remote', 'remote', 'remote'])
})

t.test('the number is busy: ringing stops, the dial status says why, and the end clears everything', async (t) => {
  const { steps, state, store } = run([
    { type: 'call.webhook', callSid: SID, at: 900, mode: 'assist', direction: 'outbound', from: '+15550002222', to: '+14155550123', ai: true },
    started(1000),
    { type: 'call.dial', callSid: SID, at: 1300, childSid: 'CAchild', status: 'ringing' },
    { type: 'call.dial', callSid: SID, at: 3000, childSid: 'CAchild', status: 'busy' },
    { type: 'call.status', callSid: SID, at: 3100, status: 'completed', duration: 5 },
  ])
  t.same(steps.map((s) => s?.ringing), ['remote', 'remote', 'remote', null, null])
  t.match(state.view(SID), { phase: 'ended', endReason: 'completed', dialStatus: 'busy' })
  t.same(JSON.parse(JSON.stringify(store.calls.get(SID))), JSON.parse(JSON.stringify(state.view(SID))))
})

t.test('inbound assist rings your phone until you answer; an agent call with AI rings nobody', async (t) => {
  const assist = run([
    { type: 'call.webhook', callSid: SID, at: 900, mode: 'assist', direction: 'inbound', from: '+14155550123', to: '+15550002222', ai: true },
    started(1000, 'inbound'),
    { type: 'call.dial', callSid: SID, at: 1100, childSid: 'CAop', status: 'ringing' },
    { type: 'call.dial', callSid: SID, at: 4000, childSid: 'CAop', status: 'in-progress' },
  ])
  t.same(assist.steps.map((s) => s?.ringing), ['operator', 'operator', 'operator', null])
  const agent = run([{ type: 'call.webhook', callSid: SID, at: 900, mode: 'agent', direction: 'inbound', from: '+14155550123', to: '+15550002222', ai: true }])
  t.equal(agent.steps[0]?.ringing, null)
  const agentNoAi = run([{ type: 'call.webhook', callSid: SID, at: 900, mode: 'agent', direction: 'inbound', from: '+14155550123', to: '+15550002222', ai: false }])
  t.equal(agentNoAi.steps[0]?.ringing, 'operator', 'without AI the agent call is dialled through to you')
})

t.test('a dialled leg we know nothing about creates no call; one after the end changes nothing', async (t) => {
  const { steps, state } = run([
    { type: 'call.dial', callSid: SID, at: 1, childSid: 'CAchild', status: 'ringing' },
    { type: 'call.webhook', callSid: SID, at: 900, mode: 'assist', direction: 'inbound', from: '+14155550123', to: '+15550002222', ai: true },
    { type: 'call.status', callSid: SID, at: 2000, status: 'canceled' },
    { type: 'call.dial', callSid: SID, at: 2100, childSid: 'CAchild', status: 'ringing' },
  ])
  t.equal(steps[0], undefined)
  t.same(steps.slice(1).map((s) => s?.ringing), ['operator', null, null])
  t.equal(state.view(SID)?.dialStatus, null)
})

t.test('one duration clock: a call with media ends at end − startedAt, whatever Twilio\'s CallDuration says', async (t) => {
  const { state } = run([started(1000, 'inbound'), { type: 'call.status', callSid: SID, at: 21_000, status: 'completed', duration: 30 }])
  t.equal(state.view(SID)?.durationMs, 20_000, 'the live tick (now − startedAt) and the final figure agree')
  const noMedia = run([{ type: 'call.status', callSid: SID, at: 5, status: 'ringing' }, { type: 'call.status', callSid: SID, at: 9000, status: 'no-answer', duration: 0 }])
  t.equal(noMedia.state.view(SID)?.durationMs, 0)
  const stopped = run([started(1000, 'inbound'), { type: 'call.stopped', callSid: SID, at: 61_000, streamSid: 'MZ1', reason: 'stop', durationMs: 60_000, stats }])
  t.equal(stopped.state.view(SID)?.durationMs, 60_000)
})

t.test("agent calls: the agent's meter is the measured loudness of the audio sent for it", async (t) => {
  const state = new HubState()
  const at = 1000
  state.apply({ type: 'call.started', callSid: SID, at, streamSid: 'MZ1', mode: 'agent', direction: 'inbound', from: '+14155550123', to: '+15550002222', tracks: ['inbound'], bidirectional: true, startedAt: at }, () => {})
  state.apply({ type: 'call.levels', callSid: SID, at: at + 200, inbound: 0.1, outbound: 0, sent: 0.734 }, () => {})
  t.same(state.view(SID)?.levels, { remote: 0.1, local: 0.73 })
  // A producer that predates `sent` keeps the old reading (the outbound track, 0 on <Connect>).
  state.apply({ type: 'call.levels', callSid: SID, at: at + 400, inbound: 0.2, outbound: 0 }, () => {})
  t.same(state.view(SID)?.levels, { remote: 0.2, local: 0 })
})

t.test('a final line from the party being rung clears the ringing even without the dial callback', async (t) => {
  const line = (itemId: string, speaker: 'remote' | 'operator', text: string): CallEvent => ({ type: 'transcript.final', callSid: SID, at: 2000, itemId, speaker, text, startMs: 0, endMs: 900 })
  const inbound = run([
    { type: 'call.webhook', callSid: SID, at: 900, mode: 'assist', direction: 'inbound', from: '+14155550123', to: '+15550002222', ai: true },
    started(1000, 'inbound'),
    line('r1', 'remote', 'Hello? Anyone there?'),
    line('o0', 'operator', ' '),
    line('o1', 'operator', 'Hi, this is Sam.'),
  ])
  t.same(inbound.steps.map((s) => s?.ringing), ['operator', 'operator', 'operator', 'operator', null], 'the caller talking changes nothing; you talking means you answered')
  t.same(JSON.parse(JSON.stringify(inbound.store.calls.get(SID))), JSON.parse(JSON.stringify(inbound.state.view(SID))))
  const outbound = run([
    { type: 'call.webhook', callSid: SID, at: 900, mode: 'assist', direction: 'outbound', from: '+15550002222', to: '+14155550123', ai: true },
    started(1000),
    line('o1', 'operator', 'Come on, pick up.'),
    line('r1', 'remote', 'Hello?'),
  ])
  t.same(outbound.steps.map((s) => s?.ringing), ['remote', 'remote', 'remote', null])
})
