import t from 'tap'
import { createMetrics, type Metrics } from '../../src/metrics.ts'
import type { CallEvent, MediaStats } from '../../src/call/events.ts'
import type { Mode } from '../../src/config.ts'

/** One sample's value from prom-client's own JSON view of the registry. */
async function value (m: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const all = await m.registry.getMetricsAsJSON()
  const metric = all.find((x) => x.name === name.replace(/_(sum|count|bucket)$/, '')) ?? all.find((x) => x.name === name)
  const sample = metric?.values.find((v) => {
    const vName = (v as { metricName?: string }).metricName ?? metric.name
    return vName === name && Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)
  })
  return sample?.value
}

const stats = (inb: number, outb: number, framesOut = 0, rejected: Record<string, number> = {}, gapMs = 0): MediaStats => ({
  frames: { inbound: inb, outbound: outb },
  bytes: { inbound: inb * 160, outbound: outb * 160 },
  gapMs: { inbound: gapMs, outbound: 0 },
  gaps: { inbound: gapMs > 0 ? 1 : 0, outbound: 0 },
  framesOut,
  rejected,
})

function setup (t: { teardown (fn: () => unknown): void }, calls: Array<{ mode: Mode }> = []) {
  const m = createMetrics({ listCalls: () => calls, processMetrics: false })
  t.teardown(() => m.close())
  const at = 1
  const started = (callSid: string, streamSid: string): CallEvent => ({
    type: 'call.started', callSid, at, streamSid, mode: 'assist', direction: 'inbound', from: '', to: '', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: at,
  })
  const statsEv = (callSid: string, s: MediaStats, streamSid?: string): CallEvent => ({ type: 'call.stats', callSid, at, stats: s, ...(streamSid !== undefined ? { streamSid } : {}) })
  const stopped = (callSid: string, streamSid: string, s: MediaStats): CallEvent => ({ type: 'call.stopped', callSid, at, streamSid, reason: 'stop', durationMs: 1000, stats: s })
  return { m, started, statsEv, stopped }
}

t.test('cumulative call.stats become per-call deltas; call.stopped adds only the remainder', async (t) => {
  const { m, started, statsEv, stopped } = setup(t)
  m.onEvent(started('CA1', 'MZ1'))
  m.onEvent(started('CA2', 'MZ2'))
  m.onEvent(statsEv('CA1', stats(100, 90, 0, { malformed_json: 1 })))
  m.onEvent(statsEv('CA2', stats(50, 0, 40)))
  m.onEvent(statsEv('CA1', stats(250, 240, 0, { malformed_json: 3 }, 60)))
  // A repeated snapshot adds nothing.
  m.onEvent(statsEv('CA1', stats(250, 240, 0, { malformed_json: 3 }, 60)))
  m.onEvent(stopped('CA1', 'MZ1', stats(300, 280, 0, { malformed_json: 3, binary: 2 }, 60)))
  m.onEvent(stopped('CA2', 'MZ2', stats(50, 0, 45)))
  t.equal(await value(m, 'talkhint_media_frames_in_total', { track: 'inbound' }), 350)
  t.equal(await value(m, 'talkhint_media_frames_in_total', { track: 'outbound' }), 280)
  t.equal(await value(m, 'talkhint_media_frames_out_total'), 45)
  t.equal(await value(m, 'talkhint_media_frames_dropped_total', { reason: 'malformed_json' }), 3)
  t.equal(await value(m, 'talkhint_media_frames_dropped_total', { reason: 'binary' }), 2)
  t.equal(await value(m, 'talkhint_media_gap_seconds_total', { track: 'inbound' }), 0.06)
  // Late or repeated snapshots of a stopped stream add nothing.
  m.onEvent(stopped('CA1', 'MZ1', stats(300, 280)))
  m.onEvent(statsEv('CA1', stats(400, 280), 'MZ1'))
  t.equal(await value(m, 'talkhint_media_frames_in_total', { track: 'inbound' }), 350)
})

t.test('two streams of one call are accounted separately when stats carry streamSid', async (t) => {
  const { m, started, statsEv, stopped } = setup(t)
  m.onEvent(started('CA1', 'MZa'))
  m.onEvent(statsEv('CA1', stats(100, 0), 'MZa'))
  m.onEvent(started('CA1', 'MZb')) // Twilio reconnected the stream
  m.onEvent(statsEv('CA1', stats(10, 0), 'MZb'))
  m.onEvent(statsEv('CA1', stats(120, 0), 'MZa'))
  m.onEvent(stopped('CA1', 'MZa', stats(130, 0)))
  m.onEvent(stopped('CA1', 'MZb', stats(20, 0)))
  t.equal(await value(m, 'talkhint_media_frames_in_total', { track: 'inbound' }), 150)
})

t.test('active calls by mode are read at scrape time, both modes always present', async (t) => {
  const calls: Array<{ mode: Mode }> = [{ mode: 'agent' }, { mode: 'agent' }, { mode: 'assist' }]
  const { m } = setup(t, calls)
  t.equal(await value(m, 'talkhint_active_calls', { mode: 'agent' }), 2)
  t.equal(await value(m, 'talkhint_active_calls', { mode: 'assist' }), 1)
  calls.length = 0
  t.equal(await value(m, 'talkhint_active_calls', { mode: 'agent' }), 0)
  t.equal(await value(m, 'talkhint_active_calls', { mode: 'assist' }), 0)
})

t.test('ai.status transitions count attempts, connects, reconnects and degradations', async (t) => {
  const { m } = setup(t)
  const ai = (callSid: string, status: 'off' | 'connecting' | 'ready' | 'degraded'): CallEvent => ({ type: 'ai.status', callSid, at: 1, status })
  for (const s of ['connecting', 'connecting', 'ready', 'degraded', 'connecting', 'ready', 'off'] as const) m.onEvent(ai('CA1', s))
  for (const s of ['connecting', 'degraded', 'connecting', 'degraded'] as const) m.onEvent(ai('CA2', s))
  m.onEvent({ type: 'call.error', callSid: 'CA2', at: 1, code: 'upstream_unreachable', message: 'x' })
  m.onEvent({ type: 'call.error', callSid: 'CA2', at: 1, code: 'upstream_unreachable', message: 'y' })
  m.onEvent({ type: 'call.error', callSid: 'CA1', at: 1, code: 'bad code with spaces', message: 'z' })
  t.equal(await value(m, 'talkhint_upstream_connect_attempts_total'), 4, 'a repeated connecting is the same attempt')
  t.equal(await value(m, 'talkhint_upstream_connects_total'), 2)
  t.equal(await value(m, 'talkhint_upstream_reconnects_total'), 2)
  t.equal(await value(m, 'talkhint_upstream_degraded_total'), 3)
  t.equal(await value(m, 'talkhint_call_errors_total', { code: 'upstream_unreachable' }), 2)
  t.equal(await value(m, 'talkhint_call_errors_total', { code: 'bad_code_with_spaces' }), 1, 'label values are sanitised')
})

t.test('call.metric latencies land in second-based histograms; unknown names and bad values are ignored', async (t) => {
  const { m } = setup(t)
  const metric = (name: string, v: number): CallEvent => ({ type: 'call.metric', callSid: 'CA1', at: 1, name, value: v })
  m.onEvent(metric('utterance_to_hint_ms', 800))
  m.onEvent(metric('utterance_to_hint_ms', 2400))
  m.onEvent(metric('caller_stop_to_agent_audio_ms', 650))
  m.onEvent(metric('utterance_to_final_ms', 300))
  m.onEvent(metric('bridge_added_latency_ms', 2))
  m.onEvent(metric('utterance_to_hint_ms', Number.NaN))
  m.onEvent(metric('utterance_to_hint_ms', -5))
  m.onEvent(metric('toString', 5))
  m.onEvent(metric('something_else_ms', 5))
  t.equal(await value(m, 'talkhint_utterance_to_hint_seconds_count'), 2)
  t.equal(await value(m, 'talkhint_utterance_to_hint_seconds_sum'), 3.2)
  t.equal(await value(m, 'talkhint_utterance_to_hint_seconds_bucket', { le: '1' }), 1)
  t.equal(await value(m, 'talkhint_utterance_to_hint_seconds_bucket', { le: '3' }), 2)
  t.equal(await value(m, 'talkhint_caller_stop_to_agent_audio_seconds_sum'), 0.65)
  t.equal(await value(m, 'talkhint_utterance_to_final_transcript_seconds_count'), 1)
  t.equal(await value(m, 'talkhint_bridge_added_latency_seconds_bucket', { le: '0.0025' }), 1)
  m.onEvent(metric('frames_forwarded', 1500))
  m.onEvent(metric('frames_dropped', 12))
  m.onEvent(metric('frames_forwarded', 500))
  m.onEvent(metric('frames_dropped', -1))
  t.equal(await value(m, 'talkhint_upstream_frames_forwarded_total'), 2000, 'per-call totals add up')
  t.equal(await value(m, 'talkhint_upstream_frames_dropped_total'), 12)
  const text = await m.render()
  t.notMatch(text, /something_else|toString/)
})

t.test('a plugged-in hub is read at scrape time: clients as a gauge, drops as a counter', async (t) => {
  const { m } = setup(t)
  const hub = { clients: 3, dropped: 5 }
  const unplug = m.trackHub(() => hub)
  t.equal(await value(m, 'talkhint_hub_clients'), 3)
  t.equal(await value(m, 'talkhint_hub_dropped_total'), 5)
  hub.clients = 1
  hub.dropped = 12
  t.equal(await value(m, 'talkhint_hub_clients'), 1)
  t.equal(await value(m, 'talkhint_hub_dropped_total'), 12)
  unplug()
  t.equal(await value(m, 'talkhint_hub_clients'), 0)
  t.equal(await value(m, 'talkhint_hub_dropped_total'), 12, 'counters never go down')
})

t.test('two instances in one process keep separate values; process metrics are shared', async (t) => {
  const a = createMetrics({ listCalls: () => [] })
  const b = createMetrics({ listCalls: () => [] })
  t.teardown(() => { a.close(); b.close() })
  a.onEvent({ type: 'call.webhook', callSid: 'CA1', at: 1, mode: 'assist', direction: 'inbound', from: '', to: '', ai: false })
  t.equal(await value(a, 'talkhint_calls_answered_total', { mode: 'assist', direction: 'inbound', ai: 'false' }), 1)
  t.equal(await value(b, 'talkhint_calls_answered_total', { mode: 'assist', direction: 'inbound', ai: 'false' }), undefined)
  const text = await b.render()
  t.match(text, /^process_cpu_user_seconds_total \d/m)
  t.match(text, /^nodejs_eventloop_lag_seconds /m)
})

t.test('a malformed event never throws into the bus', async (t) => {
  const { m } = setup(t)
  t.doesNotThrow(() => m.onEvent({ type: 'call.stats', callSid: 'CA1', at: 1 } as unknown as CallEvent))
})

t.test('reason labels from event data are bounded', async (t) => {
  const { m, started, stopped } = setup(t)
  m.onEvent(started('CA1', 'MZ1'))
  const rejected: Record<string, number> = {}
  for (let i = 0; i < 80; i++) rejected[`reason_${i}`] = 1
  m.onEvent(stopped('CA1', 'MZ1', stats(0, 0, 0, rejected)))
  const all = await m.registry.getMetricsAsJSON()
  const dropped = all.find((x) => x.name === 'talkhint_media_frames_dropped_total')
  t.equal(dropped?.values.length, 51, '50 distinct reasons, then other')
  t.equal(await value(m, 'talkhint_media_frames_dropped_total', { reason: 'other' }), 30)
})
