/** Assist mode: one transcription session per Twilio track, labelled by speaker, in spoken order. */
import type { AiStatus, Direction, Track } from '../call/events.ts'
import { speakerForTrack } from '../call/events.ts'
import type { MediaFrame } from '../call/session.ts'
import type { Logger } from '../log.ts'
import type { CallContext } from './call-context.ts'
import { ClientTurns } from './client-turns.ts'
import { transcriptionSessionUpdate, type SessionConfig } from './events.ts'
import { GapFill, silence } from './gap-fill.ts'
import { InputTranscripts } from './input-transcripts.ts'
import type { ConnectRealtime } from './realtime-connection.ts'
import { transcribeTurns, type ClientTurnConfig } from './turn-modes.ts'
import { Upstream, type Refusal } from './upstream.ts'

export interface TranscriberOptions {
  readonly ctx: CallContext
  readonly connect: ConnectRealtime
  readonly config: SessionConfig & ClientTurnConfig & { readonly realtimeRolloverMs: number, readonly realtimeBufferMs: number }
  readonly log: Logger
  readonly direction: Direction
  readonly onStatus: () => void
  /** The API refused this track's session config: the call goes on without AI. */
  readonly onRefused: (refusal: Refusal) => void
}

/** One track → one `?intent=transcription` session. Never sends anything back to Twilio. */
export class TrackTranscriber {
  readonly track: Track
  readonly upstream: Upstream
  readonly input: InputTranscripts
  /** Client turn detection (models without VAD), else undefined: the server's VAD ends turns. */
  readonly turns: ClientTurns | undefined
  status: Exclude<AiStatus, 'off'> = 'connecting'
  detail: string | undefined
  #gap = new GapFill()

  constructor (track: Track, o: TranscriberOptions) {
    this.track = track
    const input = this.input = new InputTranscripts(o.ctx, `${track}:`, speakerForTrack(o.direction, track))
    const log = o.log.child({ track })
    const turns = this.turns = transcribeTurns(o.config) === 'client'
      ? new ClientTurns(o.config, {
        commit: (link) => this.upstream.commit(link),
        clear: (link) => { this.upstream.clear(link) },
        beginTurn: (startMs) => { input.beginTurn(startMs) },
        endTurn: (endMs, link) => { input.endTurn(endMs, link) },
        cancelTurn: () => { input.cancelTurn() },
      })
      : undefined
    this.upstream = new Upstream({
      connect: o.connect,
      target: { intent: 'transcription' },
      sessionUpdate: transcriptionSessionUpdate(o.config),
      log,
      rolloverMs: o.config.realtimeRolloverMs,
      bufferBytes: o.config.realtimeBufferMs * 8,
      // Assist never gives up on the network: the call goes on without AI and we keep trying
      // (the wait between attempts is at most a tenth of REALTIME_BUFFER_MS). A refused config is
      // different: it stops at once (onRefused).
      maxAttempts: Infinity,
      handlers: {
        onEvent: (event, link) => { input.handle(event, link) },
        onReady: (link, kind) => { if (kind === 'reconnect') input.linkLost(link) },
        onStatus: (status, detail) => {
          this.status = status
          this.detail = detail
          if (status === 'degraded') log.warn({ detail }, 'transcription degraded; reconnecting')
          o.onStatus()
        },
        onGiveUp: () => {},
        onRefused: (refusal) => o.onRefused(refusal),
        ...(turns !== undefined ? { onAppended: turns.appended.bind(turns) } : {}),
        isIdle: () => !input.inSpeech,
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
  /** What each track's transcriber is built from (status and refusals report to this session). */
  #trackOptions: TranscriberOptions
  #tracks: Partial<Record<Track, TrackTranscriber>> = {}
  #onStatus: (status: AiStatus, detail?: string) => void
  #refused: Refusal | undefined

  constructor (o: Omit<TranscriberOptions, 'onStatus' | 'onRefused'>, onStatus: (status: AiStatus, detail?: string) => void, tracks: readonly Track[] = ['inbound', 'outbound']) {
    this.ctx = o.ctx
    this.#onStatus = onStatus
    this.#trackOptions = { ...o, onStatus: () => this.#onStatus(this.status, this.detail), onRefused: (r) => this.#refuse(r) }
    for (const track of tracks) this.#tracks[track] = new TrackTranscriber(track, this.#trackOptions)
  }

  /** The worst status of the tracks: one degraded track degrades the call; a refused config ends its AI. */
  get status (): AiStatus {
    if (this.#refused !== undefined) return 'refused'
    const all = Object.values(this.#tracks).map((t) => t.status)
    if (all.includes('degraded')) return 'degraded'
    if (all.includes('connecting')) return 'connecting'
    return 'ready'
  }

  /** The API's own words when it refused the config (what the dashboard shows). */
  get detail (): string | undefined { return this.#refused?.message }

  /** Adopts the call's real tracks and direction (a pre-warmed session guessed them at webhook time). */
  attach (direction: Direction, tracks: readonly Track[]): void {
    for (const track of ['inbound', 'outbound'] as const) {
      const t = this.#tracks[track]
      if (!tracks.includes(track)) {
        t?.upstream.close('track not streamed')
        delete this.#tracks[track]
      } else if (t === undefined) {
        // The other track's config was refused: this one would be too (same update); stay a plain call.
        if (this.#refused === undefined) this.#tracks[track] = new TrackTranscriber(track, { ...this.#trackOptions, direction })
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
      out[t.track] = { framesForwarded: t.upstream.framesForwarded, framesDropped: t.upstream.framesDropped, silenceFilledMs: t.filledMs, reconnects: t.upstream.reconnects, rollovers: t.upstream.rollovers, ...(t.turns !== undefined ? { commits: t.turns.commits, clears: t.turns.clears } : {}) }
    }
    if (this.#refused !== undefined) out.refused = this.#refused
    this.ctx.order.flush()
    return out
  }

  /** Both tracks send the same update: one refusal closes both, and the call carries on without AI. */
  #refuse (refusal: Refusal): void {
    if (this.#refused !== undefined) return
    this.#refused = refusal
    for (const t of Object.values(this.#tracks)) t.upstream.close('config refused')
  }

  get framesForwarded (): number { return Object.values(this.#tracks).reduce((n, t) => n + t.upstream.framesForwarded, 0) }
  get framesDropped (): number { return Object.values(this.#tracks).reduce((n, t) => n + t.upstream.framesDropped, 0) }
}
