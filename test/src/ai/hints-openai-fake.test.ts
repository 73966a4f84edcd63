import t, { type Test } from 'tap'
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError } from 'openai'
import { FAKE_OPENAI_KEY, startFakeOpenAI, tokenize, type FakeOpenAIOptions } from '../../../fakes/openai-http.ts'

async function caught (p: Promise<unknown>): Promise<unknown> {
  try { await p } catch (err) { return err }
  throw new Error('expected a rejection')
}

async function setup (t: Test, opts: FakeOpenAIOptions = {}) {
  const fake = await startFakeOpenAI(opts)
  t.teardown(() => fake.close())
  const client = new OpenAI({ apiKey: FAKE_OPENAI_KEY, baseURL: fake.url, maxRetries: 0 })
  return { fake, client }
}

t.test('tokenize splits into tokens that join back to the text', async (t) => {
  t.same(tokenize('Offer the  plan.'), ['Offer ', 'the  ', 'plan.'])
  t.same(tokenize(''), [])
})

t.test('the fake streams the GA event sequence the SDK parses, with contiguous sequence numbers', async (t) => {
  const { client } = await setup(t, { reply: () => ({ text: 'Hello big world' }) })
  const stream = await client.responses.create({ model: 'gpt-4.1-mini', instructions: 'be brief', input: 'hi', stream: true })
  const events = []
  for await (const ev of stream) events.push(ev)
  t.same(events.map((e) => e.type), [
    'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    'response.output_text.delta', 'response.output_text.delta', 'response.output_text.delta',
    'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
  ])
  t.same(events.map((e) => e.sequence_number), events.map((_, i) => i))
  const deltas = events.filter((e) => e.type === 'response.output_text.delta')
  const itemId = (events[2] as { item: { id: string } }).item.id
  t.ok(deltas.every((d) => d.item_id === itemId && d.output_index === 0 && d.content_index === 0 && Array.isArray(d.logprobs)))
  t.equal(deltas.map((d) => d.delta).join(''), 'Hello big world')
  const created = events[0] as Extract<typeof events[number], { type: 'response.created' }>
  t.match(created.response, { object: 'response', status: 'in_progress', model: 'gpt-4.1-mini', instructions: 'be brief', output: [] })
  const completed = events.at(-1) as Extract<typeof events[number], { type: 'response.completed' }>
  t.match(completed.response, {
    id: created.response.id,
    status: 'completed',
    output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello big world', annotations: [] }] }],
    usage: { output_tokens: 3 },
  })
})

t.test('on the wire: text/event-stream, event names match data.type, no [DONE] unless asked', async (t) => {
  const { fake } = await setup(t, { reply: () => 'Hi there' })
  const res = await fetch(`${fake.url}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FAKE_OPENAI_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', input: 'x', stream: true }),
  })
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  const blocks = (await res.text()).split('\n\n').filter((b) => b !== '')
  for (const b of blocks) {
    const [ev, data] = b.split('\n')
    t.equal(ev!.slice('event: '.length), JSON.parse(data!.slice('data: '.length)).type)
  }
  t.notMatch(blocks.at(-1), '[DONE]')

  const withDone = await setup(t, { reply: () => 'Hi', doneSentinel: true })
  const types = []
  for await (const ev of await withDone.client.responses.create({ model: 'm', input: 'x', stream: true })) types.push(ev.type)
  t.equal(types.at(-1), 'response.completed', 'the SDK reads a stream ending in [DONE] as well')
})

t.test('non-streamed replies are Response objects (the SDK adds output_text); refusals and incomplete too', async (t) => {
  const { client, fake } = await setup(t)
  fake.setReply(() => '{"ok":true}')
  const r = await client.responses.create({ model: 'm', input: 'x' })
  t.equal(r.output_text, '{"ok":true}')
  t.equal(r.status, 'completed')
  fake.setReply(() => ({ refusal: 'No.' }))
  const refused = await client.responses.create({ model: 'm', input: 'x' })
  t.match(refused.output, [{ type: 'message', content: [{ type: 'refusal', refusal: 'No.' }] }])
  fake.setReply(() => ({ text: 'cut', incomplete: 'max_output_tokens' }))
  const cut = await client.responses.create({ model: 'm', input: 'x' })
  t.match(cut, { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } })
})

t.test('auth, routing and validation errors come back as the SDK error classes', async (t) => {
  const { fake, client } = await setup(t)
  const noKey = new OpenAI({ apiKey: 'sk-wrong', baseURL: fake.url, maxRetries: 0 })
  t.ok(await caught(noKey.responses.create({ model: 'm', input: 'x' })) instanceof AuthenticationError)
  await t.rejects(noKey.responses.create({ model: 'm', input: 'x' }), { status: 401, code: 'invalid_api_key' })
  t.ok(await caught(client.post('/nope', { body: {} })) instanceof NotFoundError)
  await t.rejects(client.responses.create({ model: 'm', input: 'x', bogus: 1 } as never), { status: 400, param: 'bogus', message: /Unknown parameter: 'bogus'/ })
  await t.rejects(client.responses.create({ input: 'x' } as never), { status: 400, code: 'missing_required_parameter', param: 'model' })
  t.ok(await caught(client.responses.create({ model: 'm', input: 42 } as never)) instanceof BadRequestError)
  t.match(await caught(client.responses.create({ model: 'm', input: [{ role: 'robot', content: 'x' }] } as never)), { param: 'input[0].role' })
  const strict = (schema: Record<string, unknown>) => client.responses.create({ model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 's', strict: true, schema } } })
  await t.rejects(strict({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }), { code: 'invalid_json_schema', message: /additionalProperties/ })
  await t.rejects(strict({ type: 'object', additionalProperties: false, properties: { a: { type: 'string' } }, required: [] }), { message: /Missing 'a'/ })
  await t.rejects(client.responses.create({ model: 'm', input: 'x', text: { format: { type: 'json_object' } } }), { message: /json/ })
  t.equal(fake.requests.filter((r) => r.status === 400).length, 7)
  t.equal(fake.requests.filter((r) => r.status === 401).length, 2)
})

t.test('scripted failures: 429 body parsed by the SDK, mid-stream response.failed, hang until aborted', async (t) => {
  const { fake, client } = await setup(t)
  fake.setReply(() => ({ status: 429, headers: { 'x-should-retry': 'false' } }))
  await t.rejects(client.responses.create({ model: 'm', input: 'x', stream: true }), { status: 429, code: 'rate_limit_exceeded', type: 'requests' })

  fake.setReply(() => ({ text: 'a b', failMidStream: { kind: 'response.failed', failAfter: 1, code: 'server_error', message: 'oops' } }))
  const types = []
  for await (const ev of await client.responses.create({ model: 'm', input: 'x', stream: true })) {
    types.push(ev.type)
    if (ev.type === 'response.failed') t.match(ev.response, { status: 'failed', error: { code: 'server_error', message: 'oops' } })
  }
  t.equal(types.at(-1), 'response.failed')

  fake.setReply(() => ({ text: 'a b c', hangAfter: 1 }))
  const ac = new AbortController()
  const stream = await client.responses.create({ model: 'm', input: 'x', stream: true }, { signal: ac.signal })
  for await (const ev of stream) if (ev.type === 'response.output_text.delta') ac.abort()
  const last = fake.requests.at(-1)!
  await last.finished
  t.equal(last.clientClosed, true)
})
