/** MAX_CALLS under a burst: callers whose streams have not opened yet still count, so a burst cannot overshoot. */
import t from 'tap'
import type { CallEvent } from '../../src/call/events.ts'
import { simulateCall } from '../../tools/sim/simulate.ts'
import { postTwilioWebhook, randomSid, voiceParams, type ServerTarget } from '../../tools/sim/webhook.ts'
import { startDemoOpenAI } from '../../fakes/openai-demo.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL } from '../helpers.ts'
import { parseTwiml, type XmlNode } from '../twiml-xml.ts'

/** Every element name in the tree, depth first (a <Stream> sits inside <Start> or <Connect>). */
const names = (n: XmlNode): string[] => [n.name, ...n.children.flatMap(names)]

/** POSTs a signed inbound voice webhook as Twilio does; true when the TwiML streams (the AI path). */
async function ring (target: ServerTarget, callSid: string): Promise<{ status: number, ai: boolean }> {
  const res = await postTwilioWebhook(target, '/twilio/inbound', voiceParams({ accountSid: randomSid('AC'), callSid, from: '+14155550177', to: '+15550002222', direction: 'inbound' }))
  return { status: res.status, ai: names(parseTwiml(res.body)).includes('Stream') }
}

t.test('a burst of callers before any stream opens: only MAX_CALLS get AI; a slot whose stream never comes frees after the pre-warm TTL', async (t) => {
  const ai = await startDemoOpenAI({ tokenDelayMs: 5 })
  t.teardown(() => ai.close())
  const app = await buildTestApp(t, { MAX_CALLS: '2', REALTIME_PREWARM_TTL_MS: '2000', OPENAI_API_KEY: ai.apiKey, OPENAI_BASE_URL: ai.url })
  const base = await listen(app)
  const target: ServerTarget = { serverUrl: base, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN }
  const events: CallEvent[] = []
  app.bus.subscribe((e) => { events.push(e) })

  const sids = [1, 2, 3, 4, 5].map(() => randomSid('CA'))
  const burst = await Promise.all(sids.map(async (sid) => await ring(target, sid)))
  t.ok(burst.every((r) => r.status === 200), 'every caller answered 200')
  t.equal(burst.filter((r) => r.ai).length, 2, 'exactly MAX_CALLS of them got the AI stream')
  t.equal(events.filter((e) => e.type === 'call.webhook' && e.ai).length, 2, 'and only those pre-warm an AI session')
  t.notOk((await ring(target, randomSid('CA'))).ai, 'the next caller too is put through without AI')

  // Neither admitted call ever streams (say, both callers hung up while ringing): the slots free after the TTL.
  await new Promise((resolve) => setTimeout(resolve, 2300))
  const later = randomSid('CA')
  const call = await simulateCall({ ...target, callSid: later, speed: 20 })
  t.ok(call.twiml.stream !== undefined, 'AI again once the unused admissions lapsed')
  t.ok(call.ok, 'and the call works')
})

t.test('an admitted call whose stream starts is counted once, not twice', async (t) => {
  const app = await buildTestApp(t, { MAX_CALLS: '2' })
  const base = await listen(app)
  const target: ServerTarget = { serverUrl: base, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN }
  const hangUp = new AbortController()
  const sid = randomSid('CA')
  const first = simulateCall({ ...target, callSid: sid, speed: 1, tailMs: 60_000, signal: hangUp.signal })
  first.catch(() => {})
  await new Promise<void>((resolve) => { const iv = setInterval(() => { if (app.calls.size === 1) { clearInterval(iv); resolve() } }, 10) })
  t.ok((await ring(target, randomSid('CA'))).ai, 'one live call of two allowed: the next caller still gets AI')
  t.notOk((await ring(target, randomSid('CA'))).ai, 'live + admitted = MAX_CALLS: the one after does not')
  hangUp.abort()
  await first
})
