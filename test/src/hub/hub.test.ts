import t from 'tap'
import { createHub, type Hub, type HubClient, type HubOptions } from '../../../src/hub/hub.ts'
import { HubState } from '../../../src/hub/state.ts'
import type { ServerMessage, SnapshotMessage, UiCall, UiEvent } from '../../../src/hub/schema.ts'
import { silentLogger } from '../../../src/log.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import { applyMessage, createStore } from '../../../static/js/store.js'
import { callSidFor, scriptedCall } from '../../e2e/browser/call-script.ts'

/** A transport-free client that records what it was sent. */
class FakeClient implements HubClient {
  sent: string[] = []
  closed: { code: number, reason: string } | undefined
  bufferedAmount = 0
  throwOnSend = false
  send (text: string): void {
    if (this.throwOnSend) throw new Error('socket gone')
    this.sent.push(text)
  }

  close (code: number, reason: string): void { this.closed = { code, reason } }
  get messages (): ServerMessage[] { return this.sent.map((s) => JSON.parse(s) as ServerMessage) }
}

/** A hub whose flushes run only when the test says so (deterministic interleaving). */
function manualHub (opts: Partial<HubOptions> = {}): { hub: Hub, flush: () => void, pending: () => number } {
  const queue: Array<() => void> = []
  const hub = createHub({ log: silentLogger, defer: (fn) => queue.push(fn), heartbeatMs: 3_600_000, ...opts })
  t.teardown(() => hub.close())
  return { hub, flush: () => { while (queue.length > 0) (queue.shift() as () => void)() }, pending: () => queue.length }
}

/** Rebuilds the calls a client should now hold, with the browser's own store code. */
function replay (client: FakeClient): UiCall[] {
  const store = createStore()
  for (const m of client.messages) applyMessage(store, m, 0)
  return [...store.calls.values()] as UiCall[]
}

const byId = (calls: readonly UiCall[]): Record<string, UiCall> => Object.fromEntries(calls.map((c) => [c.callSid, JSON.parse(JSON.stringify(c)) as UiCall]))

t.test('a mid-call joiner gets a snapshot then every later event: no gap, no duplicate', async (t) => {
  const { hub, flush } = manualHub()
  const events = scriptedCall({ callSid: callSidFor(1), turns: 3 })
  const half = Math.floor(events.length / 2)
  for (const e of events.slice(0, half)) hub.ingest(e)
  const client = new FakeClient()
  hub.connect(client)
  for (const e of events.slice(half)) hub.ingest(e)
  flush()
  const [snap, ...rest] = client.messages
  t.equal(snap?.type, 'snapshot')
  const s = snap as SnapshotMessage
  t.equal(s.v, 1)
  t.equal(s.calls.length, 1)
  t.ok(s.calls[0]?.lines.length as number > 0, 'the snapshot carries the transcript so far')
  t.same(rest.map((m) => (m as UiEvent).seq), rest.map((_, i) => s.seq + 1 + i), 'events continue at snapshot.seq + 1, contiguous')
  t.same(byId(replay(client)), byId(hub.snapshot().calls), 'snapshot + events rebuild exactly the hub state')
})

t.test('joiners at every point of five interleaved calls all converge on the hub state', async (t) => {
  const { hub, flush } = manualHub()
  const scripts = [1, 2, 3, 4, 5].map((n) => scriptedCall({ callSid: callSidFor(n), mode: n % 2 === 0 ? 'agent' : 'assist', turns: 2 + n, t0: 1_700_000_000_000 + n * 7 }))
  const all: CallEvent[] = []
  for (let i = 0; all.length < scripts.reduce((a, s) => a + s.length, 0); i++) {
    for (const s of scripts) if (i < s.length) all.push(s[i] as CallEvent)
  }
  const clients: FakeClient[] = []
  let rnd = 42
  all.forEach((e, i) => {
    hub.ingest(e)
    rnd = (rnd * 1103515245 + 12345) & 0x7fffffff
    if (rnd % 7 === 0) {
      const c = new FakeClient()
      hub.connect(c)
      clients.push(c)
    }
    if (i % 13 === 0) flush() // flushes land between publishes, as setImmediate would
  })
  flush()
  t.ok(clients.length > 10, `${clients.length} clients joined mid-stream`)
  const final = byId(hub.snapshot().calls)
  for (const c of clients) {
    const msgs = c.messages
    const snap = msgs[0] as SnapshotMessage
    const seqs = msgs.slice(1).map((m) => (m as UiEvent).seq)
    const contiguous = seqs.every((s, i) => s === snap.seq + 1 + i)
    if (!contiguous) t.fail(`client joined at ${snap.seq} saw a gap or duplicate`)
    t.same(byId(replay(c)), final)
  }
  t.equal(hub.stats.clients, clients.length)
})

t.test('partial lines are replaced in place and settle when final; late partials never unsettle', async (t) => {
  const { hub, flush } = manualHub()
  const c = new FakeClient()
  hub.connect(c)
  const sid = callSidFor(9)
  const base = { callSid: sid, speaker: 'remote' as const }
  hub.ingest({ type: 'call.started', callSid: sid, at: 1, streamSid: 'MZ1', mode: 'assist', direction: 'inbound', from: '+1', to: '+2', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: 1 })
  hub.ingest({ ...base, type: 'transcript.partial', at: 2, itemId: 'b', text: 'later', startMs: 3000, endMs: 3100 })
  hub.ingest({ ...base, type: 'transcript.partial', at: 3, itemId: 'a', text: 'hel', startMs: 1000, endMs: 1100 })
  hub.ingest({ ...base, type: 'transcript.partial', at: 4, itemId: 'a', text: 'hello th', startMs: 1000, endMs: 1300 })
  hub.ingest({ ...base, type: 'transcript.final', at: 5, itemId: 'a', text: 'hello there', startMs: 1000, endMs: 2000 })
  hub.ingest({ ...base, type: 'transcript.partial', at: 6, itemId: 'a', text: 'hello', startMs: 1000, endMs: 1200 })
  flush()
  const call = hub.snapshot().calls[0] as UiCall
  t.same(call.lines.map((l) => [l.itemId, l.text, l.final]), [['a', 'hello there', true], ['b', 'later', false]], 'spoken order, one line per item')
  t.equal(call.talkMs.remote, 1000)
  t.equal(c.messages.filter((m) => m.type === 'transcript.partial').length, 3, 'the late partial was not broadcast')
})

t.test('hints stream by delta, then settle (done, superseded)', async (t) => {
  const { hub, flush } = manualHub()
  const c = new FakeClient()
  const sid = callSidFor(3)
  hub.connect(c)
  hub.ingest({ type: 'hint.delta', callSid: sid, at: 10, hintId: 'h1', delta: 'Ask about ' })
  hub.ingest({ type: 'hint.delta', callSid: sid, at: 11, hintId: 'h1', delta: 'budget' })
  t.equal(hub.snapshot().calls[0]?.hints[0]?.text, 'Ask about budget')
  hub.ingest({ type: 'hint.done', callSid: sid, at: 12, hintId: 'h1', text: 'Ask about budget.', itemId: 'i1', superseded: true })
  hub.ingest({ type: 'hint.delta', callSid: sid, at: 13, hintId: 'h1', delta: ' late' })
  flush()
  t.match(hub.snapshot().calls[0]?.hints[0], { hintId: 'h1', text: 'Ask about budget.', done: true, superseded: true, itemId: 'i1', at: 10 })
  t.same(byId(replay(c)), byId(hub.snapshot().calls))
})

t.test('a hint cut off by the end of the call says why', async (t) => {
  const { hub, flush } = manualHub()
  const c = new FakeClient()
  const sid = callSidFor(33)
  hub.connect(c)
  hub.ingest({ type: 'hint.delta', callSid: sid, at: 10, hintId: 'h2', delta: 'Confirm the' })
  hub.ingest({ type: 'hint.done', callSid: sid, at: 12, hintId: 'h2', text: 'Confirm the', itemId: 'i2', superseded: false, error: 'the call ended' })
  flush()
  t.match(hub.snapshot().calls[0]?.hints[0], { text: 'Confirm the', done: true, superseded: false, error: 'the call ended' })
  const done = c.messages.find((m) => m.type === 'hint.done') as { hint: { error?: string } } | undefined
  t.equal(done?.hint.error, 'the call ended', 'the live event carries it too')
  t.same(byId(replay(c)), byId(hub.snapshot().calls))
})

t.test('publishing never sends on the publisher stack; sends happen at the deferred flush', async (t) => {
  const { hub, flush, pending } = manualHub()
  const c = new FakeClient()
  hub.connect(c)
  for (const e of scriptedCall({ callSid: callSidFor(4) })) hub.ingest(e)
  t.equal(c.sent.length, 0, 'nothing sent synchronously')
  t.equal(pending(), 1, 'one flush scheduled for the whole burst')
  flush()
  t.ok(c.sent.length > 10)
})

t.test('a client that cannot keep up is closed with 1013; the others carry on', async (t) => {
  const { hub, flush } = manualHub({ maxBufferedBytes: 1000, maxQueued: 100 })
  const slow = new FakeClient()
  const flooded = new FakeClient()
  const fine = new FakeClient()
  hub.connect(slow)
  hub.connect(flooded)
  hub.connect(fine)
  flush()
  slow.bufferedAmount = 5000 // the socket stopped draining
  const events = scriptedCall({ callSid: callSidFor(5), turns: 4 })
  for (const e of events.slice(0, 10)) hub.ingest(e)
  flush()
  t.same(slow.closed, { code: 1013, reason: 'too slow: reconnect to resync' })
  t.equal(slow.sent.length, 1, 'only the snapshot was sent before it fell behind')
  // The queue bound applies even before a flush can run (a burst on one tick).
  for (const e of events.slice(10)) hub.ingest(e)
  t.equal(flooded.closed, undefined)
  t.equal(fine.closed, undefined)
  const burst = scriptedCall({ callSid: callSidFor(6), turns: 8 })
  for (const e of burst) hub.ingest(e)
  t.equal(flooded.closed?.code, 1013, 'queue over maxQueued: dropped at once, memory freed')
  t.equal(fine.closed?.code, 1013, 'the bound is per client and applies to all')
  t.equal(hub.stats.dropped, 3)
  t.equal(hub.stats.clients, 0)
})

t.test('a throwing client is dropped without disturbing ingest', async (t) => {
  const { hub, flush } = manualHub()
  const bad = new FakeClient()
  const good = new FakeClient()
  hub.connect(bad)
  hub.connect(good)
  bad.throwOnSend = true
  for (const e of scriptedCall({ callSid: callSidFor(7) })) hub.ingest(e)
  t.doesNotThrow(flush)
  t.equal(bad.closed?.code, 1013)
  t.ok(good.sent.length > 5)
})

t.test('per-call subscription: only that call, and switching scope sends a fresh snapshot', async (t) => {
  const { hub, flush } = manualHub()
  const a = callSidFor(10)
  const b = callSidFor(11)
  const one = new FakeClient()
  const conn = hub.connect(one, a)
  const sa = scriptedCall({ callSid: a, t0: 1 })
  const sb = scriptedCall({ callSid: b, t0: 2 })
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    if (sa[i] !== undefined) hub.ingest(sa[i] as CallEvent)
    if (sb[i] !== undefined) hub.ingest(sb[i] as CallEvent)
  }
  flush()
  const msgs = one.messages
  t.equal((msgs[0] as SnapshotMessage).scope, a)
  t.same((msgs[0] as SnapshotMessage).calls, [], 'the call had not started yet')
  t.ok(msgs.slice(1).every((m) => (m as UiEvent).callSid === a), 'nothing from the other call')
  const seqs = msgs.slice(1).map((m) => (m as UiEvent).seq)
  t.same(seqs, [...seqs].sort((x, y) => x - y), 'increasing seq')
  t.same(byId(replay(one)), byId(hub.snapshot(a).calls))

  conn.receive('{"type":"subscribe","callSid":"*"}')
  conn.receive('not json')
  conn.receive('{"type":"shout"}')
  flush()
  const after = one.messages.slice(msgs.length)
  t.equal(after[0]?.type, 'snapshot')
  t.equal((after[0] as SnapshotMessage).scope, '*')
  t.equal((after[0] as SnapshotMessage).calls.length, 2)
  t.same(after.slice(1).map((m) => m.type), ['error', 'error'])
})

t.test('ended calls stay readable, bounded: the oldest is removed with call.removed', async (t) => {
  const { hub, flush } = manualHub({ recentCalls: 2 })
  const c = new FakeClient()
  hub.connect(c)
  for (const n of [20, 21, 22]) for (const e of scriptedCall({ callSid: callSidFor(n), t0: n * 10_000 })) hub.ingest(e)
  flush()
  t.same(hub.snapshot().calls.map((x) => x.callSid), [callSidFor(21), callSidFor(22)])
  t.ok(c.messages.some((m) => m.type === 'call.removed' && m.callSid === callSidFor(20)))
  t.equal(hub.snapshot().calls[0]?.phase, 'ended')
  t.ok((hub.snapshot().calls[0]?.lines.length as number) > 0, 'its transcript is still there')
  hub.ingest({ type: 'transcript.final', callSid: callSidFor(20), at: 1, itemId: 'late', speaker: 'remote', text: 'x', startMs: 0, endMs: 1 })
  t.equal(hub.stats.calls, 2, 'a straggler for an evicted call does not resurrect it')
  // A summary after the end still lands on a recent call.
  hub.ingest({ type: 'call.summary', callSid: callSidFor(22), at: 2, summary: 'Asked about pricing.', intent: 'pricing', actionItems: ['Send quote'] })
  t.same(hub.snapshot().calls[1]?.summary, { summary: 'Asked about pricing.', intent: 'pricing', actionItems: ['Send quote'] })
})

t.test('levels are per party: on click-to-call the inbound track is the operator', async (t) => {
  const { hub } = manualHub()
  const sid = callSidFor(30)
  hub.ingest({ type: 'call.started', callSid: sid, at: 1, streamSid: 'MZ', mode: 'assist', direction: 'outbound', from: '+15550002222', to: '+14155550123', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: 1 })
  hub.ingest({ type: 'call.levels', callSid: sid, at: 2, inbound: 0.9, outbound: 0.123 })
  const call = hub.snapshot().calls[0] as UiCall
  t.same(call.levels, { remote: 0.12, local: 0.9 })
  t.equal(call.remote, '+14155550123', 'the remote party of a click-to-call is the number dialled')
})

t.test("the agent's talk time is the audio sent for it, not its transcript's timing", async (t) => {
  const { hub, flush } = manualHub()
  const c = new FakeClient()
  hub.connect(c)
  const sid = callSidFor(31)
  hub.ingest({ type: 'call.started', callSid: sid, at: 1, streamSid: 'MZ', mode: 'agent', direction: 'inbound', from: '+14155550123', to: '+15550002222', tracks: ['inbound'], bidirectional: true, startedAt: 1 })
  hub.ingest({ type: 'transcript.final', callSid: sid, at: 2, itemId: 'c1', speaker: 'remote', text: 'Hi, I need help', startMs: 0, endMs: 1500 })
  // The agent's transcript arrives while its audio is still streaming: its endMs says nothing about how long it spoke.
  hub.ingest({ type: 'call.levels', callSid: sid, at: 3, inbound: 0, outbound: 0, sentMs: 2400 })
  hub.ingest({ type: 'transcript.final', callSid: sid, at: 4, itemId: 'a1', speaker: 'agent', text: 'Sure, what can I do for you today?', startMs: 1600, endMs: 1650 })
  hub.ingest({ type: 'call.levels', callSid: sid, at: 5, inbound: 0, outbound: 0, sentMs: 3000 })
  flush()
  t.same((hub.snapshot().calls[0] as UiCall).talkMs, { remote: 1500, operator: 0, agent: 3000 })
  const levels = c.messages.filter((m): m is Extract<ServerMessage, { type: 'audio.levels' }> => m.type === 'audio.levels')
  t.same(levels.map((m) => m.talkMs?.agent), [2400, 3000], 'audio.levels carries the talk times')
  const finals = c.messages.filter((m): m is Extract<ServerMessage, { type: 'transcript.partial' | 'transcript.final' }> => m.type === 'transcript.final')
  t.same(finals.map((m) => m.talkMs.agent), [0, 2400], 'transcript events carry them too (the agent line adds nothing itself)')
  // A producer that predates sentMs leaves the agent's time alone.
  hub.ingest({ type: 'call.levels', callSid: sid, at: 6, inbound: 0.5, outbound: 0 })
  t.equal((hub.snapshot().calls[0] as UiCall).talkMs.agent, 3000)
  // A peer replaying the call's kept history (no levels) still gets the agent's time from the stop's stats.
  const peer = new HubState()
  const kept: CallEvent[] = [
    { type: 'call.started', callSid: sid, at: 1, streamSid: 'MZ', mode: 'agent', direction: 'inbound', from: '+14155550123', to: '+15550002222', tracks: ['inbound'], bidirectional: true, startedAt: 1 },
    { type: 'call.stopped', callSid: sid, at: 9, streamSid: 'MZ', reason: 'stop', durationMs: 8, stats: { frames: { inbound: 1, outbound: 0 }, bytes: { inbound: 160, outbound: 0 }, gapMs: { inbound: 0, outbound: 0 }, gaps: { inbound: 0, outbound: 0 }, framesOut: 200, sentMs: 4000, rejected: {} } },
  ]
  for (const e of kept) peer.apply(e, () => {})
  t.equal(peer.view(sid)?.talkMs.agent, 4000)
})

t.test('a busy click-to-call shows up and ends from its status callback alone', async (t) => {
  const { hub, flush } = manualHub()
  const c = new FakeClient()
  hub.connect(c)
  const sid = callSidFor(31)
  hub.ingest({ type: 'call.status', callSid: sid, at: 5, status: 'ringing' })
  hub.ingest({ type: 'call.status', callSid: sid, at: 9, status: 'busy' })
  flush()
  t.same(c.messages.slice(1).map((m) => m.type), ['call.started', 'call.updated', 'call.ended'])
  t.match(hub.snapshot().calls[0], { phase: 'ended', endReason: 'busy', twilioStatus: 'busy' })
  hub.ingest({ type: 'call.stopped', callSid: callSidFor(32), at: 1, streamSid: 'MZ', reason: 'stop', durationMs: 1, stats: {} as never })
  t.equal(hub.stats.calls, 1, 'a stop for an unknown call creates nothing')
})

t.test('silent calls are ended as stale by the sweep', async (t) => {
  const state = new HubState()
  const out: UiEvent[] = []
  state.apply({ type: 'call.webhook', callSid: 'CA1', at: 1000, mode: 'assist', direction: 'inbound', from: '+1', to: '+2', ai: false }, (e) => out.push(e))
  state.sweep(2000, 5000, (e) => out.push(e))
  t.equal(state.view('CA1')?.phase, 'ringing')
  state.sweep(7000, 5000, (e) => out.push(e))
  t.match(state.view('CA1'), { phase: 'ended', endReason: 'stale', aiStatus: 'off', aiEnabled: false })
  t.same(out.map((e) => e.seq), [1, 2])
})

t.test('seed adopts calls from elsewhere once; close ends clients with 1001', async (t) => {
  const { hub: a } = manualHub()
  for (const e of scriptedCall({ callSid: callSidFor(40), open: true })) a.ingest(e)
  const { hub: b, flush } = manualHub()
  const c = new FakeClient()
  b.connect(c)
  b.seed(a.snapshot().calls)
  b.seed(a.snapshot().calls)
  flush()
  t.same(byId(b.snapshot().calls), byId(a.snapshot().calls))
  t.equal(c.messages.filter((m) => m.type === 'call.started').length, 1)
  b.close()
  t.equal(c.closed?.code, 1001)
})

t.test('source: the hub follows an event source and lets go on close', async (t) => {
  const listeners = new Set<(e: CallEvent) => void>()
  const source = { subscribe: (l: (e: CallEvent) => void) => { listeners.add(l); return () => listeners.delete(l) } }
  const hub = createHub({ log: silentLogger, source })
  t.equal(listeners.size, 1)
  for (const l of listeners) l({ type: 'call.status', callSid: 'CA9', at: 1, status: 'ringing' })
  t.equal(hub.stats.calls, 1)
  hub.close()
  t.equal(listeners.size, 0)
})
