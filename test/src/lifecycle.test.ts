import t from 'tap'
import { createLifecycle } from '../../src/lifecycle.ts'

const started = (callSid: string) => ({ type: 'call.started', callSid, at: 0, streamSid: 'MZ1', mode: 'assist', direction: 'inbound', from: '', to: '', tracks: ['inbound'], bidirectional: false, startedAt: 0 }) as const

t.test('a call admitted with AI holds its slot until its stream starts, a terminal status, or the TTL', async (t) => {
  let clock = 1000
  const lc = createLifecycle({ maxCalls: 2, pendingMs: 100, now: () => clock })
  t.same(lc.admit(0), { ai: true })
  lc.hold('CA1')
  lc.hold('CA2')
  t.same(lc.admit(0), { ai: false, reason: 'over_capacity' }, 'two held, none live yet: full')
  lc.observe(started('CA1'))
  t.same(lc.admit(1), { ai: false, reason: 'over_capacity' }, 'CA1 live and CA2 held: counted once each')
  lc.observe({ type: 'call.status', callSid: 'CA2', at: 0, status: 'canceled' })
  t.same(lc.admit(1), { ai: true }, 'CA2 hung up before streaming: its slot is back')
  lc.hold('CA3')
  clock += 100
  t.same(lc.admit(1), { ai: true }, 'CA3 never streamed: its slot lapses after pendingMs')
  lc.observe({ type: 'call.status', callSid: 'CA4', at: 0, status: 'ringing' })
  lc.startDrain()
  t.same(lc.admit(0), { ai: false, reason: 'draining' })
})
