/** Releases final transcripts in spoken order across sessions that answer out of order. */

export interface Utterance {
  /** Unique within the call (e.g. track + item id). */
  readonly key: string
  /** Call-relative start, the sort key. */
  startMs: number
}

interface Entry<T> extends Utterance {
  done: T | undefined
  openedAt: number
}

export interface TranscriptOrderOptions<T> {
  /** Publishes one final; called in startMs order. */
  readonly release: (value: T) => void
  readonly now: () => number
  /** An utterance still untranscribed after this long stops holding back later ones. */
  readonly maxHoldMs: number
}

/**
 * Each utterance is opened when speech starts (so its place is known early) and completed when
 * its transcript arrives. A completed utterance waits only for earlier-starting ones still open;
 * one that never completes (failed, lost session) holds the line for at most `maxHoldMs`.
 */
export class TranscriptOrder<T> {
  #release: (value: T) => void
  #now: () => number
  #maxHoldMs: number
  #queue: Entry<T>[] = []
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor (opts: TranscriptOrderOptions<T>) {
    this.#release = opts.release
    this.#now = opts.now
    this.#maxHoldMs = opts.maxHoldMs
  }

  get pending (): number { return this.#queue.length }

  /** Registers an utterance at its start time (idempotent; a later call may correct the start). */
  open (key: string, startMs: number): void {
    const existing = this.#queue.find((e) => e.key === key)
    if (existing !== undefined) {
      existing.startMs = startMs
      this.#sort()
      return
    }
    this.#queue.push({ key, startMs, done: undefined, openedAt: this.#now() })
    this.#sort()
  }

  has (key: string): boolean {
    return this.#queue.some((e) => e.key === key)
  }

  /** The transcript is in: release it and everything after it that is ready. */
  complete (key: string, startMs: number, value: T): void {
    let entry = this.#queue.find((e) => e.key === key)
    if (entry === undefined) {
      entry = { key, startMs, done: undefined, openedAt: this.#now() }
      this.#queue.push(entry)
      this.#sort()
    }
    entry.done = value
    this.#drain()
  }

  /** The utterance will never be transcribed (failed): stop waiting for it. */
  drop (key: string): void {
    const i = this.#queue.findIndex((e) => e.key === key)
    if (i >= 0) this.#queue.splice(i, 1)
    this.#drain()
  }

  /** Releases everything still complete and forgets the rest (call end). */
  flush (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const queue = this.#queue
    this.#queue = []
    for (const e of queue) if (e.done !== undefined) this.#release(e.done)
  }

  #sort (): void {
    this.#queue.sort((a, b) => a.startMs - b.startMs)
  }

  #drain (): void {
    const now = this.#now()
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Entry<T>
      if (head.done !== undefined) {
        this.#queue.shift()
        this.#release(head.done)
      } else if (now - head.openedAt >= this.#maxHoldMs) {
        this.#queue.shift()
      } else {
        break
      }
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    // Something complete is stuck behind an open head: revisit when the head's hold expires.
    if (this.#queue.some((e) => e.done !== undefined)) {
      const head = this.#queue[0] as Entry<T>
      this.#timer = setTimeout(() => this.#drain(), Math.max(0, head.openedAt + this.#maxHoldMs - now))
      this.#timer.unref?.()
    }
  }
}
