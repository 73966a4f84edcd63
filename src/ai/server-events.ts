/** Reading Realtime server events off the wire: JSON text frames, each an object with a string `type`. */
import type { RealtimeServerEvent } from './events.ts'

/**
 * One text frame from the Realtime API as an event, or the reason it is not one. Plain
 * JSON.parse: V8's parser is faster than a hand-written scan of the hot
 * `response.output_audio.delta`, so there is none.
 */
export function readServerEvent (text: string): RealtimeServerEvent | Error {
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
