/** Hub bench, client side: N real WebSocket dashboards on loopback, timing each event from publish to receipt. */
import { WebSocket } from 'ws'

const mono = (): number => Number(process.hrtime.bigint()) / 1e6
const [port, token, spec] = process.argv.slice(2) as [string, string, string]
/** spec: JSON array of scopes, one per client ('*' or a CallSid). */
const scopes = JSON.parse(spec) as string[]
const send = (m: unknown): void => { process.send?.(m) }

const at: Float64Array[] = []
const lat: Float64Array[] = []
let n = 0
let cap = 1 << 16
let atBuf = new Float64Array(cap)
let latBuf = new Float64Array(cap)
const record = (sent: number, latency: number): void => {
  if (n === cap) {
    at.push(atBuf)
    lat.push(latBuf)
    n = 0
    cap *= 2
    atBuf = new Float64Array(cap)
    latBuf = new Float64Array(cap)
  }
  atBuf[n] = sent
  latBuf[n++] = latency
}

let closed = 0
let ready = 0
const sockets = scopes.map((scope) => {
  const path = scope === '*' ? '/ui' : `/ui?callSid=${scope}`
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false })
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { type: string, at?: number }
    if (m.type === 'snapshot') {
      if (++ready === scopes.length) send({ type: 'connected' })
      return
    }
    if (typeof m.at === 'number') record(m.at, mono() - m.at)
  })
  ws.on('close', (code) => {
    closed++
    if (code === 1013) send({ type: 'dropped' })
  })
  ws.on('error', (err) => send({ type: 'error', message: err.message }))
  return ws
})

// CPU samples, so the client's load is reported for the measured window only.
const samples: Array<[number, number]> = []
const sample = (): void => {
  const c = process.cpuUsage()
  samples.push([mono(), (c.user + c.system) / 1000])
}
sample()
setInterval(sample, 200).unref()

process.on('message', (m: { type: 'report', from: number, to: number }) => {
  if (m.type !== 'report') return
  const values: number[] = []
  const push = (ats: Float64Array, lats: Float64Array, len: number): void => {
    for (let i = 0; i < len; i++) if ((ats[i] as number) >= m.from && (ats[i] as number) < m.to) values.push(lats[i] as number)
  }
  at.forEach((a, i) => push(a, lat[i] as Float64Array, a.length))
  push(atBuf, latBuf, n)
  values.sort((a, b) => a - b)
  const pct = (p: number): number => values[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN
  sample()
  const first = samples.find(([t]) => t >= m.from) ?? samples[0] as [number, number]
  const last = [...samples].reverse().find(([t]) => t <= m.to + 200) ?? samples[samples.length - 1] as [number, number]
  const cpuPct = last[0] > first[0] ? (last[1] - first[1]) / (last[0] - first[0]) * 100 : NaN
  send({ type: 'result', count: values.length, p50: pct(0.5), p99: pct(0.99), max: values[values.length - 1] ?? NaN, cpuPct, closed })
  for (const ws of sockets) ws.terminate()
  setTimeout(() => process.exit(0), 50)
})
