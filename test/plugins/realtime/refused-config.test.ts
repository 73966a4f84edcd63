/** A session config OpenAI refuses: no retry loop, the API's words in the log and on the dashboard, counted, and the call goes on (agent: fallback within 5 s). */
import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import type { AiStatusEvent, CallEvent } from '../../../src/call/events.ts'
import { simulateCall } from '../../../tools/sim/simulate.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime } from '../../../fakes/realtime-server.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN } from '../../helpers.ts'
import { callSid, frame, realtimeHarness, sleep } from '../../realtime-harness.ts'

interface LogLine { level: number, msg: string, code?: string, param?: string, message?: string }

function logCapture (): { lines: LogLine[], loggerInstance: pino.Logger } {
  const lines: LogLine[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk)) as LogLine); cb() } })
  return { lines, loggerInstance: pino({ level: 'info' }, stream) }
}

async function refusedMetric (app: FastifyInstance, kind: string): Promise<number> {
  const body = (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })).body
  const line = body.split('\n').find((l) => l.startsWith(`talkhint_ai_config_refused_total{kind="${kind}"}`))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

const refusedEvents = (events: CallEvent[]): AiStatusEvent[] => events.filter((e): e is AiStatusEvent => e.type === 'ai.status' && e.status === 'refused')

t.test('agent with an unknown voice: the caller reaches the fallback in under 5 s, end to end through the simulator', async (t) => {
  const fake = await startFakeRealtime()
  t.teardown(() => fake.close())
  const log = logCapture()
  const app = await buildTestApp(t, { MODE: 'agent', VOICE: 'robot', OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, LOG_LEVEL: 'info' }, { loggerInstance: log.loggerInstance })
  const serverUrl = await listen(app)
  const events: CallEvent[] = []
  app.bus.subscribe((e) => { events.push(e) })
  // Real time (speed 1): the call clock is the wall clock, so durationMs is what the caller lived through.
  const r = await simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, speed: 1, tailMs: 10_000 })
  t.equal(r.close?.by, 'server', 'the server ended the stream (Twilio then runs the fallback: a sentence, then the operator)')
  t.ok(r.durationMs < 5000, `stream start → fallback took ${r.durationMs} ms (< 5000)`)

  // The fallback hands the caller to a person, whose leg opens its own transcription sessions: count the agent's.
  const agentSessions = fake.connections.filter((c) => c.kind === 'realtime')
  t.equal(agentSessions.length, 1, 'one agent session, no retry loop on a refused config')
  const conn = agentSessions[0]
  t.match(conn?.errors, [{ param: 'session.audio.output.voice' }], 'the fake refused the voice')
  const apiMessage = String(conn?.errors[0]?.message)
  const errors = log.lines.filter((l) => l.level >= 50 && l.msg.includes('refused the session config'))
  t.equal(errors.length, 1, 'logged once, at error level')
  t.match(errors[0], { param: 'session.audio.output.voice', code: 'invalid_value', message: apiMessage }, 'with the API\'s own message, param and code')

  const refused = refusedEvents(events)
  t.equal(refused.length, 1, 'one ai.status refused')
  t.match(refused[0], { callSid: r.callSid, detail: apiMessage, kind: 'realtime' })
  // The dashboard showed it (shown as "AI: config refused — …") until the person's leg took over with its own AI.
  const call = app.hub.snapshot().calls.find((c) => c.callSid === r.callSid)
  t.match(call?.errors ?? [], [], 'no call error beyond the refusal')
  t.match(call?.handoff, { reason: 'fallback' }, 'and the caller was handed to a person with a briefing')
  t.equal(await refusedMetric(app, 'realtime'), 1, 'counted in /metrics')
})

t.test('assist with VAD on a model that takes none: both sessions refused once, the call goes on, the next call tries again', async (t) => {
  const log = logCapture()
  const h = await realtimeHarness(t, { TRANSCRIBE_MODEL: 'gpt-realtime-whisper', TRANSCRIBE_TURNS: 'server_vad', LOG_LEVEL: 'info' }, {}, { loggerInstance: log.loggerInstance })
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'assist' })
  const refused = await h.waitEvent<AiStatusEvent>((e) => e.type === 'ai.status' && e.status === 'refused')
  // Twilio keeps streaming for a while: 3 s of both tracks, long past any backoff the bridge would use.
  for (let i = 0; i < 150; i++) {
    call.media(frame(i), 'inbound')
    call.media(frame(1000 + i), 'outbound')
    if (i % 10 === 0) await sleep(20)
  }
  await sleep(1500)
  t.equal(h.fake.connections.length, 2, 'one session per track, neither retried')
  t.ok(h.fake.connections.every((c) => c.closed), 'both closed')
  t.ok(h.fake.connections.every((c) => c.errors.length === 1 && c.errors[0]?.param === 'session.audio.input.turn_detection'))
  t.equal(call.ws.readyState, call.ws.OPEN, 'the call carries on as a plain call')
  t.match(refused, { callSid: sid, kind: 'transcription', detail: /Turn detection is not supported/ })
  t.equal(refusedEvents(h.events).length, 1, 'published once for the call, not per track')
  t.ok(log.lines.some((l) => l.level >= 50 && l.param === 'session.audio.input.turn_detection'), 'the API\'s param is in the error log')
  t.equal(await refusedMetric(h.app, 'transcription'), 1)
  call.stop()

  const next = await h.call({ callSid: callSid(), mode: 'assist' })
  await h.fake.waitForConnection((c) => c.id === 4)
  await h.waitEvent((e) => e.type === 'ai.status' && e.status === 'refused' && e.callSid !== sid)
  t.equal(h.fake.connections.length, 4, 'the next call opens its own sessions: no latch across calls')
  t.equal(await refusedMetric(h.app, 'transcription'), 2)
  next.stop()
})
