/** The PostgreSQL Store (`pg` pool): same SQL as SQLite, advisory-locked migrations, optional schema. */
import pg from 'pg'
import { createHash } from 'node:crypto'
import { PG_MIGRATIONS, latestVersion, pending } from './migrations.ts'
import { StoreError, type CallPage, type FeedbackResult, type FeedbackValue, type Store } from './store.ts'
import * as sql from './sql.ts'
import * as map from './rows.ts'

export interface PgStoreOptions {
  /** postgres://user@host:port/db; a `schema` query parameter selects (and creates) a schema. */
  readonly url: string
  readonly schema?: string
  readonly max?: number
}

type Row = Record<string, unknown>
type Queryable = Pick<pg.PoolClient, 'query'>

// bigint (int8) columns hold millisecond timestamps and counts: safe as JS numbers.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

// Connection-level failures (server down, restarting, out of connections): retry later.
const OUTAGE_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01)/
const OUTAGE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'])

function toStoreError (err: unknown): StoreError {
  if (err instanceof StoreError) return err
  const e = err as { message?: string, code?: string }
  const outage = (e.code !== undefined && (OUTAGE_SQLSTATE.test(e.code) || OUTAGE_ERRNO.has(e.code))) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(e.message ?? '')
  return new StoreError(outage ? 'STORE_UNAVAILABLE' : 'STORE_QUERY_FAILED', `postgres: ${e.message ?? String(err)}`, { cause: err })
}

/** Splits a `schema` query parameter off the URL (pg would pass it on as a server setting). */
export function parsePgUrl (url: string): { connectionString: string, schema: string | undefined } {
  const u = new URL(url)
  const schema = u.searchParams.get('schema') ?? undefined
  u.searchParams.delete('schema')
  return { connectionString: u.toString(), schema }
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** Creates the PostgreSQL engine; no connection is made until the first query. */
export function createPgStore (opts: PgStoreOptions): Store {
  const parsed = parsePgUrl(opts.url)
  const schema = opts.schema ?? parsed.schema
  const pool = new pg.Pool({
    connectionString: parsed.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    types,
    ...(schema !== undefined ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
  })
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  const texts = new Map<string, string>()
  const pgText = (text: string): string => {
    let t = texts.get(text)
    if (t === undefined) { t = sql.toPg(text); texts.set(text, t) }
    return t
  }
  const q = async (c: Queryable, text: string, params: readonly sql.Param[] = []): Promise<pg.QueryResult<Row>> =>
    await c.query<Row>(pgText(text), params as unknown[])
  let closed = false
  const run = async <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    if (closed) throw new StoreError('STORE_CLOSED', 'the store is closed')
    let client: pg.PoolClient | undefined
    try {
      client = await pool.connect()
      return await fn(client)
    } catch (err) {
      throw toStoreError(err)
    } finally {
      client?.release()
    }
  }
  const tx = <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => run(async (c) => {
    await c.query('BEGIN')
    try {
      const v = await fn(c)
      await c.query('COMMIT')
      return v
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {})
      throw err
    }
  })
  const version = async (c: Queryable): Promise<number> => {
    const t = await c.query("SELECT to_regclass('schema_migrations') AS t")
    if (t.rows[0]?.t === null) return 0
    return Number((await c.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0)
  }
  // One lock per schema: instances sharing a schema migrate one at a time.
  const lockKey = createHash('sha256').update(`talkhint:migrate:${schema ?? ''}`).digest().readBigInt64BE(0).toString()

  return {
    engine: 'postgres',
    migrate: (o) => run(async (c) => {
      await c.query('SELECT pg_advisory_lock($1::bigint)', [lockKey])
      try {
        if (schema !== undefined) await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
        await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)')
        const from = await version(c)
        let to = from
        for (const m of pending(PG_MIGRATIONS, from, o?.target)) {
          await c.query('BEGIN')
          try {
            await c.query(m.sql)
            await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()])
            await c.query('COMMIT')
          } catch (err) {
            await c.query('ROLLBACK').catch(() => {})
            throw err
          }
          to = m.version
        }
        return { from, to, latest: latestVersion(PG_MIGRATIONS) }
      } finally {
        await c.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch(() => {})
      }
    }),
    schemaVersion: () => run(version),
    write: (ops) => tx(async (c) => {
      for (const s of sql.batchStatements('postgres', ops)) await q(c, s.text, s.params)
    }),
    listCalls: (query) => run(async (c): Promise<CallPage> => {
      const s = sql.listCallsSql('postgres', query)
      const found = (await q(c, s.text, s.params)).rows
      const calls = found.slice(0, query.limit).map(map.rowToCall)
      const last = calls[calls.length - 1]
      const terms = query.terms ?? []
      let items = calls
      if (terms.length > 0 && calls.length > 0) {
        const m = sql.matchesSql('postgres', terms, calls.map((x) => x.callSid))
        items = map.attachMatches(calls, (await q(c, m.text, m.params)).rows)
      }
      return { calls: items, next: found.length > query.limit && last !== undefined ? { at: last.createdAt, sid: last.callSid } : null }
    }),
    getCall: (sid) => run(async (c) => {
      const row = (await q(c, sql.CALL_BY_SID, [sid])).rows[0]
      if (row === undefined) return undefined
      const summary = (await q(c, sql.SUMMARY_OF_CALL, [sid])).rows[0]
      return {
        call: map.rowToCall(row),
        utterances: (await q(c, sql.UTTERANCES_OF_CALL, [sid])).rows.map(map.rowToUtterance),
        hints: (await q(c, sql.HINTS_OF_CALL, [sid])).rows.map(map.rowToHint),
        summary: summary === undefined ? null : map.rowToSummary(summary),
      }
    }),
    contactHistory: (phone, limit) => run(async (c) => {
      const contact = (await q(c, sql.CONTACT_BY_PHONE, [phone])).rows[0]
      return {
        contact: contact === undefined ? undefined : map.rowToContact(contact),
        calls: (await q(c, sql.CALLS_BY_CONTACT, [phone, limit])).rows.map(map.rowToCall),
        messages: (await q(c, sql.MESSAGES_BY_CONTACT, [phone, limit])).rows.map(map.rowToMessage),
      }
    }),
    updateContact: (phone, patch, at) => tx(async (c) => {
      const s = sql.contactUpsert(phone, patch.name ?? null, patch.notes ?? null, patch.name === undefined, patch.notes === undefined, at)
      await q(c, s.text, s.params)
      return map.rowToContact((await q(c, sql.CONTACT_BY_PHONE, [phone])).rows[0] as Row)
    }),
    getMessage: (sid) => run(async (c) => {
      const r = (await q(c, sql.MESSAGE_BY_SID, [sid])).rows[0]
      return r === undefined ? undefined : map.rowToMessage(r)
    }),
    listCallbacks: (query) => run(async (c) => (await q(c, sql.LIST_CALLBACKS, sql.listCallbacksParams(query))).rows.map(map.rowToCallback)),
    setHintFeedback: (f) => tx(async (c): Promise<FeedbackResult> => {
      let changed: Row[]
      if (f.pending !== undefined) {
        const [ensure, upsert] = sql.feedbackUpsert('postgres', f, f.pending.playbookId) as [sql.Stmt, sql.Stmt]
        await q(c, ensure.text, ensure.params)
        changed = (await q(c, upsert.text, upsert.params)).rows
      } else {
        const s = sql.feedbackUpdate(f)
        changed = (await q(c, s.text, s.params)).rows
        if (changed.length === 0 && (await q(c, sql.HINT_EXISTS, [f.callSid, f.hintId])).rows.length === 0) return { status: 'not_found' }
      }
      const row = changed[0]
      return row === undefined ? { status: 'unchanged' } : { status: 'changed', playbookId: row.playbook_id === null ? null : String(row.playbook_id) }
    }),
    callFeedback: (sid) => run(async (c) =>
      Object.fromEntries((await q(c, sql.FEEDBACK_OF_CALL, [sid])).rows.map((r) => [String(r.hint_id), r.feedback as FeedbackValue]))),
    feedbackCounts: () => run(async (c) => (await q(c, sql.FEEDBACK_COUNTS)).rows.map(map.rowToFeedbackCount)),
    closeInterrupted: (createdBefore, at) => tx(async (c) =>
      (await q(c, sql.CLOSE_INTERRUPTED, [at, at, createdBefore])).rows.map((r) => String(r.call_sid))),
    purge: (before) => tx(async (c) => ({
      calls: (await q(c, sql.PURGE_CALLS, [before])).rowCount ?? 0,
      messages: (await q(c, sql.PURGE_MESSAGES, [before])).rowCount ?? 0,
    })),
    close: async () => {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}
