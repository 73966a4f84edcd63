/** Retention: deletes calls and messages older than RETENTION_DAYS, at start-up and then daily. */
import type { Logger } from '../log.ts'
import type { PurgeResult, Store } from './store.ts'

export const DAY_MS = 86_400_000

export interface RetentionOptions {
  readonly store: Pick<Store, 'purge'>
  readonly days: number
  readonly log: Logger
  /** Injected clock (app.now): what "older than N days" is measured from. */
  readonly now: () => number
  readonly intervalMs?: number
  /** Injected timers (tests); default setInterval/clearInterval, unref'd. */
  readonly timers?: {
    setInterval (fn: () => void, ms: number): unknown
    clearInterval (handle: unknown): void
  }
}

export interface Retention {
  /** Purges now; resolves with what was deleted (never rejects: failures are logged). */
  runOnce (): Promise<PurgeResult | undefined>
  /** Cancels the schedule and waits for a purge in progress. */
  stop (): Promise<void>
}

/** Starts the schedule: one purge right away (in the background), then every `intervalMs` (a day). */
export function startRetention (opts: RetentionOptions): Retention {
  const { store, days, log, now } = opts
  const timers = opts.timers ?? {
    setInterval: (fn: () => void, ms: number) => setInterval(fn, ms).unref(),
    clearInterval: (h: unknown) => clearInterval(h as NodeJS.Timeout),
  }
  let running: Promise<PurgeResult | undefined> | undefined

  const runOnce = (): Promise<PurgeResult | undefined> => {
    // One purge at a time: a slow one is not stacked on by the next tick.
    running ??= (async () => {
      const before = now() - days * DAY_MS
      try {
        const result = await store.purge(before)
        log.info({ ...result, before: new Date(before).toISOString(), days }, 'retention purge done')
        return result
      } catch (err) {
        log.error({ err, days }, 'retention purge failed; it runs again at the next interval')
        return undefined
      } finally {
        running = undefined
      }
    })()
    return running
  }

  const handle = timers.setInterval(() => { runOnce().catch(() => {}) }, opts.intervalMs ?? DAY_MS)
  runOnce().catch(() => {})
  return {
    runOnce,
    async stop () {
      timers.clearInterval(handle)
      await running
    },
  }
}
