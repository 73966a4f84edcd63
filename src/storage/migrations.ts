/**
 * Versioned schema migrations, one list per engine. Append only: never edit a shipped step;
 * add the next version. Times are integer milliseconds since the epoch on both engines.
 */

export interface Migration { readonly version: number, readonly name: string, readonly sql: string }

const SQLITE_V1 = `
CREATE TABLE contacts (
  phone TEXT PRIMARY KEY,
  name TEXT,
  notes TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE calls (
  call_sid TEXT PRIMARY KEY,
  direction TEXT,
  from_number TEXT,
  to_number TEXT,
  contact_phone TEXT,
  mode TEXT,
  status TEXT,
  ai_status TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER,
  duration_s INTEGER,
  stream_ms INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE INDEX calls_created ON calls (created_at DESC, call_sid DESC);
CREATE INDEX calls_contact ON calls (contact_phone, created_at DESC, call_sid DESC);
CREATE TABLE utterances (
  id INTEGER PRIMARY KEY,
  call_sid TEXT NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
  item_id TEXT NOT NULL,
  speaker TEXT NOT NULL,
  text TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (call_sid, item_id)
);
CREATE TABLE hints (
  id INTEGER PRIMARY KEY,
  call_sid TEXT NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
  hint_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  text TEXT NOT NULL,
  superseded INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (call_sid, hint_id)
);
CREATE TABLE summaries (
  call_sid TEXT PRIMARY KEY REFERENCES calls (call_sid) ON DELETE CASCADE,
  summary TEXT NOT NULL,
  intent TEXT NOT NULL,
  action_items TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  message_sid TEXT UNIQUE,
  direction TEXT NOT NULL,
  contact_phone TEXT,
  from_number TEXT NOT NULL,
  to_number TEXT NOT NULL,
  body TEXT,
  num_media INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  error_code INTEGER,
  error_message TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX messages_contact ON messages (contact_phone, created_at DESC);
CREATE INDEX messages_created ON messages (created_at);
`

// v2: full-text search over transcripts. External-content FTS5 kept in step by triggers;
// 'rebuild' indexes the rows a v1 database already holds. No diacritic folding, to match
// PostgreSQL's 'simple' configuration (same results on both engines).
const SQLITE_V2 = `
CREATE VIRTUAL TABLE utterances_fts USING fts5 (
  text, content = 'utterances', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER utterances_fts_ai AFTER INSERT ON utterances BEGIN
  INSERT INTO utterances_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER utterances_fts_ad AFTER DELETE ON utterances BEGIN
  INSERT INTO utterances_fts (utterances_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER utterances_fts_au AFTER UPDATE OF text ON utterances BEGIN
  INSERT INTO utterances_fts (utterances_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO utterances_fts (rowid, text) VALUES (new.id, new.text);
END;
INSERT INTO utterances_fts (utterances_fts) VALUES ('rebuild');
`

// v5: messages the AI agent took for a callback (a task on the contact; open until someone marks it done).
const CALLBACKS_V5 = `
CREATE TABLE callbacks (
  task_id TEXT PRIMARY KEY,
  call_sid TEXT NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
  contact_phone TEXT,
  name TEXT NOT NULL,
  callback_number TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  done_at INTEGER
);
CREATE INDEX callbacks_open ON callbacks (done_at, created_at DESC);
CREATE INDEX callbacks_contact ON callbacks (contact_phone, created_at DESC);
`

// v3: 👍/👎 on a hint, who gave it and when, and the playbook the hint was written from (feedback is
// counted per playbook). A row with empty text is feedback that arrived before its hint was stored.
const SQLITE_V3 = `
ALTER TABLE hints ADD COLUMN playbook_id TEXT;
ALTER TABLE hints ADD COLUMN feedback TEXT CHECK (feedback IN ('up', 'down'));
ALTER TABLE hints ADD COLUMN feedback_by TEXT;
ALTER TABLE hints ADD COLUMN feedback_at INTEGER;
CREATE INDEX hints_feedback ON hints (playbook_id, feedback) WHERE feedback IS NOT NULL;
`

// v4: outbound agent calls: the task the AI was given, and how the call went (human, machine, no-answer, busy, failed).
const V4 = `
ALTER TABLE calls ADD COLUMN purpose TEXT;
ALTER TABLE calls ADD COLUMN outcome TEXT;
`

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'contacts, calls, utterances, hints, summaries, messages', sql: SQLITE_V1 },
  { version: 2, name: 'full-text search over utterances (FTS5)', sql: SQLITE_V2 },
  { version: 3, name: 'hint feedback and playbook id', sql: SQLITE_V3 },
  { version: 4, name: 'calls: purpose and outcome of outbound agent calls', sql: V4 },
  { version: 5, name: 'callback tasks', sql: CALLBACKS_V5 },
]

const PG_V1 = SQLITE_V1
  .replaceAll('id INTEGER PRIMARY KEY', 'id BIGSERIAL PRIMARY KEY')
  .replaceAll('INTEGER', 'BIGINT')
  .replace('superseded BIGINT NOT NULL DEFAULT 0', 'superseded BOOLEAN NOT NULL DEFAULT FALSE')

// v2: a generated tsvector (computed for existing rows by the ALTER) and its GIN index.
const PG_V2 = `
ALTER TABLE utterances ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
CREATE INDEX utterances_tsv ON utterances USING GIN (tsv);
`

const PG_V3 = SQLITE_V3.replace('feedback_at INTEGER', 'feedback_at BIGINT')

export const PG_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'contacts, calls, utterances, hints, summaries, messages', sql: PG_V1 },
  { version: 2, name: 'full-text search over utterances (tsvector + GIN)', sql: PG_V2 },
  { version: 3, name: 'hint feedback and playbook id', sql: PG_V3 },
  { version: 4, name: 'calls: purpose and outcome of outbound agent calls', sql: V4 },
  { version: 5, name: 'callback tasks', sql: CALLBACKS_V5.replaceAll('INTEGER', 'BIGINT') },
]

/** The migrations to apply to go from `current` to `target` (all when target is undefined). */
export function pending (list: readonly Migration[], current: number, target?: number): Migration[] {
  const to = target ?? list[list.length - 1]?.version ?? 0
  return list.filter((m) => m.version > current && m.version <= to)
}

export function latestVersion (list: readonly Migration[]): number {
  return list[list.length - 1]?.version ?? 0
}
