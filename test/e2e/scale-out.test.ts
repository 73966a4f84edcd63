import t from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { simulateCall } from '../../tools/sim/simulate.ts'
import { randomSid } from '../../tools/sim/webhook.ts'
import { startDemoOpenAI } from '../../fakes/openai-demo.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { until } from '../until.ts'

const PG = process.env.DATABASE_URL_TEST
const REDIS = process.env.REDIS_URL_TEST
const skip = PG === undefined || REDIS === undefined ? 'needs DATABASE_URL_TEST and REDIS_URL_TEST (real PostgreSQL and Redis; .ci/run sets both)' : false

interface Msg { type: string, seq?: number, callSid?: string, calls?: Array<{ callSid: string, phase: string, lines: Array<{ speaker: string, text: string, final: boolean }> }>, line?: { speaker: string, text: string, final: boolean } }

/** A dashboard on /ui: every message in order. */
function dashboard (base: string): { messages: Msg[], next: (test: (m: Msg) => boolean, ms?: number) => Promise<Msg>, close: () => void } {
  const ws = new WebSocket(base.replace('http', 'ws') + '/ui', { headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  const messages: Msg[] = []
  const waiters = new Set<() => void>()
  ws.on('message', (d) => {
    messages.push(JSON.parse(d.toString()) as Msg)
    for (const w of [...waiters]) w()
  })
  return {
    messages,
    next: (test, ms = 15_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        const m = messages.find(test)
        if (m !== undefined) { waiters.delete(check); clearTimeout(timer); resolve(m) }
      }
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`dashboard: no matching message within ${ms} ms; got ${messages.map((m) => m.type).join(',')}`)) }, ms)
      waiters.add(check)
      check()
    }),
    close: () => ws.close(),
  }
}

function firstFinal (app: FastifyInstance, callSid: string): Promise<void> {
  return new Promise((resolve) => {
    const off = app.bus.subscribe((e) => {
      if (e.type === 'transcript.final' && e.callSid === callSid) { off(); resolve() }
    })
  })
}

t.test('two instances, one Redis and one PostgreSQL: a call on A is seen live on B, snapshot included, and in B\'s history', { skip }, async (t) => {
  const ai = await startDemoOpenAI({ tokenDelayMs: 5 })
  t.teardown(() => ai.close())
  // A prefix of this run's own: other runs sharing the Redis (or a deployment) are invisible to it.
  const env = { DATABASE_URL: PG, REDIS_URL: REDIS, REDIS_PREFIX: `test-${randomSid('CA').slice(2, 12)}`, OPENAI_API_KEY: ai.apiKey, OPENAI_BASE_URL: ai.url, MODE: 'assist' }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, env)
  t.ok(a.eventFeed?.started && b.eventFeed?.started, 'both instances joined the fan-out')
  const baseA = await listen(a)
  const baseB = await listen(b)

  const callSid = randomSid('CA')
  const heard = firstFinal(a, callSid)
  const call = simulateCall({ serverUrl: baseA, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, callSid, speed: 2, tailMs: 3000, from: '+15555550142', to: '+15550002222' })

  // Mid-call, after A has a final transcript line: a dashboard connects to B.
  await heard
  t.equal(a.calls.size, 1, 'the call is held by A')
  t.equal(b.calls.size, 0, 'B holds no call')
  const dash = dashboard(baseB)
  t.teardown(() => dash.close())
  const snapshot = await dash.next((m) => m.type === 'snapshot')
  const inSnapshot = snapshot.calls?.find((c) => c.callSid === callSid)
  t.ok(inSnapshot, 'B\'s first snapshot has A\'s call')
  t.equal(inSnapshot?.phase, 'live', 'as a live call')
  t.ok((inSnapshot?.lines.filter((l) => l.final).length ?? 0) >= 1, 'with the transcript so far')

  // An instance that starts mid-call (a deploy, a scale-up) learns the call from Redis' history of it.
  const c = await buildTestApp(t, env)
  const dashC = dashboard(await listen(c))
  t.teardown(() => dashC.close())
  const snapC = await dashC.next((m) => m.type === 'snapshot')
  const onC = snapC.calls?.find((x) => x.callSid === callSid)
  t.ok(onC !== undefined && (onC.phase === 'live' || onC.phase === 'ended'), 'an instance started mid-call has the call in its first snapshot')
  t.ok((onC?.lines.filter((l) => l.final).length ?? 0) >= 1, 'with its transcript so far (replayed from Redis)')

  await dash.next((m) => m.type === 'call.ended' && m.callSid === callSid)
  await dashC.next((m) => m.type === 'call.ended' && m.callSid === callSid).catch(() => {
    // It may already have ended before C joined: then the snapshot said so.
    t.equal(onC?.phase, 'ended', 'C saw the end either live or in its snapshot')
  })
  const result = await call
  t.ok(result.ok, 'the call itself went through cleanly')
  t.same(snapshot.calls?.map((x) => x.callSid), [callSid], 'a run with its own REDIS_PREFIX sees only its own calls')

  // Snapshot, then every later event exactly once, in order (scope "*": no gap, no duplicate).
  const seqs = dash.messages.filter((m) => m.seq !== undefined && m.type !== 'heartbeat').map((m) => m.seq as number)
  t.same(seqs, seqs.map((_, i) => (snapshot.seq as number) + i), 'sequence continues from the snapshot with no gap or duplicate')
  const lines = new Map<string, string>()
  for (const l of inSnapshot?.lines ?? []) if (l.final) lines.set(l.speaker, l.text)
  for (const m of dash.messages) if (m.type === 'transcript.final' && m.callSid === callSid && m.line !== undefined) lines.set(m.line.speaker, m.line.text)
  t.match(lines.get('remote'), /premium plan/, 'the caller\'s words reached B')
  t.match(lines.get('operator'), /twenty percent/, 'the operator\'s words reached B')
  t.ok(dash.messages.some((m) => m.type === 'hint.done' && m.callSid === callSid), 'the hint reached B')

  // History written by A is read by B (shared PostgreSQL).
  let detail: { utterances?: unknown[] } | undefined
  await until(() => `both utterances in B's history (got ${detail?.utterances?.length ?? 'no call'})`, async () => {
    const res = await fetch(`${baseB}/api/calls/${callSid}`, { headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
    if (res.status === 200) detail = await res.json() as { utterances?: unknown[] }
    return (detail?.utterances?.length ?? 0) >= 2
  }, 5000, 100)
  t.equal(detail?.utterances?.length, 2, 'B\'s history API has A\'s call with both utterances')
})

t.test('Redis unreachable: the instance starts, calls work, the fan-out keeps retrying', async (t) => {
  const app = await buildTestApp(t, { REDIS_URL: 'redis://127.0.0.1:1' })
  t.equal(app.eventFeed?.started, false, 'not joined')
  const base = await listen(app)
  const hc = await fetch(`${base}/healthz`)
  t.equal(hc.status, 200, 'healthy: Redis only carries the cross-instance view')
  const events: string[] = []
  app.bus.subscribe((e) => { events.push(e.type) })
  const dash = dashboard(base)
  t.teardown(() => dash.close())
  await dash.next((m) => m.type === 'snapshot')
  const callSid = randomSid('CA')
  const result = await simulateCall({ serverUrl: base, publicBaseUrl: TEST_BASE_URL, authToken: TEST_AUTH_TOKEN, callSid, speed: 20 })
  t.ok(result.ok, 'the call went through')
  await dash.next((m) => m.type === 'call.ended' && m.callSid === callSid)
  t.pass('this instance\'s dashboard saw the call (local events do not wait for Redis)')
})
