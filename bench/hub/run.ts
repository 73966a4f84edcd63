/**
 * Hub benchmark: the real app (server pinned to one core) fanning call events out to real WebSocket
 * dashboards on loopback (a second process on the other core). Prints p50/p99 delivery latency
 * (bus publish → message parsed by the dashboard) and CPU per scenario.
 *
 *   node bench/hub/run.ts [--duration 10] [--warmup 2] [--only <scenario name>]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BENCH_TOKEN_VALUE } from './token.ts'

interface Scenario { name: string, calls: number, dashboards: number, perCall: boolean }
const SCENARIOS: Scenario[] = [
  { name: '1 call × 200 dashboards', calls: 1, dashboards: 200, perCall: false },
  { name: '100 calls × 5 dashboards each (per-call subscription)', calls: 100, dashboards: 5, perCall: true },
  { name: '100 calls × 5 dashboards watching every call', calls: 100, dashboards: 5, perCall: false },
]

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '10' }, warmup: { type: 'string', default: '2' }, only: { type: 'string' } } })
const durationMs = Number(args.duration) * 1000
const warmupMs = Number(args.warmup) * 1000
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url))
const pin = existsSync('/usr/bin/taskset') && availableParallelism() >= 2

/** Spawns a node child (optionally pinned to one CPU) with an IPC channel. */
function child (cpu: number, script: string, argv: string[] = []): ChildProcess {
  const cmd = pin ? '/usr/bin/taskset' : process.execPath
  // BENCH_CPU_PROF=dir writes a V8 CPU profile of each process there (chrome://inspect or speedscope).
  const prof = process.env.BENCH_CPU_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
  const cmdArgs = pin ? ['-c', String(cpu), process.execPath, ...prof, script, ...argv] : [...prof, script, ...argv]
  return spawn(cmd, cmdArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
}

function next<T> (p: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { type: string, message?: string }): void => {
      if (m.type === 'error') return reject(new Error(m.message))
      if (m.type !== type) return
      p.off('message', onMsg)
      resolve(m as T)
    }
    p.on('message', onMsg)
    p.once('exit', (code) => reject(new Error(`child exited (${code}) before "${type}"`)))
  })
}

interface Done { from: number, to: number, sentP99Ms: number, lateP99Ms: number, cpuPct: number, elu: number, perCall: number[], publishP99Us: number, hub: { clients: number, dropped: number }, rssMb: number }
interface Result { count: number, p50: number, p99: number, max: number, cpuPct: number, closed: number }

async function run (s: Scenario): Promise<string[]> {
  const server = child(0, here('./server.ts'))
  const { port } = await next<{ port: number }>(server, 'ready')
  const scopes: string[] = []
  for (let c = 0; c < (s.perCall ? s.calls : 1); c++) {
    for (let d = 0; d < s.dashboards; d++) scopes.push(s.perCall ? `CA${c.toString(16).padStart(32, '0')}` : '*')
  }
  const clients = child(1, here('./clients.ts'), [String(port), BENCH_TOKEN_VALUE, JSON.stringify(scopes)])
  let dropped = 0
  clients.on('message', (m: { type: string }) => { if (m.type === 'dropped') dropped++ })
  await next(clients, 'connected')
  server.send({ type: 'run', calls: s.calls, warmupMs, durationMs })
  const done = await next<Done>(server, 'done')
  await new Promise((resolve) => setTimeout(resolve, 500)) // let in-flight messages land
  clients.send({ type: 'report', from: done.from, to: done.to })
  const r = await next<Result>(clients, 'result')
  const expected = s.perCall ? done.perCall.reduce((a, n) => a + n * s.dashboards, 0) : done.perCall.reduce((a, n) => a + n, 0) * s.dashboards
  server.disconnect()
  await Promise.all([once(server, 'exit'), once(clients, 'exit')])
  const events = done.perCall.reduce((a, n) => a + n, 0)
  return [
    s.name,
    `${Math.round(events / (durationMs / 1000))}/s → ${Math.round(r.count / (durationMs / 1000))}/s`,
    r.p50.toFixed(2), r.p99.toFixed(2), r.max.toFixed(1), done.sentP99Ms.toFixed(2),
    `${done.cpuPct.toFixed(0)}% (ELU ${(done.elu * 100).toFixed(0)}%)`,
    `${r.cpuPct.toFixed(0)}%`,
    done.publishP99Us.toFixed(1),
    `${r.count === expected ? 'all' : `${r.count}/${expected}`}${dropped > 0 ? `, ${dropped} dropped` : ''}`,
    done.lateP99Ms.toFixed(1),
  ]
}

const head = ['scenario', 'events → messages', 'p50 ms', 'p99 ms', 'max ms', 'server p99 ms', 'server CPU (1 core)', 'clients CPU', 'publish p99 µs', 'delivered', 'timer lag p99 ms']
const rows: string[][] = []
for (const s of SCENARIOS) {
  if (args.only !== undefined && !s.name.includes(args.only)) continue
  process.stdout.write(`running: ${s.name} (${args.warmup} s warm-up, ${args.duration} s measured)…\n`)
  rows.push(await run(s))
}
console.log(`\nHub fan-out, ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'} (${availableParallelism()} cores), Node ${process.version}${pin ? ', server on CPU 0 and dashboards on CPU 1 (taskset)' : ', not pinned'}`)
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`)
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
console.log('\nLatency: bus.publish on the server → message parsed by a dashboard (shared monotonic clock). "server p99": publish → written to every socket.')
console.log('"publish p99": one bus.publish, every subscriber included (hub, storage, metrics…). A client CPU near 100% means the load generator is the limit.')
console.log('"timer lag p99": how late the server\'s 10 ms publish timer fired; well above 1 ms means other processes took our core.')
