/** Prometheus metrics: one registry per app, fed from call events, webhook timings and scrape-time readers. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { MODES, type Mode } from './config.ts'
import type { CallEvent, MediaStats, Track } from './call/events.ts'
import { BoundedSet, setBounded } from './util/bounded.ts'

/** A dashboard hub's counters, read at scrape time: clients connected now, events dropped so far (cumulative). */
export interface HubStats { readonly clients: number, readonly dropped: number }

export interface MetricsOptions {
  /** The live calls, read at scrape time for `talkhint_active_calls`. */
  listCalls: () => Iterable<{ readonly mode: Mode }>
  /** Adds the process metrics (CPU, memory, event loop, GC; collected once per process). Default true. */
  processMetrics?: boolean
}

export interface Metrics {
  /** This app's registry: add metrics of your own with `registers: [metrics.registry]`. */
  readonly registry: Registry
  readonly contentType: string
  /** Feeds one call event (subscribe it to the bus). Never throws; O(1) per event. */
  onEvent (event: CallEvent): void
  /** Records how long a Twilio webhook took to answer. */
  observeWebhook (route: string, status: number, seconds: number): void
  /** A /media stream refused or closed before it became a call (bad token, no start in time, pending cap), by reason. */
  streamRefused (reason: string): void
  /** A started stream closed because no media arrived for MEDIA_IDLE_TIMEOUT_MS. */
  streamIdleClosed (): void
  /** A started stream that got no AI session (over MAX_CALLS), by reason. */
  aiRefused (reason: string): void
  /** Counts a dashboard auth failure (wrong token, forged cookie) or a request refused by login backoff. */
  countAuth (outcome: 'failure' | 'backoff', reason: string): void
  /** Counts a click-to-call (or transfer) destination refused by the dial guard or its rate limit. */
  countDialRefused (reason: string): void
  /** Counts a 👍/👎 given (or cleared: `none`) on a hint, by the playbook it was written from. Only changes count. */
  countHintFeedback (playbookId: string | null, value: 'up' | 'down' | null): void
  /** Plugs a dashboard hub in; it is read at every scrape. Returns the unplug function. */
  trackHub (read: () => HubStats): () => void
  /** The exposition text: this app's metrics, then the process metrics. */
  render (): Promise<string>
  /** Forgets per-call state and removes every metric from the registry. */
  close (): void
}

/** `call.metric` names (milliseconds) → histograms in seconds, with buckets fitted to each. */
const LATENCIES = {
  bridge_added_latency_ms: {
    name: 'talkhint_bridge_added_latency_seconds',
    help: 'Uplink time a Twilio media frame spends in TalkHint (decode, accounting, upstream send); per call, the worst frame of each 5 s',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  },
  caller_stop_to_agent_audio_ms: {
    name: 'talkhint_caller_stop_to_agent_audio_seconds',
    help: 'Agent mode: from the caller stopping speaking to the first agent audio sent to Twilio',
    buckets: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 8, 13],
  },
  utterance_to_hint_ms: {
    name: 'talkhint_utterance_to_hint_seconds',
    help: 'Assist mode: from the end of an utterance to its hint being complete',
    buckets: [0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 20],
  },
  utterance_to_final_ms: {
    name: 'talkhint_utterance_to_final_transcript_seconds',
    help: 'From the end of an utterance to its final transcript',
    buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8],
  },
} as const
type LatencyName = keyof typeof LATENCIES

const TRACKS: readonly Track[] = ['inbound', 'outbound']
/** Per-call state is bounded so events for calls that never stop cannot grow memory without limit. */
const MAX_TRACKED = 10_000
/** Label values that come from event data are bounded too (cardinality). */
const MAX_LABEL_VALUES = 50

interface Baseline {
  frames: { inbound: number, outbound: number }
  gapMs: { inbound: number, outbound: number }
  framesOut: number
  rejected: Record<string, number>
}
const zero = (): Baseline => ({ frames: { inbound: 0, outbound: 0 }, gapMs: { inbound: 0, outbound: 0 }, framesOut: 0, rejected: {} })

let processRegistry: Registry | undefined
/** Process metrics are per process, not per app: one collector (one event-loop monitor) however many apps. */
function sharedProcessRegistry (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

function remember<K, V> (map: Map<K, V>, key: K, value: V): void {
  setBounded(map, key, value, MAX_TRACKED)
}

/** Creates the metrics for one app. Nothing here is global except the shared process metrics. */
export function createMetrics (opts: MetricsOptions): Metrics {
  const registry = new Registry()
  const registers = [registry]
  const processMetrics = opts.processMetrics === false ? undefined : sharedProcessRegistry()
  const hubs = new Set<{ read: () => HubStats, lastDropped: number }>()
  const labelValues = new Map<string, Set<string>>()
  /** Bounds a label fed from event data: safe characters, at most MAX_LABEL_VALUES distinct values, then `other`. */
  const bounded = (label: string, raw: string): string => {
    const value = raw.replace(/[^A-Za-z0-9_.:/-]/g, '_').slice(0, 64) || 'unknown'
    let seen = labelValues.get(label)
    if (seen === undefined) labelValues.set(label, seen = new Set())
    if (seen.has(value)) return value
    if (seen.size >= MAX_LABEL_VALUES) return 'other'
    seen.add(value)
    return value
  }

  // Scrape-time metrics: nothing else holds them, the registry reads them through collect().
  registry.registerMetric(new Gauge({
    name: 'talkhint_active_calls',
    help: 'Media streams live on this instance, by mode',
    labelNames: ['mode'],
    registers: [],
    collect () {
      const byMode: Record<string, number> = Object.fromEntries(MODES.map((m) => [m, 0]))
      for (const call of opts.listCalls()) byMode[call.mode] = (byMode[call.mode] ?? 0) + 1
      for (const [mode, n] of Object.entries(byMode)) this.set({ mode }, n)
    },
  }))
  const callsAnswered = new Counter({
    name: 'talkhint_calls_answered_total',
    help: 'Voice webhooks answered with TwiML, by mode, direction and whether the call got AI (false: draining or overloaded)',
    labelNames: ['mode', 'direction', 'ai'],
    registers,
  })
  const framesIn = new Counter({ name: 'talkhint_media_frames_in_total', help: 'Media frames received from Twilio, by track', labelNames: ['track'], registers })
  const framesOut = new Counter({ name: 'talkhint_media_frames_out_total', help: 'Media frames sent to Twilio (agent audio)', registers })
  const framesDropped = new Counter({
    name: 'talkhint_media_frames_dropped_total',
    help: 'Media-stream messages received but not used (malformed, before start, wrong stream, binary, handler error), by reason',
    labelNames: ['reason'],
    registers,
  })
  const gapSeconds = new Counter({ name: 'talkhint_media_gap_seconds_total', help: 'Audio missing between consecutive Twilio frames (timestamp gaps), by track', labelNames: ['track'], registers })
  const connectAttempts = new Counter({ name: 'talkhint_upstream_connect_attempts_total', help: 'Realtime (OpenAI) connections attempted (ai.status → connecting)', registers })
  const connects = new Counter({ name: 'talkhint_upstream_connects_total', help: 'Realtime connections that became ready (ai.status → ready)', registers })
  const reconnects = new Counter({ name: 'talkhint_upstream_reconnects_total', help: 'Realtime reconnection attempts (connecting again after ready or degraded, same call)', registers })
  const degraded = new Counter({ name: 'talkhint_upstream_degraded_total', help: 'Times a call lost its realtime connection (ai.status → degraded)', registers })
  const configRefused = new Counter({
    name: 'talkhint_ai_config_refused_total',
    help: 'Calls whose realtime session config OpenAI refused (error before session.updated; no retry), by session kind',
    labelNames: ['kind'],
    registers,
  })
  const callErrors = new Counter({ name: 'talkhint_call_errors_total', help: 'Errors reported on calls (call.error: upstream failures among them), by code', labelNames: ['code'], registers })
  // The bridge reports per-call totals once, when the call ends (`call.metric` frames_forwarded / frames_dropped).
  const upstreamFrames = {
    frames_forwarded: new Counter({ name: 'talkhint_upstream_frames_forwarded_total', help: 'Caller audio frames forwarded to the realtime API (counted when each call ends)', registers }),
    frames_dropped: new Counter({ name: 'talkhint_upstream_frames_dropped_total', help: 'Caller audio frames not forwarded to the realtime API (not connected yet, reconnecting, or backpressure; counted when each call ends)', registers }),
  }
  const streamsRefused = new Counter({
    name: 'talkhint_media_streams_refused_total',
    help: 'Media streams closed before they became a call: missing/malformed/bad_signature/expired/callsid_mismatch/replayed stream token, start_timeout, pending_limit',
    labelNames: ['reason'],
    registers,
  })
  const streamsIdle = new Counter({ name: 'talkhint_media_streams_idle_closed_total', help: 'Started media streams closed after MEDIA_IDLE_TIMEOUT_MS without a media frame', registers })
  const aiRefusedTotal = new Counter({
    name: 'talkhint_media_streams_without_ai_total',
    help: 'Authorised media streams that got no AI session where sessions are opened (over_capacity: MAX_CALLS live AI calls)',
    labelNames: ['reason'],
    registers,
  })
  const webhook = new Histogram({
    name: 'talkhint_webhook_duration_seconds',
    help: 'Time to answer a Twilio webhook (POST /twilio/*), by route and status',
    labelNames: ['route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers,
  })
  const authFailures = new Counter({ name: 'talkhint_auth_failures_total', help: 'Dashboard auth failures (wrong token at /login, wrong Bearer token, forged session cookie), by reason', labelNames: ['reason'], registers })
  const authBackoff = new Counter({ name: 'talkhint_auth_backoff_refusals_total', help: 'Dashboard auth requests refused unchecked (429) because their address or guess is backing off, by key', labelNames: ['by'], registers })
  const dialRefused = new Counter({ name: 'talkhint_dial_refused_total', help: 'Outbound destinations refused (country not allowed, premium or revenue-share range, invalid, rate limit), by reason', labelNames: ['reason'], registers })
  const hintFeedback = new Counter({
    name: 'talkhint_hint_feedback_total',
    help: 'Feedback given on hints from this instance\'s dashboards, by playbook (playbook id) and value (up, down, none = cleared); a repeat of the stored value is not counted',
    labelNames: ['playbook', 'value'],
    registers,
  })
  const latencies = Object.fromEntries(Object.entries(LATENCIES).map(([key, spec]) =>
    [key, new Histogram({ name: spec.name, help: spec.help, buckets: [...spec.buckets], registers })])) as Record<LatencyName, Histogram>

  registry.registerMetric(new Gauge({
    name: 'talkhint_hub_clients',
    help: 'Dashboard sockets connected to this instance',
    registers: [],
    collect () {
      let n = 0
      for (const h of hubs) n += h.read().clients
      this.set(n)
    },
  }))
  registry.registerMetric(new Counter({
    name: 'talkhint_hub_dropped_total',
    help: 'Dashboard events dropped because a client fell behind (bounded queue full)',
    registers: [],
    collect () {
      for (const h of hubs) {
        const now = h.read().dropped
        // A hub that restarted its count (a new hub) starts again from zero.
        const delta = now >= h.lastDropped ? now - h.lastDropped : now
        h.lastDropped = now
        if (delta > 0) this.inc(delta)
      }
    },
  }))

  const streams = new Map<string, Baseline>()
  const newestStream = new Map<string, string>()
  const aiStatus = new Map<string, string>()
  /** Streams already stopped: a late or repeated snapshot for them must not count again. */
  const ended = new BoundedSet<string>(MAX_TRACKED)

  /** Adds what a cumulative snapshot holds beyond the stream's baseline; counters never go down. */
  const account = (key: string, stats: MediaStats): void => {
    if (ended.has(key)) return
    let base = streams.get(key)
    if (base === undefined) remember(streams, key, base = zero())
    for (const track of TRACKS) {
      const df = stats.frames[track] - base.frames[track]
      if (df > 0) {
        framesIn.inc({ track }, df)
        base.frames[track] = stats.frames[track]
      }
      const dg = stats.gapMs[track] - base.gapMs[track]
      if (dg > 0) {
        gapSeconds.inc({ track }, dg / 1000)
        base.gapMs[track] = stats.gapMs[track]
      }
    }
    const dout = stats.framesOut - base.framesOut
    if (dout > 0) {
      framesOut.inc(dout)
      base.framesOut = stats.framesOut
    }
    for (const [reason, n] of Object.entries(stats.rejected)) {
      const d = n - (base.rejected[reason] ?? 0)
      if (d > 0) {
        framesDropped.inc({ reason: bounded('reason', reason) }, d)
        base.rejected[reason] = n
      }
    }
  }

  const onAiStatus = (callSid: string, status: string): void => {
    const prev = aiStatus.get(callSid)
    if (status === 'off') {
      aiStatus.delete(callSid)
      return
    }
    if (status === prev) return
    remember(aiStatus, callSid, status)
    if (status === 'connecting') {
      connectAttempts.inc()
      if (prev === 'ready' || prev === 'degraded') reconnects.inc()
    } else if (status === 'ready') {
      connects.inc()
    } else if (status === 'degraded') {
      degraded.inc()
    }
  }

  const handle = (e: CallEvent): void => {
    switch (e.type) {
      case 'call.webhook':
        callsAnswered.inc({ mode: e.mode, direction: e.direction, ai: String(e.ai) })
        return
      case 'call.started':
        remember(newestStream, e.callSid, e.streamSid)
        if (!streams.has(e.streamSid)) remember(streams, e.streamSid, zero())
        return
      case 'call.stats':
        account(e.streamSid ?? newestStream.get(e.callSid) ?? `call:${e.callSid}`, e.stats)
        return
      case 'call.stopped':
        account(e.streamSid, e.stats)
        ended.add(e.streamSid)
        streams.delete(e.streamSid)
        streams.delete(`call:${e.callSid}`)
        if (newestStream.get(e.callSid) === e.streamSid) {
          newestStream.delete(e.callSid)
          aiStatus.delete(e.callSid)
        }
        return
      case 'ai.status':
        if (e.status === 'refused' && aiStatus.get(e.callSid) !== 'refused') configRefused.inc({ kind: e.kind ?? 'unknown' })
        onAiStatus(e.callSid, e.status)
        return
      case 'call.error':
        callErrors.inc({ code: bounded('code', e.code) })
        return
      case 'call.metric': {
        if (!Number.isFinite(e.value) || e.value < 0) return
        if (Object.hasOwn(LATENCIES, e.name)) latencies[e.name as LatencyName].observe(e.value / 1000)
        else if (e.name === 'frames_forwarded' || e.name === 'frames_dropped') upstreamFrames[e.name].inc(e.value)
      }
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    onEvent (event) {
      try {
        handle(event)
      } catch {
        // A malformed event must not reach the bus's error path on every frame; metrics are best effort.
      }
    },
    streamRefused (reason) {
      streamsRefused.inc({ reason: bounded('reason', reason) })
    },
    streamIdleClosed () {
      streamsIdle.inc()
    },
    aiRefused (reason) {
      aiRefusedTotal.inc({ reason: bounded('reason', reason) })
    },
    observeWebhook (route, status, seconds) {
      webhook.observe({ route: bounded('route', route), status: String(status) }, seconds)
    },
    countAuth (outcome, reason) {
      if (outcome === 'failure') authFailures.inc({ reason: bounded('auth', reason) })
      else authBackoff.inc({ by: bounded('auth', reason) })
    },
    countHintFeedback (playbookId, value) {
      hintFeedback.inc({ playbook: bounded('playbook', playbookId ?? 'unknown'), value: value ?? 'none' })
    },
    countDialRefused (reason) {
      dialRefused.inc({ reason: bounded('dial', reason) })
    },
    trackHub (read) {
      const entry = { read, lastDropped: 0 }
      hubs.add(entry)
      return () => { hubs.delete(entry) }
    },
    async render () {
      const own = await registry.metrics()
      return processMetrics === undefined ? own : own + '\n' + await processMetrics.metrics()
    },
    close () {
      streams.clear()
      ended.clear()
      newestStream.clear()
      aiStatus.clear()
      hubs.clear()
      registry.clear()
    },
  }
}
