/** A scripted call as the bus would carry it: what the bridge, hint engine and media session publish. */
import type { CallEvent } from '../../../src/call/events.ts'
import type { Mode } from '../../../src/config.ts'

export interface ScriptOptions {
  callSid: string
  mode?: Mode
  direction?: 'inbound' | 'outbound'
  from?: string
  to?: string
  /** Epoch ms of the webhook; the call starts 1 s later and events follow a spoken-time clock. */
  t0?: number
  /** Utterance pairs (remote, then operator or agent). */
  turns?: number
  /** Replaces the first remote utterance. */
  firstLine?: string
  /** Leave out call.stopped (a call still live at the end). */
  open?: boolean
}

export const REMOTE = [
  'Hi, I\'m calling about my internet bill. It went up again this month.',
  'Honestly, if it stays this high I\'m thinking of switching to another provider.',
  'I\'m on the 300 megabit plan, and it drops every evening anyway.',
  'Okay, what would that cost me per month?',
]
export const LOCAL = [
  'I\'m sorry about that. Let me pull up your account.',
  'I understand. Can I ask which plan you\'re on right now?',
  'Thanks. We can move you to the faster plan and fix the evening drops.',
  'It would be fifty-nine a month, with the first three months at thirty-nine.',
]
export const HINTS = [
  'Acknowledge the increase, then check whether their promo discount just expired.',
  'Churn risk: ask about their current plan before offering anything.',
  'Offer Plus 1G at $59/month, first 3 months at $39; mention the evening-speed fix.',
  'Confirm the price, then offer to switch them today with no installation fee.',
]

/** Builds one call's events in publish order, with `at` following the call's spoken timeline. */
export function scriptedCall (o: ScriptOptions): CallEvent[] {
  const callSid = o.callSid
  const mode = o.mode ?? 'assist'
  const direction = o.direction ?? 'inbound'
  const from = o.from ?? '+14155550123'
  const to = o.to ?? '+15550002222'
  const t0 = o.t0 ?? 1_700_000_000_000
  const startedAt = t0 + 1000
  const local = mode === 'agent' ? 'agent' as const : 'operator' as const
  const ev: CallEvent[] = []
  /** Call-relative ms; every event's `at` is startedAt + ms, so times in the UI agree with each other. */
  let ms = 400
  const at = (): number => startedAt + ms
  /** Agent mode: the ms of audio sent for the agent so far (what session.ts publishes as `sentMs`). */
  let agentSentMs = 0
  const sent = (level = 0): { sentMs?: number, sent?: number } => mode === 'agent' ? { sentMs: agentSentMs, sent: level } : {}
  const say = (itemId: string, speaker: 'remote' | 'operator' | 'agent', text: string): void => {
    const words = text.split(' ')
    const startMs = ms
    const inbound = speaker === 'remote' ? 0.6 : 0.04
    // Agent mode: the agent's level is that of the audio sent for it (no outbound track on <Connect>).
    const levels = mode === 'agent'
      ? { inbound, outbound: 0, ...sent(speaker === 'agent' ? 0.6 : 0) }
      : { inbound: direction === 'inbound' ? inbound : 0.64 - inbound, outbound: direction === 'inbound' ? 0.64 - inbound : inbound }
    ev.push({ type: 'call.levels', callSid, at: at(), ...levels })
    for (let w = 2; w < words.length; w += 3) {
      ms += 700
      ev.push({ type: 'transcript.partial', callSid, at: at(), itemId, speaker, text: words.slice(0, w).join(' '), startMs, endMs: ms })
    }
    ms += 500
    ev.push({ type: 'transcript.final', callSid, at: at(), itemId, speaker, text, startMs, endMs: ms })
    if (speaker === 'agent') {
      agentSentMs += ms - startMs
      ev.push({ type: 'call.levels', callSid, at: at(), inbound: 0.04, outbound: 0, ...sent() })
    }
  }
  ev.push({ type: 'call.webhook', callSid, at: t0, mode, direction, from, to, ai: true })
  ev.push({ type: 'call.started', callSid, at: startedAt, streamSid: `MZ${callSid.slice(2)}`, mode, direction, from, to, tracks: mode === 'agent' ? ['inbound'] : ['inbound', 'outbound'], bidirectional: mode === 'agent', startedAt })
  ev.push({ type: 'ai.status', callSid, at: startedAt + 50, status: 'ready' })
  // Assist: the <Dial>led leg (the operator, or the number on click-to-call) rings, then answers (/twilio/dial-status).
  if (mode === 'assist') {
    ev.push({ type: 'call.dial', callSid, at: startedAt + 60, childSid: `${callSid}d`, status: 'ringing' })
    ev.push({ type: 'call.dial', callSid, at: startedAt + 300, childSid: `${callSid}d`, status: 'in-progress' })
  }
  for (let i = 0; i < (o.turns ?? 2); i++) {
    const itemId = `item_r${i}`
    if (mode === 'agent') ev.push({ type: 'agent.state', callSid, at: at(), state: 'listening' })
    say(itemId, 'remote', i === 0 && o.firstLine !== undefined ? o.firstLine : REMOTE[i % REMOTE.length] as string)
    const hintId = `hint_${i}`
    const hint = `${HINTS[i % HINTS.length] as string}${i >= HINTS.length ? ` (${i + 1})` : ''}`
    const parts = hint.match(/\S+\s*/g) as string[]
    for (let p = 0; p < parts.length; p += 4) {
      ms += 60
      ev.push({ type: 'hint.delta', callSid, at: at(), hintId, delta: parts.slice(p, p + 4).join('') })
    }
    ev.push({ type: 'hint.done', callSid, at: at(), hintId, text: hint, itemId, superseded: false })
    if (mode === 'agent') ev.push({ type: 'agent.state', callSid, at: at(), state: 'thinking' })
    ms += 600
    if (mode === 'agent') ev.push({ type: 'agent.state', callSid, at: at(), state: 'speaking' })
    say(`item_l${i}`, local, LOCAL[i % LOCAL.length] as string)
    ms += 900
  }
  if (o.open !== true) {
    const stats = { frames: { inbound: 1, outbound: 1 }, bytes: { inbound: 160, outbound: 160 }, gapMs: { inbound: 0, outbound: 0 }, gaps: { inbound: 0, outbound: 0 }, framesOut: 0, rejected: {} }
    ev.push({ type: 'call.stopped', callSid, at: at(), streamSid: `MZ${callSid.slice(2)}`, reason: 'stop', durationMs: ms, stats })
  }
  return ev
}

/** How long the script's call lasts (ms from the webhook to its last event). */
export function scriptSpan (events: readonly CallEvent[]): number {
  return (events[events.length - 1] as CallEvent).at - (events[0] as CallEvent).at
}

/** A CallSid-shaped id for test number `n`. */
export function callSidFor (n: number): string {
  return `CA${n.toString(16).padStart(32, '0')}`
}
