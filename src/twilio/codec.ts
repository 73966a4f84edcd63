/** Twilio Media Streams codec: text frames ⇄ typed messages; never throws on bad input. */
import type { Track } from '../call/events.ts'

// Twilio's counters and timestamps arrive as strings; the codec turns them into numbers once.
// https://www.twilio.com/docs/voice/media-streams/websocket-messages

/** The one audio format Twilio streams: 8 kHz mono μ-law (the `start` message's mediaFormat). */
export const TWILIO_MEDIA_FORMAT = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } as const

export interface ConnectedMessage { event: 'connected', protocol: string, version: string }
export interface StartMessage {
  event: 'start'
  sequenceNumber: number
  streamSid: string
  start: {
    accountSid: string
    callSid: string
    streamSid: string
    tracks: Track[]
    customParameters: Record<string, string>
    mediaFormat: { encoding: string, sampleRate: number, channels: number }
  }
}
export interface MediaMessage {
  event: 'media'
  sequenceNumber: number
  streamSid: string
  media: { track: Track, chunk: number, timestamp: number, payload: string }
}
export interface DtmfMessage { event: 'dtmf', sequenceNumber: number, streamSid: string, dtmf: { track: string, digit: string } }
export interface MarkMessage { event: 'mark', sequenceNumber: number, streamSid: string, mark: { name: string } }
export interface StopMessage { event: 'stop', sequenceNumber: number, streamSid: string, stop: { accountSid: string, callSid: string } }

export type TwilioMessage = ConnectedMessage | StartMessage | MediaMessage | DtmfMessage | MarkMessage | StopMessage

export type RejectReason = 'binary' | 'oversize' | 'malformed_json' | 'not_an_object' | 'unknown_event' | 'missing_field' | 'bad_payload'
export type DecodeResult =
  | { ok: true, message: TwilioMessage }
  | { ok: false, reason: RejectReason, detail: string }

/** Largest text frame we parse; a 20 ms media frame is ~300 bytes. Bigger ones are counted and skipped. */
export const MAX_MESSAGE_BYTES = 64 * 1024

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (o: Obj, k: string): string | undefined => typeof o[k] === 'string' ? o[k] as string : undefined
/** Twilio sends numbers as strings; accept a JSON number too (tolerant reading, docs/protocol.md A2). */
const num = (o: Obj, k: string): number | undefined => {
  const v = o[k]
  const n = typeof v === 'string' && v !== '' ? Number(v) : typeof v === 'number' ? v : NaN
  return Number.isFinite(n) ? n : undefined
}
const isTrack = (v: unknown): v is Track => v === 'inbound' || v === 'outbound'

function missing (event: string, field: string): DecodeResult {
  return { ok: false, reason: 'missing_field', detail: `${event}: ${field}` }
}

/** Decodes one text frame from Twilio. */
export function decodeTwilioMessage (text: string): DecodeResult {
  if (text.length > MAX_MESSAGE_BYTES) return { ok: false, reason: 'oversize', detail: `${text.length} bytes` }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'malformed_json', detail: text.slice(0, 40) }
  }
  if (!isObj(raw)) return { ok: false, reason: 'not_an_object', detail: typeof raw }
  const event = raw.event
  if (event === 'media') return decodeMedia(raw)
  if (event === 'connected') {
    return { ok: true, message: { event, protocol: str(raw, 'protocol') ?? '', version: str(raw, 'version') ?? '' } }
  }
  const streamSid = str(raw, 'streamSid')
  if (typeof event !== 'string') return missing('message', 'event')
  if (!['start', 'dtmf', 'mark', 'stop'].includes(event)) {
    return { ok: false, reason: 'unknown_event', detail: event.slice(0, 40) }
  }
  if (streamSid === undefined) return missing(event, 'streamSid')
  const sequenceNumber = num(raw, 'sequenceNumber') ?? 0
  const body = raw[event]
  if (!isObj(body)) return missing(event, event)
  switch (event) {
    case 'start': return decodeStart(streamSid, sequenceNumber, body)
    case 'dtmf': {
      const digit = str(body, 'digit')
      if (digit === undefined) return missing(event, 'dtmf.digit')
      return { ok: true, message: { event, streamSid, sequenceNumber, dtmf: { track: str(body, 'track') ?? 'inbound_track', digit } } }
    }
    case 'mark': {
      const name = str(body, 'name')
      if (name === undefined) return missing(event, 'mark.name')
      return { ok: true, message: { event, streamSid, sequenceNumber, mark: { name } } }
    }
    default:
      return {
        ok: true,
        message: { event: 'stop', streamSid, sequenceNumber, stop: { accountSid: str(body, 'accountSid') ?? '', callSid: str(body, 'callSid') ?? '' } },
      }
  }
}

function decodeMedia (raw: Obj): DecodeResult {
  const streamSid = str(raw, 'streamSid')
  const media = raw.media
  if (streamSid === undefined) return missing('media', 'streamSid')
  if (!isObj(media)) return missing('media', 'media')
  const payload = str(media, 'payload')
  if (payload === undefined) return missing('media', 'media.payload')
  if (!isBase64(payload)) return { ok: false, reason: 'bad_payload', detail: `media.payload is not base64 (${payload.length} chars)` }
  // Unidirectional inbound-only streams may omit track; it is then the inbound one.
  const track = media.track === undefined ? 'inbound' : media.track
  if (!isTrack(track)) return missing('media', 'media.track')
  return {
    ok: true,
    message: {
      event: 'media',
      streamSid,
      sequenceNumber: num(raw, 'sequenceNumber') ?? 0,
      media: { track, chunk: num(media, 'chunk') ?? 0, timestamp: num(media, 'timestamp') ?? 0, payload },
    },
  }
}

function decodeStart (streamSid: string, sequenceNumber: number, body: Obj): DecodeResult {
  const callSid = str(body, 'callSid')
  if (callSid === undefined) return missing('start', 'start.callSid')
  const tracksRaw = Array.isArray(body.tracks) ? body.tracks : ['inbound']
  const tracks = tracksRaw.filter(isTrack)
  if (tracks.length === 0) return missing('start', 'start.tracks')
  const params: Record<string, string> = {}
  if (isObj(body.customParameters)) {
    for (const [k, v] of Object.entries(body.customParameters)) if (typeof v === 'string') params[k] = v
  }
  const fmt = isObj(body.mediaFormat) ? body.mediaFormat : {}
  return {
    ok: true,
    message: {
      event: 'start',
      streamSid,
      sequenceNumber,
      start: {
        accountSid: str(body, 'accountSid') ?? '',
        callSid,
        streamSid: str(body, 'streamSid') ?? streamSid,
        tracks,
        customParameters: params,
        mediaFormat: {
          encoding: str(fmt, 'encoding') ?? TWILIO_MEDIA_FORMAT.encoding,
          sampleRate: num(fmt, 'sampleRate') ?? TWILIO_MEDIA_FORMAT.sampleRate,
          channels: num(fmt, 'channels') ?? TWILIO_MEDIA_FORMAT.channels,
        },
      },
    },
  }
}

/** Standard-alphabet base64, padded or not (Twilio pads; an unpadded payload is tolerated, `len % 4 === 1` never is). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * True when `b64` is base64 that an upstream API will accept. Per media frame (~216 chars): one anchored,
 * backtrack-free regex test and a length check, no decoding and no allocation.
 */
export function isBase64 (b64: string): boolean {
  const rem = b64.length & 3
  if (rem === 1) return false
  if (rem !== 0 && b64.charCodeAt(b64.length - 1) === 61) return false
  return BASE64.test(b64)
}

/** Bytes of audio in a base64 payload, computed without decoding it. */
export function base64ByteLength (b64: string): number {
  const n = b64.length
  if (n === 0) return 0
  const pad = b64.charCodeAt(n - 1) === 61 ? (b64.charCodeAt(n - 2) === 61 ? 2 : 1) : 0
  return (n * 3 >>> 2) - pad
}

/** Encoders for what we send Twilio on one stream; the JSON prefix is built once per stream. */
export interface TwilioEncoder {
  media (payloadB64: string): string
  mark (name: string): string
  clear (): string
}

/** Builds the encoder for a stream. Payloads are base64 μ-law with no WAV header (docs/protocol.md A3). */
export function createTwilioEncoder (streamSid: string): TwilioEncoder {
  const sid = JSON.stringify(streamSid)
  const mediaPrefix = `{"event":"media","streamSid":${sid},"media":{"payload":"`
  const markPrefix = `{"event":"mark","streamSid":${sid},"mark":{"name":`
  const clear = `{"event":"clear","streamSid":${sid}}`
  return {
    // base64 never needs JSON escaping, so concatenation is exact and allocation-light.
    media: (payloadB64) => mediaPrefix + payloadB64 + '"}}',
    mark: (name) => markPrefix + JSON.stringify(name) + '}}',
    clear: () => clear,
  }
}
