/** Whether a media stream's end ends its call: not while the call is being handed to a person or its AI was turned off. */
import { BoundedSet } from '../util/bounded.ts'
import type { CallEvent } from './events.ts'
import { isTerminalCallStatus } from './statuses.ts'

/** Calls remembered at once; far more than run on one instance (the oldest are forgotten first). */
const MAX_CALLS = 10_000

/**
 * One call can have several streams in a row: the agent's `<Connect><Stream>`, then, after a transfer, the
 * copilot's `<Start><Stream>` on the person's leg (and back to the agent if nobody answers). Every consumer that
 * ends a call on `call.stopped` (the hub, the summary, storage) asks this first. A stop ends the call unless
 * - a handoff is under way (`call.handoff` started or returned, until the next stream starts), or the AI was
 *   turned off from the dashboard (`call.control` ai-off): the phone call goes on without a stream; or
 * - it is an older stream's stop arriving after a newer stream started (streams of one call may overlap briefly).
 * A terminal Twilio status always ends the call.
 */
export class StreamContinuations {
  #continuing = new BoundedSet<string>(MAX_CALLS)
  #current = new Map<string, string>()

  /** Feed every call event, in bus order, before asking `stopEndsCall` about it. */
  observe (e: CallEvent): void {
    switch (e.type) {
      case 'call.started':
        this.#continuing.delete(e.callSid)
        this.#current.delete(e.callSid)
        this.#current.set(e.callSid, e.streamSid)
        if (this.#current.size > MAX_CALLS) this.#current.delete(this.#current.keys().next().value as string)
        return
      case 'call.handoff':
        if (e.stage === 'started' || e.stage === 'returned') this.#continuing.add(e.callSid)
        return
      case 'call.control':
        if (e.action === 'ai-off' || e.action === 'take-over') this.#continuing.add(e.callSid)
        return
      case 'call.status':
        if (isTerminalCallStatus(e.status)) this.#forget(e.callSid)
        break
      default:
    }
  }

  /** True when this `call.stopped` ends the call (and forgets it); false when the call goes on. */
  stopEndsCall (e: Extract<CallEvent, { type: 'call.stopped' }>): boolean {
    const current = this.#current.get(e.callSid)
    if (current !== undefined && current !== e.streamSid) return false
    if (this.#continuing.has(e.callSid)) {
      this.#current.delete(e.callSid)
      return false
    }
    this.#forget(e.callSid)
    return true
  }

  /** The call goes on without a stream right now (between the agent and a person, or AI off). */
  continues (callSid: string): boolean { return this.#continuing.has(callSid) }

  #forget (callSid: string): void {
    this.#continuing.delete(callSid)
    this.#current.delete(callSid)
  }
}
