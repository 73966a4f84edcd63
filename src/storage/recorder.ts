/**
 * Recorder: turns call events into storage writes as they happen, through a bounded in-memory
 * queue drained off the hot path, with retry and backoff while the database is down.
 */
import type { CallEventBus } from '../call/bus.ts'
import type { Logger } from '../log.ts'
import { opForEvent } from './call-ops.ts'
import { StreamContinuations } from '../call/continuation.ts'
import { StoreError, type Store, type WriteOp } from './store.ts'

export { contactOf, opForEvent } from './call-ops.ts'

export interface RecorderOptions {
  readonly store: Pick<Store, 'write'>
  readonly bus: CallEventBus
  readonly log: Logger
  /** Wall clock for `call.error` events (app.now). */
  readonly now?: () => number
  /** Ops held while the database is down; past it new ops are dropped, counted and reported. */
  readonly maxQueue?: number
  /** Ops per transaction. */
  readonly maxBatch?: number
  readonly retryInitialMs?: number
  readonly retryMaxMs?: number
  /** Called with each op's enqueue-to-commit latency in ms (benchmarks, metrics). */
  readonly observe?: (latencyMs: number, op: WriteOp) => void
}

export interface RecorderStatus {
  readonly state: 'ok' | 'retrying' | 'closed'
  readonly queued: number
  readonly written: number
  /** Ops refused because the queue was full. */
  readonly dropped: number
  /** Ops the database rejected as invalid (not an outage); logged and skipped. */
  readonly rejected: number
  readonly retries: number
  readonly lastError: string | null
  readonly downSince: number | null
}

export interface Recorder {
  /** Queues one write; false when it was dropped (queue full or closed). Never blocks. */
  enqueue (op: WriteOp): boolean
  status (): RecorderStatus
  /** Resolves once everything queued so far is committed (or dropped). */
  idle (): Promise<void>
  /** Stops listening, then keeps trying to save what is queued for up to `timeoutMs`. */
  close (timeoutMs?: number): Promise<void>
}

/** A bad op (constraint, bad value) fails the same way every time; anything else is retried. */
const isInvalid = (err: unknown): boolean => err instanceof StoreError && err.code === 'STORE_QUERY_FAILED'
const callSidOf = (op: WriteOp): string | undefined => 'callSid' in op ? op.callSid : undefined

/** Creates the recorder and subscribes it to the bus. */
export function createRecorder (opts: RecorderOptions): Recorder {
  const { store, bus, log } = opts
  const now = opts.now ?? Date.now
  const maxQueue = opts.maxQueue ?? 50_000
  const maxBatch = opts.maxBatch ?? 500
  const retryInitialMs = opts.retryInitialMs ?? 250
  const retryMaxMs = opts.retryMaxMs ?? 30_000
  const observe = opts.observe

  const ops: WriteOp[] = []
  const times: number[] = []
  let head = 0
  let scheduled = false
  let inFlight = false
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let stopped = false
  let written = 0
  let dropped = 0
  let rejected = 0
  let retries = 0
  let attempt = 0
  let lastError: string | null = null
  let downSince: number | null = null
  let waiters: Array<() => void> = []
  const reported = new Set<string>()

  const size = (): number => ops.length - head
  const isStopped = (): boolean => stopped
  const report = (callSid: string | undefined, code: string, message: string): void => {
    if (callSid === undefined || reported.has(callSid) || reported.size >= 10_000) return
    reported.add(callSid)
    bus.publish({ type: 'call.error', callSid, at: now(), code, message })
  }

  const done = (k: number, saved = false): void => {
    if (saved && observe !== undefined) {
      const t = performance.now()
      for (let i = head; i < head + k; i++) observe(t - (times[i] as number), ops[i] as WriteOp)
    }
    head += k
    if (head > 4096 && head * 2 > ops.length) {
      ops.splice(0, head)
      times.splice(0, head)
      head = 0
    }
  }

  const committed = (k: number): void => {
    done(k, true)
    written += k
    if (downSince !== null) {
      log.info({ downMs: now() - downSince, retries: attempt, queued: size() }, 'storage is back; queued writes saved')
      downSince = null
      attempt = 0
      reported.clear()
    }
  }

  const outage = (err: unknown): void => {
    lastError = (err as Error).message ?? String(err)
    attempt++
    retries++
    const delay = Math.min(retryMaxMs, retryInitialMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5)
    if (downSince === null) {
      downSince = now()
      log.error({ err, queued: size() }, 'storage write failed; calls go on and writes are retried with backoff')
      const seen = new Set<string>()
      for (let i = head; i < ops.length && seen.size < 1000; i++) {
        const sid = callSidOf(ops[i] as WriteOp)
        if (sid !== undefined) seen.add(sid)
      }
      for (const sid of seen) report(sid, 'STORAGE_UNAVAILABLE', 'The database is unreachable: this call is kept in memory and saved when it is back.')
    } else if (attempt % 10 === 0) {
      log.warn({ err, attempt, queued: size() }, 'storage still unavailable')
    }
    if (!stopped) timer = setTimeout(() => { timer = undefined; schedule() }, delay)
  }

  // One op at a time, so one bad op cannot hold back the rest of its batch forever.
  const isolate = async (batch: readonly WriteOp[]): Promise<void> => {
    for (const op of batch) {
      try {
        await store.write([op])
        committed(1)
      } catch (err) {
        if (!isInvalid(err)) throw err
        rejected++
        log.error({ err, op: op.op, callSid: callSidOf(op) }, 'storage rejected a write; skipped')
        done(1)
      }
    }
  }

  const drain = async (): Promise<void> => {
    scheduled = false
    if (inFlight) return
    inFlight = true
    try {
      // `stopped` flips in close() while a write is awaited.
      while (size() > 0 && !isStopped()) {
        const batch = ops.slice(head, head + maxBatch)
        try {
          await store.write(batch)
          committed(batch.length)
        } catch (err) {
          if (!isInvalid(err)) throw err
          await isolate(batch)
        }
      }
    } catch (err) {
      outage(err)
    } finally {
      inFlight = false
    }
    if (size() === 0) {
      const w = waiters
      waiters = []
      for (const resolve of w) resolve()
    } else if (timer === undefined && !stopped) {
      schedule()
    }
  }

  // setImmediate: the write starts after the current event (a media frame) is handled, never inside it.
  const schedule = (): void => {
    if (scheduled || inFlight || timer !== undefined || stopped) return
    scheduled = true
    setImmediate(() => { drain().catch(() => {}) })
  }

  const enqueue = (op: WriteOp): boolean => {
    if (closed) return false
    if (size() >= maxQueue) {
      dropped++
      if (dropped === 1 || dropped % 1000 === 0) log.error({ dropped, maxQueue }, 'storage queue full: new writes are being dropped')
      report(callSidOf(op), 'STORAGE_QUEUE_FULL', 'The database has been unreachable for too long: parts of this call are not being saved.')
      return false
    }
    ops.push(op)
    times.push(observe === undefined ? 0 : performance.now())
    if (downSince !== null) report(callSidOf(op), 'STORAGE_UNAVAILABLE', 'The database is unreachable: this call is kept in memory and saved when it is back.')
    schedule()
    return true
  }

  // A stream that ends while its call goes on (handed to a person, AI off) must not close the call's row.
  const continuations = new StreamContinuations()
  const unsubscribe = bus.subscribe((event) => {
    continuations.observe(event)
    if (event.type === 'call.stopped' && !continuations.stopEndsCall(event)) {
      enqueue({ op: 'call', callSid: event.callSid, at: event.at, patch: { streamMs: event.durationMs } })
      return
    }
    const op = opForEvent(event)
    if (op !== undefined) enqueue(op)
  })

  const idle = (): Promise<void> => size() === 0 && !inFlight ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))

  return {
    enqueue,
    idle,
    status: () => ({ state: closed ? 'closed' : downSince === null ? 'ok' : 'retrying', queued: size(), written, dropped, rejected, retries, lastError, downSince }),
    async close (timeoutMs = 5000) {
      if (closed) return
      closed = true
      unsubscribe()
      if (timer !== undefined) {
        // Try once more now instead of waiting out the backoff.
        clearTimeout(timer)
        timer = undefined
        schedule()
      }
      let deadline: NodeJS.Timeout | undefined
      await Promise.race([idle(), new Promise<void>((resolve) => { deadline = setTimeout(resolve, timeoutMs) })])
      clearTimeout(deadline)
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      if (size() > 0) log.error({ lost: size(), lastError }, 'shutting down with unsaved writes: the database did not come back in time')
    },
  }
}
