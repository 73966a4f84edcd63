/** Live hint engine: after each remote utterance in an assist call, stream one short suggestion from the Responses API. */
import { randomUUID } from 'node:crypto'
import type OpenAI from 'openai'
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai'
import type { CallEventBus } from '../call/bus.ts'
import type { CallEvent, TranscriptEvent } from '../call/events.ts'
import type { Mode } from '../config.ts'
import type { Logger } from '../log.ts'
import { isTerminalCallStatus } from '../call/statuses.ts'
import { BoundedSet } from '../util/bounded.ts'
import { buildHintRequest, pushTurn, type Turn } from './playbook.ts'

/** The part of the `openai` client the engines use (tests may pass a stub with the same shape). */
export type ResponsesClient = Pick<OpenAI, 'responses'>

export interface HintEngineOptions {
  client: ResponsesClient
  model: string
  /** Current playbook text and its id (carried on hint.done); `refresh` (if given) is called when a call starts. */
  playbook: { text (): string, id? (): string, refresh? (): Promise<void> }
  bus: CallEventBus
  log: Logger
  now?: () => number
  /** Mode assumed for a call whose call.webhook / call.started we did not see (MODE). */
  defaultMode?: Mode
  /** Rolling transcript bounds sent with each request. */
  maxTurns?: number
  maxChars?: number
  /** A hint still unfinished after this long is dropped (hints are only useful now). */
  timeoutMs?: number
  maxOutputTokens?: number
}

export interface HintEngine {
  /** Calls with state (transcript, mode). */
  readonly calls: number
  /** Hints being written right now (at most one per call). */
  readonly inFlight: number
  /** Unsubscribes and aborts every hint in flight. */
  close (): void
}

type Ending = { superseded: true } | { error: string } | { completed: true }

interface Job {
  readonly hintId: string
  readonly itemId: string
  readonly controller: AbortController
  readonly utteranceEnd: number
  /** The playbook the request was built from, once it is made. */
  playbookId: string | undefined
  text: string
  deltas: number
  settled: boolean
  timer: ReturnType<typeof setTimeout> | undefined
}

interface CallState {
  mode: Mode | undefined
  streamSid: string | undefined
  startedAt: number | undefined
  turns: Turn[]
  job: Job | undefined
  readonly createdAt: number
  /** Error codes already logged at warn for this call (later ones go to debug). */
  readonly logged: Set<string>
  /** A failure was reported and no hint has succeeded since: don't repeat the call.error. */
  failing: boolean
  /** utterance_to_hint_ms of this call's hints (logged as p50/max when it ends). */
  readonly latencies: number[]
}

/** A stable code and a clear sentence for anything the Responses API call may throw. */
export function describeAiError (err: unknown, what: string): { code: string, message: string } {
  if (err instanceof APIUserAbortError) return { code: 'aborted', message: `${what}: cancelled` }
  if (err instanceof APIConnectionTimeoutError) return { code: 'timeout', message: `${what}: OpenAI did not answer in time` }
  if (err instanceof APIConnectionError) return { code: 'unreachable', message: `${what}: cannot reach OpenAI (${err.message})` }
  if (err instanceof APIError) {
    const detail = err.message
    if (err.status === 429) return { code: 'rate_limited', message: `${what}: rate limited by OpenAI (${detail})` }
    if (err.status === 401 || err.status === 403) return { code: 'auth_failed', message: `${what}: OpenAI rejected the API key (${detail})` }
    if (err.status !== undefined && err.status >= 500) return { code: 'upstream_error', message: `${what}: OpenAI server error (${detail})` }
    if (err.status === undefined) return { code: 'upstream_error', message: `${what}: OpenAI reported an error mid-stream (${detail})` }
    return { code: 'request_rejected', message: `${what}: OpenAI rejected the request (${detail})` }
  }
  return { code: 'failed', message: `${what}: ${err instanceof Error ? err.message : String(err)}` }
}

const UNSTARTED_TTL_MS = 10 * 60_000
/** Recently ended calls remembered (so late events for them are ignored); the oldest are forgotten first. */
export const ENDED_MEMORY = 1024

/** Subscribes to the bus and runs hints for every assist call until `close()`. */
export function createHintEngine (opts: HintEngineOptions): HintEngine {
  const { bus, log, client, model } = opts
  const now = opts.now ?? Date.now
  const maxTurns = opts.maxTurns ?? 12
  const maxChars = opts.maxChars ?? 4000
  const timeoutMs = opts.timeoutMs ?? 15_000
  const maxOutputTokens = opts.maxOutputTokens ?? 400
  const calls = new Map<string, CallState>()
  const ended = new BoundedSet<string>(ENDED_MEMORY)
  let inFlight = 0
  /** The playbook re-read the latest call.started began; a hint waits for it, so a call never hints from the old text. */
  let refreshing: Promise<void> = Promise.resolve()

  const stateFor = (callSid: string): CallState => {
    let s = calls.get(callSid)
    if (s === undefined) {
      s = { mode: undefined, streamSid: undefined, startedAt: undefined, turns: [], job: undefined, createdAt: now(), logged: new Set(), failing: false, latencies: [] }
      calls.set(callSid, s)
    }
    return s
  }

  /** Ends a job exactly once: publishes hint.done when there is something to close. */
  const settle = (callSid: string, state: CallState, job: Job, ending: Ending): void => {
    if (job.settled) return
    job.settled = true
    inFlight--
    clearTimeout(job.timer)
    if (state.job === job) state.job = undefined
    const superseded = 'superseded' in ending
    const error = 'error' in ending ? ending.error : undefined
    if (job.deltas > 0 || superseded) {
      const playbook = job.playbookId !== undefined ? { playbookId: job.playbookId } : {}
      const base = { type: 'hint.done', callSid, at: now(), hintId: job.hintId, itemId: job.itemId, text: job.text.trim(), superseded, ...playbook } as const
      bus.publish(error === undefined ? base : { ...base, error })
    }
  }

  const report = (callSid: string, state: CallState, code: string, message: string, err?: unknown): void => {
    if (state.logged.has(code)) log.debug({ callSid, code }, message)
    else {
      state.logged.add(code)
      log.warn({ callSid, code, err }, `${message} (hints for this call carry on; further "${code}" errors are logged at debug)`)
    }
    if (state.failing) return
    state.failing = true
    bus.publish({ type: 'call.error', callSid, at: now(), code: `hint_${code}`, message })
  }

  const onDelta = (callSid: string, state: CallState, job: Job, delta: string): void => {
    if (job.settled || delta === '') return
    if (job.deltas === 0) {
      const value = Math.max(0, now() - job.utteranceEnd)
      if (state.latencies.length < 1000) state.latencies.push(value)
      bus.publish({ type: 'call.metric', callSid, at: now(), name: 'utterance_to_hint_ms', value })
      log.debug({ callSid, hintId: job.hintId, ms: value }, 'first hint token')
    }
    job.deltas++
    job.text += delta
    bus.publish({ type: 'hint.delta', callSid, at: now(), hintId: job.hintId, delta })
  }

  const run = async (callSid: string, state: CallState, job: Job): Promise<void> => {
    await refreshing
    if (job.settled) return
    const { instructions, input } = buildHintRequest(state.turns, opts.playbook.text())
    job.playbookId = opts.playbook.id?.()
    const { signal } = job.controller
    let incomplete: string | undefined
    try {
      // No retries: a hint that arrives seconds late is noise; the next utterance tries again.
      const stream = await client.responses.create(
        { model, instructions, input, stream: true, store: false, max_output_tokens: maxOutputTokens },
        { signal, maxRetries: 0, timeout: timeoutMs })
      for await (const ev of stream) {
        if (job.settled) break
        if (ev.type === 'response.output_text.delta') onDelta(callSid, state, job, ev.delta)
        else if (ev.type === 'response.failed') {
          throw new Error(ev.response.error?.message ?? 'the response failed', { cause: ev.response.error })
        } else if (ev.type === 'response.incomplete') incomplete = ev.response.incomplete_details?.reason ?? 'unknown'
        else if (ev.type === 'error') throw new Error(ev.message)
      }
      if (job.settled) return
      if (job.deltas === 0) {
        const why = incomplete !== undefined ? `the response was cut short (${incomplete}) before any text` : 'the model returned no text (refusal?)'
        report(callSid, state, 'empty', `hint: ${why}`)
        settle(callSid, state, job, { error: why })
        return
      }
      state.failing = false
      settle(callSid, state, job, { completed: true })
    } catch (err) {
      if (job.settled) return // superseded, stopped or timed out: the abort is ours
      const { code, message } = describeAiError(err, 'hint')
      report(callSid, state, code, message, err)
      settle(callSid, state, job, { error: message })
    }
  }

  const onUtterance = (ev: TranscriptEvent, state: CallState): void => {
    const text = ev.text.trim()
    if (text === '') return
    pushTurn(state.turns, { speaker: ev.speaker, text }, maxTurns, maxChars)
    if (ev.speaker !== 'remote' || (state.mode ?? opts.defaultMode ?? 'assist') !== 'assist') return
    if (state.job !== undefined) {
      state.job.controller.abort()
      settle(ev.callSid, state, state.job, { superseded: true })
    }
    // endMs is call-relative; fall back to the event time when we never saw the call start.
    const end = state.startedAt !== undefined && ev.endMs > 0 ? Math.min(state.startedAt + ev.endMs, ev.at) : ev.at
    const job: Job = { hintId: randomUUID(), itemId: ev.itemId, controller: new AbortController(), utteranceEnd: end, playbookId: undefined, text: '', deltas: 0, settled: false, timer: undefined }
    job.timer = setTimeout(() => {
      job.controller.abort()
      report(ev.callSid, state, 'timeout', `hint: no complete answer within ${timeoutMs} ms`)
      settle(ev.callSid, state, job, { error: 'timed out' })
    }, timeoutMs)
    state.job = job
    inFlight++
    run(ev.callSid, state, job).catch((err: unknown) => log.error({ err, callSid: ev.callSid }, 'hint engine bug'))
  }

  const stop = (callSid: string, state: CallState, why: string): void => {
    if (state.job !== undefined) {
      state.job.controller.abort()
      settle(callSid, state, state.job, { error: why })
    }
    calls.delete(callSid)
    ended.add(callSid)
    const ms = state.latencies.sort((a, b) => a - b)
    if (ms.length > 0) log.info({ callSid, hints: ms.length, utteranceToHintMsP50: ms[Math.floor((ms.length - 1) / 2)], utteranceToHintMsMax: ms[ms.length - 1] }, 'hint latency for the call')
  }

  /** Webhooks whose stream never started (unanswered, failed) would otherwise linger. */
  const pruneUnstarted = (): void => {
    const cutoff = now() - UNSTARTED_TTL_MS
    for (const [callSid, s] of calls) if (s.streamSid === undefined && s.createdAt < cutoff) calls.delete(callSid)
  }

  const onEvent = (ev: CallEvent): void => {
    switch (ev.type) {
      case 'call.webhook':
        pruneUnstarted()
        stateFor(ev.callSid).mode = ev.mode
        break
      case 'call.started': {
        ended.delete(ev.callSid)
        Object.assign(stateFor(ev.callSid), { mode: ev.mode, streamSid: ev.streamSid, startedAt: ev.startedAt })
        refreshing = opts.playbook.refresh?.().catch(() => {}) ?? refreshing
        break
      }
      case 'transcript.final':
        // A final that arrives after the call ended must not resurrect it.
        if (!ended.has(ev.callSid)) onUtterance(ev, stateFor(ev.callSid))
        break
      case 'call.stopped': {
        const s = calls.get(ev.callSid)
        // A reconnected stream owns the call now; the old stream's stop must not wipe it.
        if (s !== undefined && (s.streamSid === undefined || s.streamSid === ev.streamSid)) stop(ev.callSid, s, 'the call ended')
        break
      }
      case 'call.status': {
        const s = calls.get(ev.callSid)
        if (s !== undefined && isTerminalCallStatus(ev.status)) stop(ev.callSid, s, 'the call ended')
        break
      }
    }
  }

  const unsubscribe = bus.subscribe(onEvent)
  return {
    get calls () { return calls.size },
    get inFlight () { return inFlight },
    close () {
      unsubscribe()
      for (const [callSid, s] of [...calls]) stop(callSid, s, 'the server is shutting down')
    },
  }
}
