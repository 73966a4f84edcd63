import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import type { CallEvent } from '../../src/call/events.ts'
import { sqliteEngine } from '../src/storage/databases.ts'
import { DAY_MS } from '../../src/storage/retention.ts'
import { FAKE_OPENAI_KEY, startFakeOpenAI, type FakeReply } from '../../fakes/openai-http.ts'
import { until } from '../until.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
const A = '+14155550101'
const B = '+14155550102'
const OURS = '+15550002222'

/** Publishes a whole call on the bus, as the media session, bridge and hints would. */
function publishCall (app: FastifyInstance, callSid: string, at: number, remote: string, lines: string[]): void {
  const e: CallEvent[] = [
    { type: 'call.webhook', callSid, at, mode: 'assist', direction: 'inbound', from: remote, to: OURS, ai: true },
    { type: 'call.started', callSid, at: at + 10, streamSid: `MZ${callSid}`, mode: 'assist', direction: 'inbound', from: remote, to: OURS, tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: at + 10 },
    ...lines.map((text, i): CallEvent => ({ type: 'transcript.final', callSid, at: at + 100 + i, itemId: `item_${i}`, speaker: i % 2 === 0 ? 'remote' : 'operator', text, startMs: i * 1000, endMs: i * 1000 + 900 })),
    { type: 'hint.done', callSid, at: at + 200, hintId: 'h1', text: 'Offer the refund form', itemId: 'item_0', superseded: false },
    { type: 'call.summary', callSid, at: at + 300, summary: 'Caller asked about a refund.', intent: 'refund', actionItems: ['Send the refund form'] },
    { type: 'call.status', callSid, at: at + 400, status: 'completed', duration: 42 },
  ]
  for (const ev of e) app.bus.publish(ev)
}

async function seeded (t: Parameters<typeof buildTestApp>[0]): Promise<FastifyInstance> {
  const app = await buildTestApp(t)
  publishCall(app, 'CA01', 1_000, A, ['I want a refund for order 4521', 'Sure, let me check'])
  publishCall(app, 'CA02', 2_000, B, ['Where is my parcel?'])
  publishCall(app, 'CA03', 3_000, A, ['Thanks for the refund', 'You are welcome'])
  await app.recorder.idle()
  return app
}

t.test('every history route needs the dashboard token', async (t) => {
  const app = await buildTestApp(t)
  for (const [method, url] of [['GET', '/api/calls'], ['GET', '/api/calls/CA01'], ['GET', `/api/contacts/${A}`], ['PATCH', `/api/contacts/${A}`], ['GET', '/api/storage/status']] as const) {
    const res = await app.inject({ method, url, ...(method === 'PATCH' ? { payload: { name: 'x' } } : {}) })
    t.equal(res.statusCode, 401, `${method} ${url}`)
  }
})

t.test('GET /api/calls: newest first, opaque cursor pages, phone and date filters, search', async (t) => {
  const app = await seeded(t)
  const list = async (qs: string) => {
    const res = await app.inject({ url: `/api/calls${qs}`, headers: auth })
    t.equal(res.statusCode, 200, `${qs}: ${res.body}`)
    return res.json() as { calls: Array<{ callSid: string, match?: { text: string } }>, nextCursor: string | null }
  }
  const p1 = await list('?limit=2')
  t.same(p1.calls.map((c) => c.callSid), ['CA03', 'CA02'])
  t.type(p1.nextCursor, 'string')
  const p2 = await list(`?limit=2&cursor=${encodeURIComponent(p1.nextCursor as string)}`)
  t.same(p2.calls.map((c) => c.callSid), ['CA01'])
  t.equal(p2.nextCursor, null)
  t.match((await list('')).calls[0], { callSid: 'CA03', contactPhone: A, status: 'completed', durationS: 42, utteranceCount: 2, summary: 'Caller asked about a refund.', startedAt: 3010 })
  t.same((await list(`?phone=${encodeURIComponent(B)}`)).calls.map((c) => c.callSid), ['CA02'])
  t.same((await list('?phone=%2B1%20(415)%20555-0101')).calls.map((c) => c.callSid), ['CA03', 'CA01'], 'a formatted number works')
  t.same((await list('?phone=0102')).calls.map((c) => c.callSid), ['CA02'], 'the last digits of a number')
  t.same((await list('?phone=415%20555')).calls.map((c) => c.callSid), ['CA03', 'CA02', 'CA01'], 'digits from the middle')
  t.same((await list('?phone=%2B4155')).calls.map((c) => c.callSid), [], 'a leading + means the start of the number')
  t.same((await list('?since=1500&until=2500')).calls.map((c) => c.callSid), ['CA02'])
  t.same((await list('?until=1970-01-01')).calls.length, 3, 'a date as upper bound includes that whole day')
  const found = await list('?q=REFUND')
  t.same(found.calls.map((c) => c.callSid), ['CA03', 'CA01'])
  t.equal(found.calls[1]?.match?.text, 'I want a refund for order 4521')
  t.same((await list('?q=refund%20order&phone=%2B14155550101')).calls.map((c) => c.callSid), ['CA01'])
  t.same((await list('?q=%22%27%3B--')).calls.length, 3, 'a query with no words is no filter')
})

t.test('GET /api/calls rejects bad parameters with a clear 400', async (t) => {
  const app = await buildTestApp(t)
  for (const [qs, msg] of [
    ['?limit=0', /limit/], ['?limit=1000', /limit/], ['?cursor=nonsense', /cursor/], ['?phone=12', /at least 3 digits/], ['?phone=ada', /digits/],
    ['?since=yesterday', /since/], ['?since=2025-02-01&until=2025-01-01', /before/], [`?q=${'x'.repeat(201)}`, /200/],
  ] as const) {
    const res = await app.inject({ url: `/api/calls${qs}`, headers: auth })
    t.equal(res.statusCode, 400, qs)
    t.match(res.json(), { error: 'invalid_request', message: msg })
  }
})

t.test('GET /api/calls/:sid returns transcript, hints and summary; 404 when unknown', async (t) => {
  const app = await seeded(t)
  const res = await app.inject({ url: '/api/calls/CA01', headers: auth })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body.call, { callSid: 'CA01', direction: 'inbound', from: A, to: OURS, mode: 'assist', status: 'completed' })
  t.same(body.utterances.map((u: { speaker: string, text: string }) => [u.speaker, u.text]), [['remote', 'I want a refund for order 4521'], ['operator', 'Sure, let me check']])
  t.match(body.hints, [{ hintId: 'h1', text: 'Offer the refund form', itemId: 'item_0', superseded: false }])
  t.match(body.summary, { summary: 'Caller asked about a refund.', intent: 'refund', actionItems: ['Send the refund form'] })
  const missing = await app.inject({ url: '/api/calls/CA404', headers: auth })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'not_found')
  t.equal((await app.inject({ url: '/api/calls/bad%20sid!', headers: auth })).statusCode, 400)
})

t.test('contacts: the timeline of calls and messages; PATCH edits name and notes, validated', async (t) => {
  const app = await seeded(t)
  app.recorder.enqueue({ op: 'message', at: 2_500, sid: 'SM1', direction: 'inbound', from: `whatsapp:${A}`, to: `whatsapp:${OURS}`, contactPhone: A, body: 'Did you get my photo?', numMedia: 1, status: 'received', profileName: 'Ada' })
  await app.recorder.idle()
  const res = await app.inject({ url: `/api/contacts/${encodeURIComponent(A)}`, headers: auth })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body.contact, { phone: A, name: 'Ada', notes: null })
  t.same(body.timeline.map((e: { kind: string, at: number }) => [e.kind, e.at]), [['call', 3000], ['message', 2500], ['call', 1000]])
  t.match(body.timeline[1].message, { sid: 'SM1', body: 'Did you get my photo?', numMedia: 1, direction: 'inbound' })

  const patch = (payload: unknown, phone = A) => app.inject({ method: 'PATCH', url: `/api/contacts/${encodeURIComponent(phone)}`, headers: auth, payload: payload as object })
  const ok = await patch({ name: '  Ada Lovelace ', notes: 'VIP. Prefers WhatsApp.' })
  t.equal(ok.statusCode, 200)
  t.match(ok.json().contact, { phone: A, name: 'Ada Lovelace', notes: 'VIP. Prefers WhatsApp.' })
  t.match((await patch({ notes: '' })).json().contact, { name: 'Ada Lovelace', notes: null }, 'empty clears, absent keeps')
  const listed = await app.inject({ url: '/api/calls?limit=1', headers: auth })
  t.equal(listed.json().calls[0].contactName, 'Ada Lovelace')
  for (const bad of [{}, { name: 'x'.repeat(201) }, { nickname: 'x' }, { name: 42 }]) {
    const r = await patch(bad)
    t.equal(r.statusCode, 400, JSON.stringify(bad).slice(0, 40))
    t.equal(r.json().error, 'invalid_request')
  }
  t.equal((await patch({ name: 'x' }, '12345')).statusCode, 400, 'bad phone')
  const fresh = await patch({ name: 'Bob' }, '+14155550199')
  t.equal(fresh.statusCode, 200, 'PATCH creates a contact for a new number')
  t.equal((await app.inject({ url: '/api/contacts/%2B14155550199', headers: auth })).json().contact.name, 'Bob')
  const none = await app.inject({ url: '/api/contacts/%2B19995550000', headers: auth })
  t.equal(none.statusCode, 404)
  t.equal((await app.inject({ url: '/api/contacts/not-a-number', headers: auth })).statusCode, 400)
})

t.test('storage status reports the engine and the recorder', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ url: '/api/storage/status', headers: auth })
  t.match(res.json(), { engine: 'sqlite', recorder: { state: 'ok', queued: 0, dropped: 0 } })
})

t.test('with RETENTION_DAYS the app purges old history at start-up (injected clock)', async (t) => {
  const db = await sqliteEngine.create(t)
  const now = Date.UTC(2025, 5, 1)
  const seed = await db.open()
  await seed.write([
    { op: 'call', callSid: 'CAold', at: now - 10 * DAY_MS, patch: {} },
    { op: 'call', callSid: 'CAnew', at: now - 2 * DAY_MS, patch: {} },
  ])
  await seed.close()
  const app = await buildTestApp(t, { DATABASE_URL: db.url, RETENTION_DAYS: '7' }, { now: () => now })
  let ids: string[] = []
  await until(() => `the retention sweep (listed: ${ids.join(', ')})`, async () => {
    ids = (await app.inject({ url: '/api/calls', headers: auth })).json().calls.map((c: { callSid: string }) => c.callSid)
    return ids.length === 1
  }, 5000, 10)
  t.same(ids, ['CAnew'])
})

t.test('with the database down at start-up the app still starts; history answers 503, calls queue', async (t) => {
  const app = await buildTestApp(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/talkhint' })
  const res = await app.inject({ url: '/api/calls', headers: auth })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { error: 'storage_unavailable', message: /unreachable/ })
  publishCall(app, 'CA01', 1_000, A, ['hello'])
  t.ok(app.recorder.status().queued > 0, 'the call is held in memory, not dropped')
  const status = await app.inject({ url: '/api/storage/status', headers: auth })
  t.match(status.json(), { engine: 'postgres' })
})

t.test('POST /api/calls/:sid/summary summarizes a stored transcript (fake Responses API) and stores it', async (t) => {
  const fake = await startFakeOpenAI({
    apiKey: FAKE_OPENAI_KEY,
    reply: () => JSON.stringify({ summary: 'Caller wants a refund for order 4521.', intent: 'refund', action_items: ['Refund order 4521'] }),
  })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, SUMMARY_MODEL: 'gpt-test-summary' })
  await app.store.write([
    { op: 'call', callSid: 'CA01', at: 1000, patch: { direction: 'inbound', from: A, contactPhone: A } },
    { op: 'utterance', callSid: 'CA01', at: 1001, itemId: 'i1', speaker: 'remote', text: 'I was charged twice for order 4521', startMs: 0, endMs: 900 },
    { op: 'utterance', callSid: 'CA01', at: 1002, itemId: 'i2', speaker: 'operator', text: 'I will refund one charge', startMs: 1000, endMs: 1900 },
    { op: 'call', callSid: 'CA02', at: 2000, patch: {} },
  ])
  const res = await app.inject({ method: 'POST', url: '/api/calls/CA01/summary', headers: auth })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json().summary, { summary: 'Caller wants a refund for order 4521.', intent: 'refund', actionItems: ['Refund order 4521'] })
  const req = fake.requests.find((r) => r.path.endsWith('/responses'))
  t.equal(req?.model, 'gpt-test-summary')
  t.match(JSON.stringify(req?.input), /charged twice for order 4521[\s\S]*refund one charge/, 'the stored transcript was sent')
  const detail = (await app.inject({ url: '/api/calls/CA01', headers: auth })).json()
  t.match(detail.summary, { intent: 'refund', actionItems: ['Refund order 4521'] }, 'stored with the call')

  const empty = await app.inject({ method: 'POST', url: '/api/calls/CA02/summary', headers: auth })
  t.equal(empty.statusCode, 422)
  t.equal(empty.json().error, 'summary_empty')
  t.equal((await app.inject({ method: 'POST', url: '/api/calls/CA404/summary', headers: auth })).statusCode, 404)

  const off = await buildTestApp(t)
  const noKey = await off.inject({ method: 'POST', url: '/api/calls/CA01/summary', headers: auth })
  t.equal(noKey.statusCode, 503)
  t.match(noKey.json().message, /OPENAI_API_KEY/)
})

t.test('POST /api/calls/:sid/summary: OpenAI refusing the key is a 502 with its code; a model refusal a 422', async (t) => {
  let answer: FakeReply = { status: 401 }
  const fake = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, reply: () => answer })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url })
  await app.store.write([{ op: 'utterance', callSid: 'CA01', at: 1001, itemId: 'i1', speaker: 'remote', text: 'Hello', startMs: 0, endMs: 900 }])
  const rejected = await app.inject({ method: 'POST', url: '/api/calls/CA01/summary', headers: auth })
  t.equal(rejected.statusCode, 502)
  t.match(rejected.json(), { error: 'auth_failed', message: /OpenAI rejected the API key/ })
  answer = { refusal: 'I cannot help with that.' }
  const refused = await app.inject({ method: 'POST', url: '/api/calls/CA01/summary', headers: auth })
  t.equal(refused.statusCode, 422)
  t.match(refused.json(), { error: 'summary_refused', message: /refused/ })
})
