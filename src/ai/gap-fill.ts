/** Fills holes in Twilio's media timestamps with μ-law silence so upstream audio time stays call time. */

/** μ-law silence is 0xFF; 8 bytes per ms at 8 kHz. OpenAI's Twilio transport does the same (docs/protocol.md A2). */
const SILENCE_BYTE = 0xff
/** A hole longer than this is filled only up to it (a stream that stalled for minutes is not replayed as silence). */
export const MAX_FILL_MS = 10_000
const cache = new Map<number, string>()

/** Base64 μ-law silence of `ms` milliseconds (cached for the common short gaps). */
export function silence (ms: number): string {
  const hit = cache.get(ms)
  if (hit !== undefined) return hit
  const b64 = Buffer.alloc(ms * 8, SILENCE_BYTE).toString('base64')
  if (ms <= 200 && cache.size < 256) cache.set(ms, b64)
  return b64
}

/** Tracks one track's timeline; `gapBefore` says how many ms of silence belong before a frame. */
export class GapFill {
  filledMs = 0
  gaps = 0
  #next = -1

  /** ms missing between the previous frame's end and this frame's start (0 when contiguous or late). */
  gapBefore (timestamp: number, bytes: number): number {
    const expected = this.#next
    this.#next = timestamp + (bytes >>> 3)
    // A 1 ms tolerance: Twilio's timestamps are whole ms and frames are not always exactly 20 ms.
    if (expected < 0 || timestamp <= expected + 1) return 0
    const gap = Math.min(timestamp - expected, MAX_FILL_MS)
    this.filledMs += gap
    this.gaps++
    return gap
  }
}
