/**
 * Preloaded into the benchmarked server (with --expose-gc). Over IPC it answers {type:'mem'}
 * with memory after a full GC and the event-loop delay since the last {type:'lag-reset'}: how
 * long a frame that arrived could wait before the server got to it (its share of added latency).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

const lag = monitorEventLoopDelay({ resolution: 1 })
lag.enable()
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'lag-reset') {
    lag.reset()
    return
  }
  if (m?.type !== 'mem') return
  const ms = { lagP50: lag.percentile(50) / 1e6, lagP99: lag.percentile(99) / 1e6, lagMax: lag.max / 1e6 }
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  process.send?.({ type: 'mem', ...process.memoryUsage(), ...ms })
})
// The IPC channel must not keep the server alive once it has closed.
process.channel?.unref()
