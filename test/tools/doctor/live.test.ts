/** doctor --live against the fake Realtime and Responses APIs: accepted, refused (the API's words), unanswered, all closed. */
import t from 'tap'
import { agentSessionUpdate, transcriptionSessionUpdate } from '../../../src/ai/events.ts'
import { createOpenAIClient } from '../../../src/ai/openai.ts'
import { createSdkConnect } from '../../../src/ai/realtime-connection.ts'
import { formatReport, runDoctor } from '../../../tools/doctor/doctor.ts'
import { runLiveChecks, settingFor, type LiveDeps } from '../../../tools/doctor/live.ts'
import { checkModels } from '../../../tools/doctor/models-check.ts'
import type { CheckResult } from '../../../tools/doctor/types.ts'
import { createFakeResponses, type FakeOpenAIOptions } from '../../../fakes/openai-http.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime, type FakeRealtimeOptions } from '../../../fakes/realtime-server.ts'
import { testConfig } from '../../helpers.ts'

interface T { teardown (fn: () => unknown): void }

/** One OPENAI_BASE_URL serving both fakes, as production has one base URL for both APIs. */
async function fakes (t: T, http: FakeOpenAIOptions = {}, realtime: FakeRealtimeOptions = {}) {
  const responses = createFakeResponses({ apiKey: FAKE_OPENAI_KEY, ...http })
  const fake = await startFakeRealtime({ http: responses.listener, ...realtime })
  t.teardown(async () => {
    responses.stop()
    await fake.close()
  })
  return { fake, responses }
}

/** The server's own client and connector on the config (what tools/doctor.ts passes). */
function liveDeps (config: ReturnType<typeof testConfig>): LiveDeps {
  const client = createOpenAIClient(config)
  if (client === undefined) throw new Error('no key')
  return { connect: createSdkConnect(client), responses: client }
}

const byId = (checks: readonly CheckResult[], id: string): CheckResult => {
  const c = checks.find((x) => x.id === id)
  if (c === undefined) throw new Error(`no ${id}`)
  return c
}

t.test('accepted: the exact session.update of each session, one minimal request per text model, every socket closed', async (t) => {
  const { fake, responses } = await fakes(t)
  const config = testConfig({ OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, MODE: 'agent', LANGUAGE: 'en' })
  const checks = await runLiveChecks(config, liveDeps(config), 5000)
  t.same(checks.map((c) => [c.id, c.status]), [['openai-assist', 'pass'], ['openai-agent', 'pass'], ['openai-hint', 'pass'], ['openai-summary', 'pass']])
  t.match(byId(checks, 'openai-assist').message, /^2 transcription sessions \(TRANSCRIBE_MODEL=gpt-transcribe\): accepted \(\d+ ms, \d+ ms\)$/)
  t.match(byId(checks, 'openai-agent').message, /^realtime session \(REALTIME_MODEL=gpt-realtime-2\.1, VOICE=marin\): accepted/)

  t.same(fake.connections.map((c) => c.url).sort(), ['/v1/realtime?intent=transcription', '/v1/realtime?intent=transcription', '/v1/realtime?model=gpt-realtime-2.1'])
  for (const conn of fake.connections) {
    t.ok(conn.closed, `connection ${conn.id} closed when the checks returned`)
    t.same(conn.received.map((e) => e.type), ['session.update'], 'only the session.update: no audio, no response, no call')
    const { event_id: _id, ...sent } = conn.received[0] as Record<string, unknown>
    t.same(sent, conn.kind === 'transcription' ? transcriptionSessionUpdate(config) : agentSessionUpdate(config), 'what a call sends, byte for byte')
    t.same(conn.errors, [])
  }

  t.equal(responses.requests.length, 2)
  const hint = responses.requests.find((r) => r.stream)
  const summary = responses.requests.find((r) => !r.stream)
  t.match(hint?.body, { model: 'gpt-5.4-mini', input: 'ping', store: false, max_output_tokens: 16, stream: true })
  t.match(summary?.body, { model: 'gpt-5.4-mini', store: false, max_output_tokens: 16, text: { format: { type: 'json_schema', name: 'call_summary', strict: true } } })
  await Promise.all(responses.requests.map((r) => r.finished))
})

t.test('refused: the API\'s message and param, the setting to change; an unknown text model is named', async (t) => {
  const { fake } = await fakes(t, { unknownModels: ['gpt-nope'] })
  const config = testConfig({ OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, MODE: 'agent', VOICE: 'robot', HINT_MODEL: 'gpt-nope' })
  const checks = await runLiveChecks(config, liveDeps(config), 5000)
  t.same(checks.map((c) => [c.id, c.status]), [['openai-assist', 'pass'], ['openai-agent', 'fail'], ['openai-hint', 'fail'], ['openai-summary', 'pass']])

  const agent = byId(checks, 'openai-agent')
  t.match(agent.message, /^realtime session \(REALTIME_MODEL=gpt-realtime-2\.1, VOICE=robot\): refused: Invalid value: 'robot'\. Supported values are: 'alloy'.* \(param session\.audio\.output\.voice, code invalid_value\)$/)
  t.match(agent.fix, /^Calls send exactly this, so they would fail the same way: change VOICE /)
  const hint = byId(checks, 'openai-hint')
  t.match(hint.message, /refused: HTTP 404: The model `gpt-nope` does not exist or you do not have access to it\. \(code model_not_found\)$/)
  t.match(hint.fix, /change HINT_MODEL /)
  for (const conn of fake.connections) t.ok(conn.closed, `connection ${conn.id} closed`)
  const agentConn = fake.connections.find((c) => c.kind === 'realtime')
  t.same(agentConn?.received.map((e) => e.type), ['session.update'], 'nothing more after the refusal')
})

t.test('a wrong key: the handshake and the Responses API both refuse it', async (t) => {
  const { fake } = await fakes(t)
  const config = testConfig({ OPENAI_API_KEY: 'sk-wrong', OPENAI_BASE_URL: fake.url })
  const checks = await runLiveChecks(config, liveDeps(config), 5000)
  t.same(checks.map((c) => [c.id, c.status]), [['openai-assist', 'fail'], ['openai-agent', 'skip'], ['openai-hint', 'fail'], ['openai-summary', 'fail']])
  t.match(byId(checks, 'openai-assist').message, /refused: the handshake was answered with HTTP 401 \(the API key was not accepted\)/)
  t.match(byId(checks, 'openai-assist').details, ['inbound track: refused: the handshake was answered with HTTP 401', 'outbound track: refused'])
  t.match(byId(checks, 'openai-agent').message, /MODE=assist opens no agent session/)
  t.match(byId(checks, 'openai-hint').message, /refused: HTTP 401: Incorrect API key provided/)
  for (const id of ['openai-assist', 'openai-hint', 'openai-summary']) t.match(byId(checks, id).fix, /change OPENAI_API_KEY/, `${id}: the fix names the key, not the model`)
  t.equal(fake.connections.length, 0)
})

t.test('no answer: each check gives up at its timeout and closes its socket', async (t) => {
  const { fake, responses } = await fakes(t, { reply: () => ({ hangAfter: 0 }) }, { readyDelayMs: 3000 })
  const config = testConfig({ OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, MODE: 'agent' })
  const started = Date.now()
  const checks = await runLiveChecks(config, liveDeps(config), 400)
  const took = Date.now() - started
  t.ok(took < 400 + 1000 + 500, `all at once, then closed: ${took} ms`)
  t.same(checks.map((c) => c.status), ['fail', 'fail', 'fail', 'fail'])
  t.match(byId(checks, 'openai-agent').message, /no answer: no session\.updated or error within 400 ms/)
  t.match(byId(checks, 'openai-hint').message, /no answer: no answer within 400 ms/)
  t.match(byId(checks, 'openai-hint').fix, /status\.openai\.com/)
  t.equal(fake.connections.length, 3)
  for (const conn of fake.connections) t.ok(conn.closed, `connection ${conn.id} closed`)
  await Promise.all(responses.requests.map((r) => r.finished))
  t.ok(responses.requests.every((r) => r.clientClosed), 'both requests aborted')
})

t.test('without OPENAI_API_KEY every live check fails and says so; runDoctor adds them only with live', async (t) => {
  const checks = await runLiveChecks(testConfig(), undefined, 1000)
  t.ok(checks.every((c) => c.status === 'fail' && /OPENAI_API_KEY is not set/.test(c.message)))
  const env = { PUBLIC_BASE_URL: 'https://talkhint.example.com', TWILIO_AUTH_TOKEN: 'tok', DASHBOARD_TOKEN: 'dashboard-token-123' }
  const deps = { httpGet: async () => ({ status: 200, body: '{"status":"ok"}' }), wsHandshake: async () => ({ kind: 'open' as const, protocol: 'audio.twilio.com' }) }
  const plain = await runDoctor({ env, timeoutMs: 100, localVersion: '0.0.0' }, deps)
  t.notOk(plain.checks.some((c) => c.id.startsWith('openai-')))
  const live = await runDoctor({ env, timeoutMs: 100, localVersion: '0.0.0', live: true }, { ...deps, live: () => undefined })
  t.same(live.checks.slice(-4).map((c) => [c.id, c.status]), [['openai-assist', 'fail'], ['openai-agent', 'fail'], ['openai-hint', 'fail'], ['openai-summary', 'fail']])
  t.match(formatReport(live), /^✗ OpenAI hint model: OPENAI_API_KEY is not set: nothing to check$/m)
})

t.test('the models check warns with one line per retiring model and never fails', async (t) => {
  const now = new Date('2026-12-02T12:00:00Z')
  t.equal(checkModels(testConfig(), now).status, 'pass')
  const old = checkModels(testConfig({ REALTIME_MODEL: 'gpt-realtime', TRANSCRIBE_MODEL: 'gpt-4o-transcribe' }), now)
  t.equal(old.status, 'warn')
  t.equal(old.message, '2 configured models have an announced shutdown date')
  t.match(old.details, [/^gpt-realtime \(REALTIME_MODEL\) shuts down on 2027-01-20, 48 days left: use gpt-realtime-2\.1 \[openai@/, /^gpt-4o-transcribe \(TRANSCRIBE_MODEL\) shuts down on 2027-02-26, 85 days left: use gpt-transcribe \[openai@/])
  const empty = checkModels(testConfig(), now, { sdkVersion: undefined, entries: new Map(), problem: 'no files' })
  t.same([empty.status, empty.message], ['warn', 'cannot check: no files'])
})

t.test('a refused param names the setting behind it', async (t) => {
  t.equal(settingFor('session.audio.input.transcription.model'), 'TRANSCRIBE_MODEL')
  t.equal(settingFor('session.audio.input.transcription.language'), 'LANGUAGE')
  t.equal(settingFor('session.audio.input.turn_detection'), 'TURN_DETECTION')
  t.equal(settingFor('session.audio.input.turn_detection', 'transcription'), 'TRANSCRIBE_TURNS (or TRANSCRIBE_MODEL)', 'a transcription session: its own turn setting')
  t.equal(settingFor('session.audio.output.voice'), 'VOICE')
  t.equal(settingFor('session.model'), 'REALTIME_MODEL')
  t.equal(settingFor('session.tools'), undefined)
  t.equal(settingFor(undefined), undefined)
})
