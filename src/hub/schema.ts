/** The dashboard wire schema (v1): what GET /ui sends and accepts. Documented in docs/ui-events.md. */
import type { Mode } from '../config.ts'
import type { AgentState, AiStatus, CallControl, CallOutcome, Direction, HandoffReason, HandoffStage, Speaker } from '../call/events.ts'

/**
 * Bumped only for breaking changes (a field removed or its meaning changed). New message types and
 * new optional fields are additive and keep the version; clients ignore what they don't know.
 */
export const UI_SCHEMA_VERSION = 1

/** ringing: we know of the call but no media yet · live: media flowing · ended: over, still readable. */
export type CallPhase = 'ringing' | 'live' | 'ended'

/**
 * Whose phone is ringing while a call waits for an answer (a sub-state of `ringing` and `live`): `operator` = yours
 * (a click-to-call before you pick up; an inbound assist call before you answer), `remote` = the other party's (a
 * click-to-call once you answered, while the number rings). null: nobody is being rung.
 */
export type RingingParty = 'operator' | 'remote'

export interface UiLine {
  readonly itemId: string
  readonly speaker: Speaker
  readonly text: string
  /** Call-relative milliseconds. */
  readonly startMs: number
  readonly endMs: number
  /** false while the line is a partial that may still change. */
  readonly final: boolean
}

export interface UiHint {
  readonly hintId: string
  /** The utterance that prompted it, once known (hint.done). */
  readonly itemId: string | null
  readonly text: string
  readonly done: boolean
  /** A newer utterance replaced it before it finished. */
  readonly superseded: boolean
  /** Why it stopped early when it did not complete (e.g. "the call ended", "timed out"). */
  readonly error?: string
  /** Epoch ms of its first token. */
  readonly at: number
}

/** 0..1 loudness per party: `remote` is the other person; `local` is our operator (assist) or agent. */
export interface UiLevels { readonly remote: number, readonly local: number }

/** Milliseconds of speech per speaker (talk ratio): final transcript lines for people, audio sent for the agent. */
export interface TalkMs { readonly remote: number, readonly operator: number, readonly agent: number }

export interface UiSummary { readonly summary: string, readonly intent: string, readonly actionItems: readonly string[] }
export interface UiError { readonly code: string, readonly message: string, readonly at: number }

/** The call moving from the AI to a person (src/handoff/): where it is, why, and what the operator was told. */
export interface UiHandoff {
  readonly stage: HandoffStage
  readonly reason: HandoffReason | null
  /** The whisper the operator heard (once written). */
  readonly briefing: string | null
  /** With `returned` / `completed`: Twilio's DialCallStatus (`no-answer`, `busy`, …). */
  readonly dialStatus: string | null
}

/** A message the agent took for a callback (stored as a task on the contact). */
export interface UiCallback { readonly taskId: string, readonly name: string, readonly callbackNumber: string, readonly reason: string, readonly at: number }

/** The call fields that `call.updated` may change. */
export interface UiCallInfo {
  readonly callSid: string
  readonly streamSid: string | null
  /** null until a webhook or the media stream tells us. */
  readonly direction: Direction | null
  readonly mode: Mode | null
  readonly from: string
  readonly to: string
  /** The other party's number: `from` on inbound calls, `to` on click-to-call. */
  readonly remote: string
  readonly phase: CallPhase
  /** Twilio's CallStatus, when a status callback told us. */
  readonly twilioStatus: string | null
  /** Whose phone is ringing now, if anyone's (additive to v1: absent from older servers). */
  readonly ringing: RingingParty | null
  /** The last CallStatus of the leg this call dialled (`<Dial><Number>`): ringing, in-progress, busy, no-answer… */
  readonly dialStatus: string | null
  /** false when the webhook answered without AI (draining, over capacity). */
  readonly aiEnabled: boolean | null
  readonly aiStatus: AiStatus | null
  readonly aiDetail: string | null
  readonly agentState: AgentState | null
  /** Epoch ms (server clock; the snapshot's serverTime lets clients correct for skew). */
  readonly createdAt: number
  readonly startedAt: number | null
  readonly endedAt: number | null
  readonly durationMs: number | null
  readonly endReason: string | null
  /** Set once the call is handed (or being handed) to a person; null otherwise. */
  readonly handoff: UiHandoff | null
  /** Messages taken for a callback during this call. */
  readonly callbacks: readonly UiCallback[]
  /** The last control used from the dashboard on this call (hang up, take over, AI off), and by whom. */
  readonly control: { readonly action: CallControl, readonly at: number } | null
  /** An outbound agent call's task for the AI; null for other calls. Optional: snapshots from older peers have none. */
  readonly purpose?: string | null
  /** How an outbound agent call went (human, machine, no-answer, busy, failed); null until known. Optional likewise. */
  readonly outcome?: CallOutcome | null
}

/** A call as the snapshot carries it: info plus everything said and hinted so far. */
export interface UiCall extends UiCallInfo {
  readonly levels: UiLevels
  readonly talkMs: TalkMs
  /** In spoken order (startMs, then arrival). */
  readonly lines: readonly UiLine[]
  /** Oldest first; the last one is the newest. */
  readonly hints: readonly UiHint[]
  readonly summary: UiSummary | null
  /** The most recent errors (bounded). */
  readonly errors: readonly UiError[]
  /** true when old lines or hints were dropped to bound memory. */
  readonly truncated: boolean
}

/** `*` = every call; otherwise one CallSid. */
export type Scope = string

interface Seq { readonly seq: number, readonly at: number, readonly callSid: string }

export type UiEvent =
  | Seq & { readonly type: 'call.started', readonly call: UiCall }
  | Seq & { readonly type: 'call.updated', readonly changes: Partial<UiCallInfo> }
  | Seq & { readonly type: 'call.ended', readonly endedAt: number, readonly durationMs: number, readonly reason: string }
  | Seq & { readonly type: 'call.removed' }
  | Seq & { readonly type: 'transcript.partial' | 'transcript.final', readonly line: UiLine, readonly talkMs: TalkMs }
  | Seq & { readonly type: 'hint.delta', readonly hintId: string, readonly delta: string }
  | Seq & { readonly type: 'hint.done', readonly hint: UiHint }
  | Seq & { readonly type: 'agent.state', readonly state: AgentState }
  | Seq & { readonly type: 'ai.status', readonly status: AiStatus, readonly detail: string | null }
  | Seq & { readonly type: 'audio.levels', readonly remote: number, readonly local: number, readonly talkMs?: TalkMs }
  | Seq & { readonly type: 'call.error', readonly error: UiError }
  | Seq & { readonly type: 'call.summary', readonly summary: UiSummary }

export type UiEventType = UiEvent['type']

/** Always the first message after connecting or subscribing; it reflects every event up to `seq`. */
export interface SnapshotMessage {
  readonly type: 'snapshot'
  readonly v: number
  readonly seq: number
  readonly scope: Scope
  readonly serverTime: number
  /** Live calls first, then recently ended ones, each oldest first. */
  readonly calls: readonly UiCall[]
}

/** Sent every few seconds so clients can tell a quiet hub from a dead connection. Not sequenced. */
export interface HeartbeatMessage { readonly type: 'heartbeat', readonly seq: number, readonly serverTime: number }
/** A client message we could not use. Not sequenced. */
export interface ErrorMessage { readonly type: 'error', readonly code: string, readonly message: string }

export type ServerMessage = SnapshotMessage | UiEvent | HeartbeatMessage | ErrorMessage

/** What a dashboard may send: switch to every call (`*`) or one CallSid; a fresh snapshot follows. */
export interface SubscribeMessage { readonly type: 'subscribe', readonly callSid: Scope }
export type ClientMessage = SubscribeMessage

/** Parses a client message; returns an error text for anything else. */
export function parseClientMessage (text: string): { ok: true, message: ClientMessage } | { ok: false, reason: string } {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'not JSON' }
  }
  if (typeof data !== 'object' || data === null) return { ok: false, reason: 'not an object' }
  const m = data as Record<string, unknown>
  if (m.type !== 'subscribe') return { ok: false, reason: `unknown message type ${JSON.stringify(m.type)}` }
  const sid = m.callSid ?? '*'
  if (typeof sid !== 'string' || sid.length === 0 || sid.length > 64) return { ok: false, reason: 'callSid must be "*" or a CallSid' }
  return { ok: true, message: { type: 'subscribe', callSid: sid } }
}
