/**
 * Preloaded into the benchmarked server (with --expose-gc). Over IPC it answers {type:'mem'}
 * with memory after a full GC and the event-loop delay since the last {type:'lag-reset'}: how
 * long a frame that arrived could wait before the server got to it (its share of added latency).
 *
 * {type:'warm'} first brings V8's young generation to its working size, as any sustained load
 * does within seconds. V8 grows it on demand up to a cap it derives from the machine's memory
 * (64 MB per semi-space here, unless the flags fix it), whatever the number of calls: a fixed cost of the process, which
 * would otherwise be counted against whichever calls happened to be live when it grew.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapSpaceStatistics } from 'node:v8'
import { isMainThread } from 'node:worker_threads'

const lag = monitorEventLoopDelay({ resolution: 1 })
// `--import` preloads this into the server's worker threads too (the SQLite worker): a 1 ms timer
// there would be the benchmark's own load (about 1.5 % of the core), so only the main thread samples.
if (isMainThread) lag.enable()
const gc = (globalThis as { gc?: () => void }).gc
const newSpaceKb = (): number => Math.round((getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 1024)

/**
 * Allocates with a high survival rate (a ring of live strings that each survive a scavenge or
 * two), which is what makes V8 grow the young generation, until its size stops changing.
 */
function warm (): void {
  const ring: string[] = new Array<string>(16_384)
  let stable = 0
  let last = newSpaceKb()
  for (let round = 0; round < 200 && stable < 20; round++) {
    for (let i = 0; i < 65_536; i++) ring[(round * 65_536 + i) % ring.length] = `${round}:${i}`.padEnd(1024, '.')
    const now = newSpaceKb()
    stable = now === last ? stable + 1 : 0
    last = now
  }
  ring.length = 0
}

/** Resident KB by kind of mapping: malloc's heap, other anonymous memory (V8's pages, thread arenas), files. */
function rssByKind (): Record<string, number> {
  const out: Record<string, number> = { brk: 0, anon: 0, file: 0 }
  let kind = 'anon'
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const name = line.split(/\s+/)[5] ?? ''
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : 'anon'
    } else if (line.startsWith('Rss:')) {
      out[kind] = (out[kind] ?? 0) + Number(line.split(/\s+/)[1])
    }
  }
  return out
}

/** `--prof`: a CPU profile and a sampled heap profile of the measurement window only (not start-up or call set-up). */
let profiler: Session | undefined
async function profile (m: { type?: string, file?: string }): Promise<void> {
  if (m.type === 'prof-start') {
    profiler = new Session()
    profiler.connect()
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 })
    await profiler.post('Profiler.start')
    // Allocations still alive at the end (survivors of scavenges: what fills the old generation).
    await profiler.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024 })
  } else if (profiler !== undefined && m.file !== undefined) {
    const { profile } = await profiler.post('Profiler.stop')
    writeFileSync(m.file, JSON.stringify(profile))
    const heap = await profiler.post('HeapProfiler.getSamplingProfile')
    await profiler.post('HeapProfiler.stopSampling')
    writeFileSync(m.file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap.profile))
    profiler.disconnect()
    profiler = undefined
  }
  process.send?.({ type: 'prof-done' })
}

process.on('message', (m: { type?: string, file?: string }) => {
  if (m?.type === 'prof-start' || m?.type === 'prof-stop') {
    profile(m).catch((err: unknown) => process.stderr.write(`profiler: ${String(err)}\n`))
    return
  }
  if (m?.type === 'lag-reset') {
    lag.reset()
    return
  }
  if (m?.type === 'warm') {
    warm()
    lag.reset()
    process.send?.({ type: 'warmed', newSpaceKb: newSpaceKb() })
    return
  }
  if (m?.type !== 'mem') return
  const ms = { lagP50: lag.percentile(50) / 1e6, lagP99: lag.percentile(99) / 1e6, lagMax: lag.max / 1e6 }
  gc?.()
  gc?.()
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1024)]))
  process.send?.({ type: 'mem', ...process.memoryUsage(), ...ms, spaces, kinds: rssByKind() })
})
// The IPC channel must not keep the server alive once it has closed.
process.channel?.unref()
