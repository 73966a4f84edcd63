import t from 'tap'
import { once } from 'node:events'
import { buildTestApp, listen } from '../helpers.ts'
import { injectMedia, mediaFrame, openMedia, opened, startFrame, stopFrame, upgradeStatus } from '../media-helpers.ts'
import type { CallEvent, CallStoppedEvent } from '../../src/call/events.ts'
import { until } from '../until.ts'

t.test('upgrade: a valid signature on /media and /media/ gets 101; missing, wrong or https-form signatures get 403', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  t.equal(await upgradeStatus(openMedia(base)), 101)
  t.equal(await upgradeStatus(openMedia(base, { path: '/media/' })), 101, 'trailing slash form')
  t.equal(await upgradeStatus(openMedia(base, { signature: null })), 403, 'no signature')
  t.equal(await upgradeStatus(openMedia(base, { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' })), 403, 'wrong signature')
  const { signTwilioRequest } = await import('../../src/twilio/signature.ts')
  const httpsForm = signTwilioRequest('test-twilio-auth-token', 'https://talkhint.example.com/media', {})
  t.equal(await upgradeStatus(openMedia(base, { signature: httpsForm })), 403, 'https:// form is not what Twilio signs')
  t.equal(app.calls.size, 0)
})

t.test('subprotocol: audio.twilio.com echoed only when offered (real socket)', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  const offered = openMedia(base)
  t.teardown(() => offered.terminate())
  await opened(offered)
  t.equal(offered.protocol, 'audio.twilio.com')
  const none = openMedia(base, { protocols: [] })
  t.teardown(() => none.terminate())
  await opened(none)
  t.equal(none.protocol, '', 'no Sec-WebSocket-Protocol when none was offered')
  // A client offering only other protocols gets none back (raw upgrade, to read the headers).
  const headers = await rawUpgradeHeaders(base, 'chat, superchat')
  t.equal(headers.status, 101)
  t.equal(headers['sec-websocket-protocol'], undefined, 'never echo a protocol that was not offered')
  const both = await rawUpgradeHeaders(base, 'chat, audio.twilio.com')
  t.equal(both['sec-websocket-protocol'], 'audio.twilio.com')
})

async function rawUpgradeHeaders (base: string, protocols: string): Promise<Record<string, string | number | undefined>> {
  const { request } = await import('node:http')
  const { signTwilioRequest } = await import('../../src/twilio/signature.ts')
  return await new Promise((resolve, reject) => {
    const req = request(base + '/media', {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.alloc(16, 7).toString('base64'),
        'sec-websocket-protocol': protocols,
        'x-twilio-signature': signTwilioRequest('test-twilio-auth-token', 'wss://talkhint.example.com/media', {}),
      },
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode, 'sec-websocket-protocol': res.headers['sec-websocket-protocol'] as string | undefined })
    })
    req.on('response', (res) => resolve({ status: res.statusCode }))
    req.on('error', reject)
    req.end()
  })
}

t.test('an in-process upgrade (injectWS, as the frame tests below use) runs the same signature check', async (t) => {
  const app = await buildTestApp(t)
  await t.rejects(app.injectWS('/media'), /Unexpected server response: 403/, 'unsigned: refused')
  const ws = await injectMedia(app)
  t.equal(ws.readyState, ws.OPEN, 'signed: opened')
  ws.terminate()
})

t.test('two concurrent calls, one sending garbage: the good one loses no frame', async (t) => {
  const app = await buildTestApp(t)
  const stopped: CallStoppedEvent[] = []
  const events: CallEvent[] = []
  app.bus.subscribe((e) => { events.push(e); if (e.type === 'call.stopped') stopped.push(e) })
  const [good, bad] = await Promise.all([injectMedia(app), injectMedia(app)])
  t.teardown(() => { good.terminate(); bad.terminate() })
  good.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }))
  good.send(startFrame('CAgood', 'MZgood'))
  bad.send(startFrame('CAbad', 'MZbad'))
  const garbage = ['{nope', '[]', '{"event":"explode","streamSid":"MZbad"}', '{"event":"media","streamSid":"MZbad"}',
    '{"event":"media","streamSid":"MZother","media":{"track":"inbound","payload":"//8="}}', `{"x":"${'y'.repeat(70000)}"}`]
  const N = 150
  for (let i = 1; i <= N; i++) {
    good.send(mediaFrame('MZgood', 'inbound', i))
    good.send(mediaFrame('MZgood', 'outbound', i))
    bad.send(garbage[i % garbage.length])
    if (i % 10 === 0) bad.send(Buffer.from([1, 2, 3]))
    if (i % 3 === 0) bad.send(mediaFrame('MZbad', 'inbound', i))
  }
  good.send(stopFrame('CAgood', 'MZgood'))
  bad.send(stopFrame('CAbad', 'MZbad'))
  await until('two call.stopped', () => stopped.length === 2)
  const g = stopped.find((s) => s.callSid === 'CAgood')
  const b = stopped.find((s) => s.callSid === 'CAbad')
  t.same(g?.stats.frames, { inbound: N, outbound: N }, 'every good frame accounted per track')
  t.same(g?.stats.bytes, { inbound: N * 160, outbound: N * 160 })
  t.same(g?.stats.gaps, { inbound: 0, outbound: 0 })
  t.same(g?.stats.rejected, {}, 'the good call saw nothing bad')
  t.equal(b?.stats.frames.inbound, N / 3, 'the bad call still accounted its valid frames')
  t.match(b?.stats.rejected, { malformed_json: Number, not_an_object: Number, unknown_event: Number, missing_field: Number, wrong_stream: Number, oversize: Number, binary: 15 })
  t.equal(app.calls.size, 0, 'both calls left the registry')
})

t.test('a stream that never sends start is closed with 1008 and a reason', async (t) => {
  const app = await buildTestApp(t)
  const ws = await injectMedia(app)
  t.teardown(() => ws.terminate())
  const closed = once(ws, 'close')
  for (let i = 1; i <= 60; i++) ws.send(mediaFrame('MZnostart', 'inbound', i))
  const [code, reason] = await closed
  t.equal(code, 1008)
  t.equal(String(reason), 'no start message')
})

t.test('timestamp gaps are counted per track', async (t) => {
  const app = await buildTestApp(t)
  const stopped = new Promise<CallStoppedEvent>((resolve) => app.bus.subscribe((e) => { if (e.type === 'call.stopped') resolve(e) }))
  const ws = await injectMedia(app)
  t.teardown(() => ws.terminate())
  ws.send(startFrame('CAgap', 'MZgap', {}, ['inbound']))
  for (const i of [1, 2, 3, 7, 8, 20]) ws.send(mediaFrame('MZgap', 'inbound', i))
  ws.send(stopFrame('CAgap', 'MZgap'))
  const s = await stopped
  t.same(s.stats.gaps, { inbound: 2, outbound: 0 })
  t.same(s.stats.gapMs, { inbound: 60 + 220, outbound: 0 }, 'missing 4-6 (60 ms) and 9-19 (220 ms)')
})

t.test('a started call is registered, publishes call.started with its parameters, and a closed socket stops it', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  const events: CallEvent[] = []
  app.bus.subscribe((e) => events.push(e))
  const ws = openMedia(base)
  await opened(ws)
  ws.send(startFrame('CAreg', 'MZreg', { direction: 'outbound', to: '+14155550123' }))
  ws.send(mediaFrame('MZreg', 'inbound', 1))
  await until('CAreg to register', () => app.calls.get('CAreg'))
  t.equal(app.calls.get('CAreg')?.streamSid, 'MZreg')
  t.equal(app.calls.getByStream('MZreg')?.direction, 'outbound')
  t.match(events[0], { type: 'call.started', callSid: 'CAreg', direction: 'outbound', to: '+14155550123', bidirectional: false, tracks: ['inbound', 'outbound'] })
  ws.terminate()
  await until('CAreg to leave the registry', () => app.calls.size === 0)
  t.match(events.at(-1), { type: 'call.stopped', reason: 'closed' })
})

t.test('the socket close is logged with who closed it and how: Twilio normal (1000), going away (1001), lost (1006), our policy (1008)', async (t) => {
  const { Writable } = await import('node:stream')
  const { default: pino } = await import('pino')
  const lines: Array<{ msg: string, close?: string, code?: number, level: number }> = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  const app = await buildTestApp(t, { LOG_LEVEL: 'info', MEDIA_START_TIMEOUT_MS: '100' }, { loggerInstance: pino({ level: 'info' }, stream) })
  const base = await listen(app)
  const closeWith = async (how: (ws: ReturnType<typeof openMedia>) => void): Promise<void> => {
    const ws = openMedia(base)
    await opened(ws)
    ws.send(startFrame(`CAclose${lines.length}`, `MZclose${lines.length}`))
    await until('the call to register', () => app.calls.size === 1)
    how(ws)
    await until('the call to leave the registry', () => app.calls.size === 0)
  }
  await closeWith((ws) => ws.close(1000))
  await closeWith((ws) => ws.close(1001))
  await closeWith((ws) => ws.terminate())
  const idle = openMedia(base)
  await opened(idle)
  await once(idle, 'close')
  await until('four close log lines', () => lines.filter((l) => l.close !== undefined).length === 4)
  t.same(lines.filter((l) => l.close !== undefined).map((l) => [l.code, l.close]), [
    [1000, 'twilio_normal'], [1001, 'twilio_going_away'], [1006, 'twilio_abnormal'], [1008, 'server_policy'],
  ])
  t.equal(lines.find((l) => l.close === 'twilio_abnormal')?.level, 40, 'a lost connection is a warning; the others are info')
})
