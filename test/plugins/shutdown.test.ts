/** app.drain(ms) in-process: the shutdown order as the running app performs it, and nothing lost on the way. */
import t, { type Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createFakeResponses, type RecordedResponsesRequest } from '../../fakes/openai-http.ts'
import { FAKE_OPENAI_KEY, type FakeRealtimeConnection } from '../../fakes/realtime-server.ts'
import type { TwilioMediaClient } from '../../fakes/twilio-media-client.ts'
import { SHUTDOWN_STEPS } from '../../src/shutdown.ts'
import { buildTestApp, signedPost, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { callSid, frame, realtimeHarness, sleep, type Harness } from '../realtime-harness.ts'

const SUMMARY = JSON.stringify({ summary: 'The caller wants to cancel.', intent: 'cancel', action_items: ['Call back'] })
const isSummary = (req: RecordedResponsesRequest): boolean =>
  (req.body?.text as { format?: { type?: string } } | undefined)?.format?.type === 'json_schema'

interface Drainable {
  h: Harness
  db: string
  /** What happened, in the order it happened: shutdown steps (from the log), call events, the test's own probes. */
  journal: string[]
}

/**
 * The real app on a SQLite file with the fake OpenAI (Realtime and Responses on one base URL), its log and its
 * call events written to one journal as they happen, so the order is read at the end, not guessed by sleeping.
 */
async function drainable (t: Test, summaryDelayMs = 0): Promise<Drainable> {
  const db = `sqlite:${join(mkdtempSync(join(tmpdir(), 'talkhint-shutdown-')), 'talkhint.db')}`
  const responses = createFakeResponses({
    apiKey: FAKE_OPENAI_KEY,
    reply: async (req) => {
      if (!isSummary(req)) return 'Offer the retention discount.'
      if (summaryDelayMs > 0) await sleep(summaryDelayMs)
      return SUMMARY
    },
  })
  t.teardown(() => responses.stop())
  const journal: string[] = []
  const logger = pino({ level: 'info' }, {
    write (line: string) {
      const l = JSON.parse(line) as { step?: string, msg?: string, reason?: string }
      if (l.step !== undefined) journal.push(`step:${l.step}`)
      else if (l.msg === 'ai bridge stopped') journal.push(`ai-stopped:${l.reason}`)
    },
  })
  const h = await realtimeHarness(t, { DATABASE_URL: db, HINTS_PROMPT: 'Shutdown test playbook.' }, { http: responses.listener }, { loggerInstance: logger })
  h.app.bus.subscribe((e) => {
    if (e.type === 'call.stopped') journal.push(`stopped:${e.reason}`)
    else if (e.type === 'call.status') journal.push(`status:${e.status}`)
    else if (e.type === 'call.summary') journal.push('summary')
    else if (e.type === 'call.error' && e.code.startsWith('summary_')) journal.push(`summary-error:${e.code}`)
  })
  return { h, db, journal }
}

/** An assist call with one final transcript line from the caller, through the bridge and the fake Realtime API. */
async function callWithTranscript (h: Harness): Promise<TwilioMediaClient> {
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'assist', direction: 'inbound' })
  call.media(frame(1), 'inbound')
  let conn: FakeRealtimeConnection | undefined
  for (let i = 0; i < 1000 && conn === undefined; i++) {
    conn = h.fake.connections.find((c) => c.appended[0] === frame(1))
    if (conn === undefined) await sleep(5)
  }
  if (conn === undefined) throw new Error('no transcription session got the inbound track')
  for (let i = 2; i < 10; i++) call.media(frame(i), 'inbound')
  const item = conn.speechStarted({ audioStartMs: 0 })
  conn.speechStopped(item, 160)
  conn.transcribe(item, 'I would like to cancel my plan.')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.callSid === sid)
  return call
}

/** The call as stored, read back through a fresh app on the same database (the drained one is closed). */
async function stored (t: Test, db: string, sid: string): Promise<Record<string, unknown>> {
  const app = await buildTestApp(t, { DATABASE_URL: db })
  const res = await app.inject({ url: `/api/calls/${sid}`, headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.equal(res.statusCode, 200, 'the call is stored')
  return res.json()
}

const before = (journal: string[], a: string, b: string): boolean => journal.indexOf(a) >= 0 && journal.indexOf(a) < journal.indexOf(b)

t.test('a call that ends during the drain: served until its final status and summary are in, then closed in order', async (t) => {
  const { h, db, journal } = await drainable(t)
  const call = await callWithTranscript(h)

  const draining = h.app.drain(30_000)
  const health = await h.app.inject('/healthz')
  t.equal(health.statusCode, 503, '/healthz fails at once')
  t.same(health.json(), { status: 'draining' })
  journal.push('probe:healthz-503')
  t.equal(call.ws.readyState, call.ws.OPEN, 'the live call is not cut')

  call.stop()
  await h.waitEvent((e) => e.type === 'call.stopped' && e.callSid === call.callSid)
  // Twilio posts the final status just after the call ends: the draining app still takes it.
  const status = await h.app.inject(signedPost('/twilio/call-status', { CallSid: call.callSid, CallStatus: 'completed', CallDuration: '4' }))
  t.equal(status.statusCode, 204, 'final status callback accepted during the drain')

  const report = await draining
  t.same({ drained: report.drained, settled: report.settled }, { drained: true, settled: true })
  t.same(journal.filter((x) => x.startsWith('step:')), SHUTDOWN_STEPS.map((s) => `step:${s}`), 'every step once, in order')
  t.ok(before(journal, 'step:admission', 'probe:healthz-503'), 'healthz failed once admission stopped')
  t.ok(before(journal, 'probe:healthz-503', 'step:wait-streams'), '…while the drain was still waiting for the call')
  t.ok(before(journal, 'stopped:stop', 'step:wait-streams'), 'the call ended by its own stop, not by the server')
  t.ok(before(journal, 'status:completed', 'step:settle'), 'the settle step waited for the final status')
  t.ok(before(journal, 'summary', 'step:settle'), 'the settle step waited for the summary')
  t.notOk(journal.includes('stopped:shutdown'), 'no stream was ended by the server')

  const detail = await stored(t, db, call.callSid)
  t.match(detail, { call: { status: 'completed', summary: 'The caller wants to cancel.' }, summary: { intent: 'cancel', actionItems: ['Call back'] } }, 'status and summary stored before storage closed')
})

t.test('a call that outlives the budget: ended with 1001, its AI session closed, its summary still stored', async (t) => {
  // The summary takes longer than the budget: only the summaries step stands between it and a closed database.
  const { h, db, journal } = await drainable(t, 300)
  const call = await callWithTranscript(h)

  const closed = call.closed(10_000)
  const draining = h.app.drain(200)
  t.equal((await h.app.inject('/healthz')).statusCode, 503, '/healthz fails during the drain')
  journal.push('probe:healthz-503')
  t.equal(await closed, 1001, 'the stream is told the server is going away')
  const report = await draining
  t.same({ drained: report.drained, settled: report.settled }, { drained: false, settled: undefined })

  t.same(journal.filter((x) => x.startsWith('step:')), SHUTDOWN_STEPS.map((s) => `step:${s}`), 'every step once, in order')
  t.ok(before(journal, 'probe:healthz-503', 'step:wait-streams'), 'healthz failed while the call was still live')
  t.ok(before(journal, 'step:wait-streams', 'stopped:shutdown'), 'the call ran until the budget was spent')
  t.ok(before(journal, 'stopped:shutdown', 'step:end-streams'), 'the server ended the stream in step 3')
  t.ok(before(journal, 'ai-stopped:shutdown', 'step:end-ai'), 'its AI session closed before step 3 was done')
  t.ok(before(journal, 'step:end-ai', 'summary'), 'the summary came after the streams and AI sessions ended…')
  t.ok(before(journal, 'summary', 'step:summaries'), '…and the summaries step waited for it')
  t.equal(journal.filter((x) => x === 'summary').length, 1)

  const detail = await stored(t, db, call.callSid)
  t.match(detail, { call: { summary: 'The caller wants to cancel.', endedAt: Number }, summary: { intent: 'cancel' } }, 'summary stored before storage closed')
})

t.test('a plain close (no drain) ends the calls in the same order, with no wait', async (t) => {
  const { h, journal } = await drainable(t)
  const call = await callWithTranscript(h)
  const closed = call.closed(10_000)
  await h.app.close()
  t.equal(await closed, 1001)
  t.same(journal.filter((x) => x.startsWith('step:')), SHUTDOWN_STEPS.filter((s) => s !== 'close').map((s) => `step:${s}`), 'steps 1–4 ran inside the close')
  t.ok(before(journal, 'stopped:shutdown', 'step:end-streams'))
  t.ok(before(journal, 'step:end-ai', 'summary'), 'the summary still came, before the summaries step ended')
  t.ok(before(journal, 'summary', 'step:summaries'))
})
