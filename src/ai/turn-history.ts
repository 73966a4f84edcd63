/** The spoken conversation so far, in conversation order (not transcript-completion order), for re-injection. */
import type { ConversationItem, RealtimeServerEvent, Turn } from './events.ts'

/** A turn's place in the conversation; `text` is undefined until its transcript completes. */
interface Slot { readonly id: string, readonly role: Turn['role'], text: string | undefined }

/**
 * Transcripts complete out of order: with VAD's auto-response the answer's transcript often
 * finishes before the caller's transcription of the question. The API states the order itself:
 * a user item is created at `input_audio_buffer.committed` and a response's item at
 * `conversation.item.added`, both with `previous_item_id`. Each spoken item gets a slot then,
 * after its predecessor if we hold it, else at the end (null, or a predecessor we do not track:
 * re-injected text, tool items, another session's items); its transcript fills the slot later.
 * A slot whose transcript fails, comes back empty or never comes leaves no turn.
 *
 * Bounded: at most `max` slots; the oldest goes first. Lookups scan at most `max` slots, once
 * per item event (never per audio frame).
 */
export class TurnHistory {
  #max: number
  #slots: Slot[] = []

  constructor (max: number) {
    this.#max = max
  }

  /** Filled turns, oldest first. */
  turns (): Turn[] {
    const turns: Turn[] = []
    for (const slot of this.#slots) if (slot.text !== undefined) turns.push({ role: slot.role, text: slot.text })
    return turns
  }

  /** Turns still waiting for their transcript. */
  get pending (): number {
    let n = 0
    for (const slot of this.#slots) if (slot.text === undefined) n++
    return n
  }

  /**
   * Reads one server event. `active`: it came from the current session. Responses of a retired
   * session are dropped by the agent, so their items are not recorded either; the caller's
   * speech on a retired session (a roll-over in progress) still is.
   */
  observe (event: RealtimeServerEvent, active: boolean): void {
    switch (event.type) {
      case 'input_audio_buffer.committed':
        return this.#reserve(event.item_id, 'user', event.previous_item_id)
      case 'conversation.item.added':
      case 'conversation.item.created': {
        const role = spokenRole(event.item)
        if (role === undefined || event.item.id === undefined || (role === 'assistant' && !active)) return
        return this.#reserve(event.item.id, role, event.previous_item_id)
      }
      case 'conversation.item.input_audio_transcription.completed':
        return this.#fill(event.item_id, 'user', event.transcript)
      case 'conversation.item.input_audio_transcription.failed':
        return this.#dropPending(event.item_id)
      case 'response.output_audio_transcript.done':
        if (active) this.#fill(event.item_id, 'assistant', event.transcript)
        return
      // A response's transcripts come before its response.done: an item still pending then
      // (cancelled before any transcript, or an item without one) never gets a turn. Should a
      // transcript come later after all, #fill appends it rather than losing it.
      case 'response.done':
        if (active) for (const item of event.response.output ?? []) if (item.id !== undefined) this.#dropPending(item.id)
        break
      default:
    }
  }

  /**
   * A new session replaced the old one. Its responses will not finish (the agent ignores a
   * retired session's responses); after a reconnect (`lost`) the caller's pending
   * transcriptions will not arrive either. After a roll-over they may: those slots stay.
   */
  sessionReplaced (lost: boolean): void {
    this.#slots = this.#slots.filter((slot) => slot.text !== undefined || (slot.role === 'user' && !lost))
  }

  #reserve (id: string, role: Turn['role'], previousId: string | null | undefined): void {
    if (this.#indexOf(id) >= 0) return
    const slot: Slot = { id, role, text: undefined }
    const after = previousId == null ? -1 : this.#indexOf(previousId)
    if (after >= 0) this.#slots.splice(after + 1, 0, slot)
    else this.#slots.push(slot)
    this.#bound()
  }

  #fill (id: string, role: Turn['role'], transcript: string): void {
    const text = transcript.trim()
    const i = this.#indexOf(id)
    if (i < 0) {
      // No slot (its add event was missed or evicted): the end is the best place we know.
      if (text === '') return
      this.#slots.push({ id, role, text })
      return this.#bound()
    }
    const slot = this.#slots[i] as Slot
    if (slot.text !== undefined) return // a repeated completion
    if (text === '') this.#slots.splice(i, 1)
    else slot.text = text
  }

  #dropPending (id: string): void {
    const i = this.#indexOf(id)
    if (i >= 0 && this.#slots[i]?.text === undefined) this.#slots.splice(i, 1)
  }

  #bound (): void {
    while (this.#slots.length > this.#max) this.#slots.shift()
  }

  /** From the end: the items looked up are nearly always recent. */
  #indexOf (id: string): number {
    for (let i = this.#slots.length - 1; i >= 0; i--) if (this.#slots[i]?.id === id) return i
    return -1
  }
}

/**
 * The role of an item the call hears: caller audio, or the model's own message. Text messages
 * are the history we re-injected (`historyEvents`) echoed back: they are already here.
 */
function spokenRole (item: ConversationItem): Turn['role'] | undefined {
  if (item.type !== 'message') return undefined
  if (item.role === 'user') return item.content.some((part) => part.type === 'input_audio') ? 'user' : undefined
  if (item.role === 'assistant') return item.content.some((part) => part.type === 'output_text') ? undefined : 'assistant'
  return undefined
}
