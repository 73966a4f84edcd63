import t, { type Test } from 'tap'
import { createHintEngine, type HintEngine } from '../../../src/ai/hints.ts'
import { buildHintRequest, HINT_RULES, pushTurn, type Turn } from '../../../src/ai/playbook.ts'
import { createOpenAIClient } from '../../../src/ai/openai.ts'
import { createCallEventBus, type CallEventBus } from '../../../src/call/bus.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import { silentLogger, type Logger } from '../../../src/log.ts'
import { FAKE_OPENAI_KEY, startFakeOpenAI, type FakeOpenAI, type ReplyScript } from '../../../fakes/openai-http.ts'
import { opForEvent } from '../../../src/storage/call-ops.ts'
import { ZERO_STATS } from '../../helpers.ts'
import { until } from '../../until.ts'

t.test('pushTurn keeps the last turns within the turn and character bounds', async (t) => {
  const turns: Turn[] = []
  for (let i = 0; i < 8; i++) pushTurn(turns, { speaker: 'remote', text: `turn ${i}` }, 5, 1000)
  t.same(turns.map((x) => x.text), ['turn 3', 'turn 4', 'turn 5', 'turn 6', 'turn 7'], 'at most maxTurns, newest kept')
  const chars = pushTurn(turns, { speaker: 'operator', text: 'x'.repeat(20) }, 5, 30)
  t.same(turns.map((x) => x.text), ['turn 7', 'x'.repeat(20)], 'oldest dropped until the text fits')
  t.equal(chars, 26)
  pushTurn(turns, { speaker: 'remote', text: 'a'.repeat(50) + 'THE END' }, 5, 30)
  t.equal(turns.length, 1, 'a turn longer than the budget stands alone')
  t.equal(turns[0]!.text.length, 30)
  t.match(turns[0]!.text, /^….*THE END$/, 'and keeps its end, where the question usually is')
})

t.test('buildHintRequest puts rules and playbook in instructions, the labelled transcript in input', async (t) => {
  const req = buildHintRequest([
    { speaker: 'operator', text: 'Hello, Northwind.' },
    { speaker: 'remote', text: 'Is there a contract?' },
  ], 'Month-to-month costs $10 more.')
  t.ok(req.instructions.startsWith(HINT_RULES))
  t.match(req.instructions, '# Playbook\n\nMonth-to-month costs $10 more.')
  t.match(req.input, 'Operator: Hello, Northwind.\nCustomer: Is there a contract?')
  t.match(req.input, 'The customer just said: "Is there a contract?"')
})

interface Rig { bus: CallEventBus, engine: HintEngine, fake: FakeOpenAI, events: CallEvent[], logs: Array<{ level: string, obj: object, msg?: string }> }

async function rig (t: Test, reply: ReplyScript, opts: { timeoutMs?: number, defaultMode?: 'assist' | 'agent', playbook?: { text (): string, id (): string } } = {}): Promise<Rig> {
  const fake = await startFakeOpenAI({ reply })
  t.teardown(() => fake.close())
  const logs: Rig['logs'] = []
  const log: Logger = {
    ...silentLogger,
    warn: (obj, msg) => { logs.push({ level: 'warn', obj, msg }) },
    debug: (obj, msg) => { logs.push({ level: 'debug', obj, msg }) },
    error: (obj, msg) => { logs.push({ level: 'error', obj, msg }) },
    child: () => log,
  }
  const bus = createCallEventBus(silentLogger)
  const events: CallEvent[] = []
  bus.subscribe((e) => events.push(e))
  const client = createOpenAIClient({ openaiApiKey: FAKE_OPENAI_KEY, openaiBaseUrl: fake.url })!
  const engine = createHintEngine({ client, model: 'm', playbook: { text: () => 'PB' }, bus, log, ...opts })
  t.teardown(() => engine.close())
  return { bus, engine, fake, events, logs }
}

const started = (callSid: string, mode: 'assist' | 'agent' = 'assist', streamSid = `MZ${callSid}`): CallEvent =>
  ({ type: 'call.started', callSid, at: 1, streamSid, mode, direction: 'inbound', from: '+15551230000', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: 1 })
const said = (callSid: string, text: string, itemId: string, speaker: 'remote' | 'operator' = 'remote'): CallEvent =>
  ({ type: 'transcript.final', callSid, at: 2000, itemId, speaker, text, startMs: 0, endMs: 900 })
const stopped = (callSid: string, streamSid = `MZ${callSid}`): CallEvent =>
  ({ type: 'call.stopped', callSid, at: 3, streamSid, reason: 'stop', durationMs: 2, stats: ZERO_STATS })

/** The first event matching `pred`, once there is one (the timeout names the event types seen so far). */
const seen = (events: CallEvent[], pred: (e: CallEvent) => boolean): Promise<CallEvent> =>
  until(() => `a matching event; got ${events.map((e) => e.type).join(', ')}`, () => events.find(pred))

t.test('a hint that does not finish in time is dropped with call.error and its request aborted', async (t) => {
  // The first token must arrive before the deadline (a few ms here); 800 ms leaves room on a loaded machine.
  const r = await rig(t, () => ({ text: 'Slow answer here', hangAfter: 1 }), { timeoutMs: 800 })
  r.bus.publish(started('CA1'))
  r.bus.publish(said('CA1', 'Hello?', 'i1'))
  await seen(r.events, (e) => e.type === 'hint.delta')
  t.notOk(r.events.some((e) => e.type === 'hint.done'), 'still open after the first token')
  const done = await seen(r.events, (e) => e.type === 'hint.done') as Extract<CallEvent, { type: 'hint.done' }>
  t.match(done, { text: 'Slow', superseded: false, error: 'timed out' })
  t.match(r.events.find((e) => e.type === 'call.error'), { code: 'hint_timeout' })
  await r.fake.requests[0]!.finished
  t.equal(r.fake.requests[0]!.clientClosed, true)
  t.equal(r.engine.inFlight, 0)
})

t.test('call.stopped aborts the hint in flight, forgets the call and ignores late transcripts', async (t) => {
  const r = await rig(t, () => ({ text: 'Never finishes', hangAfter: 1 }))
  r.bus.publish(started('CA2'))
  r.bus.publish(said('CA2', 'One more thing', 'i1'))
  await seen(r.events, (e) => e.type === 'hint.delta')
  t.equal(r.engine.inFlight, 1)
  r.bus.publish(stopped('CA2'))
  t.equal(r.engine.calls, 0, 'state released')
  t.equal(r.engine.inFlight, 0)
  t.match(r.events.find((e) => e.type === 'hint.done'), { text: 'Never', error: 'the call ended', superseded: false })
  await r.fake.requests[0]!.finished
  t.equal(r.fake.requests[0]!.clientClosed, true, 'the request was aborted')
  r.bus.publish(said('CA2', 'late final', 'i2'))
  t.equal(r.engine.calls, 0, 'a late final does not resurrect the call')
  t.equal(r.engine.inFlight, 0, 'and asks for nothing')
})

t.test('mode comes from call.webhook / call.started, else the default; agent calls ask for nothing', async (t) => {
  const r = await rig(t, () => 'ok', { defaultMode: 'agent' })
  r.bus.publish(said('CAunknown', 'Hi', 'i1'))
  t.equal(r.engine.inFlight, 0, 'unknown call: default mode agent, no hint')
  r.bus.publish({ type: 'call.webhook', callSid: 'CAw', at: 1, mode: 'assist', direction: 'inbound', from: '+15551230000', to: '+15550002222', ai: true })
  r.bus.publish(said('CAw', 'Hi', 'i1'))
  t.equal(r.engine.inFlight, 1, 'the webhook said assist')
  r.bus.publish(started('CAa', 'agent'))
  r.bus.publish(said('CAa', 'Hi', 'i1'))
  r.bus.publish(said('CAw', 'operator talk', 'i2', 'operator'))
  t.equal(r.engine.inFlight, 1, 'agent call and operator line add nothing')
  r.bus.publish({ type: 'call.status', callSid: 'CAw', at: 5, status: 'completed' })
  t.equal(r.engine.inFlight, 0, 'a terminal call status ends it too')
  t.equal(r.engine.calls, 2, 'CAunknown and CAa remain; CAw is gone')
})

t.test("a reconnected stream keeps the call: the old stream's stop does not wipe it", async (t) => {
  const r = await rig(t, () => 'ok')
  r.bus.publish(started('CA3', 'assist', 'MZold'))
  r.bus.publish(started('CA3', 'assist', 'MZnew'))
  r.bus.publish(stopped('CA3', 'MZold'))
  t.equal(r.engine.calls, 1)
  r.bus.publish(stopped('CA3', 'MZnew'))
  t.equal(r.engine.calls, 0)
})

t.test('an empty answer and a mid-stream error event are reported; each code is logged at warn once per call', async (t) => {
  const r = await rig(t, (req) => req.seq === 1
    ? { refusal: 'I cannot help with that.' }
    : { text: 'partial text', failMidStream: { kind: 'error', code: 'server_error', message: 'boom', failAfter: 1 } })
  r.bus.publish(started('CA4'))
  r.bus.publish(said('CA4', 'first', 'i1'))
  await seen(r.events, (e) => e.type === 'call.error')
  t.match(r.events.find((e) => e.type === 'call.error'), { code: 'hint_empty' })
  t.notOk(r.events.some((e) => e.type === 'hint.done'), 'nothing was shown, nothing to close')
  r.bus.publish(said('CA4', 'second', 'i2'))
  const done = await seen(r.events, (e) => e.type === 'hint.done')
  t.match(done, { text: 'partial', error: /boom/ })
  r.bus.publish(said('CA4', 'third', 'i3'))
  await seen(r.events, (e) => e.type === 'hint.done' && e.itemId === 'i3')
  const warns = r.logs.filter((l) => l.level === 'warn').map((l) => (l.obj as { code: string }).code)
  t.same(warns, ['empty', 'upstream_error'], 'second upstream_error went to debug')
  t.ok(r.logs.some((l) => l.level === 'debug' && (l.obj as { code?: string }).code === 'upstream_error'))
  t.equal(r.events.filter((e) => e.type === 'call.error').length, 1, 'one call.error per failure streak (no success in between)')
})

t.test('close() unsubscribes and aborts hints in flight', async (t) => {
  const r = await rig(t, () => ({ hangAfter: 0 }))
  const before = r.bus.subscribers
  r.bus.publish(started('CA5'))
  r.bus.publish(said('CA5', 'hello', 'i1'))
  await r.fake.waitForRequest(1)
  r.engine.close()
  t.equal(r.bus.subscribers, before - 1)
  t.equal(r.engine.inFlight, 0)
  await r.fake.requests[0]!.finished
  t.equal(r.fake.requests[0]!.clientClosed, true)
})

t.test('hint.done names the playbook its request was built from, and the recorder stores it with the hint', async (t) => {
  let version = 'pb:v1'
  const r = await rig(t, () => ({ text: 'Offer the annual plan' }), { playbook: { text: () => 'PB', id: () => version } })
  r.bus.publish(started('CApb'))
  r.bus.publish(said('CApb', 'Is there a discount?', 'i1'))
  const done = await seen(r.events, (e) => e.type === 'hint.done') as Extract<CallEvent, { type: 'hint.done' }>
  t.match(done, { text: 'Offer the annual plan', playbookId: 'pb:v1' })
  t.match(opForEvent(done), { op: 'hint', hintId: done.hintId, playbookId: 'pb:v1' })
  version = 'pb:v2'
  r.bus.publish(said('CApb', 'And for two years?', 'i2'))
  t.match(await seen(r.events, (e) => e.type === 'hint.done' && e.itemId === 'i2'), { playbookId: 'pb:v2' }, 'an edited playbook is a new id')
})
