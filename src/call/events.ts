/** Typed call events: what a call reports to the AI bridge, the dashboard hub and storage. */
import type { Mode } from '../config.ts'

export type Direction = 'inbound' | 'outbound'
export type Track = 'inbound' | 'outbound'
/** Who spoke: the remote party, the human operator (assist), or the AI (agent). */
export type Speaker = 'remote' | 'operator' | 'agent'
/** `refused`: OpenAI refused the session config (detail: its message); no retry on this call. */
export type AiStatus = 'off' | 'connecting' | 'ready' | 'degraded' | 'refused'
export type AgentState = 'listening' | 'thinking' | 'speaking'

/**
 * Maps a Twilio track to the person speaking on it. Twilio's `inbound` track is the audio
 * coming from the phone of this call leg: on an inbound call that is the caller; on a
 * click-to-call we ring the operator first, so that leg's inbound track is the operator.
 */
export function speakerForTrack (direction: Direction, track: Track): Speaker {
  return (direction === 'inbound') === (track === 'inbound') ? 'remote' : 'operator'
}

export interface MediaStats {
  /** Media frames received per track. */
  readonly frames: { inbound: number, outbound: number }
  /** Decoded μ-law bytes received per track. */
  readonly bytes: { inbound: number, outbound: number }
  /** Gaps in `media.timestamp` (ms of missing audio) per track. */
  readonly gapMs: { inbound: number, outbound: number }
  readonly gaps: { inbound: number, outbound: number }
  /** Frames sent back to Twilio (agent mode). */
  readonly framesOut: number
  /** ms of audio sent back (the agent's speech), less what a `clear` dropped unplayed; as `call.levels` carries it. */
  readonly sentMs?: number
  /** Messages we could not use, by reason (malformed JSON, unknown event, …). */
  readonly rejected: Readonly<Record<string, number>>
}

interface Base { readonly callSid: string, readonly at: number }

/** The webhook answered a call: the bridge may pre-warm; storage records the call. */
export interface CallWebhookEvent extends Base {
  readonly type: 'call.webhook'
  readonly mode: Mode
  readonly direction: Direction
  readonly from: string
  readonly to: string
  /** false when the call was answered without AI (draining, overloaded, misconfigured). */
  readonly ai: boolean
  /** An outbound agent call: the task the dashboard gave the AI (src/call/agent-call.ts). */
  readonly purpose?: string
}
/** How an outbound agent call went: who answered (AMD), or why nobody did (the status callback). */
export type CallOutcome = 'human' | 'machine' | 'no-answer' | 'busy' | 'failed'
/** We asked Twilio to place an outbound agent call (POST /api/calls, mode agent): it rings from now. */
export interface CallPlacedEvent extends Base {
  readonly type: 'call.placed'
  readonly mode: Mode
  readonly direction: Direction
  readonly from: string
  readonly to: string
  readonly purpose: string
}
/** The outcome of an outbound agent call; `answeredBy` is Twilio's AMD value when it came from one. */
export interface CallOutcomeEvent extends Base {
  readonly type: 'call.outcome'
  readonly outcome: CallOutcome
  readonly answeredBy?: string
}
export interface CallStartedEvent extends Base {
  readonly type: 'call.started'
  readonly streamSid: string
  readonly mode: Mode
  readonly direction: Direction
  readonly from: string
  readonly to: string
  readonly tracks: readonly Track[]
  readonly bidirectional: boolean
  readonly startedAt: number
}
export interface CallStatusEvent extends Base {
  readonly type: 'call.status'
  /** Twilio CallStatus: queued, ringing, in-progress, completed, busy, failed, no-answer, canceled. */
  readonly status: string
  readonly duration?: number
  /** Which way the call goes, when Twilio said (`Direction`): `outbound` for a click-to-call's first leg. */
  readonly direction?: Direction
}
/**
 * Progress of the leg a call dials (`<Dial><Number statusCallback>`): the operator on an inbound assist call, the
 * number asked for on a click-to-call. `callSid` is the parent call; `status` is Twilio's CallStatus of the child leg.
 */
export interface CallDialEvent extends Base {
  readonly type: 'call.dial'
  readonly childSid: string
  /** initiated, ringing, in-progress (answered), completed, busy, no-answer, failed, canceled. */
  readonly status: string
}
export interface CallStatsEvent extends Base {
  readonly type: 'call.stats'
  /** Cumulative for this stream so far. */
  readonly stats: MediaStats
  /** The stream these stats belong to (optional: metrics fall back to the call's newest stream). */
  readonly streamSid?: string
}
export interface CallLevelsEvent extends Base {
  readonly type: 'call.levels'
  /** 0..1 loudness per track, each measured on its own frames (~5 Hz; a track without frames reads 0). */
  readonly inbound: number
  readonly outbound: number
  /**
   * ms of audio sent back on the stream so far (the agent's speech), less what a `clear` dropped unplayed (estimated).
   * Optional: events from producers that predate it carry none.
   */
  readonly sentMs?: number
  /**
   * 0..1 loudness of the audio we send back (the agent's voice) playing now, measured on what we send (at most once
   * per 200 ms of audio); 0 while nothing plays. Only on bidirectional streams.
   */
  readonly sent?: number
}
export interface CallDtmfEvent extends Base { readonly type: 'call.dtmf', readonly digit: string }
export interface CallMarkEvent extends Base { readonly type: 'call.mark', readonly name: string }
export interface CallStoppedEvent extends Base {
  readonly type: 'call.stopped'
  readonly streamSid: string
  /** `stop` (Twilio ended the stream), `closed` (socket closed without stop), `rejected`, `shutdown`. */
  readonly reason: 'stop' | 'closed' | 'rejected' | 'shutdown'
  readonly durationMs: number
  readonly stats: MediaStats
}
export interface TranscriptEvent extends Base {
  readonly type: 'transcript.partial' | 'transcript.final'
  readonly itemId: string
  readonly speaker: Speaker
  /** Whole text so far (partial) or the final text. */
  readonly text: string
  /** Call-relative milliseconds. */
  readonly startMs: number
  readonly endMs: number
}
export interface HintDeltaEvent extends Base { readonly type: 'hint.delta', readonly hintId: string, readonly delta: string }
export interface HintDoneEvent extends Base {
  readonly type: 'hint.done'
  readonly hintId: string
  readonly text: string
  /** The utterance that prompted it. */
  readonly itemId: string
  /** true when a newer utterance superseded it before it finished. */
  readonly superseded: boolean
  /** Set when it did not finish for another reason (upstream error, timeout, call ended); `text` is what arrived. */
  readonly error?: string
  /** The playbook it was written from (`playbookId` in src/ai/playbook.ts); absent when no request was made. */
  readonly playbookId?: string
}
export interface AgentStateEvent extends Base { readonly type: 'agent.state', readonly state: AgentState }
export interface AiStatusEvent extends Base {
  readonly type: 'ai.status'
  readonly status: AiStatus
  readonly detail?: string
  /** With `refused`: which kind of session the API refused (agent: realtime, assist: transcription). */
  readonly kind?: 'realtime' | 'transcription'
}
export interface CallMetricEvent extends Base {
  readonly type: 'call.metric'
  /** e.g. `utterance_to_final_ms`, `caller_stop_to_agent_audio_ms`, `utterance_to_hint_ms`. */
  readonly name: string
  readonly value: number
}
export interface SummaryEvent extends Base {
  readonly type: 'call.summary'
  readonly summary: string
  readonly intent: string
  readonly actionItems: readonly string[]
}
export interface CallErrorEvent extends Base { readonly type: 'call.error', readonly code: string, readonly message: string }
/** Why the agent ended its `<Connect><Stream>`: what the `<Connect action>` request gets (src/call/stream-outcome.ts). */
export type StreamOutcome = 'hangup' | 'transfer' | 'fallback'
export interface StreamOutcomeEvent extends Base { readonly type: 'stream.outcome', readonly outcome: StreamOutcome }

/**
 * A call moving between the AI and a person (src/handoff/). `started`: the agent (tool or fallback) or the dashboard
 * handed the call over; its agent stream is about to end, the call is not. `briefed`: the operator's whisper is
 * written. `ringing`: the operator's phone rings. `joined`: the operator answered and heard the briefing.
 * `returned`: nobody answered (`dialStatus` says how); the caller is back with the agent. `completed`: the person's
 * leg ended normally.
 */
export type HandoffStage = 'started' | 'briefed' | 'ringing' | 'joined' | 'returned' | 'completed'
export type HandoffReason = 'tool' | 'fallback' | 'take-over'
export interface CallHandoffEvent extends Base {
  readonly type: 'call.handoff'
  readonly stage: HandoffStage
  readonly reason?: HandoffReason
  /** With `briefed`: the two sentences the operator hears before being connected. */
  readonly briefing?: string
  /** With `returned` / `completed`: Twilio's DialCallStatus. */
  readonly dialStatus?: string
}
/** Someone on the dashboard acted on a live call (logged, shown, and for `ai-off` the AI stream ends but not the call). */
export type CallControl = 'hangup' | 'take-over' | 'ai-off'
export interface CallControlEvent extends Base {
  readonly type: 'call.control'
  readonly action: CallControl
  /** Who: `session:<id>` or `bearer`. */
  readonly by: string
}
/** The agent took a message for a callback (no person was free, or the caller asked). Stored as a task on the contact. */
export interface CallbackRequestedEvent extends Base {
  readonly type: 'callback.requested'
  /** Unique per task (the tool call's id, or the fallback's). */
  readonly taskId: string
  readonly name: string
  /** The number to call back (as the caller gave it, else the caller's number). */
  readonly callbackNumber: string
  /** The caller's own number (the contact the task belongs to); empty when unknown. */
  readonly caller: string
  readonly reason: string
}

export type CallEvent =
  | CallWebhookEvent | CallStartedEvent | CallStatusEvent | CallDialEvent | CallStatsEvent | CallLevelsEvent
  | CallDtmfEvent | CallMarkEvent | CallStoppedEvent | TranscriptEvent | HintDeltaEvent | HintDoneEvent
  | AgentStateEvent | AiStatusEvent | CallMetricEvent | SummaryEvent | CallErrorEvent
  | StreamOutcomeEvent | CallHandoffEvent | CallControlEvent | CallbackRequestedEvent | CallPlacedEvent | CallOutcomeEvent

export type CallEventType = CallEvent['type']
