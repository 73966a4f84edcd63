/** What every per-call AI part shares: the call's id, the bus, spoken-order transcripts and metrics. */
import type { CallEventBus } from '../call/bus.ts'
import type { CallEvent, TranscriptEvent } from '../call/events.ts'
import { TranscriptOrder } from './transcript-order.ts'

/** Transcripts stuck behind an utterance that never got its text are released after this. */
const MAX_HOLD_MS = 8_000
/** Per metric, the values kept for the stop-log summary. */
const KEEP_VALUES = 200

export interface MetricSummary { count: number, p50: number, p99: number, max: number }

export class CallContext {
  readonly callSid: string
  readonly now: () => number
  readonly order: TranscriptOrder<TranscriptEvent>
  /** Wall-clock time the media stream started; call-relative times are measured from it. */
  startedAt: number
  #bus: CallEventBus
  #values = new Map<string, number[]>()
  #counts = new Map<string, number>()

  constructor (callSid: string, bus: CallEventBus, now: () => number) {
    this.callSid = callSid
    this.now = now
    this.startedAt = now()
    this.#bus = bus
    this.order = new TranscriptOrder<TranscriptEvent>({ release: (e) => bus.publish(e), now, maxHoldMs: MAX_HOLD_MS })
  }

  publish (event: CallEvent): void {
    this.#bus.publish(event)
  }

  /** Call-relative ms on the wall clock (Twilio's media timestamps use the same origin). */
  get callMs (): number {
    return this.now() - this.startedAt
  }

  /** Publishes a `call.metric` and keeps it for the stop-log summary. */
  metric (name: string, value: number): void {
    const v = Math.max(0, Math.round(value))
    let list = this.#values.get(name)
    if (list === undefined) this.#values.set(name, list = [])
    if (list.length >= KEEP_VALUES) list.shift()
    list.push(v)
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1)
    this.#bus.publish({ type: 'call.metric', callSid: this.callSid, at: this.now(), name, value: v })
  }

  summary (): Record<string, MetricSummary> {
    const out: Record<string, MetricSummary> = {}
    for (const [name, list] of this.#values) {
      const sorted = [...list].sort((a, b) => a - b)
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
      out[name] = { count: this.#counts.get(name) ?? list.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number }
    }
    return out
  }
}
