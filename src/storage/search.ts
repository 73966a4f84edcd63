/** Search terms, opaque cursors and phone normalisation shared by both engines and the REST API. */
import { isE164 } from '../config.ts'
import type { CallCursor, PhonePart } from './store.ts'

export const MAX_TERMS = 8

/**
 * Splits a free-text query into lowercase words (letters and digits only). Both engines match
 * every word as a prefix, anywhere in the call's transcript, so the results are the same on
 * SQLite FTS5 and PostgreSQL tsvector, and nothing the user types reaches the query syntax.
 */
export function searchTerms (q: string): string[] {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
  return [...new Set(words)].slice(0, MAX_TERMS)
}

/** FTS5 MATCH expression for one term: a quoted prefix query ("refund"*). */
export function fts5Term (term: string): string {
  return `"${term.replaceAll('"', '""')}"*`
}

/** PostgreSQL to_tsquery('simple', …) text for one term: a prefix query (refund:*). */
export function tsqueryTerm (term: string): string {
  return `${term.replace(/[^\p{L}\p{N}]/gu, '')}:*`
}

/** Encodes a keyset position as an opaque URL-safe string. */
export function encodeCursor (cursor: CallCursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.sid])).toString('base64url')
}

/** Decodes a cursor made by encodeCursor; undefined when it is not one. */
export function decodeCursor (raw: string): CallCursor | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && v[1].length <= 64) {
      return { at: v[0], sid: v[1] }
    }
  } catch {}
  return undefined
}

/**
 * A phone number as stored (E.164), from what a person or Twilio wrote: spaces, dashes, dots and
 * brackets are dropped, and a `whatsapp:` prefix is removed. Undefined when it is not a number.
 */
export function normalizePhone (raw: string): string | undefined {
  const bare = raw.trim().replace(/^whatsapp:/i, '').replace(/[\s().-]/g, '')
  return isE164(bare) ? bare : undefined
}

export const MIN_PHONE_DIGITS = 3
export const MAX_PHONE_DIGITS = 15

/**
 * The list's phone filter, from what a person typed: a whole number or any part of one. Only the digits count
 * (spaces, dashes, dots and brackets are ignored); a leading `+` means "the number starts with these digits",
 * otherwise the digits may sit anywhere in it, so "0123" and "415 555" both find +14155550123. At least
 * MIN_PHONE_DIGITS digits, so one keystroke does not match every number. A message saying what to type when it
 * is not a number.
 */
export function parsePhonePart (raw: string): { ok: true, value: PhonePart } | { ok: false, message: string } {
  const bare = raw.trim().replace(/^whatsapp:/i, '').replace(/[\s().-]/g, '')
  if (!/^\+?\d*$/.test(bare)) return { ok: false, message: 'Type a phone number or part of one, in digits: for example 415 555 or +14155550100.' }
  const digits = bare.replace('+', '')
  if (digits.length < MIN_PHONE_DIGITS) return { ok: false, message: `Type at least ${MIN_PHONE_DIGITS} digits of the phone number.` }
  if (digits.length > MAX_PHONE_DIGITS) return { ok: false, message: `A phone number has at most ${MAX_PHONE_DIGITS} digits; check the number and try again.` }
  return { ok: true, value: { digits, at: bare.startsWith('+') ? 'starts' : 'contains' } }
}

/** The LIKE pattern for a PhonePart: digits only, so nothing in it is a wildcard. */
export function phoneLikePattern (part: PhonePart): string {
  return part.at === 'starts' ? `+${part.digits}%` : `%${part.digits}%`
}
