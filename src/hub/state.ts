/** Per-call live state for dashboards: folds call events into calls and emits sequenced UI events. */
import { speakerForTrack, type CallEvent, type Speaker } from '../call/events.ts'
import { isTerminalCallStatus } from '../call/statuses.ts'
import { StreamContinuations } from '../call/continuation.ts'
import { BoundedSet } from '../util/bounded.ts'
import type { TalkMs, UiCall, UiCallInfo, UiEvent, UiHint, UiLine } from './schema.ts'
import { dialledParty, fromView, isPreAnswer, newCall, remoteOf, toView, type CallState, type Mutable } from './call.ts'

export interface StateOptions {
  /** Ended calls kept for late joiners (oldest evicted first). */
  recentCalls?: number
  /** Lines and hints kept per call; older ones are dropped and the call marked truncated. */
  maxLines?: number
  maxHints?: number
}

const MAX_ERRORS = 10
const EVICTED_MEMORY = 1000

/** Ordering rule shared with the browser store (static/js/store.js): by startMs, then arrival. */
export function insertLine (lines: UiLine[], line: UiLine): void {
  let i = lines.length
  while (i > 0 && (lines[i - 1] as UiLine).startMs > line.startMs) i--
  lines.splice(i, 0, line)
}

/**
 * The hub's model of every call it hears about. `apply` is synchronous and assigns each UI event
 * the next sequence number, so a snapshot taken between two applies reflects exactly `seq`.
 */
export class HubState {
  #calls = new Map<string, CallState>()
  #evicted = new BoundedSet<string>(EVICTED_MEMORY)
  /** Which stream stops end their call (not one handed to a person, nor an older stream's late stop). */
  #continuations = new StreamContinuations()
  #seq = 0
  #recent: number
  #maxLines: number
  #maxHints: number

  constructor (opts: StateOptions = {}) {
    this.#recent = opts.recentCalls ?? 20
    this.#maxLines = opts.maxLines ?? 1000
    this.#maxHints = opts.maxHints ?? 100
  }

  get seq (): number { return this.#seq }
  get size (): number { return this.#calls.size }
  has (callSid: string): boolean { return this.#calls.has(callSid) }

  /**
   * Folds one call event in; `out` receives the UI events it causes (zero or more), in order.
   * `receivedAt` is the local clock (staleness is judged by it, not by a producer's clock).
   */
  apply (e: CallEvent, out: (ev: UiEvent) => void, receivedAt = e.at): void {
    this.#continuations.observe(e)
    if (this.#evicted.has(e.callSid)) return
    const known = this.#calls.get(e.callSid)
    const c = known ?? this.#create(e)
    if (c === undefined) return
    c.lastEventAt = receivedAt
    const sid = c.callSid
    if (known === undefined) {
      // The new call's info events are already folded into the view that call.started carries.
      out({ type: 'call.started', seq: ++this.#seq, at: e.at, callSid: sid, call: this.view(sid) as UiCall })
      if (e.type === 'call.status' && isTerminalCallStatus(e.status)) this.#end(c, e.at, e.status, e.duration === undefined ? undefined : e.duration * 1000, out)
      if (e.type === 'call.webhook' || e.type === 'call.started' || e.type === 'call.status' || e.type === 'call.placed' || e.type === 'call.outcome') return
    }
    switch (e.type) {
      case 'call.webhook':
        return this.#update(c, e.at, {
          mode: e.mode,
          direction: e.direction,
          from: e.from,
          to: e.to,
          remote: remoteOf(e.direction, e.from, e.to),
          aiEnabled: e.ai,
          ...(e.ai ? {} : { aiStatus: 'off' as const }),
          // The answer dials someone now; unless that leg already reported an answer (or its end).
          ...(c.phase !== 'ended' && (c.dialStatus === null || isPreAnswer(c.dialStatus)) ? { ringing: dialledParty(e) } : {}),
          ...(e.purpose !== undefined ? { purpose: e.purpose } : {}),
        }, out)
      case 'call.placed':
        return this.#update(c, e.at, { purpose: e.purpose }, out)
      case 'call.outcome':
        // The first outcome stays, as in storage: a late status callback never replaces who answered.
        if (c.outcome !== null && c.outcome !== undefined) return
        return this.#update(c, e.at, { outcome: e.outcome }, out)
      case 'call.started':
        return this.#update(c, e.at, {
          phase: 'live',
          streamSid: e.streamSid,
          mode: e.mode,
          direction: e.direction,
          startedAt: e.startedAt,
          endedAt: null,
          durationMs: null,
          endReason: null,
          ...(e.from !== '' ? { from: e.from } : {}),
          ...(e.to !== '' ? { to: e.to } : {}),
          remote: remoteOf(e.direction, e.from || c.from, e.to || c.to),
        }, out)
      case 'call.status':
        this.#update(c, e.at, { twilioStatus: e.status, ...this.#firstLeg(c, e) }, out)
        if (isTerminalCallStatus(e.status)) this.#end(c, e.at, e.status, e.duration === undefined ? undefined : e.duration * 1000, out)
        return
      case 'call.dial':
        if (c.phase === 'ended') return
        // Ringing until the dialled leg answers or ends; whose phone it is follows from which way the call goes.
        return this.#update(c, e.at, { dialStatus: e.status, ringing: isPreAnswer(e.status) ? (c.direction === 'outbound' ? 'remote' : 'operator') : null }, out)
      case 'call.stopped':
        // Levels are not kept in a peer's replayable history; the stop's stats still bring the agent's talk time.
        if (isTalkMs(e.stats.sentMs)) c.talkMs.agent = Math.round(e.stats.sentMs)
        // Handed to a person, or AI turned off: the phone call goes on without this stream.
        if (!this.#continuations.stopEndsCall(e)) return this.#update(c, e.at, { streamSid: null, agentState: null }, out)
        return this.#end(c, e.at, e.reason, e.durationMs, out)
      case 'call.handoff': {
        const prev = c.handoff
        const handoff = {
          stage: e.stage,
          reason: e.reason ?? (e.stage === 'started' ? null : prev?.reason ?? null),
          briefing: e.briefing ?? (e.stage === 'started' ? null : prev?.briefing ?? null),
          dialStatus: e.dialStatus ?? null,
        }
        return this.#update(c, e.at, { handoff }, out)
      }
      case 'call.control':
        return this.#update(c, e.at, { control: { action: e.action, at: e.at } }, out)
      case 'callback.requested':
        if (c.callbacks.some((x) => x.taskId === e.taskId)) return
        return this.#update(c, e.at, { callbacks: [...c.callbacks, { taskId: e.taskId, name: e.name, callbackNumber: e.callbackNumber, reason: e.reason, at: e.at }] }, out)
      case 'call.levels': {
        if (c.phase === 'ended') return
        const inboundIsRemote = speakerForTrack(c.direction ?? 'inbound', 'inbound') === 'remote'
        c.levels.remote = round2(inboundIsRemote ? e.inbound : e.outbound)
        // The agent's voice is no Twilio track: its meter follows the measured loudness of the audio sent for it.
        c.levels.local = round2(c.mode === 'agent' && e.sent !== undefined ? e.sent : inboundIsRemote ? e.outbound : e.inbound)
        // The agent's talk time is the audio sent for it (its transcript's times say when text arrived, not how long it spoke).
        if (isTalkMs(e.sentMs)) c.talkMs.agent = Math.round(e.sentMs)
        return out({ type: 'audio.levels', seq: ++this.#seq, at: e.at, callSid: sid, remote: c.levels.remote, local: c.levels.local, talkMs: { ...c.talkMs } })
      }
      case 'transcript.partial':
      case 'transcript.final':
        return this.#line(c, e, out)
      case 'hint.delta': {
        const h = this.#hint(c, e.hintId, e.at)
        if (h.done) return
        h.text += e.delta
        return out({ type: 'hint.delta', seq: ++this.#seq, at: e.at, callSid: sid, hintId: e.hintId, delta: e.delta })
      }
      case 'hint.done': {
        const h = this.#hint(c, e.hintId, e.at)
        Object.assign(h, { text: e.text, itemId: e.itemId, done: true, superseded: e.superseded }, e.error === undefined ? {} : { error: e.error })
        return out({ type: 'hint.done', seq: ++this.#seq, at: e.at, callSid: sid, hint: { ...h } })
      }
      case 'agent.state':
        if (c.phase === 'ended') return
        c.agentState = e.state
        return out({ type: 'agent.state', seq: ++this.#seq, at: e.at, callSid: sid, state: e.state })
      case 'ai.status':
        c.aiStatus = e.status
        c.aiDetail = e.detail ?? null
        return out({ type: 'ai.status', seq: ++this.#seq, at: e.at, callSid: sid, status: e.status, detail: c.aiDetail })
      case 'call.error': {
        const error = { code: e.code, message: e.message, at: e.at }
        c.errors.push(error)
        if (c.errors.length > MAX_ERRORS) c.errors.shift()
        return out({ type: 'call.error', seq: ++this.#seq, at: e.at, callSid: sid, error })
      }
      case 'call.summary':
        c.summary = { summary: e.summary, intent: e.intent, actionItems: [...e.actionItems] }
        return out({ type: 'call.summary', seq: ++this.#seq, at: e.at, callSid: sid, summary: c.summary })
      default:
        // call.stats, call.dtmf, call.mark, call.metric: not shown on the dashboard (v1).
    }
  }

  /** Ends calls nobody has heard from in `staleMs` (a lost stop event must not pin memory forever). */
  sweep (now: number, staleMs: number, out: (ev: UiEvent) => void): void {
    for (const c of this.#calls.values()) {
      if (c.phase !== 'ended' && now - c.lastEventAt > staleMs) this.#end(c, now, 'stale', undefined, out)
    }
  }

  /** Plain, JSON-ready copies of the calls in scope: live ones first, then ended, each oldest first. */
  calls (scope: string): UiCall[] {
    if (scope !== '*') {
      const one = this.view(scope)
      return one === undefined ? [] : [one]
    }
    const live: UiCall[] = []
    const ended: UiCall[] = []
    for (const sid of this.#calls.keys()) {
      const v = this.view(sid) as UiCall
      ;(v.phase === 'ended' ? ended : live).push(v)
    }
    return [...live, ...ended]
  }

  view (callSid: string): UiCall | undefined {
    const c = this.#calls.get(callSid)
    return c === undefined ? undefined : toView(c)
  }

  /**
   * Adopts calls this hub never saw start (e.g. a Redis peer's snapshot when an instance joins late).
   * Known or evicted calls are left alone; adopted calls are announced as `call.started`.
   */
  seed (calls: readonly UiCall[], at: number, out: (ev: UiEvent) => void): void {
    for (const v of calls) {
      if (this.#calls.has(v.callSid) || this.#evicted.has(v.callSid)) continue
      const c = fromView(v, at)
      this.#calls.set(v.callSid, c)
      out({ type: 'call.started', seq: ++this.#seq, at, callSid: v.callSid, call: this.view(v.callSid) as UiCall })
      if (c.phase === 'ended') this.#evict(at, out)
    }
  }

  /**
   * Calls storage closed as interrupted at start-up (cut by a crash): a known one ends now, an unknown
   * one is remembered as gone, so no late event or peer snapshot can show it live again.
   */
  interrupted (callSids: readonly string[], at: number, out: (ev: UiEvent) => void): void {
    for (const sid of callSids) {
      const c = this.#calls.get(sid)
      if (c !== undefined) {
        this.#end(c, at, 'interrupted', undefined, out)
        continue
      }
      this.#evicted.add(sid)
    }
  }

  /**
   * A click-to-call's first leg rings the operator (Twilio: Direction outbound-api) until they answer; then the
   * webhook's `<Dial>` rings the number (`call.webhook`, `call.dial`). Inbound calls are left to the dial leg.
   */
  #firstLeg (c: CallState, e: Extract<CallEvent, { type: 'call.status' }>): Partial<UiCallInfo> {
    const outbound = (e.direction ?? c.direction) === 'outbound'
    if (!outbound || c.phase === 'ended') return {}
    if (isPreAnswer(e.status)) return c.mode === null ? { direction: 'outbound', ringing: 'operator' } : {}
    return c.ringing === 'operator' ? { ringing: null } : {}
  }

  #create (e: CallEvent): CallState | undefined {
    // A bare `call.status` for a call we never saw is still shown (a busy click-to-call should say so);
    // a stop or a dialled leg's progress for one we never saw has nothing to show.
    if (e.type === 'call.stopped' || e.type === 'call.dial') return undefined
    const c = newCall(e)
    this.#calls.set(e.callSid, c)
    return c
  }

  #update (c: CallState, at: number, changes: Partial<UiCallInfo>, out: (ev: UiEvent) => void): void {
    const diff: Record<string, unknown> = {}
    let any = false
    for (const [k, v] of Object.entries(changes)) {
      if ((c as unknown as Record<string, unknown>)[k] === v) continue
      ;(c as unknown as Record<string, unknown>)[k] = v
      diff[k] = v
      any = true
    }
    if (any) out({ type: 'call.updated', seq: ++this.#seq, at, callSid: c.callSid, changes: diff as Partial<UiCallInfo> })
  }

  #end (c: CallState, at: number, reason: string, durationMs: number | undefined, out: (ev: UiEvent) => void): void {
    if (c.phase === 'ended') return
    // One clock for the live tick and the final figure: from the stream's start (startedAt) to the end, as the
    // dashboard counted it; Twilio's CallDuration (whole seconds, ringing included) only when no media ever came.
    const duration = c.startedAt === null ? (durationMs ?? 0) : Math.max(0, at - c.startedAt)
    Object.assign(c, { phase: 'ended', endedAt: at, durationMs: duration, endReason: reason, agentState: null, ringing: null, levels: { remote: 0, local: 0 } })
    out({ type: 'call.ended', seq: ++this.#seq, at, callSid: c.callSid, endedAt: at, durationMs: duration, reason })
    this.#evict(at, out)
  }

  #evict (at: number, out: (ev: UiEvent) => void): void {
    let ended = 0
    for (const c of this.#calls.values()) if (c.phase === 'ended') ended++
    for (const c of this.#calls.values()) {
      if (ended <= this.#recent) break
      if (c.phase !== 'ended') continue
      this.#calls.delete(c.callSid)
      this.#evicted.add(c.callSid)
      ended--
      out({ type: 'call.removed', seq: ++this.#seq, at, callSid: c.callSid })
    }
  }

  #line (c: CallState, e: Extract<CallEvent, { type: 'transcript.partial' | 'transcript.final' }>, out: (ev: UiEvent) => void): void {
    const prev = c.lineById.get(e.itemId)
    if (prev?.final === true) return // a late partial never unsettles a final line
    const final = e.type === 'transcript.final'
    const line: UiLine = { itemId: e.itemId, speaker: e.speaker, text: e.text, startMs: e.startMs, endMs: e.endMs, final }
    if (prev !== undefined) c.lines.splice(c.lines.indexOf(prev), 1)
    insertLine(c.lines, line)
    c.lineById.set(e.itemId, line)
    if (final && e.speaker !== 'agent') addTalk(c.talkMs, e.speaker, e.endMs - e.startMs)
    // Whoever was being rung is talking: they answered, even if the dialled leg's callback never came (or is late).
    if (final && c.ringing !== null && c.ringing === e.speaker && e.text.trim() !== '') this.#update(c, e.at, { ringing: null }, out)
    if (c.lines.length > this.#maxLines) {
      const dropped = c.lines.shift() as UiLine
      c.lineById.delete(dropped.itemId)
      c.truncated = true
    }
    out({ type: e.type, seq: ++this.#seq, at: e.at, callSid: c.callSid, line, talkMs: { ...c.talkMs } })
  }

  #hint (c: CallState, hintId: string, at: number): Mutable<UiHint> {
    let h = c.hintById.get(hintId)
    if (h !== undefined) return h
    h = { hintId, itemId: null, text: '', done: false, superseded: false, at }
    c.hints.push(h)
    c.hintById.set(hintId, h)
    if (c.hints.length > this.#maxHints) {
      c.hintById.delete((c.hints.shift() as UiHint).hintId)
      c.truncated = true
    }
    return h
  }
}

function addTalk (talk: Mutable<TalkMs>, speaker: Speaker, ms: number): void {
  if (Number.isFinite(ms) && ms > 0) talk[speaker] += ms
}

function isTalkMs (ms: number | undefined): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0
}

function round2 (n: number): number {
  return Number.isFinite(n) ? Math.round(Math.min(1, Math.max(0, n)) * 100) / 100 : 0
}
