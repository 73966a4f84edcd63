import t from 'tap'
import { silentLogger } from '../../../src/log.ts'
import { DAY_MS, startRetention } from '../../../src/storage/retention.ts'
import type { WriteOp } from '../../../src/storage/store.ts'
import { sqliteEngine } from './databases.ts'

const A = '+14155550101'
const T0 = Date.UTC(2025, 0, 31, 12)

const call = (callSid: string, at: number): WriteOp[] => [
  { op: 'call', callSid, at, patch: { direction: 'inbound', from: A, contactPhone: A } },
  { op: 'utterance', callSid, at, itemId: 'i1', speaker: 'remote', text: `said at ${at}`, startMs: 0, endMs: 1 },
]
const message = (sid: string, at: number): WriteOp =>
  ({ op: 'message', at, sid, direction: 'inbound', from: `whatsapp:${A}`, to: 'whatsapp:+15550002222', contactPhone: A, body: 'hi', numMedia: 0, status: 'received' })

t.test('purges calls and messages older than RETENTION_DAYS at start-up, then once a day, by the injected clock', async (t) => {
  const store = await (await sqliteEngine.create(t)).open()
  await store.write([
    ...call('CA40d', T0 - 40 * DAY_MS), ...call('CA29d', T0 - 29 * DAY_MS), ...call('CA1d', T0 - DAY_MS),
    message('SM31d', T0 - 31 * DAY_MS), message('SM2d', T0 - 2 * DAY_MS),
  ])
  let now = T0
  const ticks: Array<() => void> = []
  let cleared = false
  const retention = startRetention({
    store,
    days: 30,
    log: silentLogger,
    now: () => now,
    timers: { setInterval: (fn, ms) => { t.equal(ms, DAY_MS, 'daily'); ticks.push(fn); return 7 }, clearInterval: (h) => { cleared = h === 7 } },
  })
  const first = await retention.runOnce() // joins the start-up run already in flight
  t.same(first, { calls: 1, messages: 1 }, 'at start-up: the 40-day-old call and the 31-day-old message')
  const ids = async (): Promise<string[]> => (await store.listCalls({ limit: 10 })).calls.map((c) => c.callSid)
  t.same(await ids(), ['CA1d', 'CA29d'])

  now = T0 + 2 * DAY_MS // two days later the 29-day-old call is 31 days old
  ticks[0]?.()
  t.same(await retention.runOnce(), { calls: 1, messages: 0 })
  t.same(await ids(), ['CA1d'])
  t.same((await store.contactHistory(A, 10)).messages.map((m) => m.sid), ['SM2d'])
  await retention.stop()
  t.ok(cleared, 'stop cancels the daily timer')
})

t.test('a failed purge is logged and does not stop the schedule', async (t) => {
  let calls = 0
  const errors: string[] = []
  const log = { ...silentLogger, error: (_o: object, msg?: string) => { errors.push(msg ?? '') } }
  const ticks: Array<() => void> = []
  const retention = startRetention({
    store: { purge: async () => { calls++; if (calls === 1) throw new Error('db down'); return { calls: 0, messages: 0 } } },
    days: 1,
    log,
    now: () => T0,
    timers: { setInterval: (fn) => { ticks.push(fn); return 1 }, clearInterval: () => {} },
  })
  t.equal(await retention.runOnce(), undefined, 'the start-up run failed')
  t.match(errors, [/retention purge failed/])
  ticks[0]?.()
  t.same(await retention.runOnce(), { calls: 0, messages: 0 })
  await retention.stop()
})
