import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { Writable } from 'node:stream'
import { buildTestApp, ZERO_STATS } from '../helpers.ts'
import { FAKE_OPENAI_KEY, startFakeOpenAI, type FakeOpenAI, type ReplyScript } from '../../fakes/openai-http.ts'
import type { CallEvent, Speaker } from '../../src/call/events.ts'
import type { Mode } from '../../src/config.ts'

const PLAYBOOK = 'PLAYBOOK-MARKER: offer the Plus 1G plan at $59/month when speed comes up.'

/** A controllable clock shared by the app (deps.now) and the events we publish. */
const clock = { ms: 1_000_000 }

interface Harness {
  app: FastifyInstance
  fake: FakeOpenAI
  events: CallEvent[]
  waitFor<T extends CallEvent['type']> (type: T, pred?: (e: Extract<CallEvent, { type: T }>) => boolean): Promise<Extract<CallEvent, { type: T }>>
  start (callSid: string, mode?: Mode, startedAt?: number): void
  say (callSid: string, speaker: Speaker, text: string, itemId: string, endMs?: number): void
  stop (callSid: string): void
}

async function harness (t: Test, reply: ReplyScript, env: Record<string, string | undefined> = {}): Promise<Harness> {
  const fake = await startFakeOpenAI({ reply })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, HINTS_PROMPT: PLAYBOOK, ...env }, { now: () => clock.ms })
  const events: CallEvent[] = []
  const waiters = new Set<() => void>()
  t.teardown(app.bus.subscribe((e) => {
    events.push(e)
    for (const w of [...waiters]) w()
  }))
  const publish = (e: CallEvent): void => app.bus.publish(e)
  return {
    app,
    fake,
    events,
    waitFor (type, pred = () => true) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = events.find((e) => e.type === type && pred(e as never))
          if (hit === undefined) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(hit as never)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no ${type} event; saw ${events.map((e) => e.type).join(', ')}`))
        }, 5000)
        waiters.add(check)
        check()
      })
    },
    start (callSid, mode = 'assist', startedAt = clock.ms) {
      publish({ type: 'call.started', callSid, at: clock.ms, streamSid: `MZ${callSid}`, mode, direction: 'inbound', from: '+15551230000', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: mode === 'agent', startedAt })
    },
    say (callSid, speaker, text, itemId, endMs = 1000) {
      publish({ type: 'transcript.final', callSid, at: clock.ms, itemId, speaker, text, startMs: Math.max(0, endMs - 800), endMs })
    },
    stop (callSid) {
      publish({ type: 'call.stopped', callSid, at: clock.ms, streamSid: `MZ${callSid}`, reason: 'stop', durationMs: 10_000, stats: ZERO_STATS })
    },
  }
}

t.test('a remote utterance in an assist call streams one hint: deltas in order, then done, plus the latency metric', async (t) => {
  const h = await harness(t, () => ({ text: 'Offer the Plus 1G plan at $59/month.', tokens: ['Offer ', 'the Plus 1G ', 'plan at ', '$59/month.'] }))
  clock.ms = 1_000_000
  h.start('CA1', 'assist', 1_000_000)
  h.say('CA1', 'operator', 'Northwind Fiber, how can I help?', 'op1', 1500)
  clock.ms = 1_004_000
  h.say('CA1', 'remote', 'My internet is too slow for video calls.', 'rem1', 3000)
  const done = await h.waitFor('hint.done')
  const deltas = h.events.filter((e) => e.type === 'hint.delta')
  t.same(deltas.map((d) => d.delta), ['Offer ', 'the Plus 1G ', 'plan at ', '$59/month.'], 'deltas arrive in order')
  t.ok(deltas.every((d) => d.hintId === done.hintId && d.callSid === 'CA1'))
  t.match(done, { callSid: 'CA1', itemId: 'rem1', text: 'Offer the Plus 1G plan at $59/month.', superseded: false })
  t.notOk('error' in done)
  t.ok(h.events.indexOf(done) > h.events.indexOf(deltas[3]!), 'done comes after the last delta')
  const metric = await h.waitFor('call.metric', (m) => m.name === 'utterance_to_hint_ms')
  t.equal(metric.value, 1000, 'first token (clock 1 004 000) minus utterance end (start 1 000 000 + endMs 3000)')

  t.equal(h.fake.requests.length, 1, 'the operator line did not trigger a hint')
  const req = h.fake.requests[0]!
  t.equal(req.headers.authorization, `Bearer ${FAKE_OPENAI_KEY}`)
  t.equal(req.model, 'gpt-5.4-mini', 'HINT_MODEL default')
  t.equal(req.stream, true)
  t.match(req.instructions, PLAYBOOK, 'the playbook reaches the instructions')
  t.match(req.input, 'Operator: Northwind Fiber, how can I help?\nCustomer: My internet is too slow for video calls.', 'the rolling transcript reaches the input')
})

t.test('operator utterances and agent-mode calls get no hints; summaries still come for agent calls', async (t) => {
  const h = await harness(t, (req) => req.body?.text !== undefined
    ? JSON.stringify({ summary: 'Agent call.', intent: 'book', action_items: [] })
    : 'Ask which day suits them.', { HINT_MODEL: 'hint-model-x' })
  h.start('CAagent', 'agent')
  h.say('CAagent', 'remote', 'AGENT-CALL-TEXT I want to book an install.', 'a1')
  h.say('CAagent', 'agent', 'Sure, which day?', 'a2')
  h.start('CAassist', 'assist')
  h.say('CAassist', 'operator', 'OPERATOR-ONLY line', 'o1')
  h.say('CAassist', 'remote', 'Can you install on Friday?', 'r1')
  const done = await h.waitFor('hint.done')
  t.equal(done.callSid, 'CAassist')
  t.equal(h.fake.requests.length, 1, 'one request: neither the agent call nor the operator line asked for a hint')
  t.equal(h.fake.requests[0]!.model, 'hint-model-x', 'HINT_MODEL is used')
  t.notMatch(String(h.fake.requests[0]!.input), 'AGENT-CALL-TEXT', 'transcripts stay per call')
  t.notOk(h.events.some((e) => e.type === 'hint.delta' && e.callSid === 'CAagent'))

  h.stop('CAagent')
  const summary = await h.waitFor('call.summary')
  t.match(summary, { callSid: 'CAagent', summary: 'Agent call.', intent: 'book', actionItems: [] })
})

t.test('a new remote utterance supersedes a hint still being written and aborts its request', async (t) => {
  const h = await harness(t, (req) => req.seq === 1
    ? { text: 'Ask about their current speed and price', hangAfter: 2 }
    : 'Mention the 30-day guarantee.')
  h.start('CA2')
  h.say('CA2', 'remote', 'How fast is it?', 'r1')
  const first = await h.waitFor('hint.delta', (d) => d.delta === 'about ')
  h.say('CA2', 'remote', 'Actually, can I cancel later?', 'r2')
  const superseded = await h.waitFor('hint.done', (d) => d.hintId === first.hintId)
  t.match(superseded, { itemId: 'r1', text: 'Ask about', superseded: true })
  const second = await h.waitFor('hint.done', (d) => d.itemId === 'r2')
  t.match(second, { text: 'Mention the 30-day guarantee.', superseded: false })
  t.not(second.hintId, first.hintId)

  const aborted = h.fake.requests[0]!
  await Promise.race([aborted.finished, new Promise((resolve) => setTimeout(resolve, 3000))])
  t.equal(aborted.clientClosed, true, 'the fake saw the first request closed by the client')
  t.equal(h.fake.requests[1]!.clientClosed, false)
  t.match(h.fake.requests[1]!.input, 'Customer: How fast is it?\nCustomer: Actually, can I cancel later?')
  const afterDone = h.events.slice(h.events.indexOf(superseded)).filter((e) => e.type === 'hint.delta' && e.hintId === first.hintId)
  t.same(afterDone, [], 'no delta of the superseded hint after its done')
})

t.test('upstream errors become call.error, the call carries on and the next utterance gets a hint', async (t) => {
  const h = await harness(t, (req) => {
    if (req.seq === 1) return { status: 429 }
    if (req.seq === 3) return { text: 'Offer a callback', failMidStream: { kind: 'response.failed', failAfter: 1, message: 'model overloaded' } }
    if (req.seq === 4) return { status: 503 }
    return 'Offer a callback tomorrow.'
  })
  h.start('CA3')
  h.say('CA3', 'remote', 'Hello?', 'r1')
  const rateLimited = await h.waitFor('call.error')
  t.match(rateLimited, { callSid: 'CA3', code: 'hint_rate_limited', message: /rate limited by OpenAI/ })
  t.notOk(h.events.some((e) => e.type === 'hint.done'), 'no text, so no hint.done')

  h.say('CA3', 'remote', 'Are you there?', 'r2')
  const ok = await h.waitFor('hint.done', (d) => d.itemId === 'r2')
  t.match(ok, { text: 'Offer a callback tomorrow.', superseded: false })

  h.say('CA3', 'remote', 'I will call back.', 'r3')
  const failed = await h.waitFor('hint.done', (d) => d.itemId === 'r3')
  t.match(failed, { text: 'Offer', superseded: false, error: /model overloaded/ })
  const midStream = await h.waitFor('call.error', (e) => e.code !== 'hint_rate_limited')
  t.equal(midStream.code, 'hint_failed')

  h.say('CA3', 'remote', 'Bye.', 'r4')
  await h.fake.waitForRequest(4)
  h.say('CA3', 'remote', 'Bye now.', 'r5')
  await h.waitFor('hint.done', (d) => d.itemId === 'r5')
  t.equal(h.events.filter((e) => e.type === 'call.error').length, 2, 'the 503 right after a failure is not reported again')
  t.equal(h.fake.requests.length, 5, 'hints never retry: one request per utterance')
})

t.test('call.stopped summarizes the call with structured output and publishes call.summary', async (t) => {
  const h = await harness(t, (req) => {
    const format = (req.body?.text as { format?: { type?: string } } | undefined)?.format
    if (format?.type !== 'json_schema') return 'Offer the install slot.'
    return JSON.stringify({ summary: 'Customer asked about faster internet; operator offered Plus 1G.', intent: 'upgrade plan', action_items: ['Text the Plus 1G details', ' Call back on Friday '] })
  }, { SUMMARY_MODEL: 'summary-model-y' })
  h.start('CA4')
  h.say('CA4', 'operator', 'Northwind Fiber, Sam speaking.', 'o1')
  h.say('CA4', 'remote', 'I want faster internet.', 'r1')
  await h.waitFor('hint.done')
  h.stop('CA4')
  const summary = await h.waitFor('call.summary')
  t.match(summary, {
    callSid: 'CA4',
    summary: 'Customer asked about faster internet; operator offered Plus 1G.',
    intent: 'upgrade plan',
    actionItems: ['Text the Plus 1G details', 'Call back on Friday'],
  })
  const req = h.fake.requests.find((r) => r.model === 'summary-model-y')!
  t.ok(req, 'the summary used SUMMARY_MODEL')
  t.equal(req.stream, false)
  t.match(req.body?.text, { format: { type: 'json_schema', name: 'call_summary', strict: true } })
  t.match(req.input, 'Operator: Northwind Fiber, Sam speaking.\nCustomer: I want faster internet.')
})

t.test('a refused or malformed summary is a call.error, not a crash; calls without a transcript get none', async (t) => {
  const h = await harness(t, (req) => req.seq === 1 ? { refusal: "I'm sorry, I can't help with that." } : 'not json at all')
  h.start('CA5', 'agent')
  h.say('CA5', 'remote', 'Hello there.', 'r1')
  h.stop('CA5')
  const refused = await h.waitFor('call.error', (e) => e.callSid === 'CA5')
  t.match(refused, { code: 'summary_refused', message: /refused/ })
  h.start('CAempty', 'agent')
  h.stop('CAempty')
  h.start('CA6', 'agent')
  h.say('CA6', 'remote', 'Hi again.', 'r1')
  h.stop('CA6')
  const bad = await h.waitFor('call.error', (e) => e.callSid === 'CA6')
  t.match(bad, { code: 'summary_invalid_json', message: /not valid JSON/ })
  t.equal(h.fake.requests.length, 2, 'the call without a transcript was not summarized')
  t.notOk(h.events.some((e) => e.type === 'call.summary'))
})

t.test('without OPENAI_API_KEY hints and summaries are off, said once at start-up', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(() => fake.close())
  const lines: Array<{ msg?: string, part?: string }> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l))
      cb()
    },
  })
  const app = await buildTestApp(t, { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: fake.url }, { logger: { level: 'info', stream: sink } as never })
  const events: CallEvent[] = []
  t.teardown(app.bus.subscribe((e) => events.push(e)))
  app.bus.publish({ type: 'call.started', callSid: 'CA7', at: 1, streamSid: 'MZ7', mode: 'assist', direction: 'inbound', from: '+15551230000', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: 1 })
  app.bus.publish({ type: 'transcript.final', callSid: 'CA7', at: 2, itemId: 'r1', speaker: 'remote', text: 'Hello?', startMs: 0, endMs: 500 })
  app.bus.publish({ type: 'call.stopped', callSid: 'CA7', at: 3, streamSid: 'MZ7', reason: 'stop', durationMs: 2, stats: ZERO_STATS })
  // Counted once the app has closed (its close hooks flush or end any hint or summary work), not after a pause.
  await app.close()
  t.equal(fake.requests.length, 0, 'nothing was sent to OpenAI')
  t.notOk(events.some((e) => e.type.startsWith('hint.') || e.type === 'call.summary' || e.type === 'call.error'))
  t.equal(lines.filter((l) => l.part === 'hints' && /hints and post-call summaries are off/.test(l.msg ?? '')).length, 1)
})
