/** Turns one session's VAD and input-transcription events into partial/final transcript events. */
import type { Speaker, TranscriptEvent } from '../call/events.ts'
import type { CallContext } from './call-context.ts'
import type { RealtimeServerEvent } from './events.ts'
import { toCallMs, type Link } from './upstream.ts'

interface Item { key: string, startMs: number, endMs: number, text: string, stoppedAt: number, done: boolean }
/** A client-detected turn (client mode): its place and times are ours; the API's item id comes with `committed`. */
interface Turn { key: string, startMs: number, endMs: number, stoppedAt: number, linkId: number }

/** Turns awaiting their `committed` event (a lost session never sends them: the oldest go first). */
const MAX_TURNS = 16

/** At most this many utterances are tracked per session (a guard against a server that never completes). */
const MAX_ITEMS = 64

/**
 * Deltas are joined on `item_id` (order across turns is not guaranteed, docs/protocol.md C); finals
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
  /** Client mode: the turn being spoken (linkId -1), then those committed and awaiting their item. */
  #turns: Turn[] = []
  #turnSeq = 0
  #onFinal: ((text: string) => void) | undefined

  constructor (ctx: CallContext, prefix: string, speaker: Speaker, onFinal?: (text: string) => void) {
    this.#ctx = ctx
    this.#prefix = prefix
    this.speaker = speaker
    this.#onFinal = onFinal
  }

  /** Client mode: speech began (call ms); its place in the spoken order is held from now. */
  beginTurn (startMs: number): void {
    this.inSpeech = true
    const key = `${this.#prefix}turn:${++this.#turnSeq}`
    this.#ctx.order.open(key, startMs)
    this.#turns.push({ key, startMs, endMs: startMs, stoppedAt: 0, linkId: -1 })
    while (this.#turns.length > MAX_TURNS) this.#ctx.order.drop((this.#turns.shift() as Turn).key)
  }

  /** Client mode: the turn was committed on `link`; the next `committed` from that link is its item. */
  endTurn (endMs: number, link: Link): void {
    this.inSpeech = false
    const turn = this.#turns.at(-1)
    if (turn === undefined || turn.linkId !== -1) return
    turn.endMs = endMs
    turn.stoppedAt = this.#ctx.now()
    turn.linkId = link.id
  }

  /** Client mode: the turn was too short and was cleared, not committed. */
  cancelTurn (): void {
    this.inSpeech = false
    const turn = this.#turns.at(-1)
    if (turn === undefined || turn.linkId !== -1) return
    this.#turns.pop()
    this.#ctx.order.drop(turn.key)
  }

  /** A new session replaced a lost one: turns committed on other links will never get their item. */
  linkLost (current: Link): void {
    this.#turns = this.#turns.filter((turn) => {
      if (turn.linkId === -1 || turn.linkId === current.id) return true
      this.#ctx.order.drop(turn.key)
      return false
    })
  }

  /** Handles the event if it is about input speech; returns false for anything else. */
  handle (event: RealtimeServerEvent, link: Link): boolean {
    switch (event.type) {
      case 'input_audio_buffer.speech_started': {
        this.inSpeech = true
        const startMs = toCallMs(link, event.audio_start_ms)
        const item = this.#item(event.item_id, startMs)
        item.startMs = startMs
        this.#ctx.order.open(item.key, startMs)
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
        // Client mode: our own turn, committed on this link, gets its item id (commits are answered in order).
        const i = this.#turns.findIndex((turn) => turn.linkId === link.id)
        if (i >= 0 && !this.#items.has(event.item_id)) {
          const [turn] = this.#turns.splice(i, 1) as [Turn]
          const item = this.#item(event.item_id, turn.startMs, turn.key)
          item.endMs = turn.endMs
          item.stoppedAt = turn.stoppedAt
          return true
        }
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
          this.#ctx.order.drop(item.key)
          return true
        }
        this.#ctx.order.complete(item.key, item.startMs, this.#event('transcript.final', event.item_id, item))
        this.#onFinal?.(text)
        return true
      }
      case 'conversation.item.input_audio_transcription.failed': {
        const key = this.#items.get(event.item_id)?.key ?? this.#prefix + event.item_id
        this.#items.delete(event.item_id)
        this.#ctx.order.drop(key)
        return true
      }
      default:
        return false
    }
  }

  #item (itemId: string, atMs: number, key = this.#prefix + itemId): Item {
    let item = this.#items.get(itemId)
    if (item === undefined) {
      if (this.#items.size >= MAX_ITEMS) {
        // Finished items stay a while so late deltas for them are recognised and ignored.
        const [oldest, old] = this.#items.entries().next().value as [string, Item]
        this.#items.delete(oldest)
        if (!old.done) this.#ctx.order.drop(old.key)
      }
      item = { key, startMs: atMs, endMs: atMs, text: '', stoppedAt: 0, done: false }
      this.#items.set(itemId, item)
      this.#ctx.order.open(key, atMs)
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
