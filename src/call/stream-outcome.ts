/** Why each agent stream ended, kept briefly per CallSid, and the TwiML that answers Twilio's `<Connect action>` request. */
import twilio from 'twilio'
import { sayAndHangupTwiml, transferTwiml } from '../twilio/twiml.ts'
import type { StreamOutcome } from './events.ts'

export type { StreamOutcome }

export interface StreamOutcomesOptions {
  readonly now?: () => number
  /** How long an outcome is kept: Twilio requests the action within moments of the stream closing. */
  readonly ttlMs?: number
  /** Most CallSids kept; the oldest go first (a burst of calls must not grow memory without bound). */
  readonly max?: number
}

const DEFAULT_TTL_MS = 5 * 60_000
const DEFAULT_MAX = 10_000

/**
 * A small bounded map CallSid → outcome with a TTL. Entries are kept in insertion order, which is
 * also expiry order, so pruning only ever looks at the front. Reads do not delete: should Twilio
 * repeat the action request, it gets the same answer.
 */
export class StreamOutcomes {
  #now: () => number
  #ttlMs: number
  #max: number
  #entries = new Map<string, { outcome: StreamOutcome, at: number }>()

  constructor (opts: StreamOutcomesOptions = {}) {
    this.#now = opts.now ?? Date.now
    this.#ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS
    this.#max = opts.max ?? DEFAULT_MAX
  }

  record (callSid: string, outcome: StreamOutcome): void {
    const now = this.#now()
    this.#entries.delete(callSid)
    this.#entries.set(callSid, { outcome, at: now })
    this.#prune(now)
  }

  /** The outcome recorded for this call, if it is still known here. */
  get (callSid: string): StreamOutcome | undefined {
    const e = this.#entries.get(callSid)
    if (e === undefined) return undefined
    if (this.#now() - e.at > this.#ttlMs) {
      this.#entries.delete(callSid)
      return undefined
    }
    return e.outcome
  }

  get size (): number { return this.#entries.size }

  #prune (now: number): void {
    for (const [sid, e] of this.#entries) {
      if (this.#entries.size <= this.#max && now - e.at <= this.#ttlMs) break
      this.#entries.delete(sid)
    }
  }
}

export const FALLBACK_SENTENCE = 'Sorry, I am having technical trouble. Let me connect you to a person.'
const FALLBACK_NO_OPERATOR = 'Sorry, I am having technical trouble. Please call again later. Goodbye.'
const UNKNOWN_OPERATOR = 'One moment, I am connecting you to a person.'
const UNKNOWN_NO_OPERATOR = 'Sorry, the assistant is unavailable right now. Please call again later. Goodbye.'

/**
 * The TwiML for `<Connect action>`, from why the stream ended. `undefined` means this instance
 * does not know (the action reached another instance, or the server restarted, shut down, or ran
 * without AI): then the operator if one is set, else a sorry sentence and a hang-up — never a
 * silent line, and the same as a crash would have got when the TwiML after `<Connect>` ran.
 */
export function connectActionTwiml (outcome: StreamOutcome | undefined, operatorPhone: string | undefined): string {
  if (outcome === 'hangup') return hangupTwiml()
  if (operatorPhone === undefined) return sayAndHangupTwiml(outcome === undefined ? UNKNOWN_NO_OPERATOR : FALLBACK_NO_OPERATOR)
  if (outcome === 'transfer') return transferTwiml(operatorPhone)
  return transferTwiml(operatorPhone, outcome === 'fallback' ? FALLBACK_SENTENCE : UNKNOWN_OPERATOR)
}

/** The agent said goodbye and ended the call: nothing more to say. */
function hangupTwiml (): string {
  const vr = new twilio.twiml.VoiceResponse()
  vr.hangup()
  return vr.toString()
}
