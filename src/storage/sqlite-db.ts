/** The SQLite engine's synchronous core (node:sqlite, WAL). Runs inside the storage worker thread. */
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { SQLITE_MIGRATIONS, latestVersion, pending } from './migrations.ts'
import type { CallbackQuery, CallbackTask, CallDetail, CallPage, CallQuery, Contact, ContactHistory, ContactPatch, FeedbackResult, FeedbackValue, HintFeedback, Message, MigrationResult, PlaybookFeedback, PurgeResult, WriteOp } from './store.ts'
import * as sql from './sql.ts'
import * as map from './rows.ts'

type Row = Record<string, unknown>

/**
 * One connection. WAL lets readers run beside the writer; synchronous=NORMAL means a commit is in
 * the WAL file (the OS page cache) when COMMIT returns, so a killed process loses nothing committed;
 * only a power cut can lose the last commits (FULL would fsync every commit).
 */
export class SqliteDb {
  readonly #db: DatabaseSync
  readonly #stmts = new Map<string, StatementSync>()

  constructor (path: string) {
    this.#db = new DatabaseSync(path, { timeout: 10_000 })
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;')
  }

  #prepare (text: string): StatementSync {
    let s = this.#stmts.get(text)
    if (s === undefined) {
      s = this.#db.prepare(text)
      this.#stmts.set(text, s)
    }
    return s
  }

  #all (text: string, params: readonly sql.Param[]): Row[] {
    return this.#prepare(text).all(...(params as Array<string | number | null>)) as Row[]
  }

  #run (text: string, params: readonly sql.Param[]): number {
    return Number(this.#prepare(text).run(...(params as Array<string | number | null>)).changes)
  }

  /** BEGIN IMMEDIATE takes the write lock up front, so two writers queue (busy timeout) instead of deadlocking. */
  #tx<T> (fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      const v = fn()
      this.#db.exec('COMMIT')
      return v
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw err
    }
  }

  version (): number {
    const t = this.#all("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", [])
    if (t.length === 0) return 0
    return Number(this.#all('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations', [])[0]?.v ?? 0)
  }

  /** Applies pending migrations in one IMMEDIATE transaction: a second process waits, then finds nothing to do. */
  migrate (target?: number): MigrationResult {
    return this.#tx(() => {
      this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)')
      const from = this.version()
      let to = from
      for (const m of pending(SQLITE_MIGRATIONS, from, target)) {
        this.#db.exec(m.sql)
        this.#run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, Date.now()])
        to = m.version
      }
      return { from, to, latest: latestVersion(SQLITE_MIGRATIONS) }
    })
  }

  write (ops: readonly WriteOp[]): void {
    this.#tx(() => {
      for (const s of sql.batchStatements('sqlite', ops)) this.#run(s.text, s.params)
    })
  }

  listCalls (q: CallQuery): CallPage {
    const s = sql.listCallsSql('sqlite', q)
    const found = this.#all(s.text, s.params)
    const more = found.length > q.limit
    const calls = found.slice(0, q.limit).map(map.rowToCall)
    const last = calls[calls.length - 1]
    const terms = q.terms ?? []
    let items = calls
    if (terms.length > 0 && calls.length > 0) {
      const m = sql.matchesSql('sqlite', terms, calls.map((c) => c.callSid))
      items = map.attachMatches(calls, this.#all(m.text, m.params))
    }
    return { calls: items, next: more && last !== undefined ? { at: last.createdAt, sid: last.callSid } : null }
  }

  getCall (callSid: string): CallDetail | undefined {
    const row = this.#all(sql.CALL_BY_SID, [callSid])[0]
    if (row === undefined) return undefined
    const summary = this.#all(sql.SUMMARY_OF_CALL, [callSid])[0]
    return {
      call: map.rowToCall(row),
      utterances: this.#all(sql.UTTERANCES_OF_CALL, [callSid]).map(map.rowToUtterance),
      hints: this.#all(sql.HINTS_OF_CALL, [callSid]).map(map.rowToHint),
      summary: summary === undefined ? null : map.rowToSummary(summary),
    }
  }

  contactHistory (phone: string, limit: number): ContactHistory {
    const c = this.#all(sql.CONTACT_BY_PHONE, [phone])[0]
    return {
      contact: c === undefined ? undefined : map.rowToContact(c),
      calls: this.#all(sql.CALLS_BY_CONTACT, [phone, limit]).map(map.rowToCall),
      messages: this.#all(sql.MESSAGES_BY_CONTACT, [phone, limit]).map(map.rowToMessage),
    }
  }

  updateContact (phone: string, patch: ContactPatch, at: number): Contact {
    return this.#tx(() => {
      const s = sql.contactUpsert(phone, patch.name ?? null, patch.notes ?? null, patch.name === undefined, patch.notes === undefined, at)
      this.#run(s.text, s.params)
      return map.rowToContact(this.#all(sql.CONTACT_BY_PHONE, [phone])[0] as Row)
    })
  }

  getMessage (sid: string): Message | undefined {
    const r = this.#all(sql.MESSAGE_BY_SID, [sid])[0]
    return r === undefined ? undefined : map.rowToMessage(r)
  }

  listCallbacks (q: CallbackQuery): CallbackTask[] {
    return this.#all(sql.LIST_CALLBACKS, sql.listCallbacksParams(q)).map(map.rowToCallback)
  }

  setHintFeedback (f: HintFeedback): FeedbackResult {
    return this.#tx(() => {
      let changed: Row[]
      if (f.pending !== undefined) {
        const [ensure, upsert] = sql.feedbackUpsert('sqlite', f, f.pending.playbookId) as [sql.Stmt, sql.Stmt]
        this.#run(ensure.text, ensure.params)
        changed = this.#all(upsert.text, upsert.params)
      } else {
        const s = sql.feedbackUpdate(f)
        changed = this.#all(s.text, s.params)
        if (changed.length === 0 && this.#all(sql.HINT_EXISTS, [f.callSid, f.hintId]).length === 0) return { status: 'not_found' }
      }
      const row = changed[0]
      return row === undefined ? { status: 'unchanged' } : { status: 'changed', playbookId: row.playbook_id === null ? null : String(row.playbook_id) }
    })
  }

  callFeedback (callSid: string): Record<string, FeedbackValue> {
    return Object.fromEntries(this.#all(sql.FEEDBACK_OF_CALL, [callSid]).map((r) => [String(r.hint_id), r.feedback as FeedbackValue]))
  }

  feedbackCounts (): PlaybookFeedback[] {
    return this.#all(sql.FEEDBACK_COUNTS, []).map(map.rowToFeedbackCount)
  }

  closeInterrupted (createdBefore: number, at: number): string[] {
    return this.#tx(() => this.#all(sql.CLOSE_INTERRUPTED, [at, at, createdBefore]).map((r) => String(r.call_sid)))
  }

  purge (before: number): PurgeResult {
    return this.#tx(() => ({ calls: this.#run(sql.PURGE_CALLS, [before]), messages: this.#run(sql.PURGE_MESSAGES, [before]) }))
  }

  close (): void {
    if (this.#db.isOpen) this.#db.close()
  }
}
