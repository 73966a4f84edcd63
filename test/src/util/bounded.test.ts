import t from 'tap'
import { BoundedSet, setBounded } from '../../../src/util/bounded.ts'

t.test('BoundedSet keeps at most max keys, dropping the one added longest ago', async (t) => {
  const s = new BoundedSet<string>(3)
  s.add('a').add('b').add('c')
  t.equal(s.size, 3)
  s.add('d')
  t.equal(s.size, 3, 'never above max')
  t.notOk(s.has('a'), 'the oldest went')
  t.ok(s.has('b') && s.has('c') && s.has('d'))
})

t.test('BoundedSet.add of a present key makes it the newest', async (t) => {
  const s = new BoundedSet<string>(3)
  s.add('a').add('b').add('c')
  s.add('a')
  s.add('d')
  t.ok(s.has('a'), 're-added key survives')
  t.notOk(s.has('b'), 'the least recently added goes instead')
  t.equal(s.size, 3)
})

t.test('BoundedSet.delete forgets a key and frees its slot', async (t) => {
  const s = new BoundedSet<string>(2)
  s.add('a').add('b')
  t.equal(s.delete('a'), true)
  t.equal(s.delete('a'), false, 'already gone')
  s.add('c')
  t.ok(s.has('b') && s.has('c'), 'nothing else evicted')
  t.equal(s.size, 2)
  s.clear()
  t.equal(s.size, 0, 'clear empties it')
  t.notOk(s.has('b'))
})

t.test('BoundedSet stays bounded under a long stream of keys', async (t) => {
  const s = new BoundedSet<number>(100)
  for (let i = 0; i < 10_000; i++) s.add(i)
  t.equal(s.size, 100)
  t.ok(s.has(9_999) && s.has(9_900))
  t.notOk(s.has(9_899))
})

t.test('BoundedSet rejects a max that is not a positive integer', async (t) => {
  for (const max of [0, -1, 1.5, Number.NaN]) t.throws(() => new BoundedSet(max), RangeError, String(max))
})

t.test('setBounded re-inserts as newest and drops the oldest entries past max', async (t) => {
  const m = new Map<string, number>()
  setBounded(m, 'a', 1, 2)
  setBounded(m, 'b', 2, 2)
  setBounded(m, 'a', 3, 2)
  t.same([...m], [['b', 2], ['a', 3]], 'a updated and moved to the newest end')
  setBounded(m, 'c', 4, 2)
  t.same([...m], [['a', 3], ['c', 4]], 'b, the least recently touched, went')
})
