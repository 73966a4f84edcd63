/** The live-call registry: calls by CallSid and StreamSid, handler factories, drain support. */
import type { Logger } from '../log.ts'
import type { CallEventBus } from './bus.ts'
import type { CallHandler, CallHandlerFactory, LiveCall } from './session.ts'

export interface CallRegistry {
  /** Registers a consumer that gets a handler for every call that starts (the AI bridge does). */
  use (factory: CallHandlerFactory): () => void
  /** Called by a media session on `start`: stores the call and builds its handlers. */
  add (call: LiveCall): CallHandler[]
  remove (call: LiveCall): void
  get (callSid: string): LiveCall | undefined
  getByStream (streamSid: string): LiveCall | undefined
  list (): LiveCall[]
  readonly size: number
  /** Live calls that got at least one handler (an AI session): what MAX_CALLS limits where sessions open. */
  readonly withHandlers: number
  /** Resolves once no call is live, or after `timeoutMs` (then false). */
  whenEmpty (timeoutMs: number): Promise<boolean>
  readonly bus: CallEventBus
}

/** Creates a registry; factories that throw are logged and skipped for that call. */
export function createCallRegistry (opts: { bus: CallEventBus, log: Logger }): CallRegistry {
  const byCall = new Map<string, LiveCall>()
  const byStream = new Map<string, LiveCall>()
  const factories = new Set<CallHandlerFactory>()
  const handled = new Set<LiveCall>()
  const emptyWaiters = new Set<() => void>()

  return {
    bus: opts.bus,
    use (factory) {
      factories.add(factory)
      return () => { factories.delete(factory) }
    },
    add (call) {
      const previous = byCall.get(call.callSid)
      if (previous !== undefined) {
        // Twilio reconnecting a call's stream: the newest stream owns the CallSid.
        call.log.warn({ previousStream: previous.streamSid }, 'second media stream for this call')
      }
      byCall.set(call.callSid, call)
      byStream.set(call.streamSid, call)
      const handlers: CallHandler[] = []
      for (const factory of factories) {
        try {
          const h = factory(call)
          if (h !== undefined) handlers.push(h)
        } catch (err) {
          call.log.error({ err }, 'call handler factory threw')
        }
      }
      if (handlers.length > 0) handled.add(call)
      return handlers
    },
    remove (call) {
      handled.delete(call)
      if (byCall.get(call.callSid) === call) byCall.delete(call.callSid)
      if (byStream.get(call.streamSid) === call) byStream.delete(call.streamSid)
      if (byStream.size === 0) {
        for (const w of emptyWaiters) w()
        emptyWaiters.clear()
      }
    },
    get: (callSid) => byCall.get(callSid),
    getByStream: (streamSid) => byStream.get(streamSid),
    list: () => [...byStream.values()],
    get size () { return byStream.size },
    get withHandlers () { return handled.size },
    whenEmpty (timeoutMs) {
      if (byStream.size === 0) return Promise.resolve(true)
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          resolve(true)
        }
        const timer = setTimeout(() => {
          emptyWaiters.delete(done)
          resolve(false)
        }, timeoutMs)
        emptyWaiters.add(done)
      })
    },
  }
}
