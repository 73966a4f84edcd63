/**
 * Reading Realtime server events off the wire. Every event is JSON.parse'd except the one that
 * arrives fifty times a second per call, `response.output_audio.delta`, which a flat scan reads
 * (the same values JSON.parse would give, or it hands the text to JSON.parse).
 */
import type { RealtimeServerEvent } from './events.ts'

type AudioDelta = Extract<RealtimeServerEvent, { type: 'response.output_audio.delta' }>

const DELTA_TYPE = '"type":"response.output_audio.delta"'

/** The string value of a top-level key in a flat, escape-free object, e.g. key = `"delta":"`. */
function stringAt (text: string, key: string): string | undefined {
  const at = text.indexOf(key)
  if (at < 0) return undefined
  const start = at + key.length
  const end = text.indexOf('"', start)
  return end < 0 ? undefined : text.slice(start, end)
}

/** A non-negative integer value of a top-level key, e.g. key = `"output_index":`. */
function indexAt (text: string, key: string): number | undefined {
  const at = text.indexOf(key)
  if (at < 0) return undefined
  let n = 0
  let i = at + key.length
  const first = i
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) n = n * 10 + c - 48
  const next = text.charCodeAt(i)
  return i > first && i - first < 10 && (next === 44 || next === 125) ? n : undefined // , or }
}

/**
 * `response.output_audio.delta` without JSON.parse. Only a compact, flat object qualifies: no
 * nested object or array, no escape sequence (so no string can hide a quote or a key), every
 * field present with its JSON type. Anything else returns undefined and goes to JSON.parse.
 */
export function readAudioDelta (text: string): AudioDelta | undefined {
  if (!text.includes(DELTA_TYPE)) return undefined
  if (text.charCodeAt(0) !== 123 || text.charCodeAt(text.length - 1) !== 125) return undefined
  if (text.includes('\\') || text.indexOf('{', 1) >= 0 || text.includes('[')) return undefined
  const delta = stringAt(text, '"delta":"')
  const responseId = stringAt(text, '"response_id":"')
  const itemId = stringAt(text, '"item_id":"')
  const eventId = stringAt(text, '"event_id":"')
  const outputIndex = indexAt(text, '"output_index":')
  const contentIndex = indexAt(text, '"content_index":')
  if (delta === undefined || responseId === undefined || itemId === undefined || eventId === undefined || outputIndex === undefined || contentIndex === undefined) return undefined
  return { type: 'response.output_audio.delta', event_id: eventId, response_id: responseId, item_id: itemId, output_index: outputIndex, content_index: contentIndex, delta }
}

/** One text frame from the Realtime API as an event, or the reason it is not one. */
export function readServerEvent (text: string): RealtimeServerEvent | Error {
  const delta = readAudioDelta(text)
  if (delta !== undefined) return delta
  let event: unknown
  try {
    event = JSON.parse(text)
  } catch {
    return new Error(`unparsable Realtime event: ${text.slice(0, 60)}`)
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof (event as { type?: unknown }).type !== 'string') {
    return new Error(`Realtime event is not an object with a string type: ${text.slice(0, 60)}`)
  }
  return event as RealtimeServerEvent
}
