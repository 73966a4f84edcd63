import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createCallEventBus } from '../../../src/call/bus.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import { silentLogger } from '../../../src/log.ts'
import { createRedisFeed } from '../../../src/cluster/redis-feed.ts'
import { until } from '../../until.ts'

const url = process.env.REDIS_URL_TEST ?? 'redis://127.0.0.1:6379'
const skip = process.env.REDIS_URL_TEST === undefined ? 'REDIS_URL_TEST is not set (e.g. redis://127.0.0.1:6379); .ci/run sets it' : false
{
  const ns = `talkhint-test-${randomUUID()}`
  const instance = (id: string) => {
    const bus = createCallEventBus(silentLogger)
    const feed = createRedisFeed({ url, instanceId: id, bus, log: silentLogger, namespace: ns })
    return { bus, feed }
  }
  const started = (callSid: string): CallEvent => ({ type: 'call.started', callSid, at: Date.now(), streamSid: `MZ${callSid}`, mode: 'assist', direction: 'inbound', from: '+14155550100', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: Date.now() })
  const final = (callSid: string, n: number): CallEvent => ({ type: 'transcript.final', callSid, at: Date.now(), itemId: `item_${n}`, speaker: 'remote', text: `line ${n}`, startMs: n * 1000, endMs: n * 1000 + 500 })

  t.test('events published on one instance reach another live; its own are not echoed back', { skip }, async (t) => {
    const a = instance('A')
    const b = instance('B')
    t.teardown(async () => { await a.feed.close(); await b.feed.close() })
    await a.feed.start()
    await b.feed.start()
    const seenByB: CallEvent[] = []
    const seenByA: CallEvent[] = []
    b.feed.subscribe((e) => seenByB.push(e))
    a.feed.subscribe((e) => seenByA.push(e))
    a.bus.publish(started('CAlive'))
    for (let i = 1; i <= 20; i++) a.bus.publish(final('CAlive', i))
    await until(() => `21 events on B (got ${seenByB.length})`, () => seenByB.length === 21)
    t.same(seenByB.map((e) => e.type === 'transcript.final' ? e.text : e.type), ['call.started', ...Array.from({ length: 20 }, (_, i) => `line ${i + 1}`)], 'in order')
    t.equal(seenByA.length, 21, 'A sees its own events once, from its bus, not again from Redis')
  })

  t.test('an instance that starts mid-call replays the history, then continues live: no gap, no duplicate', { skip }, async (t) => {
    const a = instance('A2')
    t.teardown(() => a.feed.close())
    await a.feed.start()
    a.bus.publish(started('CAmid'))
    a.bus.publish(started('CAother'))
    for (let i = 1; i <= 10; i++) { a.bus.publish(final('CAmid', i)); a.bus.publish(final('CAother', i)) }
    await until(() => `22 published by A (got ${a.feed.published})`, () => a.feed.published === 22)
    const late = instance('LATE')
    t.teardown(() => late.feed.close())
    const seen: CallEvent[] = []
    late.feed.subscribe((e) => seen.push(e))
    const starting = late.feed.start()
    // Events published while the late instance is starting must appear exactly once.
    for (let i = 11; i <= 30; i++) a.bus.publish(final('CAmid', i))
    await starting
    await until('31 events of CAmid', () => seen.filter((e) => e.callSid === 'CAmid').length === 31)
    // A barrier instead of a pause: one channel from one publisher is delivered in order, so once this event is
    // in, a late duplicate of anything published before it would be in too.
    a.bus.publish(started('CAbarrier'))
    await until('the barrier event', () => seen.some((e) => e.callSid === 'CAbarrier'))
    const mid = seen.filter((e) => e.callSid === 'CAmid').map((e) => e.type === 'transcript.final' ? e.text : e.type)
    t.same(mid, ['call.started', ...Array.from({ length: 30 }, (_, i) => `line ${i + 1}`)])
    t.equal(seen.filter((e) => e.callSid === 'CAother').length, 11, 'the interleaved call is complete too')
  })

  t.test('Redis unreachable: publishing never throws and the local bus keeps working', async (t) => {
    const bus = createCallEventBus(silentLogger)
    const feed = createRedisFeed({ url: 'redis://127.0.0.1:1', instanceId: 'X', bus, log: silentLogger, namespace: ns })
    t.teardown(() => feed.close())
    await t.rejects(feed.start())
    const seen: CallEvent[] = []
    feed.subscribe((e) => seen.push(e))
    t.doesNotThrow(() => bus.publish(started('CAdown')))
    t.equal(seen.length, 1)
  })
}
