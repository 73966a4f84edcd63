/** Admission control: whether a new call gets AI (not while draining or past MAX_CALLS). */

export type Admission = { ai: true } | { ai: false, reason: 'draining' | 'over_capacity' | 'overloaded' }

export interface Lifecycle {
  readonly draining: boolean
  /** Starts draining: /healthz turns 503 and new calls are answered without AI. */
  startDrain (): void
  /** Decides whether the next call gets the AI path, given how many calls are live now. */
  admit (liveCalls: number): Admission
  /** Installs the event-loop pressure probe (plugins/pressure.ts wires @fastify/under-pressure). */
  setPressureProbe (probe: () => boolean): void
}

/** Creates the lifecycle state for one server instance. */
export function createLifecycle (opts: { maxCalls: number }): Lifecycle {
  let draining = false
  let underPressure = (): boolean => false
  return {
    get draining () { return draining },
    startDrain () { draining = true },
    setPressureProbe (probe) { underPressure = probe },
    admit (liveCalls) {
      if (draining) return { ai: false, reason: 'draining' }
      if (liveCalls >= opts.maxCalls) return { ai: false, reason: 'over_capacity' }
      if (underPressure()) return { ai: false, reason: 'overloaded' }
      return { ai: true }
    },
  }
}
