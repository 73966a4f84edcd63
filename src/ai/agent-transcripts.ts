/** The agent's own words (output audio transcript) as partial/final transcript events in spoken order. */
import type { TranscriptEvent } from '../call/events.ts'
import type { CallContext } from './call-context.ts'

interface AgentItem { startMs: number, text: string }

/** An item is placed in the call's order when its audio starts playing (or its text arrives first). */
export class AgentTranscripts {
  #ctx: CallContext
  #nowMs: () => number
  #onFinal: (text: string) => void
  #items = new Map<string, AgentItem>()

  /** `nowMs` is the call-relative clock the caller's transcripts use, so the two interleave correctly. */
  constructor (ctx: CallContext, nowMs: () => number, onFinal: (text: string) => void) {
    this.#ctx = ctx
    this.#nowMs = nowMs
    this.#onFinal = onFinal
  }

  /** The item's first audio went out: its place in spoken order is now. */
  started (itemId: string): void {
    if (!this.#items.has(itemId)) this.#open(itemId)
  }

  /** A transcript delta (`final` false) or the whole transcript (`final` true). */
  text (itemId: string, text: string, final: boolean): void {
    const item = this.#items.get(itemId) ?? this.#open(itemId)
    item.text = final ? text : item.text + text
    const event: TranscriptEvent = {
      type: final ? 'transcript.final' : 'transcript.partial',
      callSid: this.#ctx.callSid,
      at: this.#ctx.now(),
      itemId,
      speaker: 'agent',
      text: final ? item.text.trim() : item.text,
      startMs: Math.round(item.startMs),
      endMs: Math.round(Math.max(this.#nowMs(), item.startMs)),
    }
    if (!final) return this.#ctx.publish(event)
    this.#items.delete(itemId)
    if (event.text === '') return this.#ctx.order.drop(`agent:${itemId}`)
    this.#ctx.order.complete(`agent:${itemId}`, item.startMs, event)
    this.#onFinal(event.text)
  }

  #open (itemId: string): AgentItem {
    const item = { startMs: this.#nowMs(), text: '' }
    this.#items.set(itemId, item)
    this.#ctx.order.open(`agent:${itemId}`, item.startMs)
    return item
  }
}
