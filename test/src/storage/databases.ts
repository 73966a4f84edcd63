/** Test databases for both engines: a temp SQLite file, or a unique schema on DATABASE_URL_TEST (PostgreSQL). */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openStore, type OpenStoreOptions } from '../../../src/storage/open.ts'
import type { Store } from '../../../src/storage/store.ts'

interface Teardown { teardown (fn: () => unknown): void }

/** One empty database: open as many stores on it as a test needs. */
export interface TestDatabase {
  readonly url: string
  readonly schema: string | undefined
  open (opts?: OpenStoreOptions): Promise<Store>
}

export interface EngineUnderTest {
  readonly name: 'sqlite' | 'postgres'
  /** Why this engine is skipped, or undefined when it runs. */
  readonly skip: string | undefined
  /** A fresh, empty database, dropped when the test ends. */
  create (t: Teardown): Promise<TestDatabase>
  /** A URL whose database cannot be reached. */
  readonly unreachableUrl: string
}

function database (t: Teardown, url: string, schema: string | undefined): TestDatabase {
  return {
    url,
    schema,
    async open (opts = {}) {
      const { store } = await openStore(url, { ...(schema !== undefined ? { schema } : {}), ...opts })
      t.teardown(() => store.close())
      return store
    },
  }
}

export const sqliteEngine: EngineUnderTest = {
  name: 'sqlite',
  skip: undefined,
  async create (t) {
    const dir = mkdtempSync(join(tmpdir(), 'talkhint-store-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return database(t, `sqlite:${join(dir, 'test.db')}`, undefined)
  },
  unreachableUrl: 'sqlite:/dev/null/talkhint/test.db',
}

const PG_URL = process.env.DATABASE_URL_TEST

export const postgresEngine: EngineUnderTest = {
  name: 'postgres',
  skip: PG_URL === undefined || PG_URL === ''
    ? 'PostgreSQL tests skipped: set DATABASE_URL_TEST=postgres://postgres@127.0.0.1:5432/test to run them'
    : undefined,
  async create (t) {
    const url = PG_URL as string
    // A schema per database: test files run in parallel against the same server without colliding.
    const schema = `th_test_${process.pid}_${randomBytes(4).toString('hex')}`
    t.teardown(async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await client.end()
    })
    return database(t, url, schema)
  },
  unreachableUrl: 'postgres://postgres@127.0.0.1:1/test',
}

export const ENGINES: readonly EngineUnderTest[] = [sqliteEngine, postgresEngine]
