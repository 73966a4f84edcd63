/** One call's record inside the hub: the mutable state behind a UiCall, and its plain copy. */
import type { CallEvent } from '../call/events.ts'
import type { RingingParty, TalkMs, UiCall, UiCallInfo, UiError, UiHint, UiLine, UiSummary } from './schema.ts'

export type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export interface CallState extends Mutable<UiCallInfo> {
  levels: { remote: number, local: number }
  talkMs: Mutable<TalkMs>
  lines: UiLine[]
  lineById: Map<string, UiLine>
  hints: Mutable<UiHint>[]
  hintById: Map<string, Mutable<UiHint>>
  summary: UiSummary | null
  errors: UiError[]
  truncated: boolean
  /** Local clock of the last event (staleness). */
  lastEventAt: number
}

/** The other party's number: the caller on inbound calls, the number dialled on click-to-call. */
export function remoteOf (direction: 'inbound' | 'outbound', from: string, to: string): string {
  return direction === 'inbound' ? from : to
}

/** A fresh record for the call `e` is the first event of; what `e` says about the call is folded in. */
export function newCall (e: CallEvent): CallState {
  const c: CallState = {
    callSid: e.callSid,
    streamSid: null,
    direction: null,
    mode: null,
    from: '',
    to: '',
    remote: '',
    phase: e.type === 'call.webhook' || e.type === 'call.status' || e.type === 'call.placed' || e.type === 'call.outcome' ? 'ringing' : 'live',
    twilioStatus: null,
    ringing: null,
    dialStatus: null,
    aiEnabled: null,
    aiStatus: null,
    aiDetail: null,
    agentState: null,
    createdAt: e.at,
    startedAt: null,
    endedAt: null,
    durationMs: null,
    endReason: null,
    handoff: null,
    callbacks: [],
    control: null,
    purpose: null,
    outcome: null,
    levels: { remote: 0, local: 0 },
    talkMs: { remote: 0, operator: 0, agent: 0 },
    lines: [],
    lineById: new Map(),
    hints: [],
    hintById: new Map(),
    summary: null,
    errors: [],
    truncated: false,
    lastEventAt: e.at,
  }
  if (e.type === 'call.started') {
    Object.assign(c, { streamSid: e.streamSid, direction: e.direction, mode: e.mode, from: e.from, to: e.to, remote: remoteOf(e.direction, e.from, e.to), startedAt: e.startedAt })
  } else if (e.type === 'call.webhook') {
    Object.assign(c, { direction: e.direction, mode: e.mode, from: e.from, to: e.to, remote: remoteOf(e.direction, e.from, e.to), aiEnabled: e.ai, aiStatus: e.ai ? null : 'off', ringing: dialledParty(e), purpose: e.purpose ?? null })
  } else if (e.type === 'call.placed') {
    Object.assign(c, { direction: e.direction, mode: e.mode, from: e.from, to: e.to, remote: remoteOf(e.direction, e.from, e.to), purpose: e.purpose })
  } else if (e.type === 'call.outcome') {
    c.outcome = e.outcome
  } else if (e.type === 'call.status') {
    c.twilioStatus = e.status
    if (e.direction !== undefined) c.direction = e.direction
    if (e.direction === 'outbound' && isPreAnswer(e.status)) c.ringing = 'operator'
  }
  return c
}

/** Twilio call statuses before anyone answered. */
export function isPreAnswer (status: string): boolean {
  return status === 'queued' || status === 'initiated' || status === 'ringing'
}

/**
 * Who a webhook's answer rings: assist (and any call without AI) `<Dial>`s a number right after the stream starts: the
 * operator on an inbound call, the number asked for on a click-to-call (whose operator has just answered).
 */
export function dialledParty (e: { direction: 'inbound' | 'outbound', mode: string, ai: boolean }): RingingParty | null {
  if (e.mode !== 'assist' && e.ai) return null
  return e.direction === 'outbound' ? 'remote' : 'operator'
}

/** A record rebuilt from a UiCall (a peer's snapshot). */
export function fromView (v: UiCall, at: number): CallState {
  const hints = v.hints.map((h) => ({ ...h }))
  return {
    ...v,
    // A peer on an older version sends neither.
    ringing: v.ringing ?? null,
    dialStatus: v.dialStatus ?? null,
    levels: { ...v.levels },
    talkMs: { ...v.talkMs },
    lines: [...v.lines],
    lineById: new Map(v.lines.map((l) => [l.itemId, l])),
    hints,
    hintById: new Map(hints.map((h) => [h.hintId, h])),
    errors: [...v.errors],
    lastEventAt: at,
  }
}

/** A plain, JSON-ready copy (what snapshots and call.started carry). */
export function toView (c: CallState): UiCall {
  const { lineById: _l, hintById: _h, lastEventAt: _t, ...rest } = c
  return {
    ...rest,
    levels: { ...c.levels },
    talkMs: { ...c.talkMs },
    lines: [...c.lines],
    hints: c.hints.map((h) => ({ ...h })),
    errors: [...c.errors],
  }
}
