/** Call simulator shapes: the events it reports, the problems it finds, its result and its errors. */
import type { Track } from '../../src/call/events.ts'

/** Something the simulated Twilio noticed. `code` is Twilio's error code where one exists. */
export interface Problem {
  readonly code: string
  /** `error`: the server did something Twilio would reject or the call did not work; `warning`: suspicious. */
  readonly severity: 'error' | 'warning'
  readonly message: string
  /** How many times it happened (reported once, counted always, as Twilio does per stream). */
  count: number
}

export interface TrackCounts { frames: number, bytes: number }

export interface CloseInfo {
  readonly code: number
  readonly reason: string
  /** Who closed: we (Twilio) after `stop`, the server, or an abort. */
  readonly by: 'client' | 'server' | 'abort'
}

export interface StreamStats {
  readonly sent: { inbound: TrackCounts, outbound: TrackCounts, dtmf: number, messages: number }
  readonly received: {
    /** Server `media` messages and their decoded μ-law bytes. */
    media: number
    audioBytes: number
    marks: number
    marksEchoed: number
    clears: number
    /** Audio the server sent that a `clear` dropped before it played. */
    droppedBytes: number
  }
}

/**
 * What happens during a simulated call, one event per notable moment (never per frame).
 * Extension point: the CLI prints these; a later integration can merge dashboard events
 * (transcripts, hints from `/ui`) into the same log through `onEvent`.
 */
export type SimEvent =
  | { type: 'audio', role: 'caller' | 'operator', label: string, ms: number }
  | { type: 'webhook', url: string, status: number, ms: number }
  | { type: 'twiml', summary: string }
  | { type: 'say', text: string }
  | { type: 'dial', to: string, stage: 'ringing' | 'answered' | 'ended', status: string, legSid: string, durationMs: number }
  | { type: 'whisper', text: string, legSid: string }
  | { type: 'stream.open', url: string, protocol: string }
  | { type: 'stream.start', streamSid: string, tracks: readonly Track[], bidirectional: boolean, parameters: Readonly<Record<string, string>> }
  | { type: 'audio.ended', track: Track, atMs: number }
  | { type: 'dtmf', digit: string, atMs: number }
  | { type: 'dtmf.skipped', digit: string, reason: string }
  | { type: 'reply.start', atMs: number }
  | { type: 'reply.end', atMs: number, ms: number }
  | { type: 'mark', name: string, atMs: number, cause: 'played' | 'clear' }
  | { type: 'clear', atMs: number, droppedMs: number, marks: number }
  | { type: 'problem', problem: Problem }
  | { type: 'stream.stop', atMs: number }
  | { type: 'stream.closed', close: CloseInfo, atMs: number }
  | { type: 'status.callback', url: string, event: string, status: number }
  | { type: 'next', summary: string }

export type SimEventListener = (event: SimEvent) => void

export type SimErrorCode =
  | 'SERVER_UNREACHABLE' | 'WEBHOOK_FORBIDDEN' | 'WEBHOOK_NOT_FOUND' | 'WEBHOOK_TIMEOUT' | 'WEBHOOK_FAILED'
  | 'BAD_TWIML' | 'NO_STREAM' | 'STREAM_UNREACHABLE' | 'STREAM_FORBIDDEN' | 'STREAM_NOT_FOUND' | 'STREAM_REJECTED'
  | 'STREAM_SUBPROTOCOL' | 'BAD_AUDIO' | 'BAD_OPTIONS' | 'ABORTED'

/** A call that could not go ahead; `message` says what to fix, in plain words. */
export class SimError extends Error {
  readonly code: SimErrorCode
  constructor (code: SimErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SimError'
    this.code = code
  }
}
