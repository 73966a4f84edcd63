/**
 * Storage benchmark: 200 simulated calls publish their events on the real bus (webhook, start,
 * levels at 5 Hz, partial and final transcripts, hints) and the real recorder writes them to
 * each engine. For each offered rate of final utterances it reports what was committed per
 * second, the enqueue→commit latency of final utterances (p50/p99/max), the deepest queue,
 * and the main event loop's delay p99 (what the media path would feel).
 *
 *   node bench/store/run.ts [--calls 200] [--seconds 5] [--rates 100,1000,5000,max]
 *                           [--engines sqlite,sqlite-inline,postgres]
 *
 * postgres runs when DATABASE_URL_BENCH or DATABASE_URL_TEST is set (a throwaway schema is used
 * and dropped). sqlite-inline runs node:sqlite on the main thread, to show what the worker saves.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { createHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import pg from 'pg'
import { createCallEventBus } from '../../src/call/bus.ts'
import type { CallEvent } from '../../src/call/events.ts'
import { silentLogger } from '../../src/log.ts'
import { openStore, type OpenStoreOptions } from '../../src/storage/open.ts'
import { createRecorder } from '../../src/storage/recorder.ts'
import type { Store } from '../../src/storage/store.ts'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const CALLS = Number(arg('calls', '200'))
const SECONDS = Number(arg('seconds', '5'))
const RATES = arg('rates', '100,1000,5000,max').split(',')
const PG_URL = process.env.DATABASE_URL_BENCH ?? process.env.DATABASE_URL_TEST
const ENGINES = arg('engines', PG_URL === undefined ? 'sqlite,sqlite-inline' : 'sqlite,sqlite-inline,postgres').split(',')
const TICK_MS = 5
const MAX_BACKLOG = 2000 // 'max': keep this many ops queued, so the engine never waits for work

const WORDS = 'order refund invoice parcel delivery address account password payment card charge twice yesterday thanks'.split(' ')
const sentence = (n: number): string => Array.from({ length: 8 + (n % 9) }, (_, i) => WORDS[(n * 7 + i * 3) % WORDS.length]).join(' ')

interface Row { engine: string, rate: string, offered: number, sustained: number, p50: number, p99: number, max: number, maxQueue: number, loopP99: number, backlog: number, drainMs: number }

async function openEngine (engine: string): Promise<{ store: Store, cleanup: () => Promise<void> }> {
  if (engine === 'postgres') {
    const schema = `th_bench_${process.pid}_${Date.now()}`
    const { store } = await openStore(PG_URL as string, { schema })
    return {
      store,
      cleanup: async () => {
        await store.close()
        const c = new pg.Client({ connectionString: PG_URL })
        await c.connect()
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await c.end()
      },
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-bench-store-'))
  const opts: OpenStoreOptions = { sqliteThread: engine === 'sqlite-inline' ? 'inline' : 'worker' }
  const { store } = await openStore(`sqlite:${join(dir, 'bench.db')}`, opts)
  return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }) } }
}

async function runOne (engine: string, rate: string): Promise<Row> {
  const { store, cleanup } = await openEngine(engine)
  const bus = createCallEventBus(silentLogger)
  const latency = createHistogram()
  let finals = 0
  const recorder = createRecorder({
    store,
    bus,
    log: silentLogger,
    observe: (ms, op) => {
      if (op.op !== 'utterance') return
      finals++
      latency.record(Math.max(1, Math.round(ms * 1000)))
    },
  })
  const t0 = Date.now()
  const sids = Array.from({ length: CALLS }, (_, i) => `CA${String(i).padStart(8, '0')}${t0.toString(16).padStart(24, '0')}`)
  for (const [i, callSid] of sids.entries()) {
    const from = `+1415555${String(1000 + i).slice(-4)}`
    bus.publish({ type: 'call.webhook', callSid, at: t0, mode: 'assist', direction: 'inbound', from, to: '+15550002222', ai: true })
    bus.publish({ type: 'call.started', callSid, at: t0, streamSid: `MZ${callSid.slice(2)}`, mode: 'assist', direction: 'inbound', from, to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: t0 })
  }
  await recorder.idle()

  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const offered = rate === 'max' ? Infinity : Number(rate)
  let published = 0
  let levelsDue = 0
  let maxQueue = 0
  const start = performance.now()
  const end = start + SECONDS * 1000
  const publishFinal = (n: number): void => {
    const callSid = sids[n % CALLS] as string
    const speaker = (n / CALLS | 0) % 2 === 0 ? 'remote' : 'operator'
    const at = Date.now()
    const itemId = `item_${n}`
    const text = sentence(n)
    const base = { callSid, at, itemId, speaker, startMs: n * 10, endMs: n * 10 + 900 } as const
    bus.publish({ type: 'transcript.partial', ...base, text: text.slice(0, text.length >> 1) })
    bus.publish({ type: 'transcript.final', ...base, text })
    if (n % 3 === 0) bus.publish({ type: 'hint.done', callSid, at, hintId: `hint_${n}`, text: `Ask about the ${WORDS[n % WORDS.length]}`, itemId, superseded: false })
  }
  const levels = (elapsedMs: number): void => {
    // 5 Hz per call, as the media sessions publish them (the recorder ignores them; the bus does not).
    const due = Math.floor(elapsedMs / 200) * CALLS
    for (; levelsDue < due; levelsDue++) {
      const e: CallEvent = { type: 'call.levels', callSid: sids[levelsDue % CALLS] as string, at: Date.now(), inbound: 0.2, outbound: 0.1 }
      bus.publish(e)
    }
  }
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now()
      if (now >= end) return resolve()
      levels(now - start)
      if (offered === Infinity) {
        while (recorder.status().queued < MAX_BACKLOG) publishFinal(published++)
      } else {
        const due = Math.floor(((now - start) / 1000) * offered)
        while (published < due) publishFinal(published++)
      }
      maxQueue = Math.max(maxQueue, recorder.status().queued)
      if (offered === Infinity) setImmediate(tick)
      else setTimeout(tick, TICK_MS)
    }
    tick()
  })
  const committedInWindow = finals
  const backlog = recorder.status().queued
  const drainStart = performance.now()
  await recorder.idle()
  const drainMs = performance.now() - drainStart
  loop.disable()
  await recorder.close()
  await cleanup()
  const pct = (p: number): number => latency.count === 0 ? NaN : latency.percentile(p) / 1000
  return {
    engine,
    rate,
    offered: published / SECONDS,
    sustained: committedInWindow / SECONDS,
    p50: pct(50),
    p99: pct(99),
    max: latency.count === 0 ? NaN : latency.max / 1000,
    maxQueue,
    loopP99: loop.percentile(99) / 1e6,
    backlog,
    drainMs,
  }
}

const f = (n: number, d = 1): string => Number.isFinite(n) ? n.toFixed(d) : '—'
const rows: Row[] = []
console.log(`store bench: ${CALLS} calls, ${SECONDS} s per run, node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
for (const engine of ENGINES) {
  for (const rate of RATES) {
    const row = await runOne(engine, rate)
    rows.push(row)
    console.log(`  ${engine} @ ${rate}: ${f(row.sustained, 0)}/s committed, p99 ${f(row.p99)} ms`)
  }
}
console.log('')
console.log('| engine | offered finals/s | committed finals/s | p50 ms | p99 ms | max ms | max queue | backlog at end | event-loop p99 ms |')
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const r of rows) {
  console.log(`| ${r.engine} | ${r.rate === 'max' ? `max (${f(r.offered, 0)})` : f(r.offered, 0)} | ${f(r.sustained, 0)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.max, 1)} | ${r.maxQueue} | ${r.backlog} | ${f(r.loopP99, 2)} |`)
}
if (PG_URL === undefined) console.log('\npostgres skipped: set DATABASE_URL_BENCH (or DATABASE_URL_TEST) to a postgres:// URL to include it.')
