/** Admission control: whether a new call gets AI (not while draining or past MAX_CALLS). */
import type { CallEvent } from './call/events.ts'
import { isTerminalCallStatus } from './call/statuses.ts'
import { createDrainSettle } from './drain-settle.ts'

export type Admission = { ai: true } | { ai: false, reason: 'draining' | 'over_capacity' | 'overloaded' }

export interface Lifecycle {
  readonly draining: boolean
  /** Starts draining: /healthz turns 503 and new calls are answered without AI. */
  startDrain (): void
  /**
   * Decides whether the next call gets the AI path, given how many calls are live now; calls admitted
   * with AI whose stream has not started yet count too (see `hold`).
   */
  admit (liveCalls: number): Admission
  /**
   * Holds a slot for a call just answered with AI until its stream starts (or `pendingMs` passes), so a
   * burst of webhooks that all arrive before any stream opens cannot overshoot MAX_CALLS.
   */
  hold (callSid: string): void
  /** Feed of call events: a started stream (now counted live) or a finished call releases its slot. */
  observe (event: CallEvent): void
  /** Installs the event-loop pressure probe (plugins/pressure.ts wires @fastify/under-pressure). */
  setPressureProbe (probe: () => boolean): void
  /**
   * After the last streams ended: resolves true once the calls that were live when the drain began have
   * their final status callback and (with summaries on) their summary, or false after `timeoutMs`.
   */
  whenSettled (timeoutMs: number): Promise<boolean>
  /** Calls the drain still waits on (see whenSettled). */
  readonly unsettled: number
}

/** Creates the lifecycle state for one server instance. */
export function createLifecycle (opts: { maxCalls: number, pendingMs?: number, now?: () => number, summaries?: boolean }): Lifecycle {
  const now = opts.now ?? Date.now
  const pendingMs = opts.pendingMs ?? 15_000
  /** Calls admitted with AI whose stream has not started yet: CallSid → when the slot lapses. */
  const pending = new Map<string, number>()
  let draining = false
  let underPressure = (): boolean => false
  const settle = createDrainSettle({ summaries: opts.summaries ?? false, now })
  return {
    get draining () { return draining },
    startDrain () {
      draining = true
      settle.markLast()
    },
    whenSettled: (timeoutMs) => settle.whenSettled(timeoutMs),
    get unsettled () { return settle.unsettled },
    setPressureProbe (probe) { underPressure = probe },
    admit (liveCalls) {
      const t = now()
      for (const [sid, until] of pending) if (until <= t) pending.delete(sid)
      if (draining) return { ai: false, reason: 'draining' }
      if (liveCalls + pending.size >= opts.maxCalls) return { ai: false, reason: 'over_capacity' }
      if (underPressure()) return { ai: false, reason: 'overloaded' }
      return { ai: true }
    },
    hold (callSid) { pending.set(callSid, now() + pendingMs) },
    observe (e) {
      settle.observe(e)
      if (e.type === 'call.started' || e.type === 'call.stopped' || (e.type === 'call.status' && isTerminalCallStatus(e.status))) pending.delete(e.callSid)
    },
  }
}
