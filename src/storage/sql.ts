/** The SQL both engines run, built once with `?` placeholders, so SQLite and PostgreSQL behave the same. */
import type { CallQuery, HintFeedback, WriteOp } from './store.ts'
import { statusRankSql } from './store.ts'
import { TERMINAL_CALL_STATUSES } from '../call/statuses.ts'
import { fts5Term, phoneLikePattern, tsqueryTerm } from './search.ts'

export type Dialect = 'sqlite' | 'postgres'
export type Param = string | number | boolean | null
export interface Stmt { readonly text: string, readonly params: readonly Param[] }

const least = (d: Dialect, a: string, b: string): string => d === 'sqlite' ? `MIN(${a}, ${b})` : `LEAST(${a}, ${b})`
const bool = (d: Dialect, v: boolean): Param => d === 'sqlite' ? (v ? 1 : 0) : v
const terminal = TERMINAL_CALL_STATUSES.map((s) => `'${s}'`).join(', ')

/** Creates the call row if it does not exist yet (an utterance may arrive before the webhook's row). */
export function ensureCall (callSid: string, at: number): Stmt {
  return { text: 'INSERT INTO calls (call_sid, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (call_sid) DO NOTHING', params: [callSid, at, at] }
}

/** Creates the contact if needed; a name (WhatsApp profile name) only fills an empty one. */
export function ensureContact (phone: string, at: number, name?: string): Stmt {
  return {
    text: 'INSERT INTO contacts (phone, name, created_at, updated_at) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (phone) DO UPDATE SET name = COALESCE(contacts.name, excluded.name)',
    params: [phone, name ?? null, at, at],
  }
}

type Of<K extends WriteOp['op']> = Extract<WriteOp, { op: K }>

/**
 * Who and how are set by the first event that knows them (the signed webhook, normally; the
 * stream's start parameters when the webhook was missed); later events fill only what is missing.
 */
function callUpsert (d: Dialect, op: Of<'call'>): Stmt {
  const p = op.patch
  // v4 columns only when the patch sets them: the statement for any other call is the one every schema version accepts.
  const agent = (['purpose', 'outcome'] as const).filter((k) => p[k] !== undefined)
  return {
    text: `INSERT INTO calls (call_sid, direction, from_number, to_number, contact_phone, mode, status, ai_status,
        started_at, ended_at, duration_s, stream_ms, ${agent.map((k) => `${k}, `).join('')}created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${agent.map(() => '?, ').join('')}?, ?)
      ON CONFLICT (call_sid) DO UPDATE SET
        direction = COALESCE(calls.direction, excluded.direction),
        from_number = COALESCE(calls.from_number, excluded.from_number),
        to_number = COALESCE(calls.to_number, excluded.to_number),
        contact_phone = COALESCE(calls.contact_phone, excluded.contact_phone),
        mode = COALESCE(calls.mode, excluded.mode),
        status = CASE WHEN calls.status IN (${terminal}) THEN calls.status
          WHEN calls.status = 'interrupted' AND (excluded.status IS NULL OR excluded.status NOT IN (${terminal})) THEN calls.status
          ELSE COALESCE(excluded.status, calls.status) END,
        ai_status = COALESCE(excluded.ai_status, calls.ai_status),
        started_at = COALESCE(calls.started_at, excluded.started_at),
        ended_at = COALESCE(calls.ended_at, excluded.ended_at),
        duration_s = COALESCE(excluded.duration_s, calls.duration_s),
        stream_ms = COALESCE(excluded.stream_ms, calls.stream_ms),
        ${agent.map((k) => `${k} = COALESCE(calls.${k}, excluded.${k}),\n        `).join('')}created_at = ${least(d, 'calls.created_at', 'excluded.created_at')},
        updated_at = excluded.updated_at`,
    params: [op.callSid, p.direction ?? null, p.from ?? null, p.to ?? null, p.contactPhone ?? null, p.mode ?? null,
      p.status ?? null, p.aiStatus ?? null, p.startedAt ?? null, p.endedAt ?? null, p.durationS ?? null,
      p.streamMs ?? null, ...agent.map((k) => p[k] ?? null), op.at, op.at],
  }
}

const rank = statusRankSql('messages.status')
const rankNew = statusRankSql('excluded.status')

/** The statements for one op, in order. `seen` holds calls already ensured in this batch. */
export function opStatements (d: Dialect, op: WriteOp, seen: Set<string>): Stmt[] {
  const out: Stmt[] = []
  const ensure = (callSid: string, at: number): void => {
    if (!seen.has(callSid)) out.push(ensureCall(callSid, at))
    seen.add(callSid)
  }
  switch (op.op) {
    case 'call':
      if (op.patch.contactPhone !== undefined) out.push(ensureContact(op.patch.contactPhone, op.at))
      out.push(callUpsert(d, op))
      seen.add(op.callSid)
      break
    case 'utterance':
      ensure(op.callSid, op.at)
      out.push(utteranceRows([op]))
      break
    case 'hint':
      ensure(op.callSid, op.at)
      out.push(hintRows(d, [op]))
      break
    case 'summary':
      ensure(op.callSid, op.at)
      out.push({
        text: `INSERT INTO summaries (call_sid, summary, intent, action_items, created_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (call_sid) DO UPDATE SET summary = excluded.summary, intent = excluded.intent,
          action_items = excluded.action_items, created_at = excluded.created_at`,
        params: [op.callSid, op.summary, op.intent, JSON.stringify(op.actionItems), op.at],
      })
      break
    case 'callback':
      ensure(op.callSid, op.at)
      if (op.contactPhone !== null) out.push(ensureContact(op.contactPhone, op.at))
      out.push({
        // The same task twice (a retried batch, a repeated event) is one task.
        text: `INSERT INTO callbacks (task_id, call_sid, contact_phone, name, callback_number, reason, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING`,
        params: [op.taskId, op.callSid, op.contactPhone, op.name, op.callbackNumber, op.reason, op.at],
      })
      break
    case 'callback.done':
      out.push({ text: 'UPDATE callbacks SET done_at = ? WHERE task_id = ?', params: [op.done ? op.at : null, op.taskId] })
      break
    case 'message':
      if (op.contactPhone !== null) out.push(ensureContact(op.contactPhone, op.at, op.profileName))
      out.push({
        // A status callback may have created the row first (it can beat the send's response).
        text: `INSERT INTO messages (message_sid, direction, contact_phone, from_number, to_number, body, num_media, status,
            error_code, error_message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (message_sid) DO UPDATE SET body = COALESCE(messages.body, excluded.body),
            num_media = excluded.num_media, contact_phone = COALESCE(messages.contact_phone, excluded.contact_phone),
            status = CASE WHEN ${rank} <= ${rankNew} THEN excluded.status ELSE messages.status END,
            error_code = COALESCE(excluded.error_code, messages.error_code),
            error_message = COALESCE(excluded.error_message, messages.error_message),
            created_at = ${least(d, 'messages.created_at', 'excluded.created_at')}`,
        params: [op.sid, op.direction, op.contactPhone, op.from, op.to, op.body, op.numMedia, op.status,
          op.errorCode ?? null, op.errorMessage ?? null, op.at, op.at],
      })
      break
    case 'message.status':
      out.push({
        // Callbacks arrive out of order: the status only moves forward (see MESSAGE_STATUS_RANK).
        text: `INSERT INTO messages (message_sid, direction, contact_phone, from_number, to_number, body, num_media, status,
            error_code, created_at, updated_at) VALUES (?, 'outbound', ?, ?, ?, NULL, 0, ?, ?, ?, ?)
          ON CONFLICT (message_sid) DO UPDATE SET
            status = CASE WHEN ${rank} <= ${rankNew} THEN excluded.status ELSE messages.status END,
            error_code = COALESCE(excluded.error_code, messages.error_code),
            updated_at = excluded.updated_at`,
        params: [op.sid, op.contactPhone ?? null, op.from ?? '', op.to ?? '', op.status, op.errorCode ?? null, op.at, op.at],
      })
      break
  }
  return out
}

const marks = (rows: number, cols: number): string =>
  Array.from({ length: rows }, () => `(${Array.from({ length: cols }, () => '?').join(', ')})`).join(', ')

/** One INSERT for many utterances (keys must be unique within it: PostgreSQL refuses a row updated twice). */
function utteranceRows (ops: ReadonlyArray<Of<'utterance'>>): Stmt {
  return {
    text: `INSERT INTO utterances (call_sid, item_id, speaker, text, start_ms, end_ms, created_at) VALUES ${marks(ops.length, 7)}
      ON CONFLICT (call_sid, item_id) DO UPDATE SET speaker = excluded.speaker, text = excluded.text,
      start_ms = excluded.start_ms, end_ms = excluded.end_ms`,
    params: ops.flatMap((op) => [op.callSid, op.itemId, op.speaker, op.text, Math.round(op.startMs), Math.round(op.endMs), op.at]),
  }
}

/**
 * The row may already exist as feedback's placeholder (feedback that arrived first, see `feedbackUpsert`): the hint
 * fills it in, keeps the feedback, and its own (earlier) time wins.
 */
function hintRows (d: Dialect, ops: ReadonlyArray<Of<'hint'>>): Stmt {
  return {
    text: `INSERT INTO hints (call_sid, hint_id, item_id, text, superseded, playbook_id, created_at) VALUES ${marks(ops.length, 7)}
      ON CONFLICT (call_sid, hint_id) DO UPDATE SET item_id = excluded.item_id, text = excluded.text, superseded = excluded.superseded,
      playbook_id = COALESCE(excluded.playbook_id, hints.playbook_id), created_at = ${least(d, 'hints.created_at', 'excluded.created_at')}`,
    params: ops.flatMap((op) => [op.callSid, op.hintId, op.itemId, op.text, bool(d, op.superseded), op.playbookId ?? null, op.at]),
  }
}

/**
 * Feedback on a hint the live feed knows but storage may not have yet: a placeholder row (empty text, never listed)
 * holds it until the recorder's hint upsert fills it in. Returns a row only when something changed (a repeat of the
 * stored value is a no-op: idempotent).
 */
export function feedbackUpsert (d: Dialect, f: HintFeedback, playbookId: string | null): Stmt[] {
  return [ensureCall(f.callSid, f.at), {
    text: `INSERT INTO hints (call_sid, hint_id, item_id, text, superseded, playbook_id, created_at, feedback, feedback_by, feedback_at)
      VALUES (?, ?, '', '', ?, ?, ?, ?, ?, ?)
      ON CONFLICT (call_sid, hint_id) DO UPDATE SET feedback = excluded.feedback, feedback_by = excluded.feedback_by,
        feedback_at = excluded.feedback_at, playbook_id = COALESCE(hints.playbook_id, excluded.playbook_id)
      WHERE hints.feedback IS DISTINCT FROM excluded.feedback
      RETURNING playbook_id`,
    params: [f.callSid, f.hintId, bool(d, false), playbookId, f.at, f.value, f.by, f.at],
  }]
}

/** Feedback on a stored hint; a row back only when the value changed. */
export function feedbackUpdate (f: HintFeedback): Stmt {
  return {
    text: `UPDATE hints SET feedback = ?, feedback_by = ?, feedback_at = ?
      WHERE call_sid = ? AND hint_id = ? AND feedback IS DISTINCT FROM ? RETURNING playbook_id`,
    params: [f.value, f.by, f.at, f.callSid, f.hintId, f.value],
  }
}

export const HINT_EXISTS = 'SELECT 1 AS found FROM hints WHERE call_sid = ? AND hint_id = ?'
export const FEEDBACK_OF_CALL = 'SELECT hint_id, feedback FROM hints WHERE call_sid = ? AND feedback IS NOT NULL'
export const FEEDBACK_COUNTS = `SELECT playbook_id, SUM(CASE WHEN feedback = 'up' THEN 1 ELSE 0 END) AS up,
  SUM(CASE WHEN feedback = 'down' THEN 1 ELSE 0 END) AS down
  FROM hints WHERE feedback IS NOT NULL GROUP BY playbook_id ORDER BY COUNT(*) DESC, playbook_id`

/**
 * The statements for a whole batch (one transaction): missing call rows first, in one INSERT;
 * then call, summary and message ops in order; then all utterances and all hints as one
 * multi-row upsert each (a repeated key keeps its first time and its last content, exactly
 * what applying the ops one by one gives). A round trip per statement is what limits
 * PostgreSQL, so this is ~3 statements per batch instead of one per op.
 */
export function batchStatements (d: Dialect, ops: readonly WriteOp[]): Stmt[] {
  const needed = new Map<string, number>()
  const utterances = new Map<string, Of<'utterance'>>()
  const hints = new Map<string, Of<'hint'>>()
  const rest: WriteOp[] = []
  const patched = new Set<string>()
  for (const op of ops) {
    // A row is created here only for calls no earlier op in the batch created (as one by one would).
    if (op.op === 'call') patched.add(op.callSid)
    else if ((op.op === 'utterance' || op.op === 'hint' || op.op === 'summary') && !needed.has(op.callSid) && !patched.has(op.callSid)) needed.set(op.callSid, op.at)
    if (op.op === 'utterance') {
      const key = `${op.callSid}\u0000${op.itemId}`
      const prev = utterances.get(key)
      utterances.set(key, prev === undefined ? op : { ...op, at: prev.at })
    } else if (op.op === 'hint') {
      const key = `${op.callSid}\u0000${op.hintId}`
      const prev = hints.get(key)
      hints.set(key, prev === undefined ? op : { ...op, at: prev.at })
    } else {
      rest.push(op)
    }
  }
  const out: Stmt[] = []
  if (needed.size > 0) {
    out.push({
      text: `INSERT INTO calls (call_sid, created_at, updated_at) VALUES ${marks(needed.size, 3)} ON CONFLICT (call_sid) DO NOTHING`,
      params: [...needed].flatMap(([sid, at]) => [sid, at, at]),
    })
  }
  const seen = new Set([...needed.keys(), ...patched])
  for (const op of rest) out.push(...opStatements(d, op, seen))
  if (utterances.size > 0) out.push(utteranceRows([...utterances.values()]))
  if (hints.size > 0) out.push(hintRows(d, [...hints.values()]))
  return out
}

const CALL_COLUMNS = `c.call_sid, c.direction, c.from_number, c.to_number, c.contact_phone, c.mode, c.status, c.ai_status,
  c.created_at, c.started_at, c.ended_at, c.duration_s, c.stream_ms, c.purpose, c.outcome, ct.name AS contact_name, s.summary AS summary_text,
  (SELECT count(*) FROM utterances u WHERE u.call_sid = c.call_sid) AS utterance_count`
const CALL_FROM = 'FROM calls c LEFT JOIN contacts ct ON ct.phone = c.contact_phone LEFT JOIN summaries s ON s.call_sid = c.call_sid'

/** Calls whose transcript contains `term` (prefix), as a subquery on call_sid. */
function termFilter (d: Dialect, term: string): Stmt {
  return d === 'sqlite'
    ? { text: 'c.call_sid IN (SELECT u.call_sid FROM utterances_fts f JOIN utterances u ON u.id = f.rowid WHERE utterances_fts MATCH ?)', params: [fts5Term(term)] }
    : { text: "c.call_sid IN (SELECT u.call_sid FROM utterances u WHERE u.tsv @@ to_tsquery('simple', ?))", params: [tsqueryTerm(term)] }
}

/** Newest first, keyset-paginated on (created_at, call_sid); fetches one extra row to know if more exist. */
export function listCallsSql (d: Dialect, q: CallQuery): Stmt {
  const where: string[] = []
  const params: Param[] = []
  if (q.phone !== undefined) { where.push('c.contact_phone = ?'); params.push(q.phone) }
  // Part of a number: a LIKE over contacts (one row per number, every call's number is one), then the
  // calls_contact index per matching number. The same SQL and the same results on both engines.
  if (q.phonePart !== undefined) {
    where.push('c.contact_phone IN (SELECT p.phone FROM contacts p WHERE p.phone LIKE ?)')
    params.push(phoneLikePattern(q.phonePart))
  }
  if (q.since !== undefined) { where.push('c.created_at >= ?'); params.push(q.since) }
  if (q.until !== undefined) { where.push('c.created_at < ?'); params.push(q.until) }
  if (q.cursor !== undefined) { where.push('(c.created_at, c.call_sid) < (?, ?)'); params.push(q.cursor.at, q.cursor.sid) }
  for (const term of q.terms ?? []) {
    const f = termFilter(d, term)
    where.push(f.text)
    params.push(...f.params)
  }
  const text = `SELECT ${CALL_COLUMNS} ${CALL_FROM}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY c.created_at DESC, c.call_sid DESC LIMIT ?`
  return { text, params: [...params, q.limit + 1] }
}

/** Utterances of the given calls that match any of the terms, in call order (first match per call wins). */
export function matchesSql (d: Dialect, terms: readonly string[], sids: readonly string[]): Stmt {
  const marks = sids.map(() => '?').join(', ')
  const cols = 'u.call_sid, u.item_id, u.speaker, u.text, u.start_ms'
  return d === 'sqlite'
    ? {
        text: `SELECT ${cols} FROM utterances_fts f JOIN utterances u ON u.id = f.rowid
          WHERE utterances_fts MATCH ? AND u.call_sid IN (${marks}) ORDER BY u.call_sid, u.start_ms, u.id`,
        params: [terms.map(fts5Term).join(' OR '), ...sids],
      }
    : {
        text: `SELECT ${cols} FROM utterances u WHERE u.tsv @@ to_tsquery('simple', ?) AND u.call_sid IN (${marks})
          ORDER BY u.call_sid, u.start_ms, u.id`,
        params: [terms.map(tsqueryTerm).join(' | '), ...sids],
      }
}

export const CALL_BY_SID = `SELECT ${CALL_COLUMNS} ${CALL_FROM} WHERE c.call_sid = ?`
export const CALLS_BY_CONTACT = `SELECT ${CALL_COLUMNS} ${CALL_FROM} WHERE c.contact_phone = ? ORDER BY c.created_at DESC, c.call_sid DESC LIMIT ?`
export const UTTERANCES_OF_CALL = 'SELECT item_id, speaker, text, start_ms, end_ms, created_at FROM utterances WHERE call_sid = ? ORDER BY start_ms, id'
// Empty text: feedback waiting for its hint (see feedbackUpsert), not a hint.
export const HINTS_OF_CALL = `SELECT hint_id, item_id, text, superseded, created_at, playbook_id, feedback, feedback_by, feedback_at
  FROM hints WHERE call_sid = ? AND text <> '' ORDER BY created_at, id`
export const SUMMARY_OF_CALL = 'SELECT summary, intent, action_items, created_at FROM summaries WHERE call_sid = ?'
export const CONTACT_BY_PHONE = 'SELECT phone, name, notes, created_at, updated_at FROM contacts WHERE phone = ?'
const MESSAGE_COLUMNS = `id, message_sid, direction, contact_phone, from_number, to_number, body, num_media, status,
  error_code, error_message, created_at, updated_at`
export const MESSAGES_BY_CONTACT = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE contact_phone = ? ORDER BY created_at DESC, id DESC LIMIT ?`
export const MESSAGE_BY_SID = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE message_sid = ?`
export const PURGE_CALLS = 'DELETE FROM calls WHERE created_at < ?'
/** Params: at, at, createdBefore. Both engines support RETURNING (SQLite since 3.35). */
export const CLOSE_INTERRUPTED = `UPDATE calls SET ended_at = ?, updated_at = ?,
  status = CASE WHEN status IN (${terminal}) THEN status ELSE 'interrupted' END
  WHERE ended_at IS NULL AND created_at < ? RETURNING call_sid`
export const PURGE_MESSAGES = 'DELETE FROM messages WHERE created_at < ?'

/** Upserts a contact's name and notes; `keep*` flags keep the stored value when the patch omits it. */
export function contactUpsert (phone: string, name: string | null, notes: string | null, keepName: boolean, keepNotes: boolean, at: number): Stmt {
  return {
    text: `INSERT INTO contacts (phone, name, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (phone) DO UPDATE SET
        name = CASE WHEN ? = 1 THEN contacts.name ELSE excluded.name END,
        notes = CASE WHEN ? = 1 THEN contacts.notes ELSE excluded.notes END,
        updated_at = excluded.updated_at`,
    params: [phone, name, notes, at, at, keepName ? 1 : 0, keepNotes ? 1 : 0],
  }
}

/** Rewrites `?` placeholders as PostgreSQL's $1, $2, … (none of our SQL has a literal `?`). */
export function toPg (text: string): string {
  let n = 0
  return text.replace(/\?/g, () => `$${++n}`)
}

const CALLBACK_COLUMNS = 'task_id, call_sid, contact_phone, name, callback_number, reason, created_at, done_at'

/** Callback tasks, newest first: `open` null = all, 1 = open only, 0 = done only; `phone` null = every contact. */
export const LIST_CALLBACKS = `SELECT ${CALLBACK_COLUMNS} FROM callbacks
  WHERE (CAST(? AS INTEGER) IS NULL OR (CAST(? AS INTEGER) = 1 AND done_at IS NULL) OR (CAST(? AS INTEGER) = 0 AND done_at IS NOT NULL))
    AND (CAST(? AS TEXT) IS NULL OR contact_phone = ?)
  ORDER BY created_at DESC, task_id DESC LIMIT ?`

export function listCallbacksParams (q: { open?: boolean, phone?: string, limit: number }): Param[] {
  const open = q.open === undefined ? null : q.open ? 1 : 0
  const phone = q.phone ?? null
  return [open, open, open, phone, phone, q.limit]
}
