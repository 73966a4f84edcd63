import t, { type Test } from 'tap'
import { createOpenAIClient } from '../../../src/ai/openai.ts'
import {
  createSummaryEngine, formatTranscript, parseSummaryResponse, summarizeTranscript, SummaryError, type SummaryLine,
} from '../../../src/ai/summary.ts'
import { createCallEventBus } from '../../../src/call/bus.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import { silentLogger } from '../../../src/log.ts'
import { FAKE_OPENAI_KEY, startFakeOpenAI, type FakeOpenAI, type ReplyScript } from '../../../fakes/openai-http.ts'
import { ZERO_STATS } from '../../helpers.ts'

const GOOD = JSON.stringify({ summary: 'Asked about plans.', intent: 'compare plans', action_items: ['Send the price list'] })
const message = (content: unknown[]): { status: string, output: unknown[] } => ({ status: 'completed', output: [{ type: 'message', content }] })

async function fakeClient (t: Test, reply: ReplyScript): Promise<{ fake: FakeOpenAI, client: NonNullable<ReturnType<typeof createOpenAIClient>> }> {
  const fake = await startFakeOpenAI({ reply })
  t.teardown(() => fake.close())
  return { fake, client: createOpenAIClient({ openaiApiKey: FAKE_OPENAI_KEY, openaiBaseUrl: fake.url })! }
}

t.test('formatTranscript labels speakers and keeps the start and end of a long call', async (t) => {
  t.equal(formatTranscript([{ speaker: 'remote', text: ' Hi ' }, { speaker: 'agent', text: 'Hello!' }, { speaker: 'operator', text: '' }]),
    'Customer: Hi\nAI agent: Hello!')
  const lines: SummaryLine[] = Array.from({ length: 200 }, (_, i) => ({ speaker: i % 2 === 0 ? 'remote' : 'operator', text: `line ${i} ${'x'.repeat(40)}` }))
  const out = formatTranscript(lines, 2000)
  t.ok(out.length <= 2000, `bounded (${out.length})`)
  t.match(out, /^Customer: line 0 /)
  t.match(out, /Operator: line 199 x+$/)
  t.match(out, '[… the middle of the call is omitted …]')
})

t.test('parseSummaryResponse reads the JSON and turns refusals, cut-offs and bad JSON into SummaryErrors', async (t) => {
  t.same(parseSummaryResponse(message([{ type: 'output_text', text: JSON.stringify({ summary: ' S ', intent: ' I ', action_items: [' a ', '', 'b'] }) }])),
    { summary: 'S', intent: 'I', actionItems: ['a', 'b'] })
  const code = (fn: () => unknown): string | undefined => {
    try { fn() } catch (err) { return err instanceof SummaryError ? err.code : 'other' }
    return undefined
  }
  t.equal(code(() => parseSummaryResponse(message([{ type: 'refusal', refusal: 'no' }]))), 'refused')
  t.equal(code(() => parseSummaryResponse({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [] })), 'incomplete')
  t.equal(code(() => parseSummaryResponse(message([{ type: 'output_text', text: '{"summary": "cut' }]))), 'invalid_json')
  t.equal(code(() => parseSummaryResponse(message([{ type: 'output_text', text: '{"summary":"s","intent":"i","action_items":[1]}' }]))), 'invalid_shape')
  t.equal(code(() => parseSummaryResponse(message([{ type: 'output_text', text: '{"summary":"s"}' }]))), 'invalid_shape')
})

t.test('summarizeTranscript sends a strict json_schema the API accepts and parses the reply', async (t) => {
  const { fake, client } = await fakeClient(t, () => GOOD)
  const result = await summarizeTranscript(client, 'sum-model', [{ speaker: 'remote', text: 'What plans do you have?' }])
  t.same(result, { summary: 'Asked about plans.', intent: 'compare plans', actionItems: ['Send the price list'] })
  const req = fake.requests[0]!
  t.equal(req.status, 200, 'the fake validated the strict schema (additionalProperties false, all required)')
  t.match(req.body, { model: 'sum-model', store: false, text: { format: { type: 'json_schema', name: 'call_summary', strict: true } } })
  t.match(req.input, 'Customer: What plans do you have?')
  await t.rejects(summarizeTranscript(client, 'sum-model', [{ speaker: 'remote', text: '  ' }]), { code: 'empty' })
  t.equal(fake.requests.length, 1, 'nothing to summarize, nothing sent')
})

t.test('summaries ride out a rate limit with the client retries', async (t) => {
  const { fake, client } = await fakeClient(t, (req) => req.seq === 1 ? { status: 429, headers: { 'retry-after-ms': '1' } } : GOOD)
  const result = await summarizeTranscript(client, 'm', [{ speaker: 'remote', text: 'hi' }])
  t.equal(result.intent, 'compare plans')
  t.equal(fake.requests.length, 2)
})

function engineRig (t: Test, client: NonNullable<ReturnType<typeof createOpenAIClient>>) {
  const bus = createCallEventBus(silentLogger)
  const events: CallEvent[] = []
  bus.subscribe((e) => events.push(e))
  const engine = createSummaryEngine({ client, model: 'm', bus, log: silentLogger })
  t.teardown(() => engine.close(0))
  const start = (callSid: string, streamSid: string): void => bus.publish({ type: 'call.started', callSid, at: 1, streamSid, mode: 'agent', direction: 'inbound', from: '+15551230000', to: '+15550002222', tracks: ['inbound'], bidirectional: true, startedAt: 1 })
  const say = (callSid: string, text: string): void => bus.publish({ type: 'transcript.final', callSid, at: 2, itemId: text, speaker: 'remote', text, startMs: 0, endMs: 1 })
  const stop = (callSid: string, streamSid: string): void => bus.publish({ type: 'call.stopped', callSid, at: 3, streamSid, reason: 'stop', durationMs: 2, stats: ZERO_STATS })
  return { bus, events, engine, start, say, stop }
}

t.test("the engine summarizes once per call: the old stream's stop and late finals are ignored", async (t) => {
  const { fake, client } = await fakeClient(t, () => GOOD)
  const r = engineRig(t, client)
  r.start('CA1', 'MZ1')
  r.say('CA1', 'first stream words')
  r.start('CA1', 'MZ2')
  r.say('CA1', 'second stream words')
  r.stop('CA1', 'MZ1')
  t.equal(r.engine.pending, 0, 'the replaced stream stopping does not end the call')
  r.stop('CA1', 'MZ2')
  t.equal(r.engine.pending, 1)
  r.say('CA1', 'late final')
  r.stop('CA1', 'MZ2')
  t.equal(r.engine.pending, 1, 'a late final and a repeated stop start nothing')
  await r.engine.close(5000)
  t.match(r.events.filter((e) => e.type === 'call.summary'), [{ callSid: 'CA1', intent: 'compare plans' }])
  t.equal(fake.requests.length, 1)
  t.match(fake.requests[0]!.input, 'Customer: first stream words\nCustomer: second stream words')
})

t.test('close() waits for the grace period, then abandons a stuck summary with call.error', async (t) => {
  const { fake, client } = await fakeClient(t, () => ({ hangAfter: 0 }))
  const r = engineRig(t, client)
  r.start('CA2', 'MZ2')
  r.say('CA2', 'hello')
  r.stop('CA2', 'MZ2')
  await fake.waitForRequest(1)
  await r.engine.close(20)
  t.equal(r.engine.pending, 0)
  t.match(r.events.find((e) => e.type === 'call.error'), { callSid: 'CA2', code: 'summary_aborted' })
  await fake.requests[0]!.finished
  t.equal(fake.requests[0]!.clientClosed, true)
})
