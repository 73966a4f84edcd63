import t from 'tap'
import { simulateCall, type SimResult } from '../../tools/sim/simulate.ts'
import { randomSid } from '../../tools/sim/webhook.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime, tone, type FakeRealtimeConnection } from '../../fakes/realtime-server.ts'
import { buildTestApp, listen, signedPost, TEST_AUTH_TOKEN, TEST_BASE_URL } from '../helpers.ts'
import { parseTwiml } from '../twiml-xml.ts'
import { until } from '../until.ts'

type Json = Record<string, unknown>

/** The app in agent mode without TWILIO_ACCOUNT_SID, on the fake Realtime API, called by the simulator as Twilio would. */
async function agentCall (t: { teardown (fn: () => unknown): void }, answer: (conn: FakeRealtimeConnection, event: Json) => void, overrides: Record<string, string | undefined> = {}): Promise<SimResult> {
  const fake = await startFakeRealtime({ onResponseCreate: answer })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { MODE: 'agent', OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, ...overrides })
  const serverUrl = await listen(app)
  return await simulateCall({ serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, speed: 10, tailMs: 20_000 })
}

const verbs = (r: SimResult): string[] => r.connectAction?.twiml?.verbs.map((v) => v.verb) ?? []

t.test('end_call without TWILIO_ACCOUNT_SID: the goodbye plays, the server ends <Connect>, and its action hangs up', async (t) => {
  const r = await agentCall(t, (conn, event) => {
    const bye = String((event.response as Json | undefined)?.instructions ?? '').includes('goodbye')
    conn.respond({ chunks: [tone(200, bye ? 7 : 1)], transcript: bye ? 'Goodbye!' : 'Hello!' })
    if (!bye) setTimeout(() => conn.functionCall('end_call', { reason: 'caller is done' }), 50)
  })
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  t.match(r.close, { by: 'server', code: 1000 })
  t.equal(r.received.audioBytes, 2 * 200 * 8, 'greeting and goodbye both played before the stream ended')
  t.equal(r.received.marksEchoed, r.received.marks)
  t.match(r.connectAction, { url: `${TEST_BASE_URL}/twilio/connect-action`, status: 200 })
  t.same(verbs(r), ['Hangup'], 'the call ends: no transfer to the operator')
})

t.test('transfer_to_operator without TWILIO_ACCOUNT_SID: the action answers with the warm transfer, which the simulator plays', async (t) => {
  const r = await agentCall(t, (conn) => {
    conn.respond({ chunks: [tone(100)], transcript: 'Hello!' })
    setTimeout(() => conn.functionCall('transfer_to_operator', { reason: 'wants a person' }), 50)
  })
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  t.same(verbs(r), ['Say', 'Start', 'Dial'], 'a sentence, the copilot\'s fork, the operator\'s dial')
  t.match(r.connectAction?.twiml?.verbs[2], { verb: 'Dial', target: '+15550001111' })
  t.match(r.afterConnect, { said: ['Connecting you to a person now.'], dials: [{ to: '+15550001111', status: 'completed' }], ended: 'hangup' })
})

t.test('responses that keep failing: one retry, then the action says sorry and dials the operator', async (t) => {
  const r = await agentCall(t, (conn) => {
    const id = `resp_fail_${conn.received.length}`
    conn.send({ type: 'response.created', response: { id, object: 'realtime.response', status: 'in_progress', output: [] } })
    conn.send({ type: 'response.done', response: { id, object: 'realtime.response', status: 'failed', status_details: { type: 'failed', error: { type: 'server_error', code: 'internal_error' } }, output: [] } })
  })
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  t.ok(r.durationMs < 5000, `the caller was not left waiting (${Math.round(r.durationMs)} ms of call time)`)
  t.same(verbs(r), ['Say', 'Start', 'Dial'])
  t.match(r.connectAction?.twiml?.verbs[0], { verb: 'Say', text: /technical trouble/ })
})

t.test('AI off (no OPENAI_API_KEY): the server ends <Connect> at once; no record, so the action hands over to the operator', async (t) => {
  const r = await agentCall(t, () => {}, { OPENAI_API_KEY: undefined })
  t.match(r.close, { by: 'server', code: 1000 })
  t.same(verbs(r), ['Say', 'Start', 'Dial'])
  t.match(r.connectAction?.twiml?.verbs[0], { verb: 'Say', text: /technical trouble/ }, 'an unrecorded end is handed over as a fallback')
})

const REDIS = process.env.REDIS_URL_TEST
t.test('with REDIS_URL, an action request that lands on another instance gets the same answer', { skip: REDIS === undefined ? 'needs REDIS_URL_TEST (a real Redis; .ci/run sets it)' : false }, async (t) => {
  const env = { MODE: 'agent', REDIS_URL: REDIS, REDIS_PREFIX: `test-${randomSid('CA').slice(2, 12)}` }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, env)
  t.ok(a.eventFeed?.started === true && b.eventFeed?.started === true, 'both instances joined the fan-out')
  const callSid = randomSid('CA')
  a.bus.publish({ type: 'stream.outcome', callSid, at: Date.now(), outcome: 'hangup' })
  const ask = async (): Promise<string[]> => parseTwiml((await b.inject(signedPost('/twilio/connect-action', { CallSid: callSid }))).body).children.map((c) => c.name)
  let answer: string[] = []
  await until(() => `B to answer Hangup (last: ${answer.join(', ')})`, async () => (answer = await ask())[0] === 'Hangup', 5000, 20)
  t.same(answer, ['Hangup'], 'B learned from A why the stream ended')
})
