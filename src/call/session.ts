/** One Twilio media stream: decodes frames, accounts for them, and feeds the call's handlers. */
import type { Mode } from '../config.ts'
import type { StreamTokenFailure, StreamTokenResult } from '../twilio/stream-token.ts'
import type { Logger } from '../log.ts'
import type { CallEventBus } from './bus.ts'
import type { Direction, MediaStats, Track } from './events.ts'
import { base64ByteLength, createTwilioEncoder, decodeTwilioMessage, TWILIO_MEDIA_FORMAT, type StartMessage } from '../twilio/codec.ts'
import { mulawLevel } from '../audio/mulaw.ts'
import { SentLevels } from './sent-level.ts'

/** How a session talks back to its socket; the plugin adapts a `ws` WebSocket to it. */
export interface Transport {
  send (text: string): void
  close (code: number, reason: string): void
}

export interface MediaFrame {
  readonly track: Track
  readonly chunk: number
  /** ms since the stream started (Twilio's clock). */
  readonly timestamp: number
  /** base64 μ-law, exactly as Twilio sent it. */
  readonly payload: string
  readonly bytes: number
}

/** What a consumer (the AI bridge) attaches to a started call. Every method must return quickly. */
export interface CallHandler {
  media? (frame: MediaFrame): void
  dtmf? (digit: string): void
  mark? (name: string): void
  /** The stream ended; release upstream resources. */
  stop? (reason: StopReason): void | Promise<void>
}
export type CallHandlerFactory = (call: LiveCall) => CallHandler | undefined
export type StopReason = 'stop' | 'closed' | 'rejected' | 'shutdown'

/** The read-only view of a started call plus the ways to talk back to Twilio. */
export interface LiveCall {
  readonly callSid: string
  readonly streamSid: string
  readonly mode: Mode
  readonly direction: Direction
  readonly from: string
  readonly to: string
  /** An outbound agent call's task for the AI, from the verified stream token. */
  readonly purpose?: string
  readonly tracks: readonly Track[]
  /** `<Connect><Stream>`: we may send media/mark/clear. Never true for `<Start><Stream>` (31924). */
  readonly bidirectional: boolean
  readonly startedAt: number
  readonly params: Readonly<Record<string, string>>
  readonly log: Logger
  readonly stats: MediaStats
  /** Sends μ-law audio to the caller; returns false (and sends nothing) on a unidirectional stream. */
  sendMedia (payloadB64: string): boolean
  sendMark (name: string): boolean
  sendClear (): boolean
  /** Closes the media stream (ends `<Connect>`; Twilio moves to the next TwiML verb). */
  end (code?: number, reason?: string): void
}

/** Why a session refused or closed a stream by policy (counted in /metrics). */
export type RefuseReason = StreamTokenFailure | 'start_timeout' | 'idle_timeout'

export interface SessionDeps {
  readonly transport: Transport
  readonly bus: CallEventBus
  readonly log: Logger
  readonly now: () => number
  /**
   * Checks the stream token in `start.customParameters` for this CallSid. Only a stream that passes gets a call:
   * its mode, stream kind, direction, from and to come from the verified claims, never from unsigned parameters.
   */
  readonly authorize: (params: Readonly<Record<string, string>>, callSid: string) => StreamTokenResult
  /** No `start` within this time after the upgrade → closed (1008). 0 = no limit. */
  readonly startTimeoutMs: number
  /** No media frame for this long after `start` → the call's handlers stop and the socket closes (1008). 0 = no limit. */
  readonly idleTimeoutMs: number
  /** A stream refused or closed by policy (once per session). */
  readonly onRefused?: (reason: RefuseReason) => void
  /** Called once on a valid `start`; returns the handlers to feed. */
  readonly onStart: (call: LiveCall) => CallHandler[]
  /** Called once when the session ends, whatever the reason. */
  readonly onEnd: (call: LiveCall | undefined, reason: StopReason) => void
}

/** Messages before `start` we tolerate before deciding the stream is unusable. */
const MAX_BEFORE_START = 50
const LEVEL_INTERVAL_MS = 200
const STATS_INTERVAL_MS = 5000

type Counts = { inbound: number, outbound: number }
const counts = (): Counts => ({ inbound: 0, outbound: 0 })

/**
 * The per-socket state machine: awaiting `start` → live → ended. Bad frames are counted and
 * logged once per reason; only a stream that cannot work is closed (1008).
 */
export class MediaSession {
  #deps: SessionDeps
  #log: Logger
  #call: (LiveCall & { stats: MutableStats }) | undefined
  #handlers: CallHandler[] = []
  #ended = false
  #beforeStart = 0
  #lastTs = counts()
  #lastDur = counts()
  #levels = counts()
  /** Per track: the Twilio time from which its next frame is measured (each track on its own frames). */
  #nextMeasureAt = counts()
  #nextLevelAt = 0
  /** ms of audio sent back on the stream (the agent's speech), less what a `clear` dropped before it could play. */
  #sentMs = 0
  /** Wall-clock time at which the audio sent so far has finished playing, assuming Twilio plays it back to back. */
  #sentPlaysUntil = 0
  /** How loud the audio we send is as it plays (the agent's meter). */
  #sentLevels = new SentLevels()
  #nextStatsAt = STATS_INTERVAL_MS
  /** The longest a media frame spent in onText since the last stats publish (ms). */
  #addedMaxMs = 0
  #warnedSend = false
  /** One timer per session: the start deadline, then the idle check (re-armed at most once per idle period). */
  #timer: ReturnType<typeof setTimeout> | undefined
  /** performance.now() of the last media frame: a number store per frame, no timer work on the hot path. */
  #lastMediaAt = 0
  readonly rejected: Record<string, number> = {}

  constructor (deps: SessionDeps) {
    this.#deps = deps
    this.#log = deps.log
    if (deps.startTimeoutMs > 0) this.#timer = setTimeout(this.#startTimedOut, deps.startTimeoutMs)
  }

  get call (): LiveCall | undefined { return this.#call }

  /** Feeds one text frame. Never throws. */
  onText (text: string): void {
    if (this.#ended) return
    const t0 = performance.now()
    const res = decodeTwilioMessage(text)
    if (!res.ok) return this.#reject(res.reason, res.detail)
    const m = res.message
    if (m.event === 'media') {
      if (this.#call === undefined) return this.#beforeStartFrame('media_before_start')
      if (m.streamSid !== this.#call.streamSid) return this.#reject('wrong_stream', m.streamSid)
      this.#media(m.media.track, m.media.chunk, m.media.timestamp, m.media.payload)
      this.#lastMediaAt = t0
      // Time this frame spent in TalkHint: decode, accounting and every handler (the AI bridge's upstream send).
      const spent = performance.now() - t0
      if (spent > this.#addedMaxMs) this.#addedMaxMs = spent
      return
    }
    if (m.event === 'connected') return
    if (m.event === 'start') return this.#start(m)
    if (this.#call === undefined) return this.#beforeStartFrame(`${m.event}_before_start`)
    if (m.streamSid !== this.#call.streamSid) return this.#reject('wrong_stream', m.streamSid)
    if (m.event === 'dtmf') {
      this.#deps.bus.publish({ type: 'call.dtmf', callSid: this.#call.callSid, at: this.#deps.now(), digit: m.dtmf.digit })
      for (const h of this.#handlers) this.#safe(() => h.dtmf?.(m.dtmf.digit))
    } else if (m.event === 'mark') {
      for (const h of this.#handlers) this.#safe(() => h.mark?.(m.mark.name))
    } else {
      this.finish('stop')
    }
  }

  /** Twilio never sends binary frames; count them (31950 is the mirror-image error). */
  onBinary (): void {
    this.#reject('binary', 'binary frame')
  }

  /** Ends the session once: tells handlers, publishes `call.stopped`, logs the accounting. */
  finish (reason: StopReason): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#timer)
    const call = this.#call
    if (call !== undefined) {
      for (const h of this.#handlers) {
        this.#safe(() => {
          const p = h.stop?.(reason)
          if (p instanceof Promise) p.catch((err: unknown) => call.log.error({ err }, 'call handler stop failed'))
        })
      }
      const durationMs = this.#deps.now() - call.startedAt
      const stats = this.#snapshot()
      call.log.info({ reason, durationMs, stats }, 'media stream stopped')
      this.#deps.bus.publish({ type: 'call.stopped', callSid: call.callSid, at: this.#deps.now(), streamSid: call.streamSid, reason, durationMs, stats })
    } else if (Object.keys(this.rejected).length > 0) {
      this.#log.info({ reason, rejected: this.rejected }, 'media stream ended before start')
    }
    this.#deps.onEnd(call, reason)
  }

  #start (m: StartMessage): void {
    if (this.#call !== undefined) return this.#reject('duplicate_start', m.streamSid)
    const s = m.start
    if (s.mediaFormat.encoding !== TWILIO_MEDIA_FORMAT.encoding) {
      return this.#fatal('unsupported media format', s.mediaFormat.encoding)
    }
    // Bounded: an unauthorised stream chooses these; a real CallSid or StreamSid is 34 characters.
    const log = this.#log.child({ callSid: s.callSid.slice(0, 64), streamSid: m.streamSid.slice(0, 64) })
    this.#log = log
    // Before anything is registered or published: a stream without a valid token never becomes a call
    // (no AI, no history row, no dashboard entry).
    const auth = this.#deps.authorize(s.customParameters, s.callSid)
    if (!auth.ok) return this.#refuse(auth.reason)
    const claims = auth.claims
    const { token: _token, ...p } = s.customParameters
    const now = this.#deps.now()
    const encoder = createTwilioEncoder(m.streamSid)
    const bidirectional = claims.stream === 'connect'
    const transport = this.#deps.transport
    const stats: MutableStats = { frames: counts(), bytes: counts(), gapMs: counts(), gaps: counts(), framesOut: 0, rejected: this.rejected }
    const send = (text: string): boolean => {
      if (!bidirectional) {
        if (!this.#warnedSend) log.warn({}, 'refused to send on a unidirectional <Start><Stream> (Twilio 31924)')
        this.#warnedSend = true
        return false
      }
      if (this.#ended) return false
      transport.send(text)
      return true
    }
    const call = {
      callSid: s.callSid,
      streamSid: m.streamSid,
      mode: claims.mode,
      direction: claims.direction,
      from: claims.from,
      to: claims.to,
      ...(claims.purpose !== undefined ? { purpose: claims.purpose } : {}),
      tracks: s.tracks,
      bidirectional,
      startedAt: now,
      params: p,
      log,
      stats,
      sendMedia: (payload: string) => {
        if (!send(encoder.media(payload))) return false
        stats.framesOut++
        this.#sent(payload, base64ByteLength(payload) >>> 3)
        return true
      },
      sendMark: (name: string) => send(encoder.mark(name)),
      sendClear: () => {
        if (!send(encoder.clear())) return false
        this.#cleared()
        return true
      },
      end: (code = 1000, reason = 'call ended') => {
        transport.close(code, reason)
        this.finish('closed')
      },
    } satisfies LiveCall & { stats: MutableStats }
    this.#call = call
    clearTimeout(this.#timer)
    if (this.#deps.idleTimeoutMs > 0) {
      this.#lastMediaAt = performance.now()
      this.#timer = setTimeout(this.#idleCheck, this.#deps.idleTimeoutMs)
    }
    log.info({ mode: call.mode, direction: call.direction, tracks: call.tracks, bidirectional, from: call.from, to: call.to }, 'media stream started')
    this.#deps.bus.publish({
      type: 'call.started',
      callSid: call.callSid,
      at: now,
      streamSid: call.streamSid,
      mode: call.mode,
      direction: call.direction,
      from: call.from,
      to: call.to,
      tracks: call.tracks,
      bidirectional,
      startedAt: now,
    })
    try {
      this.#handlers = this.#deps.onStart(call)
    } catch (err) {
      log.error({ err }, 'attaching call handlers failed; the stream continues without them')
    }
  }

  #media (track: Track, chunk: number, timestamp: number, payload: string): void {
    const call = this.#call as LiveCall & { stats: MutableStats }
    const bytes = base64ByteLength(payload)
    const st = call.stats
    st.frames[track]++
    st.bytes[track] += bytes
    // A frame that starts later than the previous one ended is a gap (lost or withheld audio).
    if (st.frames[track] > 1) {
      const expected = this.#lastTs[track] + this.#lastDur[track]
      if (timestamp > expected + 1) {
        st.gaps[track]++
        st.gapMs[track] += timestamp - expected
      }
    }
    this.#lastTs[track] = timestamp
    this.#lastDur[track] = bytes >>> 3
    const frame: MediaFrame = { track, chunk, timestamp, payload, bytes }
    // Hot path: no closure per frame; a throwing handler is counted and the others still run.
    for (const h of this.#handlers) {
      if (h.media === undefined) continue
      try {
        h.media(frame)
      } catch (err) {
        this.#handlerError(err)
      }
    }
    // Each track is measured on its own frames (at most once per interval each); one event per interval carries both.
    if (timestamp >= this.#nextMeasureAt[track]) {
      this.#levels[track] = mulawLevel(payload)
      this.#nextMeasureAt[track] = timestamp + LEVEL_INTERVAL_MS
    }
    if (timestamp >= this.#nextLevelAt) this.#publishLevels(track, timestamp)
    if (timestamp >= this.#nextStatsAt) {
      this.#nextStatsAt = timestamp + STATS_INTERVAL_MS
      this.#deps.bus.publish({ type: 'call.stats', callSid: call.callSid, streamSid: call.streamSid, at: this.#deps.now(), stats: this.#snapshot() })
      // One observation per call per interval (the window's worst frame), not one per frame: no per-frame event.
      this.#deps.bus.publish({ type: 'call.metric', callSid: call.callSid, at: this.#deps.now(), name: 'bridge_added_latency_ms', value: this.#addedMaxMs })
      this.#addedMaxMs = 0
    }
  }

  #publishLevels (track: Track, timestamp: number): void {
    const call = this.#call as LiveCall
    const now = this.#deps.now()
    const other: Track = track === 'inbound' ? 'outbound' : 'inbound'
    // The other track's last measure stands until its next frame; a track that went quiet (no frames) reads 0.
    if (this.#lastTs[other] + LEVEL_INTERVAL_MS < timestamp) this.#levels[other] = 0
    this.#nextLevelAt = timestamp + LEVEL_INTERVAL_MS
    this.#deps.bus.publish({
      type: 'call.levels',
      callSid: call.callSid,
      at: now,
      inbound: this.#levels.inbound,
      outbound: this.#levels.outbound,
      sentMs: Math.round(this.#sentMs),
      // Only a bidirectional stream (agent) sends audio back.
      ...(call.bidirectional ? { sent: this.#sentLevels.at(now) } : {}),
    })
  }

  /**
   * Agent speech is audio we send, not a Twilio track: it is counted as sent (bytes / 8 = ms of μ-law), which runs
   * ahead of playback while a response streams in faster than real time. A `clear` (barge-in) drops what has not
   * played yet; that part is estimated by the wall clock (Twilio plays sent audio back to back) and taken off again.
   */
  #sent (payload: string, ms: number): void {
    const playAt = Math.max(this.#sentPlaysUntil, this.#deps.now())
    this.#sentLevels.sent(payload, playAt, ms)
    this.#sentPlaysUntil = playAt + ms
    this.#sentMs += ms
  }

  #cleared (): void {
    const now = this.#deps.now()
    if (this.#sentPlaysUntil > now) this.#sentMs = Math.max(0, this.#sentMs - (this.#sentPlaysUntil - now))
    this.#sentPlaysUntil = now
    this.#sentLevels.cleared(now)
  }

  /** The stream is not authorised: one warning, counted, closed 1008 before it becomes a call. */
  #refuse (reason: StreamTokenFailure): void {
    this.#log.warn({ reason }, 'refused media stream: no valid stream token for this call (closed 1008)')
    this.#policyClose(reason, 'stream not authorised', 'rejected')
  }

  #startTimedOut = (): void => {
    if (this.#ended || this.#call !== undefined) return
    this.#log.warn({ timeoutMs: this.#deps.startTimeoutMs }, 'media stream sent no start in time (closed 1008)')
    this.#policyClose('start_timeout', 'start timeout', 'rejected')
  }

  // Re-armed for the rest of the period, so a live stream costs one timer per idle period, not one per frame.
  #idleCheck = (): void => {
    if (this.#ended) return
    const idleMs = this.#deps.idleTimeoutMs
    const quiet = performance.now() - this.#lastMediaAt
    if (quiet < idleMs) {
      this.#timer = setTimeout(this.#idleCheck, idleMs - quiet)
      return
    }
    this.#log.warn({ idleMs, quietMs: Math.round(quiet) }, 'no media on a started stream: ending its AI and closing it (1008)')
    this.#policyClose('idle_timeout', 'media idle timeout', 'closed')
  }

  #policyClose (reason: RefuseReason, closeReason: string, stop: StopReason): void {
    this.#deps.onRefused?.(reason)
    this.#deps.transport.close(1008, closeReason)
    this.finish(stop)
  }

  #beforeStartFrame (reason: string): void {
    this.#reject(reason, 'no start yet')
    if (++this.#beforeStart > MAX_BEFORE_START) this.#fatal('no start message', `${MAX_BEFORE_START} frames before start`)
  }

  #reject (reason: string, detail: string): void {
    const n = (this.rejected[reason] ?? 0) + 1
    this.rejected[reason] = n
    // One warning per reason per call; the totals are logged at stop.
    if (n === 1) this.#log.warn({ reason, detail }, 'rejected media-stream message')
  }

  #fatal (reason: string, detail: string): void {
    this.#reject(reason.replaceAll(' ', '_'), detail)
    this.#log.warn({ reason, detail }, 'closing unusable media stream (1008)')
    this.#deps.transport.close(1008, reason)
    this.finish('rejected')
  }

  #snapshot (): MediaStats {
    const s = (this.#call as LiveCall & { stats: MutableStats }).stats
    return {
      frames: { ...s.frames },
      bytes: { ...s.bytes },
      gapMs: { ...s.gapMs },
      gaps: { ...s.gaps },
      framesOut: s.framesOut,
      sentMs: Math.round(this.#sentMs),
      rejected: { ...s.rejected },
    }
  }

  #safe (fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#handlerError(err)
    }
  }

  #handlerError (err: unknown): void {
    const n = (this.rejected.handler_error ?? 0) + 1
    this.rejected.handler_error = n
    if (n === 1) this.#log.error({ err }, 'call handler threw')
  }
}

interface MutableStats {
  frames: Counts
  bytes: Counts
  gapMs: Counts
  gaps: Counts
  framesOut: number
  rejected: Record<string, number>
}

/**
 * Names a media socket's close for the log, so a normal end by Twilio (1000), a going-away (1001: a proxy or
 * deploy), a lost connection (1006: no close frame) and our own policy close (1008) read apart.
 */
export function describeClose (code: number, byServer: boolean): string {
  const name = CLOSE_NAMES[code] ?? `code_${code}`
  return `${byServer ? 'server' : 'twilio'}_${name}`
}

const CLOSE_NAMES: Readonly<Record<number, string>> = {
  1000: 'normal',
  1001: 'going_away',
  1005: 'no_status',
  1006: 'abnormal',
  1008: 'policy',
  1011: 'server_error',
  1013: 'try_again_later',
}
