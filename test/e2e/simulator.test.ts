import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { CallEvent, CallStartedEvent, CallStoppedEvent } from '../../src/call/events.ts'
import { parseWav } from '../../src/audio/wav.ts'
import { FIXTURES, loadTrackAudio } from '../../tools/sim/audio.ts'
import { simulateCall } from '../../tools/sim/simulate.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime } from '../../fakes/realtime-server.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL } from '../helpers.ts'

const CLI = fileURLToPath(new URL('../../tools/call.ts', import.meta.url))
const SPEED = 100

/** Watches the real app: call events on the bus and the first media payload per track. */
function watch (app: FastifyInstance) {
  const events: CallEvent[] = []
  const firstPayload: Record<string, string> = {}
  let resolveStopped: (e: CallStoppedEvent) => void
  const stopped = new Promise<CallStoppedEvent>((resolve) => { resolveStopped = resolve })
  app.bus.subscribe((e) => {
    events.push(e)
    if (e.type === 'call.stopped') resolveStopped(e)
  })
  app.calls.use(() => ({ media: (f) => { firstPayload[f.track] ??= f.payload } }))
  return { events, firstPayload, stopped, started: () => events.find((e): e is CallStartedEvent => e.type === 'call.started') }
}

const [caller, operator] = await Promise.all([loadTrackAudio(FIXTURES.caller), loadTrackAudio(FIXTURES.operator)])

t.test('assist call: both tracks reach the server frame for frame, caller on inbound, operator on outbound', async (t) => {
  const app = await buildTestApp(t)
  const serverUrl = await listen(app)
  const w = watch(app)
  const r = await simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, speed: SPEED, from: '+15555550100', to: '+15550002222' })
  const stopped = await w.stopped
  t.equal(r.ok, true, 'clean call')
  t.same(r.problems, [])
  t.match(w.started(), { callSid: r.callSid, streamSid: r.stream?.streamSid, direction: 'inbound', from: '+15555550100', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, mode: 'assist' })
  t.equal(stopped.reason, 'stop')
  t.equal(r.sent.inbound.frames, Math.ceil(caller.ms / 20) + 50, 'caller audio then the 1 s tail')
  t.equal(r.sent.outbound.frames, r.sent.inbound.frames, 'operator track padded with silence to the same length')
  t.same(stopped.stats.frames, { inbound: r.sent.inbound.frames, outbound: r.sent.outbound.frames }, 'server counted every frame sent')
  t.same(stopped.stats.bytes, { inbound: r.sent.inbound.bytes, outbound: r.sent.outbound.bytes })
  t.same(stopped.stats.gaps, { inbound: 0, outbound: 0 }, 'no timestamp gaps')
  t.same(stopped.stats.rejected, {}, 'the server rejected nothing we sent')
  t.equal(w.firstPayload.inbound, caller.frames[0], 'inbound track carries the caller')
  t.equal(w.firstPayload.outbound, operator.frames[0], 'outbound track carries the operator')
  t.ok(w.events.some((e) => e.type === 'call.webhook' && e.callSid === r.callSid), 'the webhook reached the bus')
  t.ok(w.events.some((e) => e.type === 'call.status' && e.status === 'completed'), 'the call-status callback was accepted')
})

t.test('click-to-call leg: /twilio/outbound?to=…, and the leg\'s inbound track is the operator', async (t) => {
  const app = await buildTestApp(t)
  const serverUrl = await listen(app)
  const w = watch(app)
  const r = await simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, speed: SPEED, outbound: '+14155550123' })
  const stopped = await w.stopped
  t.equal(r.ok, true)
  t.equal(r.webhook.url, `${TEST_BASE_URL}/twilio/outbound?to=%2B14155550123`)
  t.match(w.started(), { direction: 'outbound', to: '+14155550123', tracks: ['inbound', 'outbound'] })
  t.equal(w.firstPayload.inbound, operator.frames[0], 'inbound = operator on a click-to-call leg')
  t.equal(w.firstPayload.outbound, caller.frames[0], 'outbound = the remote party')
  t.same(stopped.stats.frames, { inbound: r.sent.inbound.frames, outbound: r.sent.outbound.frames })
  t.same(stopped.stats.gaps, { inbound: 0, outbound: 0 })
})

t.test('agent call: bidirectional inbound-only stream with DTMF, accounted by the server', async (t) => {
  const app = await buildTestApp(t, { MODE: 'agent' })
  const serverUrl = await listen(app)
  const w = watch(app)
  const r = await simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, speed: SPEED, dtmf: [{ digit: '7', atMs: 0 }] })
  const stopped = await w.stopped
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  t.match(w.started(), { mode: 'agent', tracks: ['inbound'], bidirectional: true })
  t.equal(r.sent.outbound.frames, 0)
  t.ok(w.events.some((e) => e.type === 'call.dtmf' && e.digit === '7'), 'the keypress reached the bus')
  t.ok(r.sent.inbound.frames > 0 && stopped.stats.frames.inbound > 0)
  // With no AI configured the server may end <Connect> itself ("ai off"); frames in flight then are not counted.
  if (r.close?.by === 'server') {
    t.ok(stopped.stats.frames.inbound <= r.sent.inbound.frames, 'server ended the stream: it counted what arrived before')
    t.match(r.close, { code: 1000 })
  } else {
    t.equal(stopped.stats.frames.inbound, r.sent.inbound.frames, 'server counted every frame sent')
    t.equal(stopped.reason, 'stop')
  }
  t.same(stopped.stats.gaps, { inbound: 0, outbound: 0 })
  t.same(stopped.stats.rejected, {})
  // Twilio ignores what arrives after its `stop`, so the simulator may have played less than the server sent.
  t.ok(r.received.media <= stopped.stats.framesOut, 'the simulator played only what the server sent back')
  t.ok(r.replyAudio !== undefined, 'a bidirectional call yields reply audio (silence if the server sent none)')
})

t.test('agent call with the AI (fake Realtime API): the greeting plays back and its marks are echoed', async (t) => {
  const fake = await startFakeRealtime({})
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { MODE: 'agent', OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url })
  const serverUrl = await listen(app)
  const w = watch(app)
  // Speed 10 and a 10 s tail: the bridge has 1.6 s of wall time to connect and greet before the hang-up.
  const r = await simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, speed: 10, tailMs: 10_000 })
  const stopped = await w.stopped
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  t.ok(r.received.media > 0, `the server spoke (${r.received.media} media messages)`)
  t.equal(r.received.media, stopped.stats.framesOut, 'every media message the server sent was played')
  t.ok(r.received.marks > 0 && r.received.marksEchoed === r.received.marks, `every mark was echoed (${r.received.marks})`)
  t.ok(r.replyAudio !== undefined && r.replyAudio.some((b) => b !== 0xff), 'the reply audio holds the greeting')
  t.equal(stopped.stats.frames.inbound, r.sent.inbound.frames, 'and the caller side lost no frame')
  t.same(stopped.stats.gaps, { inbound: 0, outbound: 0 })
})

t.test('a wrong token or base URL is a clear 403; an unreachable server says so', async (t) => {
  const app = await buildTestApp(t)
  const serverUrl = await listen(app)
  await t.rejects(simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: 'wrong-token', speed: SPEED }),
    { name: 'SimError', code: 'WEBHOOK_FORBIDDEN', message: /403.*PUBLIC_BASE_URL must be exactly https:\/\/talkhint\.example\.com.*TWILIO_AUTH_TOKEN/ })
  await t.rejects(simulateCall({ serverUrl, publicBaseUrl: 'https://elsewhere.example.com', authToken: TEST_AUTH_TOKEN, speed: SPEED }), { code: 'WEBHOOK_FORBIDDEN' })
  t.equal(app.calls.size, 0, 'no call started')

  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
  await t.rejects(simulateCall({ serverUrl: `http://127.0.0.1:${port}`, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN }),
    { code: 'SERVER_UNREACHABLE', message: /ECONNREFUSED.*Is the server running/ })
})

t.test('npm run call: the CLI runs a clean call, writes the reply WAV, and exits 2 with the reason on a 403', async (t) => {
  const app = await buildTestApp(t, { MODE: 'agent' })
  const serverUrl = await listen(app)
  // An empty working directory, so a developer's .env cannot leak into the test.
  const cwd = mkdtempSync(join(tmpdir(), 'talkhint-call-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  const cli = (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [CLI, '--server', serverUrl, '--public-base-url', TEST_BASE_URL, '--speed', String(SPEED), ...args],
      { cwd, env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr }))
  })
  const out = join(cwd, 'reply.wav')
  const ok = await cli(['--auth-token', TEST_AUTH_TOKEN, '--out', out, '--dtmf', '1@0.1s'])
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, /webhook +POST https:\/\/talkhint\.example\.com\/twilio\/inbound → 200/)
  t.match(ok.stdout, /── summary: OK/)
  t.match(ok.stdout, /sent +inbound \d+ frames/)
  t.match(parseWav(readFileSync(out)), { encoding: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16 })

  const denied = await cli(['--auth-token', 'wrong-token', '--quiet'])
  t.equal(denied.code, 2)
  t.match(denied.stderr, /WEBHOOK_FORBIDDEN: .*TWILIO_AUTH_TOKEN/)
  const help = await cli(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /--outbound \+E164/)
})
