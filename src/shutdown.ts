/** The shutdown order, in one place: what a drain does, step by step, and how long each step may wait. */
import type { Logger } from './log.ts'

/**
 * The steps, in the order they run (docs/shutdown.md says why this order):
 * 1. `admission`: no new call gets AI; /healthz answers 503 so the platform routes elsewhere; the calls live now
 *    become the "last calls" that step 4 waits for.
 * 2. `wait-streams`: up to the budget (DRAIN_TIMEOUT_S), wait for the live media streams to end on their own.
 * 3. `end-streams`: end the streams still open (1001 going away; each publishes its call.stopped, which starts its
 *    summary), then `end-ai`: close every AI session still open, live or pre-warmed, and open no new one.
 * 4. `settle`: only when every stream ended on its own, within what is left of the budget and at most SETTLE_MAX_MS:
 *    keep serving until the last calls' final status callbacks and summaries are in (Twilio does not retry a status
 *    callback answered 503). Then `summaries`: stop hints; summaries still being written get SUMMARY_GRACE_MS more,
 *    then are aborted (each publishes an error, so none is left half-done).
 * 5. `close`: the framework's close. It stops listening (new requests get 503), closes the sockets still open with
 *    1001 (dashboards), then each plugin closes what it opened: the Redis feed, storage (which flushes the writes the
 *    steps above queued), metrics. None of these depends on another, only on steps 1–4 being done.
 */
export const SHUTDOWN_STEPS = ['admission', 'wait-streams', 'end-streams', 'end-ai', 'settle', 'summaries', 'close'] as const
export type ShutdownStep = typeof SHUTDOWN_STEPS[number]

/** The steps other parts of the app fill in; the others are the lifecycle's, the call registry's and the app's. */
export type ShutdownPart = 'end-streams' | 'end-ai' | 'summaries'
/** A part of a step; `summaries` parts get the grace in ms. Errors are logged and the next part still runs. */
export type PartFn = (graceMs: number) => void | Promise<void>

/** Most time spent, after the last stream ended, waiting for the last calls' status callbacks and summaries. */
export const SETTLE_MAX_MS = 20_000
/** How long summaries still being written when step 4 ends may take before they are aborted. */
export const SUMMARY_GRACE_MS = 3_000
/**
 * What the steps after the budget may take at most: summaries (3 s) and the storage flush (5 s), with room. The
 * entry point exits hard at budget + this; keep DRAIN_TIMEOUT_S + this under the platform's kill timeout.
 */
export const AFTER_BUDGET_MS = 15_000

export interface ShutdownDeps {
  log: Logger
  /** Step 1 (lifecycle.startDrain). */
  startDrain (): void
  /** Media streams live now. */
  liveCalls (): number
  /** Step 2: resolves true once no stream is live, or false after `timeoutMs`. */
  whenCallsEnded (timeoutMs: number): Promise<boolean>
  /** Step 4: resolves true once the last calls settled, or false after `timeoutMs`. */
  whenSettled (timeoutMs: number): Promise<boolean>
  /** Last calls still owed a status callback or summary. */
  unsettled (): number
  /** Step 5. */
  close (): Promise<void>
}

export interface ReleaseOutcome {
  /** Every stream ended on its own within the budget. */
  readonly drained: boolean
  /** The last calls' status callbacks and summaries all came in (undefined: not waited for). */
  readonly settled: boolean | undefined
}

export interface DrainReport extends ReleaseOutcome {
  /** Each step as it ended, in order, with how long it took. */
  readonly steps: ReadonlyArray<{ readonly step: ShutdownStep, readonly ms: number }>
}

export interface Shutdown {
  /** Adds a part to a step; a step runs its parts in the order added. */
  on (part: ShutdownPart, fn: PartFn): void
  /**
   * Steps 1–4 within `budgetMs`, at most once: a later call gets the first call's outcome. The app's close runs it
   * with 0 when no drain did, so every way of closing ends calls in this order.
   */
  release (budgetMs: number): Promise<ReleaseOutcome>
  /** Steps 1–5: release(budgetMs), then close. Resolves once closed; a second call gets the same promise. */
  drain (budgetMs: number): Promise<DrainReport>
}

/** Creates the shutdown sequence for one app; it does nothing until `release` or `drain`. */
export function createShutdown (deps: ShutdownDeps): Shutdown {
  const { log } = deps
  const parts: Record<ShutdownPart, PartFn[]> = { 'end-streams': [], 'end-ai': [], summaries: [] }
  const steps: Array<{ step: ShutdownStep, ms: number }> = []
  let released: Promise<ReleaseOutcome> | undefined
  let drained: Promise<DrainReport> | undefined
  let stepStart = performance.now()

  /** Records a step as done and logs one line for it (operators see where a slow shutdown spent its time). */
  const done = (step: ShutdownStep, fields: Record<string, unknown>, msg: string): void => {
    const t = performance.now()
    const ms = Math.round(t - stepStart)
    stepStart = t
    steps.push({ step, ms })
    log.info({ step, ms, ...fields }, msg)
  }

  const run = async (part: ShutdownPart, graceMs = 0): Promise<void> => {
    for (const fn of parts[part]) {
      try {
        await fn(graceMs)
      } catch (err) {
        // A bad day: one part failing must not keep the others (and storage's flush) from running.
        log.error({ err, step: part }, 'shutdown step failed; carrying on')
      }
    }
  }

  const release = async (budgetMs: number): Promise<ReleaseOutcome> => {
    stepStart = performance.now()
    const deadline = stepStart + budgetMs
    deps.startDrain()
    done('admission', { liveCalls: deps.liveCalls(), budgetMs }, 'draining: new calls get no AI; waiting for live calls to end')

    const ended = budgetMs > 0 ? await deps.whenCallsEnded(budgetMs) : deps.liveCalls() === 0
    const left = deps.liveCalls()
    done('wait-streams', { drained: ended, liveCalls: left }, ended ? 'all calls ended; shutting down' : 'drain timeout reached; closing remaining calls')

    await run('end-streams')
    done('end-streams', { ended: left }, left === 0 ? 'no media stream left to end' : 'remaining media streams ended (1001)')
    await run('end-ai')
    done('end-ai', {}, 'AI sessions closed')

    let settled: boolean | undefined
    if (ended && budgetMs > 0) {
      // Twilio posts each call's final status just after it ends, and summaries take a few seconds more: keep
      // serving until they are in (a closed server would answer 503 and lose them).
      settled = await deps.whenSettled(Math.max(0, Math.min(deadline - performance.now(), SETTLE_MAX_MS)))
      done('settle', { settled, unsettled: deps.unsettled() }, settled ? 'last calls settled (final status and summary in)' : 'stopped waiting for the last calls\' status callbacks or summaries')
    } else {
      // Calls cut at the timeout go on without us (an assist call keeps its <Dial>): their status may come much later.
      done('settle', { settled, unsettled: deps.unsettled() }, budgetMs === 0 ? 'closing without a drain: not waiting for status callbacks' : 'not waiting for status callbacks: the budget is spent')
    }
    await run('summaries', SUMMARY_GRACE_MS)
    done('summaries', {}, 'hints stopped, summaries finished')
    return { drained: ended, settled }
  }

  const releaseOnce = (budgetMs: number): Promise<ReleaseOutcome> => {
    released ??= release(Math.max(0, budgetMs))
    return released
  }

  return {
    on (part, fn) { parts[part].push(fn) },
    release: releaseOnce,
    drain (budgetMs) {
      drained ??= (async () => {
        const outcome = await releaseOnce(budgetMs)
        stepStart = performance.now()
        await deps.close()
        done('close', {}, 'closed')
        return { ...outcome, steps: [...steps] }
      })()
      return drained
    },
  }
}
