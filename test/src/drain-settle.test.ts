import t from 'tap'
import { createDrainSettle } from '../../src/drain-settle.ts'
import { ZERO_STATS } from '../helpers.ts'
import type { CallEvent } from '../../src/call/events.ts'

const started = (callSid: string, streamSid: string): CallEvent => ({ type: 'call.started', callSid, streamSid, at: 0, mode: 'assist', direction: 'inbound', from: '', to: '', startedAt: 0, customParameters: {} } as unknown as CallEvent)
const stopped = (callSid: string, streamSid: string): CallEvent => ({ type: 'call.stopped', callSid, streamSid, at: 0, reason: 'stop', durationMs: 1, stats: ZERO_STATS })
const line = (callSid: string): CallEvent => ({ type: 'transcript.final', callSid, at: 0, itemId: 'i1', speaker: 'remote', text: 'hello', startMs: 0, endMs: 1 } as unknown as CallEvent)
const status = (callSid: string, s: string): CallEvent => ({ type: 'call.status', callSid, at: 0, status: s })

t.test('waits for the final status and the summary of the calls live when the drain began', async (t) => {
  let now = 0
  const d = createDrainSettle({ summaries: true, now: () => now })
  d.observe(started('CA1', 'MZ1'))
  d.observe(line('CA1'))
  d.observe(started('CAold', 'MZold'))
  d.observe(stopped('CAold', 'MZold'))
  now = 60_000
  d.markLast()
  t.equal(d.unsettled, 1, 'a call that ended a minute before the drain is not waited for')
  const waiting = d.whenSettled(5000)
  d.observe(stopped('CA1', 'MZ1'))
  d.observe(status('CA1', 'in-progress'))
  t.equal(d.unsettled, 1)
  d.observe(status('CA1', 'completed'))
  t.equal(d.unsettled, 1, 'the summary is still due')
  d.observe({ type: 'call.summary', callSid: 'CA1', at: 0, summary: 's', intent: 'i', actionItems: [] })
  t.equal(d.unsettled, 0)
  t.equal(await waiting, true)
})

t.test('an old stream\'s stop does not count, a summary error settles, a timeout resolves false', async (t) => {
  const d = createDrainSettle({ summaries: true, now: () => 0 })
  d.observe(started('CA2', 'MZa'))
  d.observe(started('CA2', 'MZb'))
  d.observe(line('CA2'))
  d.markLast()
  d.observe(stopped('CA2', 'MZa'))
  d.observe(status('CA2', 'completed'))
  t.equal(d.unsettled, 1, 'the reconnected stream is still live')
  t.equal(await d.whenSettled(20), false)
  d.observe(stopped('CA2', 'MZb'))
  t.equal(d.unsettled, 1)
  d.observe({ type: 'call.error', callSid: 'CA2', at: 0, code: 'summary_timeout', message: 'x' })
  t.equal(d.unsettled, 0)
  const off = createDrainSettle({ summaries: false, now: () => 0 })
  off.observe(started('CA3', 'MZ3'))
  off.observe(line('CA3'))
  off.markLast()
  off.observe(stopped('CA3', 'MZ3'))
  off.observe(status('CA3', 'completed'))
  t.equal(off.unsettled, 0, 'without summaries only the status is awaited')
})
