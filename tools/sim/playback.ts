/** Twilio's playback buffer for a bidirectional stream: when audio plays, when marks echo, what clear drops. */
import { MULAW_BYTES_PER_MS, MULAW_SILENCE } from '../../src/audio/mulaw.ts'

interface Segment { startMs: number, bytes: Uint8Array }
interface PendingMark { name: string, dueMs: number }

/**
 * A pure model of what Twilio does with the audio a server sends back (docs/protocol.md A2/A3):
 * media is buffered and played in order in real time; a mark is echoed once the audio queued
 * before it has played, at once if nothing is buffered; `clear` drops the unplayed audio and
 * echoes every outstanding mark at once. Times are call milliseconds from the caller's clock,
 * so the same model serves real-time and `--speed N` runs and is tested without timers.
 * The played audio is kept on the call timeline (silence between replies), for the output WAV.
 */
export class PlaybackQueue {
  /** Call ms at which everything queued so far has finished playing. */
  #endMs = 0
  #marks: PendingMark[] = []
  #segments: Segment[] = []
  #queuedBytes = 0
  #droppedBytes = 0

  /** Queues μ-law audio; returns true if playback was idle (a new reply starts now). */
  enqueue (bytes: Uint8Array, nowMs: number): boolean {
    const idle = this.#endMs <= nowMs
    const startMs = idle ? nowMs : this.#endMs
    this.#endMs = startMs + bytes.length / MULAW_BYTES_PER_MS
    this.#segments.push({ startMs, bytes })
    this.#queuedBytes += bytes.length
    return idle
  }

  /** Registers a mark; returns true if it must be echoed now (nothing buffered). */
  mark (name: string, nowMs: number): boolean {
    if (this.#endMs <= nowMs && this.#marks.length === 0) return true
    this.#marks.push({ name, dueMs: Math.max(this.#endMs, nowMs) })
    return false
  }

  /** Marks whose audio has played by `nowMs`, in the order they were sent. */
  due (nowMs: number): string[] {
    let n = 0
    while (n < this.#marks.length && this.#marks[n].dueMs <= nowMs) n++
    return n === 0 ? [] : this.#marks.splice(0, n).map((m) => m.name)
  }

  /** Drops unplayed audio; returns the ms dropped and every outstanding mark, now echoed. */
  clear (nowMs: number): { droppedMs: number, marks: string[] } {
    const droppedMs = Math.max(0, this.#endMs - nowMs)
    if (droppedMs > 0) {
      const kept: Segment[] = []
      for (const s of this.#segments) {
        if (s.startMs >= nowMs) {
          this.#droppedBytes += s.bytes.length
          continue
        }
        const playable = Math.round((nowMs - s.startMs) * MULAW_BYTES_PER_MS)
        if (playable < s.bytes.length) {
          this.#droppedBytes += s.bytes.length - playable
          kept.push({ startMs: s.startMs, bytes: s.bytes.subarray(0, playable) })
        } else kept.push(s)
      }
      this.#segments = kept
      this.#endMs = nowMs
    }
    const marks = this.#marks.map((m) => m.name)
    this.#marks = []
    return { droppedMs, marks }
  }

  /** Call ms when the next outstanding mark is due, if any. */
  nextDueMs (): number | undefined {
    return this.#marks[0]?.dueMs
  }

  /** Audio still waiting to play at `nowMs`. */
  bufferedMs (nowMs: number): number {
    return Math.max(0, this.#endMs - nowMs)
  }

  get endMs (): number { return this.#endMs }
  get pendingMarks (): number { return this.#marks.length }
  get queuedBytes (): number { return this.#queuedBytes }
  get droppedBytes (): number { return this.#droppedBytes }

  /** What the caller heard (up to `untilMs` if given), as μ-law on the call timeline from 0 ms. */
  played (untilMs = Infinity): Buffer {
    const end = Math.min(this.#endMs, untilMs)
    const out = Buffer.alloc(Math.max(0, Math.round(end * MULAW_BYTES_PER_MS)), MULAW_SILENCE)
    for (const s of this.#segments) {
      const at = Math.round(s.startMs * MULAW_BYTES_PER_MS)
      if (at >= out.length) break
      out.set(s.bytes.subarray(0, out.length - at), at)
    }
    return out
  }
}
