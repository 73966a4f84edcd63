/** A media-stream client that speaks exactly as Twilio does: handshake, start, media, dtmf, marks, stop. */
import WebSocket from 'ws'
import type { Track } from '../../src/call/events.ts'
import { MULAW_BYTES_PER_MS } from '../../src/audio/mulaw.ts'
import { signTwilioRequest, TWILIO_SIGNATURE_HEADER } from '../../src/twilio/signature.ts'
import { TWILIO_SUBPROTOCOL } from '../../src/routes.ts'
import { TWILIO_MEDIA_FORMAT } from '../../src/twilio/codec.ts'
import { createClock, type SimClock } from './clock.ts'
import { handshakeStatusError, streamError } from './stream-errors.ts'
import { PlaybackQueue } from './playback.ts'
import { readServerMessage } from './server-messages.ts'
import { randomSid } from './webhook.ts'
import { SimError, type CloseInfo, type Problem, type SimEventListener, type StreamStats } from './types.ts'

export interface StreamClientOptions {
  /** Where to connect (the local ws:// address). */
  readonly url: string
  /** The stream URL exactly as written in the TwiML: Twilio signs it with empty params (docs/protocol.md A4). */
  readonly signedUrl: string
  readonly authToken: string
  /** Offered subprotocol, `audio.twilio.com` by default; `false` offers none (⚠️ docs/protocol.md A4: unverified which Twilio does). */
  readonly subprotocol?: string | false
  readonly accountSid: string
  readonly callSid: string
  readonly streamSid?: string
  readonly tracks: readonly Track[]
  /** `<Connect><Stream>`: the server may send media/mark/clear. On `<Start>` any message is error 31924. */
  readonly bidirectional: boolean
  readonly customParameters?: Readonly<Record<string, string>>
  /** 1 = real time (default): how fast the call clock runs, which paces mark echoes. */
  readonly speed?: number
  readonly onEvent?: SimEventListener
  /** Aborts the opening handshake. */
  readonly signal?: AbortSignal
  /** Twilio gives up on a handshake after about 10 s (31901). */
  readonly handshakeTimeoutMs?: number
}

/**
 * One Twilio media stream seen from Twilio's side. Reusable on its own (a load benchmark can
 * open hundreds): `open()`, `start()`, then `media()` per frame, `dtmf()`, `stop()`, `close()`.
 * It validates everything the server sends as Twilio would and, on bidirectional streams,
 * plays the server's audio on a `PlaybackQueue` to answer marks at the right moment.
 */
export class TwilioStreamClient {
  readonly streamSid: string
  readonly playback = new PlaybackQueue()
  readonly problems: Problem[] = []
  readonly stats: StreamStats = {
    sent: { inbound: { frames: 0, bytes: 0 }, outbound: { frames: 0, bytes: 0 }, dtmf: 0, messages: 0 },
    received: { media: 0, audioBytes: 0, marks: 0, marksEchoed: 0, clears: 0, droppedBytes: 0 },
  }

  /** Resolves when the socket has closed, whoever closed it. */
  readonly closed: Promise<CloseInfo>
  #clock: SimClock
  #ws: WebSocket
  #opts: StreamClientOptions
  #seq = 0
  #prefix: string
  #closing: CloseInfo['by'] | undefined
  #timer: NodeJS.Timeout | undefined
  #replyStartMs: number | undefined
  #closeInfo: CloseInfo | undefined
  #stopped = false

  private constructor (ws: WebSocket, opts: StreamClientOptions) {
    this.#ws = ws
    this.#opts = opts
    this.streamSid = opts.streamSid ?? randomSid('MZ')
    this.#clock = createClock(opts.speed ?? 1)
    this.#prefix = `","streamSid":${JSON.stringify(this.streamSid)},`
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary))
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        clearTimeout(this.#timer)
        this.#closeInfo = { code, reason: reason.toString(), by: this.#closing ?? 'server' }
        this.#emit({ type: 'stream.closed', close: this.#closeInfo, atMs: this.clock.now() })
        resolve(this.#closeInfo)
      })
    })
  }

  /** Opens the socket with Twilio's handshake; rejects with a `SimError` that says what failed. */
  static open (opts: StreamClientOptions): Promise<TwilioStreamClient> {
    const offered = opts.subprotocol === undefined ? TWILIO_SUBPROTOCOL : opts.subprotocol
    const ws = new WebSocket(opts.url, offered === false ? [] : [offered], {
      headers: { [TWILIO_SIGNATURE_HEADER]: signTwilioRequest(opts.authToken, opts.signedUrl, {}) },
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
    })
    return new Promise((resolve, reject) => {
      let settled = false
      const fail = (err: SimError): void => {
        if (settled) return
        settled = true
        opts.signal?.removeEventListener('abort', onAbort)
        ws.terminate()
        reject(err)
      }
      const onAbort = (): void => fail(new SimError('ABORTED', 'the simulated call was aborted'))
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      ws.on('error', (err: Error & { code?: string }) => fail(streamError(opts.url, err)))
      ws.once('unexpected-response', (req, res) => {
        res.resume()
        req.destroy()
        fail(handshakeStatusError(opts, res.statusCode ?? 0))
      })
      ws.once('open', () => {
        if (settled) return
        settled = true
        opts.signal?.removeEventListener('abort', onAbort)
        const client = new TwilioStreamClient(ws, opts)
        client.#emit({ type: 'stream.open', url: opts.url, protocol: ws.protocol })
        resolve(client)
      })
    })
  }

  /** The call clock: call ms since `start()` (since open before that), running at `speed`. */
  get clock (): SimClock { return this.#clock }

  get isOpen (): boolean { return this.#ws.readyState === WebSocket.OPEN }
  /** The subprotocol the server echoed ('' if none). */
  get protocol (): string { return this.#ws.protocol }
  /** Bytes queued in the socket; a fast sender should wait when this grows. */
  get bufferedAmount (): number { return this.#ws.bufferedAmount }

  /** Sends `connected` then `start` (docs/protocol.md A2: counters are strings, no From/To). */
  start (): void {
    const o = this.#opts
    // Call time starts now, so handshake latency is not multiplied by --speed into call time.
    this.#clock = createClock(o.speed ?? 1)
    this.#send('{"event":"connected","protocol":"Call","version":"1.0.0"}')
    const start = {
      accountSid: o.accountSid,
      streamSid: this.streamSid,
      callSid: o.callSid,
      tracks: o.tracks,
      customParameters: o.customParameters ?? {},
      mediaFormat: { ...TWILIO_MEDIA_FORMAT },
    }
    this.#send(JSON.stringify({ event: 'start', sequenceNumber: String(++this.#seq), start, streamSid: this.streamSid }))
    this.#emit({ type: 'stream.start', streamSid: this.streamSid, tracks: o.tracks, bidirectional: o.bidirectional, parameters: start.customParameters })
  }

  /**
   * Sends one media frame (base64 μ-law of `bytes` bytes). `chunk` counts per track from 1 and
   * `timestamp` is the track's ms since stream start, unless given (to simulate lost audio).
   */
  media (track: Track, payloadB64: string, bytes: number, timestamp?: number): boolean {
    const t = this.stats.sent[track]
    const ts = timestamp ?? Math.floor(t.bytes / MULAW_BYTES_PER_MS)
    const ok = this.#send(`{"event":"media","sequenceNumber":"${++this.#seq}${this.#prefix}"media":{"track":"${track}","chunk":"${t.frames + 1}","timestamp":"${ts}","payload":"${payloadB64}"}}`)
    if (ok) {
      t.frames++
      t.bytes += bytes
    }
    return ok
  }

  /** Sends a keypress. Twilio sends DTMF on bidirectional streams only; returns false otherwise. */
  dtmf (digit: string): boolean {
    if (!this.#opts.bidirectional) return false
    const ok = this.#send(`{"event":"dtmf","sequenceNumber":"${++this.#seq}${this.#prefix}"dtmf":{"track":"inbound_track","digit":${JSON.stringify(digit)}}}`)
    if (ok) this.stats.sent.dtmf++
    return ok
  }

  /** Sends `stop` (the call ended or the stream was stopped). */
  stop (): boolean {
    const o = this.#opts
    this.#stopped = true
    const ok = this.#send(`{"event":"stop","sequenceNumber":"${++this.#seq}${this.#prefix}"stop":{"accountSid":${JSON.stringify(o.accountSid)},"callSid":${JSON.stringify(o.callSid)}}}`)
    if (ok) this.#emit({ type: 'stream.stop', atMs: this.clock.now() })
    return ok
  }

  /** Closes the socket (Twilio closes after `stop`) and resolves with how it closed. */
  close (code = 1000, reason = '', by: CloseInfo['by'] = 'client'): Promise<CloseInfo> {
    // Only a close we start is ours: if the server's close frame already arrived (CLOSING), it closed.
    if (this.#closeInfo === undefined && this.#closing === undefined && this.#ws.readyState !== WebSocket.CLOSED) {
      if (this.#ws.readyState === WebSocket.OPEN) {
        this.#closing = by
        this.#ws.close(code, reason)
      }
      // A server that never answers the close handshake is cut off, as Twilio would.
      const kill = setTimeout(() => this.#ws.terminate(), 2000)
      this.closed.then(() => clearTimeout(kill), () => {})
    }
    return this.closed
  }

  /** Records a problem once per code (counted every time) and reports it. */
  problem (code: string, severity: Problem['severity'], message: string): void {
    const seen = this.problems.find((p) => p.code === code && p.message === message)
    if (seen !== undefined) {
      seen.count++
      return
    }
    const p: Problem = { code, severity, message, count: 1 }
    this.problems.push(p)
    this.#emit({ type: 'problem', problem: p })
  }

  #send (text: string): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false
    this.#ws.send(text)
    this.stats.sent.messages++
    return true
  }

  #emit (event: Parameters<SimEventListener>[0]): void {
    try {
      this.#opts.onEvent?.(event)
    } catch {
      // A listener bug must not break the call it is watching.
    }
  }

  #onMessage (data: Buffer, isBinary: boolean): void {
    // After `stop` the call is over for Twilio: anything still in flight is ignored.
    if (this.#stopped) return
    const { message, findings } = readServerMessage(data, isBinary, this.streamSid, this.#opts.bidirectional)
    for (const f of findings) this.problem(f.code, f.severity, f.message)
    if (message === undefined) return
    const now = this.clock.now()
    if (message.event === 'clear') this.#clear(now)
    else if (message.event === 'mark') {
      this.stats.received.marks++
      if (this.playback.mark(message.name, now)) this.#echo(message.name, now, 'played')
    } else {
      this.stats.received.media++
      this.stats.received.audioBytes += message.audio.length
      if (this.playback.enqueue(message.audio, now)) {
        this.#replyStartMs = now
        this.#emit({ type: 'reply.start', atMs: now })
      }
    }
    this.#checkPlayback()
  }

  #clear (now: number): void {
    this.stats.received.clears++
    const { droppedMs, marks } = this.playback.clear(now)
    this.stats.received.droppedBytes = this.playback.droppedBytes
    this.#emit({ type: 'clear', atMs: now, droppedMs, marks: marks.length })
    for (const name of marks) this.#echo(name, now, 'clear')
  }

  #echo (name: string, now: number, cause: 'played' | 'clear'): void {
    if (this.#send(`{"event":"mark","sequenceNumber":"${++this.#seq}${this.#prefix}"mark":{"name":${JSON.stringify(name)}}}`)) {
      this.stats.received.marksEchoed++
      this.#emit({ type: 'mark', name, atMs: now, cause })
    }
  }

  /** Echoes marks whose audio has played, reports the end of a reply, and re-arms the timer. */
  #checkPlayback (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const now = this.clock.now()
    for (const name of this.playback.due(now)) this.#echo(name, now, 'played')
    if (this.#replyStartMs !== undefined && this.playback.bufferedMs(now) === 0) {
      this.#emit({ type: 'reply.end', atMs: this.playback.endMs, ms: this.playback.endMs - this.#replyStartMs })
      this.#replyStartMs = undefined
    }
    const next = Math.min(this.playback.nextDueMs() ?? Infinity, this.#replyStartMs !== undefined ? this.playback.endMs : Infinity)
    if (next !== Infinity && this.#closeInfo === undefined) {
      this.#timer = setTimeout(() => this.#checkPlayback(), Math.ceil(this.clock.wallDelay(next)))
    }
  }
}
