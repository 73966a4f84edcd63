/** A minimal Twilio Media Streams client: signed upgrade, start/media/mark/stop, plays back what comes back. */
import { once } from 'node:events'
import WebSocket from 'ws'
import { TEST_AUTH_TOKEN, TEST_BASE_URL, withStreamToken } from '../test/helpers.ts'
import { PlaybackQueue } from '../tools/sim/playback.ts'
import { signTwilioRequest } from '../src/twilio/signature.ts'

type Json = Record<string, unknown>

export interface MediaCallOptions {
  /** http://127.0.0.1:PORT of a listening app. */
  readonly base: string
  readonly callSid: string
  readonly streamSid?: string
  readonly mode: 'assist' | 'agent'
  readonly direction?: 'inbound' | 'outbound'
  /** `connect` = bidirectional <Connect><Stream> (agent); `start` = <Start><Stream> fork (assist). */
  readonly stream?: 'connect' | 'start'
  readonly tracks?: Array<'inbound' | 'outbound'>
  /**
   * How the audio the app sends back "plays", which decides when marks are echoed (as Twilio does,
   * docs/protocol.md A2/A3: a mark once the audio before it has played, at once if nothing is buffered;
   * every outstanding mark on `clear`). A number: real time at that speed (default 1). `'manual'`:
   * the playback clock moves only with `advancePlayback(ms)`.
   */
  readonly playback?: number | 'manual'
}

/** One simulated Twilio media stream against the app's /media route. */
export class TwilioMediaClient {
  readonly ws: WebSocket
  readonly callSid: string
  readonly streamSid: string
  /** Every message the app sent, parsed, in order. */
  readonly received: Json[] = []
  #chunk = { inbound: 0, outbound: 0 }
  #ts = { inbound: 0, outbound: 0 }
  #seq = 1
  #waiters: Array<{ test: (m: Json) => boolean, resolve: (m: Json) => void }> = []
  /** Twilio's playback buffer for what the app sent: audio in order, marks due when it has played. */
  readonly playback = new PlaybackQueue()
  /** Marks echoed so far, in order, and why. */
  readonly echoed: Array<{ name: string, cause: 'played' | 'clear' }> = []
  #speed: number | undefined
  #manualMs = 0
  #startedAt = performance.now()
  #timer: ReturnType<typeof setTimeout> | undefined

  private constructor (opts: MediaCallOptions, ws: WebSocket) {
    this.ws = ws
    this.callSid = opts.callSid
    this.streamSid = opts.streamSid ?? `MZ${opts.callSid.slice(2)}`
    this.#speed = opts.playback === 'manual' ? undefined : (opts.playback ?? 1)
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Json
      this.received.push(m)
      this.#play(m)
      for (const w of [...this.#waiters]) {
        if (w.test(m)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1)
          w.resolve(m)
        }
      }
    })
    ws.on('error', () => {})
    ws.on('close', () => clearTimeout(this.#timer))
  }

  /** Playback clock, ms since the socket opened (scaled by speed), or as advanced by hand. */
  get playbackMs (): number {
    return this.#speed === undefined ? this.#manualMs : (performance.now() - this.#startedAt) * this.#speed
  }

  /** `playback: 'manual'` only: moves the playback clock; marks whose audio has now played are echoed. */
  advancePlayback (ms: number): void {
    if (this.#speed !== undefined) throw new Error('advancePlayback needs playback: \'manual\'')
    this.#manualMs += ms
    this.#flush()
  }

  /** Opens the socket with a valid X-Twilio-Signature and sends `connected` + `start`. */
  static async open (opts: MediaCallOptions): Promise<TwilioMediaClient> {
    const sig = signTwilioRequest(TEST_AUTH_TOKEN, TEST_BASE_URL.replace('https:', 'wss:') + '/media', {})
    const ws = new WebSocket(opts.base.replace('http:', 'ws:') + '/media', ['audio.twilio.com'], { headers: { 'x-twilio-signature': sig } })
    const client = new TwilioMediaClient(opts, ws)
    await once(ws, 'open')
    client.#send({ event: 'connected', protocol: 'Call', version: '1.0.0' })
    const stream = opts.stream ?? (opts.mode === 'agent' ? 'connect' : 'start')
    const tracks = opts.tracks ?? (stream === 'connect' ? ['inbound'] : ['inbound', 'outbound'])
    client.#send({
      event: 'start',
      sequenceNumber: String(client.#seq++),
      streamSid: client.streamSid,
      start: {
        accountSid: 'AC' + '0'.repeat(32),
        streamSid: client.streamSid,
        callSid: opts.callSid,
        tracks,
        customParameters: withStreamToken(opts.callSid, { direction: opts.direction ?? 'inbound', from: '+14155550100', to: '+15550002222', mode: opts.mode, stream }),
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    })
    return client
  }

  /** Sends one media frame; timestamps advance with the audio unless given. */
  media (payload: string, track: 'inbound' | 'outbound' = 'inbound', timestamp?: number): void {
    const ts = timestamp ?? this.#ts[track]
    const bytes = Buffer.byteLength(payload, 'base64')
    this.#ts[track] = ts + Math.floor(bytes / 8)
    this.#send({ event: 'media', sequenceNumber: String(this.#seq++), streamSid: this.streamSid, media: { track, chunk: String(++this.#chunk[track]), timestamp: String(ts), payload } })
  }

  /** Sends a mark echo as is, whatever has played (protocol tests; playback echoes marks by itself). */
  echoMark (name: string): void {
    this.#send({ event: 'mark', sequenceNumber: String(this.#seq++), streamSid: this.streamSid, mark: { name } })
  }

  stop (): void {
    this.#send({ event: 'stop', sequenceNumber: String(this.#seq++), streamSid: this.streamSid, stop: { accountSid: 'AC' + '0'.repeat(32), callSid: this.callSid } })
  }

  /** Audio payloads the app sent back, in order. */
  get mediaOut (): string[] {
    return this.received.filter((m) => m.event === 'media').map((m) => String((m.media as Json).payload))
  }

  get marksOut (): string[] {
    return this.received.filter((m) => m.event === 'mark').map((m) => String((m.mark as Json).name))
  }

  waitFor (test: (m: Json) => boolean, timeoutMs = 5000): Promise<Json> {
    const hit = this.received.find(test)
    if (hit !== undefined) return Promise.resolve(hit)
    return new Promise((resolve, reject) => {
      const w = { test, resolve: (m: Json) => { clearTimeout(timer); resolve(m) } }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        reject(new Error(`twilio media client: no matching message within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(w)
    })
  }

  /** Resolves when the app closes the socket; returns the close code (1005 if it was already closed). */
  async closed (timeoutMs = 5000): Promise<number> {
    if (this.ws.readyState === this.ws.CLOSED) return 1005
    const [code] = await once(this.ws, 'close', { signal: AbortSignal.timeout(timeoutMs) }).catch(() => {
      throw new Error(`twilio media client: the app did not close the stream within ${timeoutMs} ms`)
    }) as [number]
    return code
  }

  close (): void {
    clearTimeout(this.#timer)
    this.ws.terminate()
  }

  #play (m: Json): void {
    if (m.event === 'media') {
      this.playback.enqueue(Buffer.from(String((m.media as Json).payload), 'base64'), this.playbackMs)
    } else if (m.event === 'mark') {
      const name = String((m.mark as Json).name)
      if (this.playback.mark(name, this.playbackMs)) this.#echo(name, 'played')
      else this.#schedule()
    } else if (m.event === 'clear') {
      for (const name of this.playback.clear(this.playbackMs).marks) this.#echo(name, 'clear')
    }
  }

  #flush (): void {
    for (const name of this.playback.due(this.playbackMs)) this.#echo(name, 'played')
    this.#schedule()
  }

  /** Real-time playback: wakes when the next outstanding mark is due. */
  #schedule (): void {
    clearTimeout(this.#timer)
    const due = this.playback.nextDueMs()
    if (due === undefined || this.#speed === undefined) return
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, (due - this.playbackMs) / this.#speed))
  }

  #echo (name: string, cause: 'played' | 'clear'): void {
    this.echoed.push({ name, cause })
    this.echoMark(name)
  }

  #send (m: Json): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(m))
  }
}
