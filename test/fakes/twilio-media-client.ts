/** A minimal Twilio Media Streams client: signed upgrade, start/media/mark/stop, records what comes back. */
import { once } from 'node:events'
import WebSocket from 'ws'
import { TEST_AUTH_TOKEN, TEST_BASE_URL, withStreamToken } from '../helpers.ts'
import { signTwilioRequest } from '../../src/twilio/signature.ts'

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
  /** Echo every mark as soon as it arrives (as Twilio does when nothing is buffered). */
  readonly autoEchoMarks?: boolean
}

/** One simulated Twilio media stream against the app's /media route. */
export class TwilioMediaClient {
  readonly ws: WebSocket
  readonly callSid: string
  readonly streamSid: string
  /** Every message the app sent, parsed, in order. */
  readonly received: Json[] = []
  #opts: MediaCallOptions
  #chunk = { inbound: 0, outbound: 0 }
  #ts = { inbound: 0, outbound: 0 }
  #seq = 1
  #waiters: Array<{ test: (m: Json) => boolean, resolve: (m: Json) => void }> = []

  private constructor (opts: MediaCallOptions, ws: WebSocket) {
    this.#opts = opts
    this.ws = ws
    this.callSid = opts.callSid
    this.streamSid = opts.streamSid ?? `MZ${opts.callSid.slice(2)}`
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Json
      this.received.push(m)
      if (opts.autoEchoMarks === true && m.event === 'mark') this.echoMark(String((m.mark as Json).name))
      for (const w of [...this.#waiters]) {
        if (w.test(m)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1)
          w.resolve(m)
        }
      }
    })
    ws.on('error', () => {})
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

  /** Resolves when the app closes the socket; returns the close code. */
  async closed (): Promise<number> {
    if (this.ws.readyState === this.ws.CLOSED) return 1005
    const [code] = await once(this.ws, 'close') as [number]
    return code
  }

  close (): void {
    this.ws.terminate()
  }

  #send (m: Json): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(m))
  }
}
