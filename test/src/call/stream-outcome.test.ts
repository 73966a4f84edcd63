import t from 'tap'
import { StreamOutcomes } from '../../../src/call/stream-outcome.ts'

t.test('outcomes expire after the TTL', async (t) => {
  let now = 1000
  const o = new StreamOutcomes({ now: () => now, ttlMs: 100 })
  o.record('CA1', 'hangup')
  now += 100
  t.equal(o.get('CA1'), 'hangup')
  now += 1
  t.equal(o.get('CA1'), undefined)
  t.equal(o.size, 0)
})

t.test('the map is bounded: the oldest call goes first; re-recording refreshes', async (t) => {
  let now = 0
  const o = new StreamOutcomes({ now: () => now, max: 3 })
  for (const sid of ['CA1', 'CA2', 'CA3']) { o.record(sid, 'transfer'); now++ }
  o.record('CA1', 'hangup')
  o.record('CA4', 'fallback')
  t.equal(o.size, 3)
  t.equal(o.get('CA2'), undefined, 'the oldest entry was evicted')
  t.same(['CA1', 'CA3', 'CA4'].map((sid) => o.get(sid)), ['hangup', 'transfer', 'fallback'])
})

t.test('recording prunes expired entries at the front', async (t) => {
  let now = 0
  const o = new StreamOutcomes({ now: () => now, ttlMs: 10 })
  for (let i = 0; i < 50; i++) o.record(`CA${i}`, 'hangup')
  now = 11
  o.record('CAnew', 'transfer')
  t.equal(o.size, 1)
})
