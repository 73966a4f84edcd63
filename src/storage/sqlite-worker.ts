/** Worker thread that owns the SQLite connections: every query runs here, never on the main event loop. */
import { parentPort } from 'node:worker_threads'
import { SqliteDb } from './sqlite-db.ts'
import type { Request, Response } from './sqlite.ts'

const port = parentPort
if (port === null) throw new Error('sqlite-worker.ts must run in a worker thread')

// One connection per store. Opened lazily, and again after a failure, so a volume that appears
// late (or comes back) is picked up by the next write.
const dbs = new Map<number, SqliteDb>()
const open = (req: Request): SqliteDb => {
  let db = dbs.get(req.db)
  if (db === undefined) {
    db = new SqliteDb(req.path)
    dbs.set(req.db, db)
  }
  return db
}

const describe = (err: unknown): Response['error'] => {
  const e = err as { message?: string, code?: string, errcode?: number }
  return { message: e.message ?? String(err), code: e.code, errcode: e.errcode }
}

port.on('message', (req: Request) => {
  let res: Response
  try {
    if (req.method === 'close') {
      dbs.get(req.db)?.close()
      dbs.delete(req.db)
      res = { id: req.id, ok: true, value: undefined }
    } else {
      const db = open(req)
      const fn = db[req.method] as (...args: unknown[]) => unknown
      res = { id: req.id, ok: true, value: fn.apply(db, [...req.args]) }
    }
  } catch (err) {
    res = { id: req.id, ok: false, error: describe(err) }
  }
  port.postMessage(res)
})
