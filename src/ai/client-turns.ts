/** Client turn detection for models without VAD: ends each utterance from μ-law energy and commits it on the session that has its audio. */
import { mulawMeanSquare } from '../audio/mulaw.ts'
import type { ClientTurnConfig } from './turn-modes.ts'
import type { Link } from './upstream.ts'

/**
 * A frame counts as speech above this RMS, in dBFS. Phone speech sits around −30 to −15 dBFS and
 * line noise below −50; −40 leaves room both ways. Compared as a mean square (no sqrt/log per frame).
 */
export const SPEECH_DBFS = -40
const SPEECH_MEAN_SQUARE = (32768 * 10 ** (SPEECH_DBFS / 20)) ** 2
/** Silence between utterances is cleared from the input buffer once this much of it piles up. */
const IDLE_CLEAR_MS = 2000

/** What the detector drives: the session (commit/clear on a link) and the transcripts (turn times). */
export interface TurnTarget {
  commit (link: Link): boolean
  clear (link: Link): void
  /** Speech began at `startMs` (call ms): hold its place in the spoken order. */
  beginTurn (startMs: number): void
  /** The turn was committed on `link` and ended at `endMs`; its item arrives with `input_audio_buffer.committed`. */
  endTurn (endMs: number, link: Link): void
  /** The turn was too short (or could not be committed): forget it. */
  cancelTurn (): void
}

/**
 * One per track. Runs on every frame appended to the track's session, in order, so a commit
 * always follows exactly the audio that session holds. Times are call ms (Twilio's clock), from
 * the frames themselves, so a burst of queued audio after a reconnect is cut the same way as live
 * audio. Per frame: one base64 decode into a reused buffer and one pass over the bytes.
 */
export class ClientTurns {
  inSpeech = false
  commits = 0
  clears = 0
  #cfg: ClientTurnConfig
  #target: TurnTarget
  #scratch = Buffer.allocUnsafe(8 * 1024)
  #startMs = 0
  #lastLoudEnd = 0

  constructor (cfg: ClientTurnConfig, target: TurnTarget) {
    this.#cfg = cfg
    this.#target = target
  }

  /** Hot path: one frame reached `link`'s input buffer. */
  appended (link: Link, payload: string, bytes: number, callMs: number, fill: boolean): void {
    const endMs = callMs + bytes / 8
    const loud = !fill && this.#loud(payload, bytes)
    if (!this.inSpeech) {
      if (loud) {
        this.inSpeech = true
        this.#startMs = callMs
        this.#lastLoudEnd = endMs
        this.#target.beginTurn(callMs)
      } else if (link.uncommitted >= IDLE_CLEAR_MS * 8) {
        this.clears++
        this.#target.clear(link)
      }
      return
    }
    if (loud) this.#lastLoudEnd = endMs
    if (endMs - this.#lastLoudEnd >= this.#cfg.turnSilenceMs) {
      this.inSpeech = false
      this.#end(link, this.#lastLoudEnd, this.#lastLoudEnd - this.#startMs)
    } else if (endMs - this.#startMs >= this.#cfg.turnMaxMs) {
      // Too long without a pause: commit what there is; the rest is the next utterance.
      this.#end(link, endMs, endMs - this.#startMs)
      this.#startMs = endMs
      this.#target.beginTurn(endMs)
    }
  }

  #end (link: Link, endMs: number, speechMs: number): void {
    if (speechMs >= this.#cfg.turnMinMs && this.#target.commit(link)) {
      this.commits++
      this.#target.endTurn(endMs, link)
      return
    }
    this.clears++
    this.#target.clear(link)
    this.#target.cancelTurn()
  }

  #loud (payload: string, bytes: number): boolean {
    if (bytes > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(bytes)
    const n = this.#scratch.write(payload, 'base64')
    return mulawMeanSquare(this.#scratch, n) > SPEECH_MEAN_SQUARE
  }
}
