/**
 * Durability: the real server (`node src/server.ts`, SQLite file) mid-call, transcripts produced
 * by the real bridge from the fake Realtime API, then SIGKILL. Every utterance that was final
 * (and visible through the API) before the kill must be in the database file afterwards.
 */
import t from 'tap'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN, form, twilioSignature } from '../../helpers.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime, tone, type FakeRealtimeConnection } from '../../../fakes/realtime-server.ts'
import { TwilioMediaClient } from '../../../fakes/twilio-media-client.ts'
import { openStore } from '../../../src/storage/open.ts'
import { until } from '../../until.ts'

const SERVER = new URL('../../../src/server.ts', import.meta.url).pathname
const CALL_SID = 'CA' + 'd0'.repeat(16)
const CALLER = '+14155550123'
const LINES: Array<['remote' | 'operator', string]> = [
  ['remote', 'Hi, I was charged twice for order 4521.'],
  ['operator', 'Sorry about that, let me check.'],
  ['remote', 'The second charge was yesterday.'],
  ['operator', 'I see it. I will refund it now.'],
  ['remote', 'Thank you, how long will it take?'],
  ['operator', 'Three to five business days.'],
]

t.test('SIGKILL mid-call loses no utterance that was final before the kill', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-durability-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const dbPath = join(dir, 'talkhint.db')
  const fake = await startFakeRealtime()
  t.teardown(() => fake.close())

  const child = fork(SERVER, [], {
    env: {
      PATH: process.env.PATH ?? '',
      PUBLIC_BASE_URL: TEST_BASE_URL,
      TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
      DASHBOARD_TOKEN: TEST_DASHBOARD_TOKEN,
      OPERATOR_PHONE: '+15550001111',
      TWILIO_PHONE_NUMBER: '+15550002222',
      MODE: 'assist',
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      OPENAI_BASE_URL: fake.url,
      DATABASE_URL: `sqlite:${dbPath}`,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const [msg] = await Promise.race([
    once(child, 'message') as Promise<[{ port: number }]>,
    exited.then(([code]) => { throw new Error(`server exited (${code}) before listening: ${stderr}`) }),
  ])
  const base = `http://127.0.0.1:${msg.port}`

  // The call as Twilio places it: a signed webhook, then the media stream.
  const params = { CallSid: CALL_SID, From: CALLER, To: '+15550002222', AccountSid: 'AC' + '0'.repeat(32), CallStatus: 'ringing', Direction: 'inbound' }
  const hook = await fetch(`${base}/twilio/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature('/twilio/inbound', params) },
    body: form(params),
  })
  t.equal(hook.status, 200)
  const call = await TwilioMediaClient.open({ base, callSid: CALL_SID, mode: 'assist' })
  t.teardown(() => call.close())
  const inboundFirst = tone(20, 1)
  call.media(inboundFirst, 'inbound')
  call.media(tone(20, 2), 'outbound')
  // Audio keeps flowing on both tracks, as in a live call, until the kill.
  const pump = setInterval(() => {
    call.media(tone(20, 3), 'inbound')
    call.media(tone(20, 4), 'outbound')
  }, 20)
  t.teardown(() => clearInterval(pump))

  await until('two transcription sessions', () => fake.connections.length >= 2 && fake.connections.every((c) => c.appended.length > 0), 15_000, 20)
  const inbound = fake.connections.find((c) => c.appended[0] === inboundFirst) as FakeRealtimeConnection
  const outbound = fake.connections.find((c) => c !== inbound) as FakeRealtimeConnection
  t.ok(inbound !== undefined && outbound !== undefined, 'one session per track')

  const api = async (): Promise<Array<{ speaker: string, text: string }>> => {
    const res = await fetch(`${base}/api/calls/${CALL_SID}`, { headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
    return res.status === 200 ? ((await res.json()) as { utterances: Array<{ speaker: string, text: string }> }).utterances : []
  }
  let ms = 100
  for (const [i, [speaker, text]] of LINES.entries()) {
    const conn = speaker === 'remote' ? inbound : outbound
    const item = conn.speechStarted({ audioStartMs: ms })
    conn.speechStopped(item, ms + 900)
    conn.transcribe(item, text)
    ms += 1000
    // Final means: the dashboard can read it back while the call is still live.
    await until(`utterance ${i + 1} to be readable`, async () => (await api()).length === i + 1, 15_000, 20)
  }
  t.same((await api()).map((u) => u.text), LINES.map(([, text]) => text), 'all final and readable mid-call')

  child.kill('SIGKILL')
  const [code, signal] = await exited
  clearInterval(pump)
  t.equal(signal, 'SIGKILL', `killed (exit code ${code})`)

  // Reopen the file the dead process was writing.
  const raw = new DatabaseSync(dbPath)
  t.equal((raw.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok', 'the database file is intact')
  raw.exec("INSERT INTO utterances_fts (utterances_fts) VALUES ('integrity-check')")
  raw.close()
  const { store } = await openStore(`sqlite:${dbPath}`)
  t.teardown(() => store.close())
  const detail = await store.getCall(CALL_SID)
  t.same(detail?.utterances.map((u) => [u.speaker, u.text]), LINES, 'every final utterance survived, with its speaker, in order')
  t.match(detail?.call, { callSid: CALL_SID, direction: 'inbound', from: CALLER, contactPhone: CALLER, mode: 'assist', endedAt: null }, 'the call row from the webhook, still open (it never ended)')
  t.ok((detail?.call.startedAt ?? 0) > 0, 'the stream start was recorded')
  const found = await store.listCalls({ limit: 5, terms: ['refund'] })
  t.same(found.calls.map((c) => c.callSid), [CALL_SID], 'and it is searchable')
})
