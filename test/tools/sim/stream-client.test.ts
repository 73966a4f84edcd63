import t from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { simulateCall, type SimulateOptions } from '../../../tools/sim/simulate.ts'
import type { SimEvent } from '../../../tools/sim/types.ts'
import { isValidStreamSignature, isValidWebhookSignature } from '../../../src/twilio/signature.ts'

// A scriptable stand-in for TalkHint: answers the webhook with given TwiML and runs a script on the stream.
const TOKEN = 'sim-test-token'
const BASE = 'https://sim.example.com'
const CONNECT = `<Response><Connect><Stream url="wss://sim.example.com/media" statusCallback="${BASE}/status"><Parameter name="direction" value="inbound"/><Parameter name="k" value="v"/></Stream></Connect><Say>After the stream.</Say></Response>`
const START = '<Response><Start><Stream url="wss://sim.example.com/media" track="both_tracks"/></Start><Dial answerOnBridge="true">+15550001111</Dial></Response>'

type Msg = Record<string, any>
interface Fake {
  serverUrl: string
  /** Every message the simulated Twilio sent on the stream, parsed. */
  messages: Msg[]
  upgrade: { headers: IncomingHttpHeaders, signatureOk: boolean } | undefined
  callbacks: Array<{ path: string, params: Record<string, string>, signatureOk: boolean }>
}
interface FakeOptions {
  twiml?: string
  contentType?: string
  webhookStatus?: number
  upgradeStatus?: number
  echoProtocol?: boolean
  /** Runs for each parsed message; `send` sends JSON (or a raw string/Buffer) to the simulator. */
  onMessage?: (msg: Msg, send: (m: unknown) => void, ws: WebSocket) => void
}

async function fakeServer (t: { teardown (fn: () => unknown): void }, opts: FakeOptions = {}): Promise<Fake> {
  const fake: Fake = { serverUrl: '', messages: [], upgrade: undefined, callbacks: [] }
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => opts.echoProtocol === false ? false : [...p][0] ?? false })
  const http = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body))
      const signatureOk = isValidWebhookSignature(TOKEN, req.headers['x-twilio-signature'] as string, BASE + req.url, params)
      if (req.url !== '/twilio/inbound') {
        fake.callbacks.push({ path: req.url ?? '', params, signatureOk })
        return res.writeHead(204).end()
      }
      if (!signatureOk) return res.writeHead(403).end()
      res.writeHead(opts.webhookStatus ?? 200, { 'content-type': opts.contentType ?? 'text/xml' }).end(opts.twiml ?? CONNECT)
    })
  })
  http.on('upgrade', (req, socket, head) => {
    fake.upgrade = { headers: req.headers, signatureOk: isValidStreamSignature(TOKEN, req.headers['x-twilio-signature'] as string, `wss://sim.example.com${req.url}`) }
    if (opts.upgradeStatus !== undefined) {
      socket.end(`HTTP/1.1 ${opts.upgradeStatus} No\r\ncontent-length: 0\r\n\r\n`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const send = (m: unknown): void => ws.send(typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m))
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as Msg
        fake.messages.push(msg)
        opts.onMessage?.(msg, send, ws)
      })
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    http.closeAllConnections()
    http.close()
  })
  fake.serverUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  return fake
}

const mulaw = (ms: number, byte = 0x55): { mulaw: Buffer } => ({ mulaw: Buffer.alloc(ms * 8, byte) })
// Speed 20 with a 3 s tail (150 ms of wall time) wherever the server answers: replies arrive before hang-up.
const run = (fake: Fake, events: SimEvent[], o: Partial<SimulateOptions> = {}): ReturnType<typeof simulateCall> =>
  simulateCall({ serverUrl: fake.serverUrl, publicBaseUrl: BASE, authToken: TOKEN, speed: 20, caller: mulaw(200), operator: mulaw(100, 0x66), tailMs: 0, onEvent: (e) => events.push(e), ...o })
const media = (sid: string, ms: number): Msg => ({ event: 'media', streamSid: sid, media: { payload: Buffer.alloc(ms * 8, 0x2a).toString('base64') } })

t.test('speaks Twilio: signed upgrade with the subprotocol, connected, start, string counters, dtmf, stop', async (t) => {
  const fake = await fakeServer(t)
  const events: SimEvent[] = []
  const r = await run(fake, events, { dtmf: [{ digit: '5', atMs: 100 }], accountSid: 'AC' + '0'.repeat(32) })
  t.equal(r.ok, true)
  t.equal(fake.upgrade?.signatureOk, true, 'x-twilio-signature signs the wss:// URL with empty params')
  t.equal(fake.upgrade?.headers['sec-websocket-protocol'], 'audio.twilio.com')
  const [connected, start, ...rest] = fake.messages
  t.same(connected, { event: 'connected', protocol: 'Call', version: '1.0.0' })
  t.match(start, { event: 'start', sequenceNumber: '1', streamSid: /^MZ[0-9a-f]{32}$/ })
  t.same(start.start, {
    accountSid: 'AC' + '0'.repeat(32),
    streamSid: start.streamSid,
    callSid: r.callSid,
    tracks: ['inbound'],
    customParameters: { direction: 'inbound', k: 'v' },
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  })
  const frames = rest.filter((m) => m.event === 'media')
  t.equal(frames.length, 10, '200 ms = 10 frames of 20 ms')
  frames.forEach((m, i) => {
    t.same(Object.keys(m.media), ['track', 'chunk', 'timestamp', 'payload'])
    t.match(m, { streamSid: start.streamSid, media: { track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20) } })
    t.equal(Buffer.from(m.media.payload, 'base64').length, 160)
  })
  t.same(rest.map((m) => Number(m.sequenceNumber)), rest.map((_, i) => i + 2), 'sequenceNumber counts every message, as strings')
  t.equal(typeof rest[0].sequenceNumber, 'string')
  const dtmf = rest.findIndex((m) => m.event === 'dtmf')
  t.same(rest[dtmf], { event: 'dtmf', sequenceNumber: rest[dtmf].sequenceNumber, streamSid: start.streamSid, dtmf: { track: 'inbound_track', digit: '5' } })
  t.equal(rest[dtmf + 1].media.timestamp, '100', 'the digit goes out at 100 ms of call time')
  t.same(rest.at(-1), { event: 'stop', sequenceNumber: String(rest.length + 1), streamSid: start.streamSid, stop: { accountSid: 'AC' + '0'.repeat(32), callSid: r.callSid } })
  t.match(r.close, { code: 1000, by: 'client' })
  t.same(fake.callbacks.map((c) => [c.path, c.params.StreamEvent ?? c.params.CallStatus, c.signatureOk]),
    [['/status', 'stream-started', true], ['/status', 'stream-stopped', true], ['/twilio/call-status', 'completed', true]])
  t.ok(events.some((e) => e.type === 'next' || e.type === 'stream.stop'))
})

t.test('both tracks go out interleaved per 20 ms tick; the shorter file continues as silence', async (t) => {
  const fake = await fakeServer(t, { twiml: START })
  const events: SimEvent[] = []
  const r = await run(fake, events, { dtmf: [{ digit: '1', atMs: 0 }] })
  const frames = fake.messages.filter((m) => m.event === 'media')
  t.same(frames.map((m) => m.media.track), Array.from({ length: 20 }, (_, i) => i % 2 === 0 ? 'inbound' : 'outbound'))
  const out = frames.filter((m) => m.media.track === 'outbound')
  t.same(out.map((m) => m.media.chunk), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'], 'each track has its own chunk counter')
  t.same(out.map((m) => m.media.timestamp), out.map((_, i) => String(i * 20)))
  t.same(out.map((m) => Buffer.from(m.media.payload, 'base64')[0]), [0x66, 0x66, 0x66, 0x66, 0x66, 0xff, 0xff, 0xff, 0xff, 0xff], 'operator audio, then μ-law silence')
  t.same(r.sent.inbound, { frames: 10, bytes: 1600 })
  t.same(r.sent.outbound, { frames: 10, bytes: 1600 })
  t.notOk(fake.messages.some((m) => m.event === 'dtmf'), 'no DTMF on <Start>')
  t.ok(events.some((e) => e.type === 'dtmf.skipped'))
  t.equal(r.replyAudio, undefined)
})

t.test('answers marks as Twilio does: after the audio before them has played, at once when idle, all on clear', async (t) => {
  // Everything is queued at start, so the line stays open until the clear: no race with the caller's audio.
  const fake = await fakeServer(t, {
    onMessage: (m, send) => {
      const sid = m.streamSid as string
      if (m.event === 'start') {
        send({ event: 'mark', streamSid: sid, mark: { name: 'idle' } })
        send(media(sid, 400))
        send({ event: 'mark', streamSid: sid, mark: { name: 'm1' } })
        send(media(sid, 5000))
        send({ event: 'mark', streamSid: sid, mark: { name: 'm2' } })
        send({ event: 'mark', streamSid: sid, mark: { name: 'm3' } })
      }
      if (m.event === 'mark' && m.mark.name === 'm1') send({ event: 'clear', streamSid: sid })
    },
  })
  const events: SimEvent[] = []
  const r = await run(fake, events, { caller: mulaw(100), tailMs: 3000 })
  t.equal(r.ok, true)
  const echoes = fake.messages.filter((m) => m.event === 'mark')
  t.same(echoes.map((m) => m.mark.name), ['idle', 'm1', 'm2', 'm3'])
  t.match(echoes[0], { sequenceNumber: /^\d+$/, streamSid: fake.messages[1].streamSid })
  const marks = events.filter((e) => e.type === 'mark')
  t.match(marks, [{ name: 'idle', cause: 'played' }, { name: 'm1', cause: 'played' }, { name: 'm2', cause: 'clear' }, { name: 'm3', cause: 'clear' }])
  const replyStart = events.find((e) => e.type === 'reply.start')
  t.ok(replyStart?.type === 'reply.start' && marks[1]?.type === 'mark' && marks[1].atMs >= replyStart.atMs + 400, 'm1 echoed only after its 400 ms had played')
  const clear = events.find((e) => e.type === 'clear')
  t.ok(clear?.type === 'clear' && clear.droppedMs > 4000 && clear.marks === 2, 'clear dropped the unplayed reply')
  t.match(r.received, { media: 2, audioMs: 5400, marks: 4, marksEchoed: 4, clears: 1 })
  t.ok(r.received.droppedMs > 4000 && r.received.droppedMs <= 5000)
  t.ok(r.replyAudio !== undefined && r.replyAudio.includes(0x2a), 'what the caller heard is in the reply audio')
  t.ok(r.replyAudio !== undefined && r.replyAudio.length < 1600 * 8, 'without the part clear dropped')
})

t.test('keeps the line open (streaming silence) while the server reply plays, then hangs up', async (t) => {
  const fake = await fakeServer(t, {
    onMessage: (m, send) => {
      if (m.event !== 'start') return
      send(media(m.streamSid, 1000))
      send({ event: 'mark', streamSid: m.streamSid, mark: { name: 'end-of-reply' } })
    },
  })
  // 400 ms of caller audio at speed 2 leaves the reply 200 ms of wall time to arrive before the audio ends.
  const r = await run(fake, [], { caller: mulaw(400), speed: 2 })
  const stop = fake.messages.findIndex((m) => m.event === 'stop')
  const echo = fake.messages.findIndex((m) => m.event === 'mark')
  t.ok(echo > 0 && echo < stop, 'the mark was echoed before the call ended')
  t.ok(r.sent.inbound.frames >= 50, `streamed through the 1 s reply (${r.sent.inbound.frames} frames)`)
})

t.test('reports what Twilio would reject from the server, loudly for a unidirectional stream', async (t) => {
  const uni = await fakeServer(t, { twiml: START, onMessage: (m, send) => { if (m.event === 'start') send(media(m.streamSid, 20)) } })
  const r1 = await run(uni, [], { tailMs: 3000 })
  t.equal(r1.ok, false)
  t.match(r1.problems, [{ code: '31924', severity: 'error', message: /SERVER BUG.*unidirectional/ }])

  const bad = await fakeServer(t, {
    onMessage: (m, send) => {
      if (m.event !== 'start') return
      send({ event: 'media', streamSid: 'MZwrong', media: { payload: '' } })
      send({ event: 'sing', streamSid: m.streamSid })
      send('not json')
      send({ event: 'media', streamSid: m.streamSid, media: { payload: Buffer.from('RIFF....WAVEfmt ').toString('base64') } })
      send(Buffer.from([1, 2, 3]))
    },
  })
  const r2 = await run(bad, [], { tailMs: 3000 })
  t.equal(r2.ok, false, 'a binary frame is an error (31950)')
  t.match(r2.problems.map((p) => `${p.code} ${p.severity}`).sort(), ['31950 error', '31951 warning', '31951 warning', '31951 warning', 'payload warning'])
  t.ok(r2.problems.some((p) => /wrong streamSid/.test(p.message)))
})

t.test('the server closing <Connect> hands the call to the next verb; an abnormal close is an error', async (t) => {
  const clean = await fakeServer(t, { onMessage: (m, _send, ws) => { if (m.event === 'start') ws.close(1000, 'bye') } })
  const events: SimEvent[] = []
  const r = await run(clean, events, { tailMs: 3000 })
  t.equal(r.ok, true)
  t.match(r.close, { code: 1000, reason: 'bye', by: 'server' })
  t.ok(events.some((e) => e.type === 'next' && /Twilio continues with: Say "After the stream."/.test(e.summary)))
  t.notOk(clean.messages.some((m) => m.event === 'stop'), 'no stop on a stream the server closed')

  const crash = await fakeServer(t, { onMessage: (m, _send, ws) => { if (m.event === 'start') ws.close(1011, 'boom') } })
  const r2 = await run(crash, [], { tailMs: 3000 })
  t.equal(r2.ok, false)
  t.match(r2.problems, [{ code: '31921', severity: 'error', message: /1011 \(boom\)/ }])
})

t.test('handshake failures say what to fix', async (t) => {
  const forbidden = await fakeServer(t, { upgradeStatus: 403 })
  await t.rejects(run(forbidden, []), { code: 'STREAM_FORBIDDEN', message: /PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN must be the same/ })
  const missing = await fakeServer(t, { upgradeStatus: 404 })
  await t.rejects(run(missing, []), { code: 'STREAM_NOT_FOUND', message: /\/media does not exist.*31920/ })
  const noEcho = await fakeServer(t, { echoProtocol: false })
  await t.rejects(run(noEcho, []), { code: 'STREAM_SUBPROTOCOL' })
  const r = await run(noEcho, [], { subprotocol: false })
  t.equal(r.ok, true, 'a client offering no subprotocol works with a server that echoes none')
  t.equal(noEcho.upgrade?.headers['sec-websocket-protocol'], undefined)
})

t.test('webhook answers that stop the call, and TwiML without a stream', async (t) => {
  const err = await fakeServer(t, { webhookStatus: 500, twiml: 'oops' })
  await t.rejects(run(err, []), { code: 'WEBHOOK_FAILED', message: /HTTP 500.*11200/ })
  const garbage = await fakeServer(t, { twiml: '<Response><Say>unclosed</Response>' })
  await t.rejects(run(garbage, []), { code: 'BAD_TWIML' })
  const events: SimEvent[] = []
  const hangup = await fakeServer(t, { twiml: '<Response><Say>Goodbye.</Say><Hangup/></Response>', contentType: 'text/plain' })
  const r = await run(hangup, events)
  t.equal(r.ok, false)
  t.equal(r.stream, undefined)
  t.match(r.problems, [{ code: '12300', severity: 'warning' }, { code: 'no-stream', severity: 'error' }])
  t.ok(events.some((e) => e.type === 'say' && e.text === 'Goodbye.'))
  const dial = await fakeServer(t, { twiml: '<Response><Dial>+15550001111</Dial></Response>' })
  const r2 = await run(dial, [])
  t.equal(r2.ok, true, 'a plain dial (no AI) is not an error')
  t.match(r2.problems, [{ code: 'no-stream', severity: 'warning' }])
})

t.test('an abort hangs up: stop, then close', async (t) => {
  const ac = new AbortController()
  const fake = await fakeServer(t, { onMessage: (m) => { if (m.event === 'media' && m.media.chunk === '3') ac.abort() } })
  const r = await run(fake, [], { caller: mulaw(60_000), speed: 1, signal: ac.signal })
  t.equal(r.aborted, true)
  t.equal(r.ok, false)
  t.equal(fake.messages.at(-1)?.event, 'stop')
  t.match(r.close, { by: 'abort', code: 1000 })
  t.ok(r.sent.inbound.frames < 100, 'stopped early')
})
