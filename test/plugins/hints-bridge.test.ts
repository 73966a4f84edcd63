/** Hints wired for real: transcripts from the bridge (media stream + fake Realtime) and the playbook file from HINTS_PROMPT_FILE. */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CallEvent, TranscriptEvent } from '../../src/call/events.ts'
import { createFakeResponses, startFakeOpenAI, FAKE_OPENAI_KEY as FAKE_RESPONSES_KEY, type RecordedResponsesRequest, type ReplyScript } from '../../fakes/openai-http.ts'
import { FAKE_OPENAI_KEY, type FakeRealtimeConnection } from '../../fakes/realtime-server.ts'
import type { TwilioMediaClient } from '../../fakes/twilio-media-client.ts'
import { buildTestApp, ZERO_STATS } from '../helpers.ts'
import { callSid, frame, realtimeHarness, type Harness } from '../realtime-harness.ts'
import { until } from '../until.ts'

type HintDone = Extract<CallEvent, { type: 'hint.done' }>
type HintDelta = Extract<CallEvent, { type: 'hint.delta' }>

const isSummary = (req: RecordedResponsesRequest): boolean =>
  (req.body?.text as { format?: { type?: string } } | undefined)?.format?.type === 'json_schema'
const SUMMARY = JSON.stringify({ summary: 'A short call.', intent: 'question', action_items: [] })

/** The fake Realtime transcription session that carries `track` of `call` (found by the first payload it got). */
async function trackSession (h: Harness, call: TwilioMediaClient, track: 'inbound' | 'outbound', n: number): Promise<FakeRealtimeConnection> {
  call.media(frame(n), track)
  await h.fake.waitForConnection((c) => c.id === 2)
  return await until(`a transcription session with the ${track} track`, () => h.fake.connections.find((c) => c.appended[0] === frame(n)))
}

/** Speech with its VAD events on a transcription session; the transcript itself is sent by the caller of this. */
function speech (conn: FakeRealtimeConnection, startMs: number, endMs: number): string {
  const item = conn.speechStarted({ audioStartMs: startMs })
  conn.speechStopped(item, endMs)
  return item
}

const delta = (conn: FakeRealtimeConnection, itemId: string, text: string): void =>
  conn.send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: text })
const completed = (conn: FakeRealtimeConnection, itemId: string, transcript: string): void =>
  conn.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript, usage: { type: 'duration', seconds: 1 } })

t.test('a hint still being written never holds back the next transcript; the new utterance cuts it off as superseded', async (t) => {
  // One OPENAI_BASE_URL for transcription (Realtime) and hints (Responses), as in production and the demo.
  const responses = createFakeResponses({
    apiKey: FAKE_OPENAI_KEY,
    reply: (req) => {
      if (isSummary(req)) return SUMMARY
      // The first hint streams two tokens, then never finishes: only the client can end it.
      return req.seq === 1 ? { text: 'Ask about their current speed and price', hangAfter: 2 } : 'Mention the 30-day guarantee.'
    },
  })
  t.teardown(() => responses.stop())
  const h = await realtimeHarness(t, { HINTS_PROMPT: 'Bridge test playbook.' }, { http: responses.listener })
  const sid = callSid()
  const call = await h.call({ callSid: sid, mode: 'assist', direction: 'inbound' })
  const caller = await trackSession(h, call, 'inbound', 1)
  for (let i = 2; i < 20; i++) call.media(frame(i), 'inbound')

  const first = speech(caller, 0, 200)
  caller.transcribe(first, 'How fast is the fiber plan?')
  await h.waitEvent((e) => e.type === 'transcript.final' && e.itemId === first)
  const hinting = await h.waitEvent<HintDelta>((e) => e.type === 'hint.delta' && e.delta === 'about ')
  const hung = await responses.waitForRequest(1)
  t.match(hung.input, 'Customer: How fast is the fiber plan?', 'the bridge\'s final reached the hint request')

  // Snapshot, at the moment each transcript event of the second utterance is delivered, whether hint 1 is finished.
  const second = speech(caller, 300, 600)
  const seen: Array<{ type: string, hintDone: boolean, requestClosed: boolean }> = []
  t.teardown(h.app.bus.subscribe((e) => {
    if ((e.type === 'transcript.partial' || e.type === 'transcript.final') && e.itemId === second) {
      seen.push({ type: e.type, hintDone: h.events.some((x) => x.type === 'hint.done' && x.hintId === hinting.hintId), requestClosed: hung.clientClosed })
    }
  }))
  delta(caller, second, 'Actually, ')
  delta(caller, second, 'can I cancel later?')
  const partial = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.partial' && e.itemId === second && e.text === 'Actually, can I cancel later?')
  t.equal(partial.speaker, 'remote')
  t.same(seen, [
    { type: 'transcript.partial', hintDone: false, requestClosed: false },
    { type: 'transcript.partial', hintDone: false, requestClosed: false },
  ], 'the second utterance\'s partials flow while the first hint is still streaming')

  completed(caller, second, 'Actually, can I cancel later?')
  // Far sooner than the 15 s hint timeout: the final is not waiting for the hung hint.
  const final = await h.waitEvent<TranscriptEvent>((e) => e.type === 'transcript.final' && e.itemId === second)
  t.match(final, { speaker: 'remote', text: 'Actually, can I cancel later?', startMs: 300, endMs: 600 })
  t.same(seen.at(-1), { type: 'transcript.final', hintDone: true, requestClosed: false }, 'the final itself ended hint 1, whose request was still open')

  const cut = await h.waitEvent<HintDone>((e) => e.type === 'hint.done' && e.hintId === hinting.hintId)
  t.match(cut, { callSid: sid, itemId: first, text: 'Ask about', superseded: true }, 'hint 1 is reported superseded, cut off after the tokens it had')
  t.notOk('error' in cut, 'superseded, not failed')
  const next = await h.waitEvent<HintDone>((e) => e.type === 'hint.done' && e.itemId === second)
  t.match(next, { text: 'Mention the 30-day guarantee.', superseded: false })
  t.not(next.hintId, hinting.hintId)
  t.match((await responses.waitForRequest(2)).input, 'Customer: How fast is the fiber plan?\nCustomer: Actually, can I cancel later?')

  await hung.finished
  t.equal(hung.clientClosed, true, 'the superseded request was aborted, not left hanging')
  t.notOk(h.events.some((e) => e.type === 'call.error'), 'no error was reported for the superseded hint')
  const late = h.events.slice(h.events.indexOf(cut)).filter((e) => e.type === 'hint.delta' && e.hintId === hinting.hintId)
  t.same(late, [], 'no delta of hint 1 after its done')
  call.stop()
})

/** A playbook file with a marker line, and a distinct modification time so a re-read is certain to notice an edit. */
function writePlaybook (file: string, marker: string, mtimeSec: number): void {
  writeFileSync(file, `# Playbook\n\n${marker}: offer the Plus 1G plan when speed comes up.\n`)
  utimesSync(file, mtimeSec, mtimeSec)
}

/** The app with HINTS_PROMPT_FILE set (and no HINTS_PROMPT), a Responses fake, and a way to trigger one hint per call. */
async function playbookApp (t: Test, file: string) {
  const reply: ReplyScript = (req) => isSummary(req) ? SUMMARY : 'Offer the Plus 1G plan.'
  const fake = await startFakeOpenAI({ reply })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { OPENAI_API_KEY: FAKE_RESPONSES_KEY, OPENAI_BASE_URL: fake.url, HINTS_PROMPT: undefined, HINTS_PROMPT_FILE: file })
  const events: CallEvent[] = []
  let waiter: (() => void) | undefined
  t.teardown(app.bus.subscribe((e) => {
    events.push(e)
    waiter?.()
  }))
  const hinted = (sid: string): Promise<HintDone> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no hint.done for ${sid}; saw ${events.map((e) => e.type).join(', ')}`)), 5000)
    waiter = () => {
      const done = events.find((e): e is HintDone => e.type === 'hint.done' && e.callSid === sid)
      if (done === undefined) return
      clearTimeout(timer)
      waiter = undefined
      resolve(done)
    }
    waiter()
  })
  /** One assist call: start, one customer line, wait for its hint, stop. Returns the hint request. */
  const callWithHint = async (sid: string): Promise<RecordedResponsesRequest> => {
    const before = fake.requests.length
    app.bus.publish({ type: 'call.started', callSid: sid, at: Date.now(), streamSid: `MZ${sid}`, mode: 'assist', direction: 'inbound', from: '+15551230000', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: Date.now() })
    app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: `${sid}-r1`, speaker: 'remote', text: 'My internet is too slow.', startMs: 0, endMs: 800 })
    const done = await hinted(sid)
    t.match(done, { text: 'Offer the Plus 1G plan.', superseded: false }, `${sid} got its hint`)
    const req = fake.requests.slice(before).find((r) => !isSummary(r))
    if (req === undefined) throw new Error(`no hint request for ${sid}`)
    app.bus.publish({ type: 'call.stopped', callSid: sid, at: Date.now(), streamSid: `MZ${sid}`, reason: 'stop', durationMs: 1000, stats: ZERO_STATS })
    return req
  }
  return { fake, callWithHint }
}

t.test('HINTS_PROMPT_FILE: the hints plugin sends that file\'s playbook, and an edit reaches the next call without a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-playbook-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'my-playbook.md')
  const now = Math.floor(Date.now() / 1000)
  writePlaybook(file, 'MARKER-FIRST-7f3a', now - 60)
  const { callWithHint } = await playbookApp(t, file)

  const one = await callWithHint(callSid())
  t.match(one.instructions, /# Playbook\n\n# Playbook\n\nMARKER-FIRST-7f3a: offer the Plus 1G plan/, 'the file named by HINTS_PROMPT_FILE is the playbook')
  t.match(one.input, 'Customer: My internet is too slow.')

  writePlaybook(file, 'MARKER-EDITED-c91e', now)
  const two = await callWithHint(callSid())
  t.match(two.instructions, 'MARKER-EDITED-c91e', 'the edit is in the next call\'s hint request')
  t.notMatch(two.instructions, 'MARKER-FIRST-7f3a', 'and the old text is gone')
})
