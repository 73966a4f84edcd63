/** The storage interface every engine implements (SQLite and PostgreSQL), with its records and write ops. */
import type { Mode } from '../config.ts'
import type { CallOutcome, Direction, Speaker } from '../call/events.ts'

export type Engine = 'sqlite' | 'postgres'
export type MessageDirection = 'inbound' | 'outbound'

export interface Contact {
  readonly phone: string
  readonly name: string | null
  readonly notes: string | null
  readonly createdAt: number
  readonly updatedAt: number
}

export interface CallRecord {
  readonly callSid: string
  readonly direction: Direction | null
  readonly from: string | null
  readonly to: string | null
  /** The remote party (E.164): `from` for inbound, `to` for outbound; null when not a phone number. */
  readonly contactPhone: string | null
  readonly contactName: string | null
  readonly mode: Mode | null
  /** Twilio CallStatus (terminal statuses are never overwritten by late non-terminal callbacks). */
  readonly status: string | null
  readonly aiStatus: string | null
  /** When we first heard of the call (ms since epoch): the sort key of the history. */
  readonly createdAt: number
  readonly startedAt: number | null
  readonly endedAt: number | null
  /** Twilio's CallDuration when known, else the media stream's length, in seconds. */
  readonly durationS: number | null
  readonly utteranceCount: number
  readonly summary: string | null
  /** An outbound agent call's task for the AI (null for every other call). */
  readonly purpose: string | null
  /** How an outbound agent call went: human, machine, no-answer, busy or failed (null for other calls, or not known yet). */
  readonly outcome: CallOutcome | null
}

export interface Utterance {
  readonly itemId: string
  readonly speaker: Speaker
  readonly text: string
  readonly startMs: number
  readonly endMs: number
  readonly at: number
}

export interface Hint {
  readonly hintId: string
  readonly itemId: string
  readonly text: string
  readonly superseded: boolean
  readonly at: number
  /** The playbook the hint was written from (`src/ai/playbook.ts` playbookId); null for hints stored before v3. */
  readonly playbookId: string | null
  /** 👍/👎 given on the dashboard; null when none (or cleared). */
  readonly feedback: FeedbackValue | null
  /** Who last set or cleared it (`session:<id>` or `bearer`) and when (ms since epoch). */
  readonly feedbackBy: string | null
  readonly feedbackAt: number | null
}

export type FeedbackValue = 'up' | 'down'

/** One 👍/👎 (or `null`: cleared) on a hint. */
export interface HintFeedback {
  readonly callSid: string
  readonly hintId: string
  readonly value: FeedbackValue | null
  readonly by: string
  readonly at: number
  /**
   * Set when the hint is known from the live call feed but may not be stored yet (the recorder writes it
   * shortly after hint.done, possibly on another instance): the feedback is stored on a placeholder row
   * that the hint fills when it arrives. Without it, an unknown hint is `not_found`.
   */
  readonly pending?: { readonly playbookId: string | null }
}

/** `changed`: the stored value moved (a repeat of the same value is `unchanged`: feedback is idempotent). */
export type FeedbackResult =
  | { readonly status: 'not_found' }
  | { readonly status: 'unchanged' }
  | { readonly status: 'changed', readonly playbookId: string | null }

/** Feedback given on the hints of one playbook (`playbookId` null: hints stored before playbooks were recorded). */
export interface PlaybookFeedback { readonly playbookId: string | null, readonly up: number, readonly down: number }

export interface Summary {
  readonly summary: string
  readonly intent: string
  readonly actionItems: readonly string[]
  readonly at: number
}

export interface Message {
  readonly id: number
  /** Twilio MessageSid; null for a send Twilio refused before creating a message. */
  readonly sid: string | null
  readonly direction: MessageDirection
  readonly contactPhone: string | null
  readonly from: string
  readonly to: string
  readonly body: string | null
  readonly numMedia: number
  /** Twilio MessageStatus: queued, sent, delivered, read, failed, undelivered, received… */
  readonly status: string
  readonly errorCode: number | null
  readonly errorMessage: string | null
  readonly createdAt: number
  readonly updatedAt: number
}

export interface CallDetail {
  readonly call: CallRecord
  readonly utterances: readonly Utterance[]
  readonly hints: readonly Hint[]
  readonly summary: Summary | null
}

/** Keyset position in the newest-first call list. */
export interface CallCursor { readonly at: number, readonly sid: string }

/**
 * Part of a phone number, as digits: the remote party's number starts with `+digits` (`starts`, the user typed a
 * leading +) or holds `digits` anywhere (`contains`). Matched against the contacts table, one row per number.
 */
export interface PhonePart { readonly digits: string, readonly at: 'starts' | 'contains' }

export interface CallQuery {
  /** Remote party (E.164), exactly. */
  readonly phone?: string
  /** Remote party's number, partly (see PhonePart). */
  readonly phonePart?: PhonePart
  /** Inclusive lower / exclusive upper bound on the call time (ms since epoch). */
  readonly since?: number
  readonly until?: number
  /** Words that must all occur in the call's transcript (prefix match, case-insensitive). */
  readonly terms?: readonly string[]
  readonly limit: number
  readonly cursor?: CallCursor
}

export interface CallListItem extends CallRecord {
  /** With a search: the first utterance that matched. */
  readonly match?: { readonly itemId: string, readonly speaker: Speaker, readonly text: string, readonly startMs: number }
}

export interface CallPage { readonly calls: readonly CallListItem[], readonly next: CallCursor | null }

export interface ContactHistory {
  readonly contact: Contact | undefined
  readonly calls: readonly CallRecord[]
  readonly messages: readonly Message[]
}

export interface ContactPatch { readonly name?: string | null, readonly notes?: string | null }

export interface MigrationResult { readonly from: number, readonly to: number, readonly latest: number }

/** Call fields a patch may set; absent fields keep what is stored. */
export interface CallPatch {
  readonly direction?: Direction
  readonly from?: string
  readonly to?: string
  readonly contactPhone?: string
  readonly mode?: Mode
  readonly status?: string
  readonly aiStatus?: string
  readonly startedAt?: number
  readonly endedAt?: number
  readonly durationS?: number
  readonly streamMs?: number
  readonly purpose?: string
  /** The first outcome recorded stays (a late status callback never replaces who answered). */
  readonly outcome?: CallOutcome
}

/**
 * One idempotent write. A batch is applied in one transaction, so a batch retried after an
 * outage can never be half-applied or duplicated.
 */
export type WriteOp =
  | { readonly op: 'call', readonly callSid: string, readonly at: number, readonly patch: CallPatch }
  | { readonly op: 'utterance', readonly callSid: string, readonly at: number, readonly itemId: string, readonly speaker: Speaker, readonly text: string, readonly startMs: number, readonly endMs: number }
  | { readonly op: 'hint', readonly callSid: string, readonly at: number, readonly hintId: string, readonly itemId: string, readonly text: string, readonly superseded: boolean, readonly playbookId?: string }
  | { readonly op: 'summary', readonly callSid: string, readonly at: number, readonly summary: string, readonly intent: string, readonly actionItems: readonly string[] }
  | {
    readonly op: 'message'
    readonly at: number
    readonly sid: string | null
    readonly direction: MessageDirection
    readonly from: string
    readonly to: string
    readonly contactPhone: string | null
    readonly body: string | null
    readonly numMedia: number
    readonly status: string
    readonly errorCode?: number
    readonly errorMessage?: string
    /** WhatsApp profile name: fills the contact's name when it has none. */
    readonly profileName?: string
  }
  | { readonly op: 'callback', readonly callSid: string, readonly at: number, readonly taskId: string, readonly contactPhone: string | null, readonly name: string, readonly callbackNumber: string, readonly reason: string }
  | { readonly op: 'callback.done', readonly at: number, readonly taskId: string, readonly done: boolean }
  | {
    readonly op: 'message.status'
    readonly at: number
    readonly sid: string
    readonly status: string
    readonly errorCode?: number
    readonly from?: string
    readonly to?: string
    readonly contactPhone?: string | null
  }

/** A message the agent took for a callback: a task on the contact, open until marked done. */
export interface CallbackTask {
  readonly taskId: string
  readonly callSid: string
  readonly contactPhone: string | null
  readonly name: string
  readonly callbackNumber: string
  readonly reason: string
  readonly createdAt: number
  readonly doneAt: number | null
}

export interface CallbackQuery {
  /** true: open tasks only; false: done only; undefined: both. */
  readonly open?: boolean
  readonly phone?: string
  readonly limit: number
}

export interface PurgeResult { readonly calls: number, readonly messages: number }

/** Everything TalkHint stores. Methods reject with StoreError when the database is unusable. */
export interface Store {
  readonly engine: Engine
  /** Applies pending migrations (up to `target`, default all); safe when several instances start at once. */
  migrate (opts?: { target?: number }): Promise<MigrationResult>
  schemaVersion (): Promise<number>
  /** Applies the ops in order, in one transaction. */
  write (ops: readonly WriteOp[]): Promise<void>
  listCalls (query: CallQuery): Promise<CallPage>
  getCall (callSid: string): Promise<CallDetail | undefined>
  contactHistory (phone: string, limit: number): Promise<ContactHistory>
  /** Creates the contact if needed; `null` clears a field, absent keeps it. */
  updateContact (phone: string, patch: ContactPatch, at: number): Promise<Contact>
  getMessage (sid: string): Promise<Message | undefined>
  /** Callback tasks, newest first. */
  listCallbacks (query: CallbackQuery): Promise<CallbackTask[]>
  /** Sets or clears the feedback on a hint, in the shared database; see HintFeedback.pending for hints not stored yet. */
  setHintFeedback (feedback: HintFeedback): Promise<FeedbackResult>
  /** The feedback given on a call's hints, hintId → value (for the live dashboard after a reload). */
  callFeedback (callSid: string): Promise<Record<string, FeedbackValue>>
  /** 👍 and 👎 counts per playbook, most feedback first. */
  feedbackCounts (): Promise<PlaybookFeedback[]>
  /**
   * Closes calls left open by a crash: every call created before `createdBefore` with no end gets
   * `ended_at = at` and, unless Twilio already gave a final status, status `interrupted` (a later
   * final status callback still replaces it). Returns the CallSids it closed.
   */
  closeInterrupted (createdBefore: number, at: number): Promise<string[]>
  /** Deletes calls (with their transcript, hints, summary) and messages older than `before`. */
  purge (before: number): Promise<PurgeResult>
  close (): Promise<void>
}

export type StoreErrorCode = 'STORE_UNAVAILABLE' | 'STORE_CLOSED' | 'STORE_BAD_URL' | 'STORE_QUERY_FAILED'

/** A storage failure; `code` says whether it is the database (retry) or the request. */
export class StoreError extends Error {
  readonly code: StoreErrorCode
  constructor (code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreError'
    this.code = code
  }
}

/**
 * Message statuses in the order Twilio moves through them. Status callbacks may arrive out of
 * order, so a stored status only ever moves forward (failures are final).
 */
export const MESSAGE_STATUS_RANK: Readonly<Record<string, number>> = {
  accepted: 0,
  scheduled: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  receiving: 3,
  received: 4,
  delivered: 4,
  read: 5,
  undelivered: 6,
  failed: 6,
  canceled: 6,
}

/** SQL expression ranking the status held in `column` (same text on both engines). */
export function statusRankSql (column: string): string {
  const whens = Object.entries(MESSAGE_STATUS_RANK).map(([s, r]) => `WHEN '${s}' THEN ${r}`).join(' ')
  return `(CASE ${column} ${whens} ELSE 0 END)`
}
