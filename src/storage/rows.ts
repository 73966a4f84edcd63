/** Database rows → records, the same for both engines (PostgreSQL bigints arrive as numbers; SQLite booleans as 0/1). */
import type { CallbackTask, CallListItem, CallRecord, Contact, Hint, Message, PlaybookFeedback, Summary, Utterance } from './store.ts'

export type Row = Record<string, unknown>
const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => v === null || v === undefined ? null : Number(v)
const strOrNull = (v: unknown): string | null => v === null || v === undefined ? null : String(v)

export function rowToCall (r: Row): CallRecord {
  const streamMs = numOrNull(r.stream_ms)
  return {
    callSid: String(r.call_sid),
    direction: strOrNull(r.direction) as CallRecord['direction'],
    from: strOrNull(r.from_number),
    to: strOrNull(r.to_number),
    contactPhone: strOrNull(r.contact_phone),
    contactName: strOrNull(r.contact_name),
    mode: strOrNull(r.mode) as CallRecord['mode'],
    status: strOrNull(r.status),
    aiStatus: strOrNull(r.ai_status),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    endedAt: numOrNull(r.ended_at),
    durationS: numOrNull(r.duration_s) ?? (streamMs === null ? null : Math.round(streamMs / 1000)),
    utteranceCount: num(r.utterance_count ?? 0),
    summary: strOrNull(r.summary_text),
    purpose: strOrNull(r.purpose),
    outcome: strOrNull(r.outcome) as CallRecord['outcome'],
  }
}

export function rowToUtterance (r: Row): Utterance {
  return { itemId: String(r.item_id), speaker: String(r.speaker) as Utterance['speaker'], text: String(r.text), startMs: num(r.start_ms), endMs: num(r.end_ms), at: num(r.created_at) }
}

export function rowToHint (r: Row): Hint {
  return {
    hintId: String(r.hint_id),
    itemId: String(r.item_id),
    text: String(r.text),
    superseded: Boolean(r.superseded),
    at: num(r.created_at),
    playbookId: strOrNull(r.playbook_id),
    feedback: strOrNull(r.feedback) as Hint['feedback'],
    feedbackBy: strOrNull(r.feedback_by),
    feedbackAt: numOrNull(r.feedback_at),
  }
}

export function rowToFeedbackCount (r: Row): PlaybookFeedback {
  return { playbookId: strOrNull(r.playbook_id), up: num(r.up), down: num(r.down) }
}

export function rowToSummary (r: Row): Summary {
  let actionItems: string[] = []
  try {
    const v: unknown = JSON.parse(String(r.action_items))
    if (Array.isArray(v)) actionItems = v.map(String)
  } catch {}
  return { summary: String(r.summary), intent: String(r.intent), actionItems, at: num(r.created_at) }
}

export function rowToContact (r: Row): Contact {
  return { phone: String(r.phone), name: strOrNull(r.name), notes: strOrNull(r.notes), createdAt: num(r.created_at), updatedAt: num(r.updated_at) }
}

export function rowToMessage (r: Row): Message {
  return {
    id: num(r.id),
    sid: strOrNull(r.message_sid),
    direction: String(r.direction) as Message['direction'],
    contactPhone: strOrNull(r.contact_phone),
    from: String(r.from_number),
    to: String(r.to_number),
    body: strOrNull(r.body),
    numMedia: num(r.num_media),
    status: String(r.status),
    errorCode: numOrNull(r.error_code),
    errorMessage: strOrNull(r.error_message),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  }
}

/** Attaches the first matching utterance to each listed call. */
export function attachMatches (calls: readonly CallRecord[], rows: readonly Row[]): CallListItem[] {
  const first = new Map<string, Row>()
  for (const r of rows) if (!first.has(String(r.call_sid))) first.set(String(r.call_sid), r)
  return calls.map((c) => {
    const m = first.get(c.callSid)
    return m === undefined
      ? c
      : { ...c, match: { itemId: String(m.item_id), speaker: String(m.speaker) as Utterance['speaker'], text: String(m.text), startMs: num(m.start_ms) } }
  })
}

export function rowToCallback (r: Row): CallbackTask {
  return {
    taskId: String(r.task_id),
    callSid: String(r.call_sid),
    contactPhone: strOrNull(r.contact_phone),
    name: String(r.name),
    callbackNumber: String(r.callback_number),
    reason: String(r.reason),
    createdAt: num(r.created_at),
    doneAt: numOrNull(r.done_at),
  }
}
