import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import type { CallEvent } from '../../src/call/events.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
const PG = process.env.DATABASE_URL_TEST
const REDIS = process.env.REDIS_URL_TEST

const done = (callSid: string, hintId: string, playbookId: string, text = 'Offer the refund form'): CallEvent =>
  ({ type: 'hint.done', callSid, at: 1000, hintId, itemId: `item_${hintId}`, text, superseded: false, playbookId })

const post = (app: FastifyInstance, callSid: string, hintId: string, payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: `/api/hints/${callSid}/${hintId}/feedback`, headers, payload: payload as object })

/** The talkhint_hint_feedback_total samples, as "playbook value" → count. */
async function feedbackMetric (app: FastifyInstance): Promise<Record<string, number>> {
  const body = (await app.inject({ url: '/metrics', headers: auth })).body
  const out: Record<string, number> = {}
  for (const m of body.matchAll(/^talkhint_hint_feedback_total\{playbook="([^"]*)",value="([^"]*)"\} (\d+)$/gm)) out[`${m[1]} ${m[2]}`] = Number(m[3])
  return out
}

t.test('every hint feedback route needs the dashboard login', async (t) => {
  const app = await buildTestApp(t)
  for (const [method, url] of [['POST', '/api/hints/CA1/h1/feedback'], ['GET', '/api/hints/CA1/feedback'], ['GET', '/api/hints/feedback']] as const) {
    const res = await app.inject({ method, url, ...(method === 'POST' ? { payload: { value: 'up' } } : {}) })
    t.equal(res.statusCode, 401, `${method} ${url}`)
  }
})

t.test('bad input is a 400 that says what is wrong; an unknown hint is a 404', async (t) => {
  const app = await buildTestApp(t)
  for (const [sid, hint, body, msg] of [
    ['CA1', 'h1', { value: 'meh' }, /body\/value/],
    ['CA1', 'h1', {}, /value/],
    ['CA1', 'h1', { value: 'up', extra: 1 }, /extra/],
    ['CA1', 'h1', { value: 1 }, /value/],
    ['C', 'h1', { value: 'up' }, /call id/],
    ['CA1', 'h%20x', { value: 'up' }, /hint id/],
  ] as const) {
    const res = await post(app, sid, hint, body)
    t.equal(res.statusCode, 400, JSON.stringify([sid, hint, body]))
    t.match(res.json(), { error: 'invalid_request', message: msg })
  }
  const unknown = await post(app, 'CA1', 'h1', { value: 'up' })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { error: 'not_found', message: /No such hint/ })
  t.equal((await app.inject({ url: '/api/hints/x/feedback', headers: auth })).statusCode, 400)
})

t.test('feedback on a live hint is stored with it, idempotent, shown in history, counted per playbook', async (t) => {
  const app = await buildTestApp(t)
  app.bus.publish(done('CA1', 'h1', 'pb.md:aaa'))
  app.bus.publish(done('CA1', 'h2', 'pb.md:aaa', 'Ask for the order number'))
  app.bus.publish(done('CA1', 'h3', 'pb.md:bbb', 'Offer a callback'))
  // No wait for the recorder: the feedback may reach the database before the hint does, and is kept either way.
  const first = await post(app, 'CA1', 'h1', { value: 'up' })
  t.equal(first.statusCode, 200, first.body)
  t.same(first.json(), { callSid: 'CA1', hintId: 'h1', value: 'up', changed: true })
  t.same((await post(app, 'CA1', 'h1', { value: 'up' })).json(), { callSid: 'CA1', hintId: 'h1', value: 'up', changed: false }, 'a repeat changes nothing')
  t.equal((await post(app, 'CA1', 'h2', { value: 'down' })).statusCode, 200)
  t.equal((await post(app, 'CA1', 'h3', { value: 'up' })).statusCode, 200)
  t.equal((await post(app, 'CA1', 'h3', { value: null })).statusCode, 200, 'cleared')
  await app.recorder.idle()

  const call = (await app.inject({ url: '/api/calls/CA1', headers: auth })).json() as { hints: Array<{ hintId: string, text: string, feedback: string | null, feedbackBy: string | null, playbookId: string }> }
  t.match(call.hints, [
    { hintId: 'h1', text: 'Offer the refund form', feedback: 'up', feedbackBy: 'bearer', playbookId: 'pb.md:aaa' },
    { hintId: 'h2', text: 'Ask for the order number', feedback: 'down' },
    { hintId: 'h3', text: 'Offer a callback', feedback: null, feedbackBy: 'bearer' },
  ])
  t.same((await app.inject({ url: '/api/hints/CA1/feedback', headers: auth })).json(), { callSid: 'CA1', feedback: { h1: 'up', h2: 'down' } })
  t.same((await app.inject({ url: '/api/hints/feedback', headers: auth })).json(), { playbooks: [{ playbookId: 'pb.md:aaa', up: 1, down: 1 }] })
  t.same(await feedbackMetric(app), { 'pb.md:aaa up': 1, 'pb.md:aaa down': 1, 'pb.md:bbb up': 1, 'pb.md:bbb none': 1 }, 'changes counted, the repeat not')
})

t.test('a dashboard session is recorded as who gave it', async (t) => {
  const app = await buildTestApp(t)
  const login = await app.inject({ method: 'POST', url: '/login', payload: { token: TEST_DASHBOARD_TOKEN } })
  const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
  app.bus.publish(done('CA2', 'h1', 'pb.md:aaa'))
  await app.recorder.idle()
  const res = await post(app, 'CA2', 'h1', { value: 'down' }, { cookie, origin: 'http://localhost:80' })
  t.equal(res.statusCode, 200, res.body)
  const hint = ((await app.inject({ url: '/api/calls/CA2', headers: auth })).json() as { hints: Array<{ feedbackBy: string }> }).hints[0]
  t.match(hint?.feedbackBy, /^session:[A-Za-z0-9_-]{10,}$/)
})

t.test('two instances on one PostgreSQL and Redis: feedback given on B lands on the hint A recorded', { skip: PG === undefined || REDIS === undefined ? 'needs DATABASE_URL_TEST and REDIS_URL_TEST' : false }, async (t) => {
  const env = { DATABASE_URL: PG, REDIS_URL: REDIS, REDIS_PREFIX: `test-fb-${Math.random().toString(36).slice(2, 10)}` }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, env)
  const callSid = `CAfb${Date.now()}`
  const seenOnB = new Promise<void>((resolve) => {
    const off = b.eventFeed.subscribe((e) => { if (e.type === 'hint.done' && e.callSid === callSid) { off(); resolve() } })
  })
  a.bus.publish(done(callSid, 'h1', 'pb.md:multi'))
  await seenOnB
  const res = await post(b, callSid, 'h1', { value: 'up' })
  t.equal(res.statusCode, 200, res.body)
  await a.recorder.idle()
  const call = (await a.inject({ url: `/api/calls/${callSid}`, headers: auth })).json() as { hints: Array<{ text: string, feedback: string }> }
  t.match(call.hints, [{ text: 'Offer the refund form', feedback: 'up' }], 'A sees it: it is in the shared database, not in B\'s memory')
})
