import t from 'tap'
import { simulateCall } from '../../tools/sim/simulate.ts'
import { randomSid } from '../../tools/sim/webhook.ts'
import { startDemoOpenAI } from '../../fakes/openai-demo.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL } from '../helpers.ts'
import { parseTwiml, verbs } from '../twiml-xml.ts'

for (const mode of ['assist', 'agent'] as const) {
  t.test(`${mode}: past MAX_CALLS a new call still connects, without AI; once a slot frees, AI is back`, async (t) => {
    const ai = await startDemoOpenAI({ tokenDelayMs: 1 })
    t.teardown(() => ai.close())
    const app = await buildTestApp(t, { MODE: mode, MAX_CALLS: '1', OPENAI_API_KEY: ai.apiKey, OPENAI_BASE_URL: ai.url })
    const base = await listen(app)
    const sim = { serverUrl: base, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN }

    // The first call holds the only slot (a long silent tail keeps it live).
    const started = new Promise<void>((resolve) => {
      const off = app.bus.subscribe((e) => { if (e.type === 'call.started') { off(); resolve() } })
    })
    const first = simulateCall({ ...sim, callSid: randomSid('CA'), speed: 4, tailMs: 8000 })
    await started
    t.equal(app.calls.size, 1, 'one live call holds the only slot')

    // The second call, end to end through the simulator: answered 200 with TwiML that keeps the caller connected.
    const second = await simulateCall({ ...sim, callSid: randomSid('CA'), speed: 20 })
    t.equal(second.webhook.status, 200, 'answered 200, never a 5xx')
    const root = parseTwiml(second.twimlXml)
    const names = verbs(root)
    t.notOk(JSON.stringify(root).includes('"Stream"'), 'no media stream: no AI for this call')
    t.ok(names.includes('Dial'), 'dialled straight to the operator')
    const dial = root.children.find((c) => c.name === 'Dial')
    t.match(JSON.stringify(dial), '+15550001111', 'to OPERATOR_PHONE')
    if (mode === 'agent') t.equal(names[0], 'Say', 'agent mode says a sentence first')
    t.equal(second.stream, undefined, 'the simulator opened no stream, as Twilio would not')

    const r1 = await first
    t.ok(r1.ok, 'the first call was not disturbed')
    // The slot is free again: a new call gets the AI TwiML.
    await new Promise<void>((resolve) => { const iv = setInterval(() => { if (app.calls.size === 0) { clearInterval(iv); resolve() } }, 10) })
    const third = await simulateCall({ ...sim, callSid: randomSid('CA'), speed: 20 })
    t.ok(JSON.stringify(parseTwiml(third.twimlXml)).includes('"Stream"'), 'with a free slot, the media stream (AI) is back')
    t.ok(third.ok, 'and the call is clean')
  })
}
