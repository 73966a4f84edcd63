/** Client turn detection: μ-law energy ends utterances after TURN_SILENCE_MS of quiet, clears short ones, cuts long ones. */
import t from 'tap'
import { ClientTurns, type TurnTarget } from '../../../src/ai/client-turns.ts'
import { MIN_COMMIT_BYTES, type Link } from '../../../src/ai/upstream.ts'
import { mulawSilence } from '../../../src/audio/mulaw.ts'

const CFG = { turnSilenceMs: 500, turnMinMs: 200, turnMaxMs: 3000 }
const QUIET = mulawSilence(20).toString('base64')
/** 20 ms of a loud square wave (±16764 linear, about −6 dBFS). */
const LOUD = Buffer.from(Array.from({ length: 160 }, (_, i) => (i & 8) === 0 ? 0x0f : 0x8f)).toString('base64')
/** 20 ms of faint noise (about −55 dBFS): line hiss, not speech. */
const HISS = Buffer.from(Array.from({ length: 160 }, (_, i) => (i & 1) === 0 ? 0x7a : 0xfa)).toString('base64')

function rig () {
  const log: string[] = []
  const link: Link = { id: 1, baseMs: 0, bytes: 0, uncommitted: 0 }
  const target: TurnTarget = {
    commit (l) {
      if (l.uncommitted < MIN_COMMIT_BYTES) { log.push('clear'); l.uncommitted = 0; return false }
      log.push(`commit@${l.uncommitted / 8}`)
      l.uncommitted = 0
      return true
    },
    clear (l) { if (l.uncommitted > 0) log.push('clear'); l.uncommitted = 0 },
    beginTurn (ms) { log.push(`begin ${ms}`) },
    endTurn (ms) { log.push(`end ${ms}`) },
    cancelTurn () { log.push('cancel') },
  }
  const turns = new ClientTurns(CFG, target)
  let ms = 0
  const feed = (payload: string, n: number): void => {
    for (let i = 0; i < n; i++) {
      link.uncommitted += 160
      link.bytes += 160
      turns.appended(link, payload, 160, ms, false)
      ms += 20
    }
  }
  return { log, turns, feed, link }
}

t.test('speech then 500 ms of quiet: one commit, timed from the first loud frame to the last', async (t) => {
  const { log, turns, feed } = rig()
  feed(QUIET, 10) // 0–200 ms
  feed(LOUD, 50) // 200–1200 ms
  feed(QUIET, 24)
  t.same(log, ['begin 200'], '480 ms of quiet is not yet the end')
  t.ok(turns.inSpeech)
  feed(QUIET, 1)
  t.same(log, ['begin 200', 'commit@1700', 'end 1200'], 'the turn ends at the last loud frame; the buffer (with its lead-in) is committed')
  t.notOk(turns.inSpeech)
})

t.test('a click shorter than TURN_MIN_MS is cleared, never committed', async (t) => {
  const { log, feed } = rig()
  feed(LOUD, 5) // 100 ms
  feed(QUIET, 30)
  t.same(log, ['begin 0', 'clear', 'cancel'])
})

t.test('faint line noise never starts a turn; idle silence is cleared as it piles up', async (t) => {
  const { log, feed } = rig()
  feed(HISS, 250) // 5 s
  t.same(log, ['clear', 'clear'], 'cleared every 2 s of quiet, no turn begun')
})

t.test('speech longer than TURN_MAX_MS is committed at the cap and carries on as the next turn', async (t) => {
  const { log, feed } = rig()
  feed(LOUD, 200) // 4 s without a pause
  feed(QUIET, 25)
  t.same(log, ['begin 0', 'commit@3000', 'end 3000', 'begin 3000', 'commit@1500', 'end 4000'])
})

t.test('generated silence (gap fill) counts as quiet without being decoded', async (t) => {
  const { log, turns, link } = rig()
  link.uncommitted = 160
  turns.appended(link, LOUD, 160, 0, false)
  link.uncommitted += 8 * 600
  turns.appended(link, LOUD, 8 * 600, 20, true)
  t.same(log, ['begin 0', 'clear', 'cancel'], 'a 20 ms turn, then 600 ms of fill: ended, too short')
})
