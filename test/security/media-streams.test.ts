/** What an attacker with one captured /media signature can do, on real sockets: forged streams, floods, idling, junk. */
import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import type WebSocket from 'ws'
import type { CallEvent } from '../../src/call/events.ts'
import type { FastifyInstance } from 'fastify'
import { simulateCall } from '../../tools/sim/simulate.ts'
import { buildTestApp, listen, signedPost, withStreamToken, TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { parseTwiml, streamParams, type XmlNode } from '../twiml-xml.ts'
import { mediaFrame, openMedia, opened, startFrame, stopFrame } from '../media-helpers.ts'
import { callSid, realtimeHarness, sleep, type Harness } from '../realtime-harness.ts'
import { until } from '../until.ts'

interface LogLine { level: number, msg: string, reason?: string, callSid?: string }

/** The real app on loopback with the fake Realtime API, its log kept in memory, every call event recorded. */
async function rig (t: { teardown (fn: () => unknown): void }, env: Record<string, string> = {}): Promise<Harness & { lines: LogLine[], metric: (name: string, labels?: string) => Promise<number> }> {
  const lines: LogLine[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  const h = await realtimeHarness(t, { LOG_LEVEL: 'info', ...env }, {}, { loggerInstance: pino({ level: 'info' }, stream) })
  return { ...h, lines, metric: (name, labels) => metricOf(h.app, name, labels) }
}

/** One sample from GET /metrics (0 when absent). */
async function metricOf (app: FastifyInstance, name: string, labels = ''): Promise<number> {
  const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  const line = res.body.split('\n').find((l) => l.startsWith(`${name}${labels} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

/** Resolves with the close code and reason, or rejects if the server keeps the socket open past `timeoutMs`. */
async function closedWithin (ws: WebSocket, timeoutMs: number): Promise<{ code: number, reason: string }> {
  if (ws.readyState === ws.CLOSED) throw new Error('already closed: attach before it can close')
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs)
    ws.once('close', (code: number, reason: Buffer) => {
      clearTimeout(timer)
      resolve({ code, reason: String(reason) })
    })
  })
}

const startedSids = (events: CallEvent[]): string[] => events.filter((e) => e.type === 'call.started').map((e) => e.callSid)
const b64 = (n: number): string => Buffer.alloc(160, n & 0xff).toString('base64')

t.test('a replayed upgrade signature with an invented CallSid and no, forged, expired or another call\'s token: closed 1008, no AI, no call, counted', async (t) => {
  const h = await rig(t)
  const sid = callSid()
  const valid = withStreamToken(sid, { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start' })
  const forged = valid.token.slice(0, -4) + (valid.token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  const expired = withStreamToken(sid, { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start' }, { now: Date.now() - 10 * 60_000 }).token
  const otherCall = withStreamToken(callSid(), { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start' }).token
  const otherSecret = withStreamToken(sid, { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start' }, { secret: 'x'.repeat(32) }).token
  const attempts: Array<[string, Record<string, string>]> = [
    ['missing', { token: 'ABSENT' }],
    ['missing', { token: '' }],
    ['malformed', { token: 'hello' }],
    ['bad_signature', { token: forged }],
    ['bad_signature', { token: otherSecret }],
    // A valid token but a changed caller number: from/to are under the MAC too.
    ['bad_signature', { token: valid.token, from: '+19005550100' }],
    ['expired', { token: expired }],
    ['callsid_mismatch', { token: otherCall }],
  ]
  for (const [i, [, params]] of attempts.entries()) {
    const ws = openMedia(h.base)
    t.teardown(() => ws.terminate())
    await opened(ws)
    const closed = closedWithin(ws, 3000)
    const start = JSON.parse(startFrame(i === 0 ? `CAforged${i}` : sid, `MZforged${i}`, { mode: 'agent', stream: 'connect', ...params }))
    // No token parameter at all, as on a stream whose TwiML was not ours.
    if (start.start.customParameters.token === 'ABSENT') delete start.start.customParameters.token
    ws.send(JSON.stringify(start))
    for (let n = 1; n <= 5; n++) ws.send(mediaFrame(`MZforged${i}`, 'inbound', n))
    t.same(await closed, { code: 1008, reason: 'stream not authorised' }, `${attempts[i]?.[0]}: closed with policy violation`)
  }
  t.same(startedSids(h.events), [], 'no call.started: nothing reaches history or the dashboard')
  t.equal(h.fake.connections.length, 0, 'no upstream Realtime session was opened')
  // A control: a stream with a valid token does get AI and a history row, so the absences here mean something.
  const controlSid = callSid()
  const control = openMedia(h.base)
  t.teardown(() => control.terminate())
  await opened(control)
  control.send(startFrame(controlSid, 'MZcontrol'))
  await until('the control call reached the Realtime API', () => h.fake.connections.length > 0)
  control.send(stopFrame(controlSid, 'MZcontrol'))
  await until('control call stopped', () => h.events.some((e) => e.type === 'call.stopped'))
  await h.app.recorder.idle()
  const history = await h.app.inject({ url: '/api/calls', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.same((history.json() as { calls: Array<{ callSid: string }> }).calls.map((c) => c.callSid), [controlSid], 'history holds the real call only')
  t.equal(h.app.calls.size, 0)
  t.ok(h.events.filter((e) => e.type === 'ai.status').every((e) => e.callSid === controlSid), 'the AI bridge saw the control call only')
  for (const reason of ['missing', 'malformed', 'bad_signature', 'expired', 'callsid_mismatch']) {
    const want = attempts.filter(([r]) => r === reason).length
    t.equal(await h.metric('talkhint_media_streams_refused_total', `{reason="${reason}"}`), want, `counted: ${reason}`)
  }
  const refusals = h.lines.filter((l) => l.msg.startsWith('refused media stream'))
  t.equal(refusals.length, attempts.length, 'one log line per refused stream')
  t.notOk(h.lines.some((l) => JSON.stringify(l).includes(valid.token)), 'the token itself is never logged')
})

t.test('the same token twice (a replayed start) opens one stream only', async (t) => {
  const h = await rig(t)
  const sid = callSid()
  const params = withStreamToken(sid, { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start' })
  const first = openMedia(h.base)
  const second = openMedia(h.base)
  t.teardown(() => { first.terminate(); second.terminate() })
  await Promise.all([opened(first), opened(second)])
  first.send(startFrame(sid, 'MZfirst', params))
  await until('first stream started', () => h.app.calls.size === 1)
  const closed = closedWithin(second, 3000)
  second.send(startFrame(sid, 'MZsecond', params))
  t.same(await closed, { code: 1008, reason: 'stream not authorised' })
  t.equal(await h.metric('talkhint_media_streams_refused_total', '{reason="replayed"}'), 1)
  t.equal(h.app.calls.getByStream('MZfirst')?.callSid, sid, 'the first stream is untouched')
})

t.test('mode=agent and stream=connect in the parameters of a stream whose token says assist: assist, nothing sent back', async (t) => {
  const h = await rig(t)
  const sid = callSid()
  const { token } = withStreamToken(sid, { direction: 'inbound', from: '+14155550100', to: '+15550002222', mode: 'assist', stream: 'start' })
  const ws = openMedia(h.base)
  const received: string[] = []
  ws.on('message', (d) => received.push(String(d)))
  t.teardown(() => ws.terminate())
  await opened(ws)
  ws.send(startFrame(sid, 'MZtamper', { token, mode: 'agent', stream: 'connect' }, ['inbound']))
  for (let n = 1; n <= 25; n++) ws.send(mediaFrame('MZtamper', 'inbound', n))
  await until('the AI session is ready', () => h.events.some((e) => e.type === 'ai.status' && e.status === 'ready'))
  ws.send(stopFrame(sid, 'MZtamper'))
  await until('call stopped', () => h.events.some((e) => e.type === 'call.stopped'))
  t.match(h.events.find((e) => e.type === 'call.started'), { callSid: sid, mode: 'assist', bidirectional: false })
  t.ok(h.fake.connections.length > 0 && h.fake.connections.every((c) => c.kind === 'transcription'), 'transcription sessions only, no voice agent')
  t.same(received, [], 'nothing was sent back on the stream')
})

t.test('20 authorised streams beyond MAX_CALLS get no AI session (assist stays up without it, agent moves on to the operator)', async (t) => {
  const h = await rig(t, { MAX_CALLS: '2' })
  const sockets: Array<{ ws: WebSocket, sid: string }> = []
  for (let i = 0; i < 22; i++) {
    const ws = openMedia(h.base)
    t.teardown(() => ws.terminate())
    sockets.push({ ws, sid: callSid() })
  }
  await Promise.all(sockets.map(({ ws }) => opened(ws)))
  for (const [i, { ws, sid }] of sockets.entries()) {
    ws.send(startFrame(sid, `MZcap${i}`, i < 11 ? {} : { mode: 'agent', stream: 'connect' }, i < 11 ? ['inbound', 'outbound'] : ['inbound']))
    ws.send(mediaFrame(`MZcap${i}`, 'inbound', 1))
  }
  await until('all 22 streams started', () => startedSids(h.events).length === 22)
  await until('twenty told they have no AI', () => h.events.filter((e) => e.type === 'ai.status' && e.status === 'off').length === 20)
  // The agent streams without AI are ended (Twilio then runs the TwiML after <Connect>: the operator).
  await until('agent streams without AI ended', () => h.events.filter((e) => e.type === 'call.stopped').length >= 11)
  for (const { ws } of sockets) ws.close()
  await until('all calls ended', () => h.app.calls.size === 0)
  const withAi = new Set(h.events.filter((e) => e.type === 'ai.status' && e.status === 'connecting').map((e) => e.callSid))
  t.equal(withAi.size, 2, 'AI sessions opened for MAX_CALLS calls only')
  t.equal(await h.metric('talkhint_media_streams_without_ai_total', '{reason="over_capacity"}'), 20)
})

t.test('an upgraded socket that never sends start is closed within MEDIA_START_TIMEOUT_MS', async (t) => {
  const h = await rig(t, { MEDIA_START_TIMEOUT_MS: '200' })
  const sockets = Array.from({ length: 5 }, () => openMedia(h.base))
  t.teardown(() => { for (const ws of sockets) ws.terminate() })
  await Promise.all(sockets.map(opened))
  const t0 = Date.now()
  const closes = await Promise.all(sockets.map((ws) => closedWithin(ws, 3000)))
  t.same(closes.map((c) => c.code), [1008, 1008, 1008, 1008, 1008])
  t.equal(closes[0]?.reason, 'start timeout')
  t.ok(Date.now() - t0 < 2000, 'closed around the timeout, not much later')
  t.equal(await h.metric('talkhint_media_streams_refused_total', '{reason="start_timeout"}'), 5)
})

t.test('a started stream that goes silent is closed and its upstream sessions released; a talking one is not', async (t) => {
  const h = await rig(t, { MEDIA_IDLE_TIMEOUT_MS: '300' })
  const quiet = openMedia(h.base)
  const talking = openMedia(h.base)
  t.teardown(() => { quiet.terminate(); talking.terminate() })
  await Promise.all([opened(quiet), opened(talking)])
  const [quietSid, talkSid] = [callSid(), callSid()]
  quiet.send(startFrame(quietSid, 'MZquiet'))
  talking.send(startFrame(talkSid, 'MZtalk'))
  for (let n = 1; n <= 3; n++) quiet.send(mediaFrame('MZquiet', 'inbound', n))
  await until('both calls hold their two transcription sessions', () => h.fake.connections.length === 4)
  const closed = closedWithin(quiet, 3000)
  // The talking call sends a frame every 20 ms for twice the idle timeout.
  let n = 0
  const pace = setInterval(() => { n++; talking.send(mediaFrame('MZtalk', 'inbound', n)) }, 20)
  t.teardown(() => clearInterval(pace))
  t.same(await closed, { code: 1008, reason: 'media idle timeout' })
  await until('the quiet call left the registry', () => h.app.calls.get(quietSid) === undefined)
  await sleep(400)
  clearInterval(pace)
  t.equal(talking.readyState, talking.OPEN, 'a stream with media keeps going past the idle timeout')
  t.ok(h.app.calls.get(talkSid) !== undefined)
  t.match(h.events.find((e) => e.type === 'call.stopped' && e.callSid === quietSid), { reason: 'closed' })
  talking.send(stopFrame(talkSid, 'MZtalk'))
  await until('every upstream session closed', () => h.fake.connections.every((c) => c.closed))
  t.equal(await h.metric('talkhint_media_streams_idle_closed_total'), 1)
})

t.test('100 idle upgrades beyond MAX_PENDING_STREAMS are closed at once; the waiting ones are kept; a real call still gets in', async (t) => {
  const h = await rig(t, { MAX_PENDING_STREAMS: '5', MEDIA_START_TIMEOUT_MS: '20000' })
  const first = Array.from({ length: 5 }, () => openMedia(h.base))
  t.teardown(() => { for (const ws of first) ws.terminate() })
  await Promise.all(first.map(opened))
  const flood = Array.from({ length: 100 }, () => openMedia(h.base))
  t.teardown(() => { for (const ws of flood) ws.terminate() })
  const closes = await Promise.all(flood.map((ws) => closedWithin(ws, 3000)))
  t.equal(closes.filter((c) => c.code === 1013 && c.reason === 'too many pending streams').length, 100, 'every one beyond the cap refused')
  t.ok(first.every((ws) => ws.readyState === ws.OPEN), 'the five within the cap are still waiting')
  t.equal(await h.metric('talkhint_media_streams_refused_total', '{reason="pending_limit"}'), 100)
  t.ok(h.lines.filter((l) => l.msg.startsWith('too many media sockets')).length <= 1, 'the flood is logged once, not 100 times')
  // A pending socket that starts frees its slot.
  const sid = callSid()
  first[0]?.send(startFrame(sid, 'MZreal'))
  await until('the started call is live', () => h.app.calls.size === 1)
  const next = openMedia(h.base)
  t.teardown(() => next.terminate())
  await opened(next)
  // Usable, shown by using it (a refused socket is closed with 1013 and never starts a call), not by a pause.
  next.send(startFrame(callSid(), 'MZnext'))
  await until('the call on the freed slot is live', () => h.app.calls.size === 2)
  t.equal(next.readyState, next.OPEN, 'a slot freed by a start is usable again')
})

t.test('non-base64 media payloads are rejected at the edge, counted, logged once per call, never sent upstream', async (t) => {
  const h = await rig(t)
  const sid = callSid()
  const ws = openMedia(h.base)
  t.teardown(() => ws.terminate())
  await opened(ws)
  ws.send(startFrame(sid, 'MZjunk', {}, ['inbound']))
  const junk = ['not base64 at all!', '////A', '%%%%', 'AAAA=AAA', '<script>']
  let good = 0
  for (let n = 1; n <= 200; n++) {
    ws.send(mediaFrame('MZjunk', 'inbound', n, junk[n % junk.length]))
    if (n % 4 === 0) ws.send(mediaFrame('MZjunk', 'inbound', 1000 + ++good, b64(n)))
  }
  const conn = await h.fake.waitForConnection()
  await until('the valid frames reached the Realtime API', () => conn.appended.length === good, 5000)
  ws.send(stopFrame(sid, 'MZjunk'))
  await until('call stopped', () => h.events.some((e) => e.type === 'call.stopped'))
  const stopped = h.events.find((e) => e.type === 'call.stopped')
  t.match(stopped, { stats: { frames: { inbound: good }, rejected: { bad_payload: 200 } } })
  t.ok(conn.appended.every((p) => /^[A-Za-z0-9+/]*={0,2}$/.test(p)), 'only base64 went upstream')
  t.equal(h.lines.filter((l) => l.reason === 'bad_payload').length, 1, 'one log line for 200 bad frames')
  t.equal(await h.metric('talkhint_media_frames_dropped_total', '{reason="bad_payload"}'), 200)
})

t.test('the full path: a webhook-issued token opens the stream; the same stream started after the token expired is refused, and the simulator says why', async (t) => {
  const clock = { ms: Date.now() }
  const h = await realtimeHarness(t, { MODE: 'agent' }, {}, { now: () => clock.ms })
  const target = { serverUrl: h.base, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN }
  const good = await simulateCall({ ...target, callSid: callSid(), speed: 20 })
  t.ok(good.ok, 'Twilio passing the TwiML\'s <Parameter>s through is all a real call needs')
  t.ok(h.fake.connections.length > 0, 'and it got its AI session')
  // Twilio is slow to open the stream: the app's clock moves past the token's expiry between webhook and start.
  const stop = h.app.bus.subscribe((e) => { if (e.type === 'call.webhook') clock.ms += 6 * 60_000 })
  t.teardown(stop)
  const late = await simulateCall({ ...target, callSid: callSid(), speed: 20 })
  t.notOk(late.ok)
  t.match(late.problems, [{ code: '31921' }, { code: 'stream-token', severity: 'error', message: /TWILIO_AUTH_TOKEN/ }])
  t.equal(await metricOf(h.app, 'talkhint_media_streams_refused_total', '{reason="expired"}'), 1)
})

t.test('across instances: a token from the webhook on A opens the stream on B with the same config; a B with another STREAM_TOKEN_SECRET refuses it', async (t) => {
  const secret = { STREAM_TOKEN_SECRET: 'k'.repeat(40) }
  const a = await buildTestApp(t, secret)
  const b = await buildTestApp(t, secret)
  const other = await buildTestApp(t, { STREAM_TOKEN_SECRET: 'o'.repeat(40) })
  const derived = await buildTestApp(t)
  const inbound = { CallSid: callSid(), AccountSid: 'AC' + '0'.repeat(32), From: '+14155550100', To: '+15550002222', CallStatus: 'ringing' }
  const root = parseTwiml((await a.inject(signedPost('/twilio/inbound', inbound))).body)
  const stream = root.children[0]?.children[0] as XmlNode
  const params = streamParams(stream)
  t.match(params, { token: /^1\./ }, 'A answered with a token')
  const tryOn = async (app: FastifyInstance): Promise<string> => {
    const ws = openMedia(await listen(app))
    t.teardown(() => ws.terminate())
    await opened(ws)
    const closed = closedWithin(ws, 3000).then((c) => c.reason, () => 'open')
    ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: 'MZx', start: { accountSid: inbound.AccountSid, streamSid: 'MZx', callSid: inbound.CallSid, tracks: ['inbound', 'outbound'], customParameters: params, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } }))
    await until('started or closed', () => app.calls.size === 1 || ws.readyState !== ws.OPEN)
    if (app.calls.size === 1) ws.close()
    return app.calls.size === 1 ? 'started' : await closed
  }
  t.equal(await tryOn(b), 'started', 'B verifies A\'s token: the key is config, not memory')
  t.equal(await tryOn(other), 'stream not authorised', 'another secret: refused')
  t.equal(await tryOn(derived), 'stream not authorised', 'no secret (derived from the auth token): refused too')
})
