import t from 'tap'
import { MULAW_SILENCE } from '../../../src/audio/mulaw.ts'
import { PlaybackQueue } from '../../../tools/sim/playback.ts'

const audio = (ms: number, byte = 0x10): Buffer => Buffer.alloc(ms * 8, byte)

t.test('a mark with nothing buffered is echoed at once', async (t) => {
  const q = new PlaybackQueue()
  t.equal(q.mark('idle', 100), true)
  t.equal(q.pendingMarks, 0)
})

t.test('a mark is echoed once the audio queued before it has played', async (t) => {
  const q = new PlaybackQueue()
  t.equal(q.enqueue(audio(400), 1000), true, 'playback was idle: a reply starts')
  t.equal(q.mark('after-400', 1010), false, 'audio is still buffered')
  t.equal(q.enqueue(audio(200), 1020), false, 'queued behind the first chunk')
  t.equal(q.mark('after-600', 1030), false)
  t.same(q.due(1399), [], 'not before the first 400 ms have played')
  t.equal(q.nextDueMs(), 1400)
  t.same(q.due(1400), ['after-400'])
  t.same(q.due(1599), [])
  t.same(q.due(1600), ['after-600'])
  t.equal(q.bufferedMs(1600), 0)
  t.equal(q.mark('later', 1700), true, 'buffer drained: immediate again')
})

t.test('marks stay in order even when one arrives while earlier ones are pending', async (t) => {
  const q = new PlaybackQueue()
  q.enqueue(audio(100), 0)
  q.mark('a', 0)
  q.mark('b', 0)
  t.same(q.due(5000), ['a', 'b'])
})

t.test('clear drops the unplayed audio and echoes every outstanding mark at once', async (t) => {
  const q = new PlaybackQueue()
  q.enqueue(audio(1000, 0x11), 0)
  q.mark('m1', 0)
  q.enqueue(audio(1000, 0x22), 0)
  q.mark('m2', 0)
  t.same(q.due(300), [])
  const { droppedMs, marks } = q.clear(300)
  t.equal(droppedMs, 1700)
  t.same(marks, ['m1', 'm2'])
  t.equal(q.pendingMarks, 0)
  t.equal(q.bufferedMs(300), 0)
  t.equal(q.droppedBytes, 1700 * 8)
  t.equal(q.mark('next', 300), true, 'nothing buffered after a clear')
  // What the caller heard stops at the clear.
  const heard = q.played()
  t.equal(heard.length, 300 * 8)
  t.ok(heard.every((b) => b === 0x11))
  t.same(q.clear(400), { droppedMs: 0, marks: [] }, 'a clear with nothing queued drops nothing')
})

t.test('played audio sits on the call timeline with silence between replies', async (t) => {
  const q = new PlaybackQueue()
  q.enqueue(audio(100, 0x01), 0)
  q.enqueue(audio(100, 0x02), 500)
  const heard = q.played()
  t.equal(heard.length, 600 * 8)
  t.equal(heard[0], 0x01)
  t.equal(heard[100 * 8], MULAW_SILENCE, 'silence while nothing played')
  t.equal(heard[500 * 8], 0x02)
  t.equal(q.played(50).length, 50 * 8, 'can stop at a given call time')
  t.equal(q.queuedBytes, 200 * 8)
})
