/** Hub bench, server side: the real app on loopback; publishes call events on its bus at a call's pace. */
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { CallEvent } from '../../src/call/events.ts'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'

const eventLoopUtilization = performance.eventLoopUtilization.bind(performance)

import { BENCH_TOKEN_VALUE as BENCH_TOKEN } from './token.ts'

/** Shared monotonic clock (CLOCK_MONOTONIC is system-wide on Linux), in ms: events carry it in `at`. */
const mono = (): number => Number(process.hrtime.bigint()) / 1e6

export interface RunMessage { type: 'run', calls: number, warmupMs: number, durationMs: number }

const app = await buildApp(loadConfig({
  PUBLIC_BASE_URL: 'https://bench.example.com',
  TWILIO_AUTH_TOKEN: 'bench-twilio-token',
  DASHBOARD_TOKEN: BENCH_TOKEN,
  DATABASE_URL: 'sqlite::memory:',
  LOG_LEVEL: 'warn',
}), { logger: false, now: mono })
await app.listen({ port: 0, host: '127.0.0.1' })
const send = (m: unknown): void => { process.send?.(m) }
send({ type: 'ready', port: (app.server.address() as AddressInfo).port })

const sidFor = (i: number): string => `CA${i.toString(16).padStart(32, '0')}`

/**
 * Per call, every 50 ms tick: levels at 5 Hz, a transcript partial at ~6.7 Hz, a final every 3 s,
 * a hint delta at 4 Hz (about 16 events per call-second). Calls are spread across ticks.
 */
function tickEvents (call: number, tick: number, at: number, out: CallEvent[]): void {
  const callSid = sidFor(call)
  const t = tick + call
  const utterance = Math.floor(t / 60)
  if (t % 4 === 0) out.push({ type: 'call.levels', callSid, at, inbound: (t % 10) / 10, outbound: 0.1 })
  if (t % 3 === 0) out.push({ type: 'transcript.partial', callSid, at, itemId: `u${utterance}`, speaker: 'remote', text: 'I would like to know more about the annual plan and whether it'.slice(0, 10 + (t % 50)), startMs: utterance * 3000, endMs: t * 50 })
  if (t % 60 === 59) out.push({ type: 'transcript.final', callSid, at, itemId: `u${utterance}`, speaker: 'remote', text: 'I would like to know more about the annual plan and whether it includes support.', startMs: utterance * 3000, endMs: t * 50 })
  if (t % 5 === 0) out.push({ type: 'hint.delta', callSid, at, hintId: `h${utterance}`, delta: 'Offer the annual plan ' })
}

process.on('message', (m: RunMessage) => {
  if (m.type !== 'run') return
  const t0 = mono()
  for (let i = 0; i < m.calls; i++) {
    const callSid = sidFor(i)
    app.bus.publish({ type: 'call.webhook', callSid, at: t0, mode: 'assist', direction: 'inbound', from: '+14155550123', to: '+15550002222', ai: true })
    app.bus.publish({ type: 'call.started', callSid, at: t0, streamSid: `MZ${i}`, mode: 'assist', direction: 'inbound', from: '+14155550123', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: t0 })
  }
  const from = t0 + m.warmupMs
  const to = from + m.durationMs
  const perCall = new Array<number>(m.calls).fill(0)
  const publishNs: number[] = []
  const sentMs: number[] = []
  const lateMs: number[] = []
  let lastTick = mono()
  let cpu0 = process.cpuUsage()
  let elu0 = eventLoopUtilization()
  let measuring = false
  let tick = 0
  const batch: CallEvent[] = []
  // 10 ms timer, each call publishing on its own 50 ms phase: load arrives spread, as real calls do.
  const timer = setInterval(() => {
    const now = mono()
    if (!measuring && now >= from) {
      measuring = true
      cpu0 = process.cpuUsage()
      elu0 = eventLoopUtilization()
    }
    if (now >= to) return finish()
    // How late this timer fired: a busy machine (other processes on our core) shows up here, not in our CPU.
    if (measuring) lateMs.push(Math.max(0, now - lastTick - 10))
    lastTick = now
    tick++
    for (let c = 0; c < m.calls; c++) {
      if ((c + tick) % 5 !== 0) continue
      batch.length = 0
      tickEvents(c, Math.floor(tick / 5), now, batch)
      for (const e of batch) {
        const s = process.hrtime.bigint()
        app.bus.publish(e)
        if (measuring) {
          publishNs.push(Number(process.hrtime.bigint() - s))
          perCall[c]!++
        }
      }
    }
    // Queued after the hub's flush (same check phase, FIFO): when it runs, this tick's messages are
    // in the sockets. That is the server's share of the delivery latency.
    const tickAt = now
    if (measuring) setImmediate(() => sentMs.push(mono() - tickAt))
  }, 10)
  const finish = (): void => {
    clearInterval(timer)
    const cpu = process.cpuUsage(cpu0)
    const elu = eventLoopUtilization(elu0)
    publishNs.sort((a, b) => a - b)
    sentMs.sort((a, b) => a - b)
    lateMs.sort((a, b) => a - b)
    send({
      type: 'done',
      from,
      to,
      cpuPct: ((cpu.user + cpu.system) / 1000) / m.durationMs * 100,
      elu: elu.utilization,
      perCall,
      publishP99Us: (publishNs[Math.floor(publishNs.length * 0.99)] ?? 0) / 1000,
      sentP99Ms: sentMs[Math.floor(sentMs.length * 0.99)] ?? 0,
      lateP99Ms: lateMs[Math.floor(lateMs.length * 0.99)] ?? 0,
      hub: app.hub.stats,
      rssMb: process.memoryUsage().rss / 1e6,
    })
  }
})

process.on('disconnect', () => { app.close().finally(() => process.exit(0)) })
