/** Turns one session's VAD and input-transcription events into partial/final transcript events. */
import type { Speaker, TranscriptEvent } from '../call/events.ts'
import type { CallContext } from './call-context.ts'
import type { RealtimeServerEvent } from './events.ts'
import { toCallMs, type Link } from './upstream.ts'

interface Item { startMs: number, endMs: number, text: string, stoppedAt: number, done: boolean }

/** At most this many utterances are tracked per session (a guard against a server that never completes). */
const MAX_ITEMS = 64

/**
 * Deltas are joined on `item_id` (order across turns is not guaranteed, PROTOCOL.md C); finals
 * go through the call's spoken-order queue. Times are call-relative, from the session's audio
 * offsets plus the call time of the link's first byte.
 */
export class InputTranscripts {
  /** Between speech_started and speech_stopped. */
  inSpeech = false
  speaker: Speaker
  #ctx: CallContext
  #prefix: string
  #items = new Map<string, Item>()
  #onFinal: ((text: string) => void) | undefined

  constructor (ctx: CallContext, prefix: string, speaker: Speaker, onFinal?: (text: string) => void) {
    this.#ctx = ctx
    this.#prefix = prefix
    this.speaker = speaker
    this.#onFinal = onFinal
  }

  /** Handles the event if it is about input speech; returns false for anything else. */
  handle (event: RealtimeServerEvent, link: Link): boolean {
    switch (event.type) {
      case 'input_audio_buffer.speech_started': {
        this.inSpeech = true
        const startMs = toCallMs(link, event.audio_start_ms)
        const item = this.#item(event.item_id, startMs)
        item.startMs = startMs
        this.#ctx.order.open(this.#prefix + event.item_id, startMs)
        return true
      }
      case 'input_audio_buffer.speech_stopped': {
        this.inSpeech = false
        const item = this.#item(event.item_id, toCallMs(link, event.audio_end_ms))
        item.endMs = toCallMs(link, event.audio_end_ms)
        item.stoppedAt = this.#ctx.now()
        return true
      }
      case 'input_audio_buffer.committed': {
        // Without VAD (or after a forced commit) this is the first we hear of the item.
        this.#item(event.item_id, toCallMs(link, link.bytes >>> 3))
        return true
      }
      case 'conversation.item.input_audio_transcription.delta': {
        const item = this.#item(event.item_id, toCallMs(link, link.bytes >>> 3))
        if (item.done || event.delta === undefined || event.delta === '') return true
        item.text += event.delta
        this.#ctx.publish(this.#event('transcript.partial', event.item_id, item))
        return true
      }
      case 'conversation.item.input_audio_transcription.completed': {
        const item = this.#item(event.item_id, toCallMs(link, link.bytes >>> 3))
        if (item.done) return true
        item.done = true
        item.text = event.transcript
        if (item.stoppedAt > 0) this.#ctx.metric('utterance_to_final_ms', this.#ctx.now() - item.stoppedAt)
        const text = event.transcript.trim()
        if (text === '') {
          this.#ctx.order.drop(this.#prefix + event.item_id)
          return true
        }
        this.#ctx.order.complete(this.#prefix + event.item_id, item.startMs, this.#event('transcript.final', event.item_id, item))
        this.#onFinal?.(text)
        return true
      }
      case 'conversation.item.input_audio_transcription.failed': {
        this.#items.delete(event.item_id)
        this.#ctx.order.drop(this.#prefix + event.item_id)
        return true
      }
      default:
        return false
    }
  }

  #item (itemId: string, atMs: number): Item {
    let item = this.#items.get(itemId)
    if (item === undefined) {
      if (this.#items.size >= MAX_ITEMS) {
        // Finished items stay a while so late deltas for them are recognised and ignored.
        const [oldest, old] = this.#items.entries().next().value as [string, Item]
        this.#items.delete(oldest)
        if (!old.done) this.#ctx.order.drop(this.#prefix + oldest)
      }
      item = { startMs: atMs, endMs: atMs, text: '', stoppedAt: 0, done: false }
      this.#items.set(itemId, item)
      this.#ctx.order.open(this.#prefix + itemId, atMs)
    }
    return item
  }

  #event (type: TranscriptEvent['type'], itemId: string, item: Item): TranscriptEvent {
    return {
      type,
      callSid: this.#ctx.callSid,
      at: this.#ctx.now(),
      itemId,
      speaker: this.speaker,
      text: type === 'transcript.final' ? item.text.trim() : item.text,
      startMs: Math.round(item.startMs),
      endMs: Math.round(Math.max(item.endMs, item.startMs)),
    }
  }
}
