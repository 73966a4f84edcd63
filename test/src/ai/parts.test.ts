import t from 'tap'
import { GapFill, silence } from '../../../src/ai/gap-fill.ts'
import { PlaybackLedger } from '../../../src/ai/playback-ledger.ts'
import { TranscriptOrder } from '../../../src/ai/transcript-order.ts'
import { backoffMs } from '../../../src/ai/upstream.ts'

t.test('TranscriptOrder releases in start order, waits for earlier open utterances, and gives up on stuck ones', async (t) => {
  let now = 0
  const out: string[] = []
  const order = new TranscriptOrder<string>({ release: (v) => out.push(v), now: () => now, maxHoldMs: 1000 })
  order.open('a', 100)
  order.open('b', 50)
  order.open('c', 300)
  order.complete('c', 300, 'C')
  order.complete('a', 100, 'A')
  t.same(out, [], 'b (50 ms) is still open')
  order.complete('b', 50, 'B')
  t.same(out, ['B', 'A', 'C'])
  order.open('x', 400)
  order.complete('y', 500, 'Y')
  t.same(out, ['B', 'A', 'C'])
  now = 1000
  await new Promise((resolve) => setTimeout(resolve, 5))
  order.drop('nothing')
  t.same(out, ['B', 'A', 'C', 'Y'], 'x never completed: Y is released after maxHoldMs')
  order.open('z', 600)
  order.drop('z')
  order.complete('w', 700, 'W')
  t.same(out.at(-1), 'W', 'a failed utterance does not hold the line')
  order.flush()
})

t.test('PlaybackLedger: marks every 100 ms and at item end; played ms only from echoes, in order; reset on clear', async (t) => {
  const l = new PlaybackLedger()
  t.equal(l.sent('it1', 400), undefined, '50 ms: no mark yet')
  t.equal(l.sent('it1', 400), 'it1:100')
  t.equal(l.sent('it1', 800), 'it1:200')
  t.equal(l.playing()?.playedMs, 0)
  t.ok(l.played('it1:100'))
  t.notOk(l.played('other:100'))
  t.notOk(l.played('no-colon'))
  t.equal(l.playing()?.playedMs, 100)
  t.equal(l.sent('it2', 160), undefined, 'a new item starts its own count')
  t.equal(l.complete('it1'), undefined, 'it1 was marked to its end')
  t.equal(l.complete('it2'), 'it2:20', 'the unmarked tail gets a mark at the end')
  t.notOk(l.idle)
  l.played('it2:20')
  t.ok(l.idle, 'a later mark means everything before it played')
  l.sent('it3', 800)
  l.reset()
  t.ok(l.idle)
  t.notOk(l.played('it3:100'), 'echoes after a reset are ignored')
})

t.test('GapFill reports missing ms only for real holes; silence is 0xFF μ-law', async (t) => {
  const g = new GapFill()
  t.equal(g.gapBefore(0, 160), 0)
  t.equal(g.gapBefore(20, 160), 0)
  t.equal(g.gapBefore(41, 160), 0, '1 ms of jitter is not a gap')
  t.equal(g.gapBefore(100, 160), 39)
  t.equal(g.gapBefore(90, 160), 0, 'a late frame is not a gap')
  t.equal(g.gapBefore(60_000, 160), 10_000, 'capped')
  t.equal(g.gaps, 2)
  t.same(Buffer.from(silence(3), 'base64'), Buffer.alloc(24, 0xff))
})

t.test('reconnect backoff starts at once and is capped', async (t) => {
  t.equal(backoffMs(0), 0)
  t.ok(backoffMs(1) >= 160 && backoffMs(1) <= 240)
  t.ok(backoffMs(30) <= 12_000)
})
