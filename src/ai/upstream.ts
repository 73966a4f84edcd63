/** A resilient upstream Realtime session: buffers until ready, reconnects with backoff, rolls over before the cap. */
import type { AiStatus } from '../call/events.ts'
import type { Logger } from '../log.ts'
import { APPEND_PREFIX, APPEND_SUFFIX, SESSION_ENDING_ERRORS, type RealtimeClientEvent, type RealtimeServerEvent, type RealtimeTarget } from './events.ts'
import { FrameQueue } from './frame-queue.ts'
import type { ConnectRealtime, RealtimeConnection } from './realtime-connection.ts'

/** One physical connection. Audio positions in its events are relative to its own first byte. */
export interface Link {
  readonly id: number
  /** Call-relative ms of the first audio byte sent on this link (NaN before any). */
  baseMs: number
  /** μ-law bytes appended on this link (8 per ms). */
  bytes: number
  /** μ-law bytes appended since this link's last commit or clear (what a commit would turn into an item). */
  uncommitted: number
}

/** What the API said when it refused our session.update (its own words). */
export interface Refusal {
  readonly message: string
  readonly param: string | null
  readonly code: string | null
}

/** Maps a session-relative audio position (audio_start_ms, audio_end_ms) to call-relative ms. */
export function toCallMs (link: Link, sessionMs: number): number {
  return (Number.isNaN(link.baseMs) ? 0 : link.baseMs) + sessionMs
}

export type ReadyKind = 'first' | 'reconnect' | 'rollover'

export interface UpstreamHandlers {
  onEvent (event: RealtimeServerEvent, link: Link): void
  /** The link that now gets the audio is configured; send what must precede the audio (history). */
  onReady (link: Link, kind: ReadyKind): void
  onStatus (status: Exclude<AiStatus, 'off'>, detail?: string): void
  /** Consecutive reconnects failed `maxAttempts` times; the upstream is closed. */
  onGiveUp (reason: string): void
  /**
   * The API answered our session.update with an `error` before `session.updated`: the config is
   * wrong, not the network, so retrying would only repeat it. The upstream is closed already.
   */
  onRefused (refusal: Refusal): void
  /**
   * Optional, hot path: one frame was appended on `link` (in order, after any queued ones). Client
   * turn detection runs here so its commits follow exactly the audio that reached that session.
   */
  onAppended? (link: Link, payload: string, bytes: number, callMs: number, fill: boolean): void
  /** True when moving to a new session now would not cut an utterance or a reply in half. */
  isIdle (): boolean
}

export interface UpstreamOptions {
  readonly connect: ConnectRealtime
  readonly target: RealtimeTarget
  readonly sessionUpdate: RealtimeClientEvent
  readonly log: Logger
  readonly rolloverMs: number
  /** Most μ-law bytes held while no ready session can take them (oldest dropped first). */
  readonly bufferBytes: number
  readonly maxAttempts: number
  readonly handlers: UpstreamHandlers
}

interface LinkState extends Link {
  conn: RealtimeConnection
  /** Our session.update went out: an error before session.updated now means a refused config. */
  updateSent: boolean
  ready: boolean
  /** Reached ready at least once (a link that never did is a failed attempt). */
  wasReady: boolean
  sends: number
  /** The socket had more than MAX_SOCKET_BUFFER unsent at the last look. */
  congested: boolean
  closing: boolean
  timers: ReturnType<typeof setTimeout>[]
}

const READY_TIMEOUT_MS = 10_000
const RETIRE_AFTER_MS = 5_000
const MAX_BACKOFF_MS = 10_000
/** Past this much unsent data the upstream is not keeping up: drop frames rather than grow without bound. */
const MAX_SOCKET_BUFFER = 512 * 1024
/**
 * The API refuses a commit of less than 100 ms of audio (`input_audio_buffer_commit_empty`, "buffer
 * too small. Expected at least 100ms of audio"); below this a turn is cleared instead.
 */
export const MIN_COMMIT_BYTES = 100 * 8

/** Backoff before reconnect attempt n (0 = at once), with ±20 % jitter. */
export function backoffMs (attempt: number): number {
  if (attempt <= 0) return 0
  return Math.min(MAX_BACKOFF_MS, 200 * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4)
}

export class Upstream {
  framesForwarded = 0
  reconnects = 0
  rollovers = 0
  #connect: UpstreamOptions['connect']
  #target: RealtimeTarget
  #sessionUpdate: RealtimeClientEvent
  #log: Logger
  #rolloverMs: number
  #maxAttempts: number
  #handlers: UpstreamHandlers
  #nextId = 1
  #active: LinkState | undefined
  #standby: LinkState | undefined
  #retiring = new Set<LinkState>()
  #everReady = false
  #failures = 0
  #closed = false
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  #rolloverTimers: ReturnType<typeof setTimeout>[] = []
  #switchWhenIdle = false
  #pending: FrameQueue
  #sendDropped = 0
  /** Longest wait between reconnect attempts: a tenth of the audio buffer (see #lost). */
  #maxBackoffMs: number

  constructor (opts: UpstreamOptions) {
    this.#connect = opts.connect
    this.#target = opts.target
    this.#sessionUpdate = opts.sessionUpdate
    this.#log = opts.log
    this.#rolloverMs = opts.rolloverMs
    this.#maxAttempts = opts.maxAttempts
    this.#handlers = opts.handlers
    this.#pending = new FrameQueue(opts.bufferBytes)
    this.#maxBackoffMs = Math.max(200, Math.min(MAX_BACKOFF_MS, opts.bufferBytes / 8 / 10))
    this.#active = this.#open()
    opts.handlers.onStatus('connecting')
  }

  /** Twilio frames that never reached a session: queue overflow, upstream backpressure, call ended first. */
  get framesDropped (): number { return this.#pending.dropped + this.#sendDropped }

  get ready (): boolean { return this.#active?.ready === true }
  get closed (): boolean { return this.#closed }
  /** True for the link that currently gets the audio (events from retiring links are history). */
  isActive (link: Link): boolean { return link === this.#active }

  /**
   * Hot path: forwards one base64 μ-law payload as is, or queues it until a session is ready.
   * `fill` marks generated silence, which is not counted as a forwarded/dropped Twilio frame.
   */
  append (payload: string, bytes: number, callMs: number, fill = false): void {
    const link = this.#active
    if (link !== undefined && link.ready && this.#pending.empty) {
      if (this.#switchWhenIdle && this.#handlers.isIdle()) this.#switch()
      this.#send(this.#active as LinkState, payload, bytes, callMs, fill)
      return
    }
    this.#queue(payload, bytes, callMs, fill)
  }

  #queue (payload: string, bytes: number, callMs: number, fill: boolean): void {
    if (!this.#closed) this.#pending.push(payload, bytes, callMs, fill)
  }

  /** Sends a control event on the active session; false (nothing sent) while none is ready. */
  send (event: RealtimeClientEvent): boolean {
    const link = this.#active
    if (link === undefined || !link.ready) return false
    link.conn.send(event)
    return true
  }

  /**
   * Ends the current turn on `link` (client turn detection): commits what it holds, or clears it
   * when that is under MIN_COMMIT_BYTES, so an empty (or too short) buffer is never committed.
   * Returns whether a commit was sent; nothing is sent on a link that is not ready or not active.
   */
  commit (link: Link): boolean {
    const l = link as LinkState
    if (l !== this.#active || !l.ready || this.#closed) return false
    if (l.uncommitted < MIN_COMMIT_BYTES) {
      this.clear(link)
      return false
    }
    l.uncommitted = 0
    l.conn.send({ type: 'input_audio_buffer.commit' })
    return true
  }

  /** Drops what `link`'s input buffer holds (too short to be an utterance, or silence between them). */
  clear (link: Link): void {
    const l = link as LinkState
    if (l !== this.#active || !l.ready || this.#closed || l.uncommitted === 0) return
    l.uncommitted = 0
    l.conn.send({ type: 'input_audio_buffer.clear' })
  }

  /** Closes every link and timer; frames still queued count as dropped. */
  close (reason = 'call ended'): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#reconnectTimer)
    for (const t of this.#rolloverTimers) clearTimeout(t)
    this.#sendDropped += this.#pending.discard()
    for (const link of [this.#active, this.#standby, ...this.#retiring]) if (link !== undefined) this.#closeLink(link, 1000, reason)
    this.#active = undefined
    this.#standby = undefined
    this.#retiring.clear()
  }

  #send (link: LinkState, payload: string, bytes: number, callMs: number, fill: boolean): void {
    // Backpressure builds over seconds, not frames: look at the socket every 8th send only.
    if ((++link.sends & 7) === 0) link.congested = link.conn.bufferedAmount > MAX_SOCKET_BUFFER
    if (link.congested) {
      if (!fill) this.#sendDropped++
      return
    }
    // The socket closed under us (its close event is on its way): keep the frame for the next session.
    if (!link.conn.sendRaw(APPEND_PREFIX + payload + APPEND_SUFFIX)) {
      link.ready = false
      return this.#queue(payload, bytes, callMs, fill)
    }
    if (link.bytes === 0) link.baseMs = callMs
    link.bytes += bytes
    link.uncommitted += bytes
    if (!fill) this.framesForwarded++
    this.#handlers.onAppended?.(link, payload, bytes, callMs, fill)
  }

  #open (): LinkState {
    const id = this.#nextId++
    const link = { id, baseMs: NaN, bytes: 0, uncommitted: 0, updateSent: false, ready: false, wasReady: false, sends: 0, congested: false, closing: false, timers: [] } as unknown as LinkState
    link.conn = this.#connect(this.#target, {
      onOpen: () => {
        if (this.#closed || link.closing) return
        link.updateSent = true
        link.conn.send(this.#sessionUpdate)
      },
      onEvent: (event) => this.#onEvent(link, event),
      onError: (err) => this.#log.warn({ err, link: id }, 'realtime connection error'),
      onClose: (code, reason) => this.#onClose(link, code, reason),
    })
    link.timers.push(setTimeout(() => {
      if (link.ready || link.closing) return
      this.#log.warn({ link: id }, `realtime session not ready after ${READY_TIMEOUT_MS} ms`)
      this.#fail(link, 'session not ready in time')
    }, READY_TIMEOUT_MS))
    return link
  }

  #onEvent (link: LinkState, event: RealtimeServerEvent): void {
    if (this.#closed || link.closing) return
    // GA sends session.updated; older servers sent transcription_session.updated (tolerate both).
    if (!link.wasReady && (event.type === 'session.updated' || (event.type as string) === 'transcription_session.updated')) {
      link.ready = true
      link.wasReady = true
      for (const t of link.timers) clearTimeout(t)
      link.timers = []
      this.#onReady(link)
    } else if (event.type === 'error') {
      const code = event.error?.code ?? ''
      if (SESSION_ENDING_ERRORS.has(code)) {
        this.#log.info({ link: link.id, code }, 'realtime session ended by the server; moving to a new one')
        this.#fail(link, code)
        return
      }
      if (link.updateSent && !link.wasReady) {
        // A server-side failure is not about our config: try again, as for a lost connection.
        if (event.error?.type === 'server_error') {
          this.#log.warn({ link: link.id, code, message: event.error.message }, 'realtime server error before the session was ready')
          this.#fail(link, 'server error')
          return
        }
        return this.#refused(link, event.error)
      }
      this.#log.warn({ link: link.id, code, type: event.error?.type, message: event.error?.message, param: event.error?.param }, 'realtime error event')
    }
    this.#handlers.onEvent(event, link)
  }

  /**
   * The session.update was answered by an error: a configuration the API will not take (unknown
   * voice, a turn_detection the model does not support, an unknown model…). The same update would
   * be refused again, so no retry: log the API's words once, close, and say so. A later call builds
   * a new Upstream and tries again (the config may have been fixed).
   */
  #refused (link: LinkState, error: { message?: string, param?: string | null, code?: string | null } | undefined): void {
    const refusal: Refusal = { message: error?.message ?? 'session.update refused', param: error?.param ?? null, code: error?.code ?? null }
    this.#log.error({ link: link.id, code: refusal.code, param: refusal.param, message: refusal.message },
      `OpenAI refused the session config: ${refusal.message}`)
    if (link === this.#standby) {
      // A roll-over standby: the session in use still works until the 60-minute cap; keep it, try no other.
      this.#standby = undefined
      this.#switchWhenIdle = false
      this.#closeLink(link, 1000, 'config refused')
      return
    }
    this.close('config refused')
    this.#handlers.onRefused(refusal)
    this.#handlers.onStatus('refused', refusal.message)
  }

  #onReady (link: LinkState): void {
    if (link === this.#standby) {
      this.#switchWhenIdle = true
      return
    }
    if (link !== this.#active) return
    const kind: ReadyKind = this.#everReady ? 'reconnect' : 'first'
    this.#everReady = true
    this.#failures = 0
    this.#handlers.onReady(link, kind)
    this.#flush(link)
    this.#handlers.onStatus('ready')
    this.#scheduleRollover()
  }

  #flush (link: LinkState): void {
    // In order; if the socket dies mid-flush the rest is queued again, still in order.
    this.#pending.drain((payload, bytes, callMs, fill) => this.#send(link, payload, bytes, callMs, fill))
  }

  #onClose (link: LinkState, code: number, reason: string): void {
    for (const t of link.timers) clearTimeout(t)
    this.#retiring.delete(link)
    if (this.#closed || link.closing) return
    link.closing = true
    this.#log.warn({ link: link.id, code, reason }, 'realtime connection closed unexpectedly')
    this.#lost(link, `closed ${code}${reason === '' ? '' : ` (${reason})`}`)
  }

  #fail (link: LinkState, why: string): void {
    this.#closeLink(link, 1000, why)
    this.#lost(link, why)
  }

  /** A link went away without us closing it: replace it. */
  #lost (link: LinkState, why: string): void {
    if (link === this.#standby) {
      this.#standby = undefined
      this.#switchWhenIdle = false
      this.#rolloverTimers.push(setTimeout(() => this.#startRollover(), 5_000))
      return
    }
    if (link !== this.#active) return
    this.#active = undefined
    if (!link.wasReady) this.#failures++
    if (this.#failures >= this.#maxAttempts) {
      this.#log.error({ failures: this.#failures, why }, 'realtime upstream unavailable; giving up')
      this.close('gave up')
      this.#handlers.onGiveUp(why)
      return
    }
    this.#handlers.onStatus('degraded', why)
    // Audio piles up while we wait: an attempt that lands after the buffer has overflowed loses the
    // oldest speech even though the outage itself was shorter than the buffer (an 8 s outage with
    // a 10 s buffer waited up to 12.6 s). So the wait never exceeds a tenth of the buffer.
    const delay = Math.min(backoffMs(this.#failures), this.#maxBackoffMs)
    this.#reconnectTimer = setTimeout(() => {
      if (this.#closed) return
      this.reconnects++
      // A ready standby (mid roll-over) is as good as a fresh connection.
      const standby = this.#standby
      this.#standby = undefined
      this.#switchWhenIdle = false
      this.#active = standby ?? this.#open()
      if (standby?.ready === true) this.#onReady(standby)
    }, delay)
  }

  #scheduleRollover (): void {
    for (const t of this.#rolloverTimers) clearTimeout(t)
    const rolloverMs = this.#rolloverMs
    // Wait for a quiet moment, but not past this grace: the API ends sessions at 60 minutes.
    const grace = Math.min(4 * 60_000, rolloverMs / 5)
    this.#rolloverTimers = [
      setTimeout(() => this.#startRollover(), rolloverMs),
      setTimeout(() => { if (this.#switchWhenIdle) this.#switch() }, rolloverMs + grace),
    ]
  }

  #startRollover (): void {
    if (this.#closed || this.#standby !== undefined || this.#active === undefined) return
    this.#log.info({ link: this.#active.id }, 'rolling the realtime session over before its time limit')
    this.#standby = this.#open()
  }

  #switch (): void {
    const old = this.#active
    const next = this.#standby
    if (next === undefined || !next.ready) return
    this.#standby = undefined
    this.#switchWhenIdle = false
    this.#active = next
    this.rollovers++
    this.#handlers.onReady(next, 'rollover')
    if (old !== undefined) {
      // Let the old session finish transcribing what it already has, then close it.
      // (Only a buffer the API would take: under 100 ms it refuses the commit.)
      if (!this.#handlers.isIdle() && old.uncommitted >= MIN_COMMIT_BYTES) old.conn.send({ type: 'input_audio_buffer.commit' })
      this.#retiring.add(old)
      old.timers.push(setTimeout(() => {
        this.#retiring.delete(old)
        this.#closeLink(old, 1000, 'rolled over')
      }, RETIRE_AFTER_MS))
    }
    this.#scheduleRollover()
  }

  #closeLink (link: LinkState, code: number, reason: string): void {
    link.closing = true
    for (const t of link.timers) clearTimeout(t)
    link.conn.close(code, reason)
  }
}
