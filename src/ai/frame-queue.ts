/** Audio held while no upstream session can take it: bounded by bytes, oldest dropped first. */

export type FrameSink = (payload: string, bytes: number, callMs: number, fill: boolean) => void

/**
 * Parallel arrays with a moving head, so queuing and dropping never shift an array per frame.
 * Generated silence (`fill`) is stored with a negative size: it takes room but is not counted
 * as a Twilio frame when dropped.
 */
export class FrameQueue {
  /** Twilio frames dropped because the queue was full. */
  dropped = 0
  #max: number
  #payloads: string[] = []
  #sizes: number[] = []
  #times: number[] = []
  #head = 0
  #bytes = 0

  constructor (maxBytes: number) {
    this.#max = maxBytes
  }

  get empty (): boolean { return this.#head === this.#payloads.length }

  push (payload: string, bytes: number, callMs: number, fill: boolean): void {
    this.#payloads.push(payload)
    this.#sizes.push(fill ? -bytes : bytes)
    this.#times.push(callMs)
    this.#bytes += bytes
    while (this.#bytes > this.#max && this.#head < this.#payloads.length) {
      const size = this.#sizes[this.#head] as number
      this.#bytes -= Math.abs(size)
      this.#payloads[this.#head++] = ''
      if (size >= 0) this.dropped++
    }
  }

  /** Empties the queue first, then hands each frame to `sink` in order (the sink may queue again). */
  drain (sink: FrameSink): void {
    const payloads = this.#payloads
    const sizes = this.#sizes
    const times = this.#times
    const head = this.#head
    this.#reset()
    for (let i = head; i < payloads.length; i++) {
      const size = sizes[i] as number
      sink(payloads[i] as string, Math.abs(size), times[i] as number, size < 0)
    }
  }

  /** Forgets everything; returns how many Twilio frames were in it. */
  discard (): number {
    let frames = 0
    for (let i = this.#head; i < this.#sizes.length; i++) if ((this.#sizes[i] as number) >= 0) frames++
    this.#reset()
    return frames
  }

  #reset (): void {
    this.#payloads = []
    this.#sizes = []
    this.#times = []
    this.#head = 0
    this.#bytes = 0
  }
}
