/** Opens the Store that DATABASE_URL names (sqlite:<path> or postgres://…) and brings its schema up to date. */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createPgStore } from './postgres.ts'
import { createSqliteStore } from './sqlite.ts'
import { StoreError, type MigrationResult, type Store } from './store.ts'

export interface OpenStoreOptions {
  /** Run migrations now (default true); a number stops at that version (tests of upgrades). */
  readonly migrate?: boolean | number
  /** PostgreSQL schema (tests isolate each run in its own); also `?schema=` in the URL. */
  readonly schema?: string
  /** SQLite only: see SqliteStoreOptions.thread. */
  readonly sqliteThread?: 'worker' | 'inline'
}

/** What DATABASE_URL means: `sqlite:./data/talkhint.db`, `sqlite::memory:`, `sqlite:///abs/path.db` or postgres://… */
export function parseDatabaseUrl (url: string): { engine: 'sqlite', path: string } | { engine: 'postgres', url: string } {
  if (/^postgres(ql)?:\/\//.test(url)) return { engine: 'postgres', url }
  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length)
    const path = rest.startsWith('//') ? rest.slice(2) : rest
    if (path === '') throw new StoreError('STORE_BAD_URL', 'DATABASE_URL sqlite: needs a path, like sqlite:./data/talkhint.db')
    return { engine: 'sqlite', path }
  }
  throw new StoreError('STORE_BAD_URL', 'DATABASE_URL must start with sqlite: or postgres://')
}

/** Opens the engine (creating the SQLite directory: zero setup) and applies pending migrations. */
export async function openStore (url: string, opts: OpenStoreOptions = {}): Promise<{ store: Store, migration: MigrationResult | undefined }> {
  const target = parseDatabaseUrl(url)
  let store: Store
  if (target.engine === 'sqlite') {
    if (target.path !== ':memory:') {
      // Zero setup: create the directory. If that fails, opening reports it (as an outage, retried).
      try { mkdirSync(dirname(resolve(target.path)), { recursive: true }) } catch {}
    }
    store = createSqliteStore({ path: target.path, thread: opts.sqliteThread })
  } else {
    store = createPgStore({ url: target.url, schema: opts.schema })
  }
  if (opts.migrate === false) return { store, migration: undefined }
  try {
    const migration = await store.migrate(typeof opts.migrate === 'number' ? { target: opts.migrate } : undefined)
    return { store, migration }
  } catch (err) {
    await store.close().catch(() => {})
    throw err
  }
}
