/** SentLevels: the agent's loudness as it plays, measured on what we send, at most once per 200 ms of audio. */
import t from 'tap'
import { SentLevels } from '../../../src/call/sent-level.ts'

const LOUD = Buffer.alloc(160, 0x10).toString('base64')
const QUIET = Buffer.alloc(160, 0xff).toString('base64')

/** Sends `frames` 20 ms frames at wall time `now`, back to back after what is queued; returns when they finish playing. */
function burst (s: SentLevels, from: number, frames: Array<string>): number {
  let playAt = from
  for (const f of frames) {
    s.sent(f, playAt, 20)
    playAt += 20
  }
  return playAt
}

t.test('the level follows what plays now, not what was sent last', async (t) => {
  const s = new SentLevels()
  t.equal(s.at(0), 0, 'nothing sent: 0')
  // 400 ms loud then 400 ms quiet, all sent at t=0 (a response streams faster than real time).
  const end = burst(s, 0, [...Array(20).fill(LOUD), ...Array(20).fill(QUIET)])
  t.equal(end, 800)
  t.ok(s.at(100) > 0.5, `loud part playing: ${s.at(100)}`)
  t.ok(s.at(390) > 0.5, 'still the loud part')
  t.equal(s.at(500), 0, 'the quiet part plays (μ-law 0xff is silence)')
  t.equal(s.at(800), 0, 'everything played: 0')
})

t.test('at most one measure per 200 ms of audio: a loud frame inside a slot does not move the meter', async (t) => {
  const s = new SentLevels()
  // Slot 0..200 starts quiet; a loud frame 20 ms in is not measured; the next slot (200..) starts loud and is.
  burst(s, 0, [QUIET, LOUD, ...Array(8).fill(QUIET), LOUD, ...Array(9).fill(QUIET)])
  t.equal(s.at(30), 0, 'the slot keeps its first frame\'s measure')
  t.ok(s.at(210) > 0.5, 'the next slot is measured on its first frame')
})

t.test('a clear (barge-in) silences the meter at once; later audio is measured again', async (t) => {
  const s = new SentLevels()
  burst(s, 0, Array(50).fill(LOUD))
  t.ok(s.at(100) > 0.5)
  s.cleared(100)
  t.equal(s.at(150), 0, 'the dropped audio never plays')
  burst(s, 2000, Array(10).fill(LOUD))
  t.ok(s.at(2050) > 0.5)
})

t.test('bounded: a long queued burst keeps a ring of measures and still reads the newest that plays', async (t) => {
  const s = new SentLevels()
  // 30 s of audio queued at once (150 measures, ring of 64): the earliest are overwritten, nothing grows.
  const end = burst(s, 0, Array(1500).fill(LOUD))
  t.equal(end, 30_000)
  t.ok(s.at(29_000) > 0.5)
})
