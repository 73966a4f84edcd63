/** The loudness of the audio we send back (the agent's voice) as the caller hears it, for the dashboard's meter. */
import { mulawLevel } from '../audio/mulaw.ts'

/** One measure per this much audio (as for the received tracks, ~5 Hz). */
const INTERVAL_MS = 200
/** Measures kept: 64 × 200 ms = 12.8 s of audio queued ahead of playback (a response streams faster than real time). */
const SLOTS = 64

/**
 * Audio is sent in bursts, ahead of when it plays; the meter should move with what plays now. So each measure is
 * keyed by the time its frame starts playing (Twilio plays sent audio back to back), at most one per 200 ms of audio:
 * the hot send path decodes one frame in ten. Bounded: a ring of typed arrays, no allocation per frame.
 */
export class SentLevels {
  readonly #playAt = new Float64Array(SLOTS)
  readonly #level = new Float64Array(SLOTS)
  /** Measures written so far (the ring index is `#n % SLOTS`). */
  #n = 0
  /** Play time from which the next frame is measured. */
  #nextMeasureAt = -Infinity
  #playsUntil = 0

  /** A frame sent now that plays from `playAt` for `ms`. */
  sent (payloadB64: string, playAt: number, ms: number): void {
    if (playAt >= this.#nextMeasureAt) {
      const k = this.#n % SLOTS
      this.#playAt[k] = playAt
      this.#level[k] = mulawLevel(payloadB64)
      this.#n++
      this.#nextMeasureAt = playAt + INTERVAL_MS
    }
    this.#playsUntil = Math.max(this.#playsUntil, playAt + ms)
  }

  /** A `clear` dropped everything not yet played: silence from `now`. */
  cleared (now: number): void {
    this.#n = 0
    this.#nextMeasureAt = -Infinity
    this.#playsUntil = now
  }

  /** 0..1: the measure of the audio playing at `now`; 0 when nothing plays. */
  at (now: number): number {
    if (now >= this.#playsUntil) return 0
    let level = 0
    let latest = -Infinity
    for (let i = Math.max(0, this.#n - SLOTS); i < this.#n; i++) {
      const k = i % SLOTS
      const t = this.#playAt[k] as number
      if (t <= now && t > latest) {
        latest = t
        level = this.#level[k] as number
      }
    }
    return level
  }
}
