/**
 * The storage service the app runs: open + migrate (retried in the background when the database
 * is down at start-up, so calls are answered anyway), the recorder, and retention.
 */
import type { CallEventBus } from '../call/bus.ts'
import type { Logger } from '../log.ts'
import { openStore, parseDatabaseUrl } from './open.ts'
import { createRecorder, type Recorder, type RecorderOptions } from './recorder.ts'
import { startRetention, type Retention } from './retention.ts'
import { StoreError, type MigrationResult, type Store } from './store.ts'

export interface StorageOptions {
  readonly databaseUrl: string
  readonly bus: CallEventBus
  readonly log: Logger
  readonly now: () => number
  readonly retentionDays?: number
  readonly recorder?: Partial<Pick<RecorderOptions, 'maxQueue' | 'maxBatch' | 'retryInitialMs' | 'retryMaxMs' | 'observe'>>
  /** Told which calls were closed as interrupted (left open by a crash) once the database is reachable. */
  readonly onInterrupted?: (callSids: readonly string[]) => void
  /** Delay between start-up migration attempts while the database is down. */
  readonly migrateRetryMs?: number
}

export interface StorageService {
  /** The store, refusing with STORE_UNAVAILABLE until its schema is migrated. */
  readonly store: Store
  readonly recorder: Recorder
  /** True once migrations have run. */
  readonly ready: () => boolean
  close (): Promise<void>
}

/** Twilio ends a call at its time limit: 4 h by default (Calls API TimeLimit, <Dial timeLimit>), which TalkHint never raises. */
const MAX_CALL_MS = 4 * 3600_000

/** Opens storage. Throws only for a bad DATABASE_URL or a migration the database rejects. */
export async function startStorage (opts: StorageOptions): Promise<StorageService> {
  const { log } = opts
  const engine = parseDatabaseUrl(opts.databaseUrl).engine
  const { store: raw } = await openStore(opts.databaseUrl, { migrate: false })
  let migrated = false
  let lastError = ''
  let retryTimer: NodeJS.Timeout | undefined
  let retention: Retention | undefined
  let closed = false

  const onMigrated = (m: MigrationResult): void => {
    migrated = true
    if (m.from > m.latest) log.warn({ version: m.from, known: m.latest }, 'database schema is newer than this build; running with it')
    else if (m.from !== m.to) log.info({ engine, from: m.from, to: m.to }, 'database migrated')
    else log.info({ engine, version: m.to }, 'database schema up to date')
    if (opts.retentionDays !== undefined) {
      retention = startRetention({ store: raw, days: opts.retentionDays, log, now: opts.now })
    }
  }
  /**
   * Calls left open by a crash (SIGKILL, OOM, power) would stay "never ended" for good. Which open calls
   * are dead? SQLite: the file is this instance's alone (a volume on one machine), so every call created
   * before this start is. PostgreSQL: several instances share the table and nothing records which one
   * owns a call, so only calls older than Twilio's longest possible call are closed: none of those can
   * still be live anywhere. (A crashed call there stays open up to that long; its final status callback
   * usually closes it sooner.)
   */
  const startedAt = opts.now()
  const closeInterrupted = async (): Promise<void> => {
    const now = opts.now()
    const before = engine === 'sqlite' ? startedAt : Math.min(startedAt, now - MAX_CALL_MS)
    try {
      const sids = await raw.closeInterrupted(before, now)
      if (sids.length === 0) return
      log.warn({ calls: sids.length, callSids: sids.slice(0, 20) }, 'calls left open by an earlier crash closed as interrupted')
      opts.onInterrupted?.(sids)
    } catch (err) {
      log.error({ err }, 'could not close calls left open by an earlier crash')
    }
  }
  const tryMigrate = async (): Promise<void> => {
    try {
      onMigrated(await raw.migrate())
      await closeInterrupted()
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'STORE_UNAVAILABLE') throw err
      lastError = err.message
      log.error({ err, engine }, 'database unavailable at start-up; answering calls anyway and retrying')
      if (!closed) retryTimer = setTimeout(() => { tryMigrate().catch((e: unknown) => log.error({ err: e }, 'migration failed')) }, opts.migrateRetryMs ?? 2000)
    }
  }
  try {
    await tryMigrate()
  } catch (err) {
    await raw.close().catch(() => {})
    throw err
  }

  const gate = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
    migrated ? fn(...args) : Promise.reject(new StoreError('STORE_UNAVAILABLE', `database not ready: ${lastError}`))
  const store: Store = {
    engine: raw.engine,
    migrate: (o) => raw.migrate(o),
    schemaVersion: () => raw.schemaVersion(),
    write: gate(raw.write),
    listCalls: gate(raw.listCalls),
    getCall: gate(raw.getCall),
    contactHistory: gate(raw.contactHistory),
    updateContact: gate(raw.updateContact),
    getMessage: gate(raw.getMessage),
    listCallbacks: gate(raw.listCallbacks),
    setHintFeedback: gate(raw.setHintFeedback),
    callFeedback: gate(raw.callFeedback),
    feedbackCounts: gate(raw.feedbackCounts),
    purge: gate(raw.purge),
    closeInterrupted: gate(raw.closeInterrupted),
    close: () => raw.close(),
  }
  const recorder = createRecorder({ store, bus: opts.bus, log, now: opts.now, ...opts.recorder })

  return {
    store,
    recorder,
    ready: () => migrated,
    async close () {
      closed = true
      clearTimeout(retryTimer)
      await retention?.stop()
      // Never migrated (database down since start-up): no write can succeed, so don't wait for one.
      await recorder.close(migrated ? 5000 : 0)
      await raw.close()
    },
  }
}
