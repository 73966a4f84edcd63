import t from 'tap'
import { once } from 'node:events'
import { buildTestApp, listen, signedPost, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { mediaFrame, openMedia, opened, startFrame, stopFrame } from '../media-helpers.ts'

interface Sample { name: string, labels: Record<string, string>, value: number }

/**
 * A strict-enough parser of the Prometheus text format (0.0.4): every sample must belong to a
 * family announced by # HELP and # TYPE, label values are unescaped, values may be +Inf/NaN.
 */
function parseExposition (text: string): { samples: Sample[], types: Map<string, string> } {
  const types = new Map<string, string>()
  const helps = new Set<string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (m !== null) {
      if (m[1] === 'TYPE') types.set(m[2] as string, m[3] as string)
      else helps.add(m[2] as string)
      continue
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line)
    if (m === null) throw new Error(`not an exposition line: ${line}`)
    const [, name = '', rawLabels = '', rawValue = ''] = m
    const labels: Record<string, string> = {}
    for (const l of rawLabels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
    }
    const family = [...types.keys()].find((f) => name === f || (name.startsWith(f + '_') && /_(bucket|sum|count|total)$/.test(name)))
    if (family === undefined || !helps.has(family)) throw new Error(`sample without # HELP/# TYPE: ${name}`)
    // Prometheus parses floats with Go's ParseFloat: NaN in any case (prom-client writes `Nan`).
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : /^nan$/i.test(rawValue) ? NaN : Number(rawValue)
    if (Number.isNaN(value) && !/^nan$/i.test(rawValue)) throw new Error(`bad value in: ${line}`)
    samples.push({ name, labels, value })
  }
  return { samples, types }
}

function pick (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
}

t.test('GET /metrics exposes call, media, upstream, latency, webhook and process metrics', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)

  // A real signed webhook (timed by the onResponse hook) and a real media stream (counted from call.stats/stopped).
  const hook = await app.inject(signedPost('/twilio/inbound', { CallSid: 'CA1', From: '+14155550100', To: '+15550002222' }))
  t.equal(hook.statusCode, 200)
  const unsigned = await app.inject({ method: 'POST', url: '/twilio/call-status', payload: 'CallSid=CA1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(unsigned.statusCode, 403)

  const ws = openMedia(base)
  await opened(ws)
  ws.send(startFrame('CA1', 'MZ1'))
  for (let i = 1; i <= 10; i++) ws.send(mediaFrame('MZ1', 'inbound', i))
  for (let i = 1; i <= 8; i++) ws.send(mediaFrame('MZ1', 'outbound', i))
  ws.send('{not json')

  // While the call is live it shows up as an active assist call.
  await new Promise<void>((resolve) => { const iv = setInterval(() => { if (app.calls.size === 1) { clearInterval(iv); resolve() } }, 5) })
  const live = parseExposition((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })).body).samples
  t.equal(pick(live, 'talkhint_active_calls', { mode: 'assist' }), 1)
  t.equal(pick(live, 'talkhint_active_calls', { mode: 'agent' }), 0)

  const stopped = new Promise<void>((resolve) => {
    const off = app.bus.subscribe((e) => { if (e.type === 'call.stopped') { off(); resolve() } })
  })
  ws.send(stopFrame('CA1', 'MZ1'))
  await stopped
  ws.close()
  await once(ws, 'close')

  // What the bridge and hint engine publish.
  const at = app.now()
  app.bus.publish({ type: 'ai.status', callSid: 'CA1', at, status: 'connecting' })
  app.bus.publish({ type: 'ai.status', callSid: 'CA1', at, status: 'ready' })
  app.bus.publish({ type: 'ai.status', callSid: 'CA1', at, status: 'degraded' })
  app.bus.publish({ type: 'ai.status', callSid: 'CA1', at, status: 'connecting' })
  app.bus.publish({ type: 'call.error', callSid: 'CA1', at, code: 'upstream_closed', message: 'socket closed 1006' })
  app.bus.publish({ type: 'call.metric', callSid: 'CA1', at, name: 'utterance_to_hint_ms', value: 1200 })
  app.bus.publish({ type: 'call.metric', callSid: 'CA1', at, name: 'caller_stop_to_agent_audio_ms', value: 700 })
  app.bus.publish({ type: 'call.metric', callSid: 'CA1', at, name: 'utterance_to_final_ms', value: 400 })
  app.bus.publish({ type: 'call.metric', callSid: 'CA1', at, name: 'bridge_added_latency_ms', value: 3 })
  app.bus.publish({ type: 'call.metric', callSid: 'CA1', at, name: 'frames_forwarded', value: 17 })
  app.bus.publish({ type: 'call.metric', callSid: 'CA1', at, name: 'frames_dropped', value: 1 })
  app.metrics.trackHub(() => ({ clients: 2, dropped: 7 }))

  const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const { samples, types } = parseExposition(res.body)

  t.equal(types.get('talkhint_active_calls'), 'gauge')
  t.equal(pick(samples, 'talkhint_active_calls', { mode: 'assist' }), 0)
  t.equal(pick(samples, 'talkhint_calls_answered_total', { mode: 'assist', direction: 'inbound', ai: 'true' }), 1)
  t.equal(pick(samples, 'talkhint_media_frames_in_total', { track: 'inbound' }), 10)
  t.equal(pick(samples, 'talkhint_media_frames_in_total', { track: 'outbound' }), 8)
  t.equal(pick(samples, 'talkhint_media_frames_out_total'), 0)
  t.equal(pick(samples, 'talkhint_media_frames_dropped_total', { reason: 'malformed_json' }), 1)
  t.equal(pick(samples, 'talkhint_upstream_connect_attempts_total'), 2)
  t.equal(pick(samples, 'talkhint_upstream_connects_total'), 1)
  t.equal(pick(samples, 'talkhint_upstream_reconnects_total'), 1)
  t.equal(pick(samples, 'talkhint_upstream_degraded_total'), 1)
  t.equal(pick(samples, 'talkhint_call_errors_total', { code: 'upstream_closed' }), 1)
  t.equal(pick(samples, 'talkhint_upstream_frames_forwarded_total'), 17)
  t.equal(pick(samples, 'talkhint_upstream_frames_dropped_total'), 1)
  t.equal(pick(samples, 'talkhint_hub_clients'), 2)
  t.equal(pick(samples, 'talkhint_hub_dropped_total'), 7)

  t.equal(types.get('talkhint_utterance_to_hint_seconds'), 'histogram')
  t.equal(pick(samples, 'talkhint_utterance_to_hint_seconds_sum'), 1.2)
  t.equal(pick(samples, 'talkhint_utterance_to_hint_seconds_bucket', { le: '1' }), 0)
  t.equal(pick(samples, 'talkhint_utterance_to_hint_seconds_bucket', { le: '1.5' }), 1)
  t.equal(pick(samples, 'talkhint_utterance_to_hint_seconds_bucket', { le: '+Inf' }), 1)
  t.equal(pick(samples, 'talkhint_caller_stop_to_agent_audio_seconds_count'), 1)
  t.equal(pick(samples, 'talkhint_utterance_to_final_transcript_seconds_count'), 1)
  t.equal(pick(samples, 'talkhint_bridge_added_latency_seconds_count'), 1)

  t.equal(types.get('talkhint_webhook_duration_seconds'), 'histogram')
  t.equal(pick(samples, 'talkhint_webhook_duration_seconds_count', { route: '/twilio/inbound', status: '200' }), 1)
  t.equal(pick(samples, 'talkhint_webhook_duration_seconds_count', { route: '/twilio/call-status', status: '403' }), 1)
  t.ok((pick(samples, 'talkhint_webhook_duration_seconds_sum', { route: '/twilio/inbound', status: '200' }) ?? -1) > 0)
  t.equal(samples.filter((s) => s.name === 'talkhint_webhook_duration_seconds_count').length, 2, 'scrapes and other routes are not webhooks')

  t.ok((pick(samples, 'process_resident_memory_bytes') ?? pick(samples, 'nodejs_heap_size_used_bytes') ?? 0) > 0, 'process metrics included')
})

t.test('GET /metrics needs the dashboard token or METRICS_TOKEN', async (t) => {
  const app = await buildTestApp(t, { METRICS_TOKEN: 'scraper-secret-42' })
  t.equal((await app.inject('/metrics')).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-000000' } })).statusCode, 401)
  const scraper = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer scraper-secret-42' } })
  t.equal(scraper.statusCode, 200)
  t.match(scraper.body, /^# HELP talkhint_active_calls /m)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })).statusCode, 200)
})

t.test('without METRICS_TOKEN only the dashboard token works', async (t) => {
  const app = await buildTestApp(t)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer ' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer undefined' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })).statusCode, 200)
})

t.test('two apps in one process keep their own counters', async (t) => {
  const a = await buildTestApp(t)
  const b = await buildTestApp(t)
  a.bus.publish({ type: 'call.error', callSid: 'CA9', at: 1, code: 'only_in_a', message: '' })
  const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
  t.match((await a.inject({ url: '/metrics', headers: auth })).body, /talkhint_call_errors_total\{code="only_in_a"\} 1/)
  t.notMatch((await b.inject({ url: '/metrics', headers: auth })).body, /only_in_a/)
})

t.test('every 5 s of call audio the media path reports the longest time a frame spent in TalkHint', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  const observed: Array<{ name: string, value: number, callSid: string }> = []
  const stats: Array<string | undefined> = []
  app.bus.subscribe((e) => {
    if (e.type === 'call.metric') observed.push(e)
    if (e.type === 'call.stats') stats.push(e.streamSid)
  })
  const ws = openMedia(base)
  await opened(ws)
  ws.send(startFrame('CA7', 'MZ7'))
  for (let i = 1; i <= 600; i++) ws.send(mediaFrame('MZ7', 'inbound', i)) // 12 s of audio
  const stopped = new Promise<void>((resolve) => {
    const off = app.bus.subscribe((e) => { if (e.type === 'call.stopped') { off(); resolve() } })
  })
  ws.send(stopFrame('CA7', 'MZ7'))
  await stopped
  ws.close()
  const added = observed.filter((o) => o.name === 'bridge_added_latency_ms')
  t.equal(added.length, 2, 'one observation per 5 s window (at 5 s and 10 s), not one per frame')
  t.ok(added.every((o) => o.callSid === 'CA7' && o.value > 0 && o.value < 1000), 'a plausible positive duration in ms')
  t.same(stats, ['MZ7', 'MZ7'], 'call.stats name their stream')
  const text = (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })).body
  const samples = parseExposition(text).samples
  t.equal(pick(samples, 'talkhint_bridge_added_latency_seconds_count'), 2, 'the histogram has them')
})
