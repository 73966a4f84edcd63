/** What the caller has actually heard, from Twilio mark echoes named `item:ms`. */

/** One assistant audio item as sent to Twilio and as confirmed played. */
export interface PlaybackItem {
  readonly itemId: string
  /** μ-law bytes sent to Twilio for this item (8 per ms). */
  sentBytes: number
  /** Bytes covered by the last mark sent. */
  markedBytes: number
  /** ms confirmed played: the largest `ms` of this item's echoed marks. */
  playedMs: number
  /** The item's audio is complete upstream (no more deltas will come). */
  complete: boolean
}

/** The mark we send after each chunk: item id and the item's audio length so far. */
export function markName (itemId: string, endMs: number): string {
  return `${itemId}:${endMs}`
}

/**
 * A mark goes out once at least this much audio is unmarked, and at the end of each item. Marks
 * are round trips Twilio must echo; one per small delta would double the messages per call for
 * no audible gain. The played position is then known to within this many ms, never overstated.
 */
export const MARK_EVERY_MS = 100
const MARK_EVERY_BYTES = MARK_EVERY_MS * 8

/**
 * Items play in the order they were sent. Twilio echoes a mark once the audio before it has
 * played, and also echoes every outstanding mark when we send `clear` (docs/protocol.md A2), so
 * echoes are only trusted until the ledger is cleared for a barge-in.
 */
export class PlaybackLedger {
  #items: PlaybackItem[] = []

  /** Records a chunk sent to Twilio; returns the mark to send right after it, if one is due. */
  sent (itemId: string, bytes: number): string | undefined {
    let item = this.#items[this.#items.length - 1]
    if (item === undefined || item.itemId !== itemId) {
      item = { itemId, sentBytes: 0, markedBytes: 0, playedMs: 0, complete: false }
      this.#items.push(item)
    }
    item.sentBytes += bytes
    if (item.sentBytes - item.markedBytes < MARK_EVERY_BYTES) return undefined
    item.markedBytes = item.sentBytes
    return markName(itemId, item.sentBytes >>> 3)
  }

  /** No more audio will come for this item; returns the mark for its unmarked tail, if any. */
  complete (itemId: string): string | undefined {
    let tail: string | undefined
    for (const item of this.#items) {
      if (item.itemId !== itemId || item.complete) continue
      item.complete = true
      if (item.markedBytes < item.sentBytes) {
        item.markedBytes = item.sentBytes
        tail = markName(itemId, item.sentBytes >>> 3)
      }
    }
    this.#prune()
    return tail
  }

  /** A mark echo from Twilio; false when it is not one of ours or is stale. */
  played (name: string): boolean {
    const i = name.lastIndexOf(':')
    if (i <= 0) return false
    const ms = Number(name.slice(i + 1))
    const itemId = name.slice(0, i)
    if (!Number.isInteger(ms)) return false
    const item = this.#items.find((x) => x.itemId === itemId)
    if (item === undefined) return false
    if (ms > item.playedMs) item.playedMs = Math.min(ms, item.sentBytes >>> 3)
    // Marks echo in order: everything sent before this item has played too.
    for (const x of this.#items) {
      if (x === item) break
      x.playedMs = x.sentBytes >>> 3
    }
    this.#prune()
    return true
  }

  /** The item the caller is hearing now (audio sent but not confirmed played), if any. */
  playing (): PlaybackItem | undefined {
    return this.#items.find((x) => x.playedMs < (x.sentBytes >>> 3) || !x.complete)
  }

  /** True when every chunk sent has been confirmed played and no item is still streaming. */
  get idle (): boolean {
    return this.playing() === undefined
  }

  /** Item ids still tracked (sent, not yet confirmed played to the end). */
  ids (): string[] {
    return this.#items.map((x) => x.itemId)
  }

  /** Forgets everything (after `clear`: echoes that follow do not mean "played"). */
  reset (): void {
    this.#items = []
  }

  #prune (): void {
    while (this.#items.length > 0) {
      const head = this.#items[0] as PlaybackItem
      if (!head.complete || head.playedMs < (head.sentBytes >>> 3)) break
      this.#items.shift()
    }
  }
}
