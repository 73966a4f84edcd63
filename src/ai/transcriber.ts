/** Assist mode: one transcription session per Twilio track, labelled by speaker, in spoken order. */
import type { AiStatus, Direction, Track } from '../call/events.ts'
import { speakerForTrack } from '../call/events.ts'
import type { MediaFrame } from '../call/session.ts'
import type { Logger } from '../log.ts'
import type { CallContext } from './call-context.ts'
import { transcriptionSessionUpdate, type SessionConfig } from './events.ts'
import { GapFill, silence } from './gap-fill.ts'
import { InputTranscripts } from './input-transcripts.ts'
import type { ConnectRealtime } from './realtime-connection.ts'
import { Upstream } from './upstream.ts'

export interface TranscriberOptions {
  readonly ctx: CallContext
  readonly connect: ConnectRealtime
  readonly config: SessionConfig & { readonly realtimeRolloverMs: number, readonly realtimeBufferMs: number }
  readonly log: Logger
  readonly direction: Direction
  readonly onStatus: () => void
}

/** One track → one `?intent=transcription` session. Never sends anything back to Twilio. */
export class TrackTranscriber {
  readonly track: Track
  readonly upstream: Upstream
  readonly input: InputTranscripts
  status: Exclude<AiStatus, 'off'> = 'connecting'
  #gap = new GapFill()

  constructor (track: Track, o: TranscriberOptions) {
    this.track = track
    this.input = new InputTranscripts(o.ctx, `${track}:`, speakerForTrack(o.direction, track))
    const log = o.log.child({ track })
    this.upstream = new Upstream({
      connect: o.connect,
      target: { intent: 'transcription' },
      sessionUpdate: transcriptionSessionUpdate(o.config),
      log,
      rolloverMs: o.config.realtimeRolloverMs,
      bufferBytes: o.config.realtimeBufferMs * 8,
      // Assist never gives up: the call goes on without AI and we keep trying (backoff caps at 10 s).
      maxAttempts: Infinity,
      handlers: {
        onEvent: (event, link) => { this.input.handle(event, link) },
        onReady: () => {},
        onStatus: (status, detail) => {
          this.status = status
          if (status === 'degraded') log.warn({ detail }, 'transcription degraded; reconnecting')
          o.onStatus()
        },
        onGiveUp: () => {},
        isIdle: () => !this.input.inSpeech,
      },
    })
  }

  /** Hot path: silence for any timestamp hole, then the payload exactly as Twilio sent it. */
  media (frame: MediaFrame): void {
    const gap = this.#gap.gapBefore(frame.timestamp, frame.bytes)
    if (gap > 0) this.upstream.append(silence(gap), gap * 8, frame.timestamp - gap, true)
    this.upstream.append(frame.payload, frame.bytes, frame.timestamp)
  }

  get filledMs (): number { return this.#gap.filledMs }
}

/** Both tracks of one assist call. */
export class AssistSession {
  readonly mode = 'assist' as const
  readonly ctx: CallContext
  #o: TranscriberOptions
  #tracks: Partial<Record<Track, TrackTranscriber>> = {}
  #onStatus: (status: AiStatus) => void

  constructor (o: Omit<TranscriberOptions, 'onStatus'>, onStatus: (status: AiStatus) => void, tracks: readonly Track[] = ['inbound', 'outbound']) {
    this.ctx = o.ctx
    this.#onStatus = onStatus
    this.#o = { ...o, onStatus: () => this.#onStatus(this.status) }
    for (const track of tracks) this.#tracks[track] = new TrackTranscriber(track, this.#o)
  }

  /** The worst status of the tracks: one degraded track degrades the call. */
  get status (): AiStatus {
    const all = Object.values(this.#tracks).map((t) => t.status)
    if (all.includes('degraded')) return 'degraded'
    if (all.includes('connecting')) return 'connecting'
    return 'ready'
  }

  /** Adopts the call's real tracks and direction (a pre-warmed session guessed them at webhook time). */
  attach (direction: Direction, tracks: readonly Track[]): void {
    for (const track of ['inbound', 'outbound'] as const) {
      const t = this.#tracks[track]
      if (!tracks.includes(track)) {
        t?.upstream.close('track not streamed')
        delete this.#tracks[track]
      } else if (t === undefined) {
        this.#tracks[track] = new TrackTranscriber(track, { ...this.#o, direction })
      } else {
        t.input.speaker = speakerForTrack(direction, track)
      }
    }
  }

  media (frame: MediaFrame): void {
    this.#tracks[frame.track]?.media(frame)
  }

  /** Closes both sessions; returns the per-call accounting for the stop log. */
  close (reason: string): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const t of Object.values(this.#tracks)) {
      t.upstream.close(reason)
      out[t.track] = { framesForwarded: t.upstream.framesForwarded, framesDropped: t.upstream.framesDropped, silenceFilledMs: t.filledMs, reconnects: t.upstream.reconnects, rollovers: t.upstream.rollovers }
    }
    this.ctx.order.flush()
    return out
  }

  get framesForwarded (): number { return Object.values(this.#tracks).reduce((n, t) => n + t.upstream.framesForwarded, 0) }
  get framesDropped (): number { return Object.values(this.#tracks).reduce((n, t) => n + t.upstream.framesDropped, 0) }
}
