import t from 'tap'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN, form, twilioSignature } from '../helpers.ts'
import { mediaFrame, openMedia, opened, startFrame, stopFrame } from '../media-helpers.ts'
import { parseTwiml, verbs } from '../twiml-xml.ts'
import { SHUTDOWN_STEPS } from '../../src/shutdown.ts'
import { until } from '../until.ts'

const SERVER = new URL('../../src/server.ts', import.meta.url).pathname

interface Server { child: ChildProcess, base: string, logs: Array<Record<string, unknown>>, exited: Promise<number | null> }

/** Starts the real server entry point as a child process, as a deploy would. */
async function startServer (t: { teardown (fn: () => unknown): void }, env: Record<string, string>): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-drain-'))
  const child = fork(SERVER, [], {
    env: {
      PATH: process.env.PATH ?? '',
      PUBLIC_BASE_URL: TEST_BASE_URL,
      TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
      DASHBOARD_TOKEN: TEST_DASHBOARD_TOKEN,
      OPERATOR_PHONE: '+15550001111',
      DATABASE_URL: `sqlite:${join(dir, 'talkhint.db')}`,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  const logs: Array<Record<string, unknown>> = []
  let buf = ''
  child.stdout?.on('data', (c: Buffer) => {
    buf += c.toString()
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      try { logs.push(JSON.parse(line)) } catch { /* not JSON */ }
    }
  })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const [msg] = await Promise.race([
    once(child, 'message'),
    exited.then((code) => { throw new Error(`server exited (${code}) before listening: ${stderr}`) }),
  ]) as [{ port: number }]
  return { child, base: `http://127.0.0.1:${msg.port}`, logs, exited }
}

async function webhook (base: string): Promise<string> {
  const params = { CallSid: 'CAnew', From: '+14155550199', To: '+15550002222' }
  const res = await fetch(base + '/twilio/inbound', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature('/twilio/inbound', params) },
    body: form(params),
  })
  return await res.text()
}

async function status (base: string, callSid: string, callStatus: string): Promise<Response> {
  const params = { CallSid: callSid, CallStatus: callStatus, CallDuration: '3' }
  return await fetch(base + '/twilio/call-status', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature('/twilio/call-status', params) },
    body: form(params),
  })
}

t.test('SIGTERM drains: healthz 503, new calls without AI, live calls finish uncut, then a clean exit', async (t) => {
  const srv = await startServer(t, { DRAIN_TIMEOUT_S: '60' })
  t.same(verbs(parseTwiml(await webhook(srv.base))), ['Start', 'Dial'], 'before the signal: streamed')

  const calls = ['CAlive1', 'CAlive2'].map((sid) => ({ sid, ws: openMedia(srv.base), sent: 0 }))
  await Promise.all(calls.map((c) => opened(c.ws)))
  for (const c of calls) c.ws.send(startFrame(c.sid, `MZ${c.sid}`))
  const pump = (n: number): void => {
    for (const c of calls) for (let i = 0; i < n; i++) c.ws.send(mediaFrame(`MZ${c.sid}`, 'inbound', ++c.sent))
  }
  pump(50)

  srv.child.kill('SIGTERM')
  await until('the drain log line', () => srv.logs.some((l) => l.msg === 'draining: new calls get no AI; waiting for live calls to end'), 10_000, 20)
  const health = await fetch(srv.base + '/healthz')
  t.equal(health.status, 503)
  t.same(await health.json(), { status: 'draining' })
  t.same(verbs(parseTwiml(await webhook(srv.base))), ['Dial'], 'during the drain: a plain dial to the operator')

  // The live calls keep streaming after the signal; the stats at their stop (below) show none was cut.
  pump(100)
  pump(50)
  for (const c of calls) c.ws.send(stopFrame(c.sid, `MZ${c.sid}`))

  // Twilio posts each call's final status a moment after the call ends: the server is still there to take it.
  await until('the all-ended log line', () => srv.logs.some((l) => l.msg === 'all calls ended; shutting down'), 10_000, 20)
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (const c of calls) {
    const res = await status(srv.base, c.sid, 'completed')
    t.equal(res.status, 204, `${c.sid}: final status callback accepted during the drain`)
  }
  t.equal(await srv.exited, 0, 'exits cleanly once the calls ended and settled, long before the timeout')
  t.ok(srv.logs.some((l) => l.msg === 'last calls settled (final status and summary in)'))
  t.same(srv.logs.filter((l) => l.part === 'shutdown').map((l) => l.step), SHUTDOWN_STEPS, 'the signal ran every shutdown step once, in order')
  const stops = srv.logs.filter((l) => l.msg === 'media stream stopped')
  t.equal(stops.length, 2)
  for (const s of stops) {
    t.equal(s.reason, 'stop', `${String(s.callSid)} ended by its own stop, not by the server`)
    t.match(s.stats, { frames: { inbound: 200 } }, 'every frame accounted')
  }
  t.ok(srv.logs.some((l) => l.msg === 'all calls ended; shutting down'))
})

t.test('SIGTERM with a call that outlives DRAIN_TIMEOUT_S: it is closed with 1001 at the timeout, then exit', async (t) => {
  const srv = await startServer(t, { DRAIN_TIMEOUT_S: '1' })
  const ws = openMedia(srv.base)
  await opened(ws)
  ws.send(startFrame('CAlong', 'MZlong'))
  ws.send(mediaFrame('MZlong', 'inbound', 1))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const closed = once(ws, 'close')
  const signalledAt = Date.now()
  srv.child.kill('SIGTERM')
  const [code] = await closed
  t.equal(code, 1001, 'going away')
  t.ok(Date.now() - signalledAt >= 900, 'not cut before the drain timeout')
  t.equal(await srv.exited, 0)
  t.ok(srv.logs.some((l) => l.msg === 'drain timeout reached; closing remaining calls'))
})

t.test('SIGKILL mid-call: at the next start the call is closed as interrupted, not "never ended"', async (t) => {
  const db = `sqlite:${join(mkdtempSync(join(tmpdir(), 'talkhint-kill-')), 'talkhint.db')}`
  const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
  const srv = await startServer(t, { DATABASE_URL: db })
  const ws = openMedia(srv.base)
  await opened(ws)
  ws.send(startFrame('CAkilled', 'MZkilled'))
  ws.send(mediaFrame('MZkilled', 'inbound', 1))
  // Killed only once the call row is stored, as a real call would be (the recorder writes within milliseconds).
  for (let i = 0; (await fetch(srv.base + '/api/calls/CAkilled', { headers: auth })).status !== 200; i++) {
    if (i > 200) throw new Error('the call was never stored')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  srv.child.kill('SIGKILL')
  await srv.exited
  ws.terminate()

  const next = await startServer(t, { DATABASE_URL: db })
  const res = await fetch(next.base + '/api/calls/CAkilled', { headers: auth })
  const { call } = await res.json() as { call: { status: string | null, endedAt: number | null } }
  t.equal(call.status, 'interrupted')
  t.type(call.endedAt, 'number', 'it has an end')
  t.ok(next.logs.some((l) => l.msg === 'calls left open by an earlier crash closed as interrupted'), 'logged once at start-up')
  next.child.kill('SIGTERM')
  t.equal(await next.exited, 0)
})

t.test('a bad configuration stops start-up with one message naming every problem', async (t) => {
  const child = fork(SERVER, [], { env: { PATH: process.env.PATH ?? '', PUBLIC_BASE_URL: 'http://x.example.com', MODE: 'robot' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'exit')
  t.equal(code, 78)
  t.match(stderr, /PUBLIC_BASE_URL must be an https:\/\/ URL/)
  t.match(stderr, /TWILIO_AUTH_TOKEN is required/)
  t.match(stderr, /MODE must be one of assist, agent/)
})
