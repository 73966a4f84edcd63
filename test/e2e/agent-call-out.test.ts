/** Outbound agent calls end to end: the dashboard API places the call, the simulator plays Twilio's AMD verdict. */
import t, { type Test } from 'tap'
import { simulateCall, simulateUnansweredCall, type PlacedCall } from '../../tools/sim/simulate.ts'
import type { SimEvent } from '../../tools/sim/types.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime, tone } from '../../fakes/realtime-server.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../fakes/twilio-rest.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN } from '../helpers.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
const PURPOSE = 'Confirm the cleaning on Tuesday at 3 pm'
type Json = Record<string, unknown>

/** The app on the fake Realtime API and the fake Twilio REST; `place` asks for an agent call and returns what Twilio was asked to do. */
async function setup (t: Test) {
  const realtime = await startFakeRealtime({ onResponseCreate: (conn) => conn.respond({ chunks: [tone(200)], transcript: 'Hello, this is an AI assistant calling on behalf of Acme Dental.' }) })
  t.teardown(() => realtime.close())
  const placed: PlacedCall[] = []
  const rest = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN, onCallCreated: (c) => { placed.push(c) } })
  t.teardown(() => rest.close())
  const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: rest.url, OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: realtime.url, BUSINESS_NAME: 'Acme Dental' })
  const serverUrl = await listen(app)
  const place = async (): Promise<PlacedCall> => {
    const res = await app.inject({ method: 'POST', url: '/api/calls', headers: auth, payload: { to: '+14155550123', mode: 'agent', purpose: PURPOSE } })
    t.equal(res.statusCode, 201, res.body)
    const call = placed.at(-1) as PlacedCall
    t.equal(call.sid, res.json().callSid)
    return call
  }
  const stored = async (callSid: string): Promise<Json> => {
    await app.recorder.idle()
    return (await app.inject({ method: 'GET', url: `/api/calls/${callSid}`, headers: auth })).json().call as Json
  }
  return { app, realtime, serverUrl, place, stored, sim: { serverUrl, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, accountSid: FAKE_ACCOUNT_SID } }
}

t.test('answered by a person: the agent stream runs with the purpose in its instructions and greets as an outbound caller', async (t) => {
  const { realtime, place, stored, sim } = await setup(t)
  const call = await place()
  const r = await simulateCall({ ...sim, placed: call, answeredBy: 'human', speed: 10, tailMs: 1500 })
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  t.match(r.stream, { bidirectional: true, parameters: { purpose: PURPOSE, mode: 'agent', direction: 'outbound', to: '+14155550123' } })
  t.ok(r.received.audioBytes > 0, 'the agent spoke on the call')
  const conn = realtime.connections[0]
  const update = conn?.received.find((e) => e.type === 'session.update') as { session?: { instructions?: string } } | undefined
  t.match(update?.session?.instructions, new RegExp(`outbound call[^]*<purpose>${PURPOSE}</purpose>`), 'the purpose is in the session instructions')
  const greet = conn?.received.find((e) => e.type === 'response.create') as { response?: { instructions?: string } } | undefined
  t.match(greet?.response?.instructions, /AI assistant calling on behalf of Acme Dental/)
  t.match(await stored(call.sid as string), { outcome: 'human', purpose: PURPOSE, mode: 'agent', direction: 'outbound', status: 'completed' })
})

t.test('answered by a machine: after the beep the voicemail plays and the call hangs up; no AI session opens', async (t) => {
  const { realtime, place, stored, sim } = await setup(t)
  const call = await place()
  const events: SimEvent[] = []
  const r = await simulateCall({ ...sim, placed: call, answeredBy: 'machine_end_beep', onEvent: (e) => events.push(e) })
  t.equal(r.ok, true, `clean call (${JSON.stringify(r.problems)})`)
  t.same(r.twiml.verbs.map((v) => v.verb), ['Say', 'Hangup'])
  t.equal(r.stream, undefined)
  const said = events.filter((e) => e.type === 'say').map((e) => (e as { text: string }).text)
  t.match(said, [/automated message from Acme Dental\. We are calling about the following: Confirm the cleaning on Tuesday at 3 pm\./])
  t.match(events.filter((e) => e.type === 'status.callback'), [{ event: 'completed', status: 204, url: `${TEST_BASE_URL}/twilio/agent-call-status` }])
  t.equal(realtime.connections.length, 0, 'nobody to talk to: no Realtime session')
  t.match(await stored(call.sid as string), { outcome: 'machine', purpose: PURPOSE, status: 'completed', aiStatus: 'off' })
})

t.test('nobody answers: no-answer and busy arrive by the status callback and are stored', async (t) => {
  const { place, stored, sim } = await setup(t)
  for (const status of ['no-answer', 'busy'] as const) {
    const call = await place()
    const r = await simulateUnansweredCall({ ...sim, placed: call, status })
    t.match(r, { status, callback: { url: `${TEST_BASE_URL}/twilio/agent-call-status`, status: 204 }, problems: [] })
    t.match(await stored(call.sid as string), { outcome: status, status, purpose: PURPOSE })
  }
})

t.test('the simulator refuses an AMD verdict for a call placed without AMD (Twilio would send none)', async (t) => {
  await t.rejects(simulateCall({ serverUrl: 'http://127.0.0.1:9', publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, placed: { from: '+15550002222', to: '+14155550123', url: `${TEST_BASE_URL}/twilio/outbound`, statusCallback: undefined }, answeredBy: 'human' }), { code: 'BAD_OPTIONS', message: /answeredBy needs a placed call with MachineDetection/ })
})
