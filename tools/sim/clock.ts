/** The simulated call's clock: monotonic, scaled by --speed, with drift-free waits. */
import { setTimeout as sleep } from 'node:timers/promises'

export interface SimClock {
  /** Call time runs `speed` times faster than wall time (1 = real time). */
  readonly speed: number
  /** Call milliseconds since the clock started. */
  now (): number
  /** Resolves once call time reaches `callMs` (at once if it already has); rejects on abort. */
  until (callMs: number, signal?: AbortSignal): Promise<void>
  /** Wall milliseconds until call time reaches `callMs` (0 if past). */
  wallDelay (callMs: number): number
}

/**
 * Creates a clock started now. Waits are computed from the monotonic clock each time, so
 * timer lateness never accumulates (unlike chaining setInterval ticks): a late wake-up just
 * means the caller catches up on everything that is due.
 */
export function createClock (speed = 1, monotonic: () => number = () => performance.now()): SimClock {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number (got ${speed})`)
  const t0 = monotonic()
  const now = (): number => (monotonic() - t0) * speed
  const wallDelay = (callMs: number): number => Math.max(0, (callMs - now()) / speed)
  return {
    speed,
    now,
    wallDelay,
    async until (callMs, signal) {
      const wait = wallDelay(callMs)
      if (wait > 0) await sleep(wait, undefined, { signal })
      else signal?.throwIfAborted()
    },
  }
}
