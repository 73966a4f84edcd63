/** What a drain waits for after the last stream ends: each last call's final status callback and its summary. */
import type { CallEvent } from './call/events.ts'
import { isTerminalCallStatus } from './call/statuses.ts'
import { setBounded } from './util/bounded.ts'

/** Calls tracked at most (oldest dropped first): memory stays bounded whatever the event stream does. */
const MAX_TRACKED = 10_000
/** A call that ended this recently before the drain began is still one of the "last calls". */
const RECENT_MS = 15_000

interface Tracked {
  streamSid: string | undefined
  stoppedAt: number | undefined
  hasLines: boolean
  gotStatus: boolean
  /** A summary is on its way (the stream stopped with a transcript, summaries on) and not yet published. */
  awaitingSummary: boolean
  last: boolean
}

export interface DrainSettle {
  observe (e: CallEvent): void
  /** The drain began: the calls live now (or just ended) are the ones `whenSettled` waits for. */
  markLast (): void
  /** Last calls still waiting for their final status callback or summary. */
  readonly unsettled: number
  /** Resolves true once every last call is settled, or false after `timeoutMs`. */
  whenSettled (timeoutMs: number): Promise<boolean>
}

/**
 * Mirrors, from bus events alone, what still has to reach this process for the calls a drain is waiting on:
 * Twilio's final call status (it posts it to us right after the call ends; a closed server answers it 503 and
 * Twilio does not retry) and the post-call summary (summaries: OPENAI_API_KEY set), whose publication mirrors
 * src/ai/summary.ts: a stop of the call's current stream, after at least one final transcript line, yields
 * exactly one call.summary or summary_* call.error. The wait is bounded by the caller: a call whose status
 * callbacks go elsewhere (none configured on an inbound number) only costs that bound.
 */
export function createDrainSettle (opts: { summaries: boolean, now: () => number }): DrainSettle {
  const calls = new Map<string, Tracked>()
  const waiters = new Set<() => void>()
  let draining = false

  const get = (sid: string): Tracked => {
    let c = calls.get(sid)
    if (c === undefined) {
      c = { streamSid: undefined, stoppedAt: undefined, hasLines: false, gotStatus: false, awaitingSummary: false, last: draining }
      setBounded(calls, sid, c, MAX_TRACKED)
    }
    return c
  }
  const settled = (c: Tracked): boolean => c.stoppedAt !== undefined && c.gotStatus && !c.awaitingSummary
  const unsettled = (): number => {
    let n = 0
    for (const c of calls.values()) if (c.last && !settled(c)) n++
    return n
  }
  const check = (): void => {
    if (waiters.size > 0 && unsettled() === 0) for (const w of [...waiters]) w()
  }

  return {
    observe (e) {
      switch (e.type) {
        case 'call.started': {
          const c = get(e.callSid)
          Object.assign(c, { streamSid: e.streamSid, stoppedAt: undefined })
          return
        }
        case 'transcript.final':
          if (e.text.trim() !== '') get(e.callSid).hasLines = true
          return
        case 'call.stopped': {
          const c = calls.get(e.callSid)
          if (c === undefined || (c.streamSid !== undefined && c.streamSid !== e.streamSid)) return
          c.stoppedAt = opts.now()
          if (opts.summaries && c.hasLines) c.awaitingSummary = true
          c.hasLines = false
          break
        }
        case 'call.status':
          if (isTerminalCallStatus(e.status)) {
            const c = calls.get(e.callSid)
            if (c === undefined) return
            c.gotStatus = true
          }
          break
        case 'call.summary':
          if (calls.has(e.callSid)) get(e.callSid).awaitingSummary = false
          break
        case 'call.error':
          if (e.code.startsWith('summary_') && calls.has(e.callSid)) get(e.callSid).awaitingSummary = false
          break
        default:
          return
      }
      const c = calls.get(e.callSid)
      // Settled and not one of the last calls: nothing will wait for it, so it need not be remembered.
      if (c !== undefined && settled(c) && !c.last) calls.delete(e.callSid)
      check()
    },
    markLast () {
      draining = true
      const now = opts.now()
      for (const [sid, c] of calls) {
        if (c.stoppedAt === undefined || now - c.stoppedAt < RECENT_MS) c.last = true
        else if (!c.awaitingSummary) calls.delete(sid)
      }
    },
    get unsettled () { return unsettled() },
    whenSettled (timeoutMs) {
      if (unsettled() === 0) return Promise.resolve(true)
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          waiters.delete(done)
          resolve(true)
        }
        const timer = setTimeout(() => {
          waiters.delete(done)
          resolve(false)
        }, Math.max(0, timeoutMs))
        waiters.add(done)
      })
    },
  }
}
