/** The SQLite Store: an async proxy to a worker thread that owns the node:sqlite connection. */
import { Worker } from 'node:worker_threads'
import { SqliteDb } from './sqlite-db.ts'
import { StoreError, type Store } from './store.ts'

type Method = 'migrate' | 'version' | 'write' | 'listCalls' | 'getCall' | 'contactHistory' | 'updateContact' | 'getMessage' | 'listCallbacks' | 'purge' | 'closeInterrupted' |
  'setHintFeedback' | 'callFeedback' | 'feedbackCounts'
export interface Request {
  readonly id: number
  /** Which connection (one per store) and the file it opens on first use. */
  readonly db: number
  readonly path: string
  readonly method: Method | 'close'
  readonly args: readonly unknown[]
}
export interface Response {
  readonly id: number
  readonly ok: boolean
  readonly value?: unknown
  readonly error?: { message: string, code?: string, errcode?: number }
}

export interface SqliteStoreOptions {
  /** File path, or ':memory:' (tests). */
  readonly path: string
  /**
   * 'worker' (default): queries run on a worker thread, so the event loop carrying media never
   * waits on the disk (WAL checkpoints fsync; big FTS queries take milliseconds). 'inline' runs
   * them on the calling thread: only for the benchmark that measures the difference.
   */
  readonly thread?: 'worker' | 'inline'
}

// SQLite primary result codes that mean "the database is unusable right now", not "bad query".
const OUTAGE_CODES = new Set([5, 6, 7, 8, 10, 11, 13, 14, 15, 26])

function toStoreError (e: { message: string, errcode?: number }): StoreError {
  const primary = e.errcode === undefined ? undefined : e.errcode & 0xff
  const code = primary !== undefined && OUTAGE_CODES.has(primary) ? 'STORE_UNAVAILABLE' : 'STORE_QUERY_FAILED'
  return new StoreError(code, `sqlite: ${e.message}`, { cause: e })
}

/** Opens (lazily) the SQLite engine. Every method rejects with StoreError on failure. */
export function createSqliteStore (opts: SqliteStoreOptions): Store {
  const invoke = opts.thread === 'inline' ? inlineInvoker(opts.path) : workerInvoker(opts.path)
  const call = <T>(method: Method, ...args: unknown[]): Promise<T> => invoke.call(method, args) as Promise<T>
  return {
    engine: 'sqlite',
    migrate: (o) => call('migrate', o?.target),
    schemaVersion: () => call('version'),
    write: (ops) => call('write', ops),
    listCalls: (q) => call('listCalls', q),
    getCall: (sid) => call('getCall', sid),
    contactHistory: (phone, limit) => call('contactHistory', phone, limit),
    updateContact: (phone, patch, at) => call('updateContact', phone, patch, at),
    getMessage: (sid) => call('getMessage', sid),
    listCallbacks: (q) => call('listCallbacks', q),
    setHintFeedback: (f) => call('setHintFeedback', f),
    callFeedback: (sid) => call('callFeedback', sid),
    feedbackCounts: () => call('feedbackCounts'),
    purge: (before) => call('purge', before),
    closeInterrupted: (createdBefore, at) => call('closeInterrupted', createdBefore, at),
    close: () => invoke.close(),
  }
}

interface Invoker { call (method: Method, args: readonly unknown[]): Promise<unknown>, close (): Promise<void> }

function inlineInvoker (path: string): Invoker {
  let db: SqliteDb | undefined
  let closed = false
  return {
    async call (method, args) {
      if (closed) throw new StoreError('STORE_CLOSED', 'the store is closed')
      try {
        db ??= new SqliteDb(path)
        return (db[method] as (...a: unknown[]) => unknown).apply(db, [...args])
      } catch (err) {
        throw toStoreError(err as { message: string, errcode?: number })
      }
    },
    async close () {
      closed = true
      db?.close()
    },
  }
}

/**
 * One worker thread per process hosts every SQLite connection (one per store): starting a worker
 * costs ~100 ms (a fresh isolate that loads and type-strips our modules), paid once per process,
 * not per store (tests build many apps).
 */
interface Host {
  worker: Worker
  pending: Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>
}
let host: Host | undefined
let nextId = 1
let nextDb = 1

function spawnHost (): Host {
  const h: Host = { worker: new Worker(new URL('./sqlite-worker.ts', import.meta.url)), pending: new Map() }
  const failAll = (why: string): void => {
    if (host === h) host = undefined
    for (const p of h.pending.values()) p.reject(new StoreError('STORE_UNAVAILABLE', why))
    h.pending.clear()
  }
  h.worker.on('message', (res: Response) => {
    const p = h.pending.get(res.id)
    if (p === undefined) return
    h.pending.delete(res.id)
    // An idle worker must not keep the process alive; a busy one must (a CLI awaiting a write).
    if (h.pending.size === 0) h.worker.unref()
    if (res.ok) p.resolve(res.value)
    else p.reject(toStoreError(res.error ?? { message: 'unknown error' }))
  })
  h.worker.on('error', (err) => failAll(`sqlite worker failed: ${err.message}`))
  h.worker.on('exit', (code) => failAll(`sqlite worker exited (${code})`))
  return h
}

function workerInvoker (path: string): Invoker {
  const db = nextDb++
  let closed = false
  let attached: Host | undefined
  const post = (method: Request['method'], args: readonly unknown[]): Promise<unknown> => {
    host ??= spawnHost()
    const h = host
    // A respawned worker reopens the file on first use (a :memory: database starts empty).
    attached = h
    const id = nextId++
    return new Promise((resolve, reject) => {
      h.pending.set(id, { resolve, reject })
      h.worker.ref()
      h.worker.postMessage({ id, db, path, method, args } satisfies Request)
    })
  }
  return {
    call (method, args) {
      if (closed) return Promise.reject(new StoreError('STORE_CLOSED', 'the store is closed'))
      return post(method, args)
    },
    async close () {
      if (closed) return
      closed = true
      const h = attached
      if (h === undefined || host !== h) return
      // Requests already sent run first (the worker takes messages in order), then the connection closes.
      // The idle worker stays (unref'd: it never holds the process open) for the next store.
      await post('close', []).catch(() => {})
    },
  }
}
