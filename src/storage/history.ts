/** History API helpers (framework-free): query parsing with clear messages, contact timeline, contact patches. */
import type { CallQuery, CallRecord, ContactHistory, ContactPatch, Message } from './store.ts'
import { decodeCursor, parsePhonePart, searchTerms } from './search.ts'

export type Parsed<T> = { ok: true, value: T } | { ok: false, message: string }

export const DEFAULT_PAGE = 25
export const MAX_PAGE = 100
const DAY_MS = 86_400_000

/**
 * A time bound: epoch milliseconds, an ISO 8601 date-time, or a date (YYYY-MM-DD, UTC). A date
 * as the upper bound means "through the end of that day".
 */
export function parseTimeBound (raw: string, upper: boolean): number | undefined {
  if (/^\d{1,15}$/.test(raw)) return Number(raw)
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
    const t = Date.parse(`${raw}T00:00:00Z`)
    return Number.isNaN(t) ? undefined : t + (upper ? DAY_MS : 0)
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw)) return undefined
  const t = Date.parse(raw)
  return Number.isNaN(t) ? undefined : t
}

const one = (v: unknown): string | undefined => typeof v === 'string' ? v : Array.isArray(v) ? one(v[0]) : undefined

/** GET /api/calls query string → CallQuery: phone, since, until, q, limit, cursor. */
export function parseCallQuery (query: Record<string, unknown>): Parsed<CallQuery> {
  const q: { -readonly [K in keyof CallQuery]: CallQuery[K] } = { limit: DEFAULT_PAGE }
  const limit = one(query.limit)
  if (limit !== undefined) {
    const n = Number(limit)
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) return { ok: false, message: `limit must be a whole number from 1 to ${MAX_PAGE}` }
    q.limit = n
  }
  const cursor = one(query.cursor)
  if (cursor !== undefined && cursor !== '') {
    const c = decodeCursor(cursor)
    if (c === undefined) return { ok: false, message: 'This page link has expired or was changed (cursor); start again from the newest calls.' }
    q.cursor = c
  }
  const phone = one(query.phone)
  if (phone !== undefined && phone !== '') {
    const p = parsePhonePart(phone)
    if (!p.ok) return p
    q.phonePart = p.value
  }
  for (const key of ['since', 'until'] as const) {
    const raw = one(query[key])
    if (raw === undefined || raw === '') continue
    const t = parseTimeBound(raw, key === 'until')
    if (t === undefined) return { ok: false, message: `The ${key === 'since' ? 'start' : 'end'} date (${key}) must be a date like 2025-01-31 (or an ISO date-time, or epoch milliseconds).` }
    q[key] = t
  }
  if (q.since !== undefined && q.until !== undefined && q.since >= q.until) return { ok: false, message: 'The start date (since) must be before the end date (until).' }
  const text = one(query.q)
  if (text !== undefined) {
    if (text.length > 200) return { ok: false, message: 'The search can be at most 200 characters (q); shorten it and try again.' }
    const terms = searchTerms(text)
    if (terms.length > 0) q.terms = terms
  }
  return { ok: true, value: q }
}

export const MAX_NAME = 200
export const MAX_NOTES = 10_000

/**
 * PATCH /api/contacts/:phone body → ContactPatch. Only `name` and `notes`, each a string or null;
 * strings are trimmed and an empty one clears the field (null), an absent one is kept.
 */
export function parseContactPatch (body: unknown): Parsed<ContactPatch> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'send a JSON object like {"name": "Ada", "notes": "…"}' }
  const b = body as Record<string, unknown>
  const unknown = Object.keys(b).filter((k) => k !== 'name' && k !== 'notes')
  if (unknown.length > 0) return { ok: false, message: `unknown field ${unknown.join(', ')}: only name and notes can be changed` }
  if (b.name === undefined && b.notes === undefined) return { ok: false, message: 'send name and/or notes' }
  const out: { name?: string | null, notes?: string | null } = {}
  for (const [key, max] of [['name', MAX_NAME], ['notes', MAX_NOTES]] as const) {
    const v = b[key]
    if (v === undefined) continue
    if (v !== null && typeof v !== 'string') return { ok: false, message: `${key} must be a string or null` }
    const clean = v === null ? null : v.trim() === '' ? null : v.trim()
    if (clean !== null && clean.length > max) return { ok: false, message: `${key} must be at most ${max} characters` }
    out[key] = clean
  }
  return { ok: true, value: out }
}

export type TimelineEntry =
  | { readonly kind: 'call', readonly at: number, readonly call: CallRecord }
  | { readonly kind: 'message', readonly at: number, readonly message: Message }

/** Calls and messages with one person, newest first, at most `limit` entries. */
export function buildTimeline (history: ContactHistory, limit: number): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...history.calls.map((call) => ({ kind: 'call' as const, at: call.createdAt, call })),
    ...history.messages.map((message) => ({ kind: 'message' as const, at: message.createdAt, message })),
  ]
  return entries.sort((a, b) => b.at - a.at).slice(0, limit)
}
