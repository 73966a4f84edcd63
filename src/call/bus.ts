/** In-process call event bus: synchronous fan-out that never lets one subscriber break another. */
import type { CallEvent } from './events.ts'
import type { Logger } from '../log.ts'

export type CallEventListener = (event: CallEvent) => void

export interface CallEventBus {
  /** Delivers to every subscriber now. Subscribers must not block: queue, don't await. */
  publish (event: CallEvent): void
  /** Returns the unsubscribe function. */
  subscribe (listener: CallEventListener): () => void
  readonly subscribers: number
}

/** Creates the bus; a subscriber that throws is logged (once per subscriber) and skipped. */
export function createCallEventBus (log: Logger): CallEventBus {
  const listeners = new Set<CallEventListener>()
  const complained = new WeakSet<CallEventListener>()
  return {
    publish (event) {
      for (const listener of listeners) {
        try {
          listener(event)
        } catch (err) {
          if (!complained.has(listener)) {
            complained.add(listener)
            log.error({ err, eventType: event.type, callSid: event.callSid }, 'call event subscriber threw')
          }
        }
      }
    },
    subscribe (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    get subscribers () { return listeners.size },
  }
}
