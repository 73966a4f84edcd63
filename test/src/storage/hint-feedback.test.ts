import t from 'tap'
import { giveFeedback, RecentHints } from '../../../src/storage/hint-feedback.ts'
import { opForEvent } from '../../../src/storage/call-ops.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import type { WriteOp } from '../../../src/storage/store.ts'
import { sqliteEngine } from './databases.ts'

const done = (hintId: string, text: string, playbookId?: string): CallEvent =>
  ({ type: 'hint.done', callSid: 'CA1', at: 100, hintId, itemId: 'i1', text, superseded: false, ...(playbookId !== undefined ? { playbookId } : {}) })

t.test('RecentHints remembers completed hints with text, with their playbook, and forgets the oldest', async (t) => {
  const recent = new RecentHints(2)
  recent.onEvent(done('h1', 'Offer a discount', 'pb:1'))
  recent.onEvent(done('h2', '   '))
  recent.onEvent({ type: 'hint.delta', callSid: 'CA1', at: 1, hintId: 'h3', delta: 'Half' })
  t.same(recent.get('CA1', 'h1'), { playbookId: 'pb:1' })
  t.equal(recent.get('CA1', 'h2'), undefined, 'an empty hint is never stored, so never offered')
  t.equal(recent.get('CA1', 'h3'), undefined, 'a streaming hint is not complete')
  t.equal(recent.get('CA2', 'h1'), undefined, 'keyed by call too')
  recent.onEvent(done('h4', 'Ask for the order', undefined))
  recent.onEvent(done('h5', 'Confirm the address', 'pb:2'))
  t.equal(recent.get('CA1', 'h1'), undefined, 'bounded: the oldest is forgotten')
  t.same(recent.get('CA1', 'h4'), { playbookId: null })
  t.equal(recent.size, 2)
})

t.test('feedback that beats the recorder is kept; the hint it waited for then carries it', async (t) => {
  const store = await (await sqliteEngine.create(t)).open()
  const recent = new RecentHints()
  const hint = done('h1', 'Offer a callback', 'pb:1')
  recent.onEvent(hint)
  const f = { callSid: 'CA1', hintId: 'h1', value: 'up', by: 'bearer', at: 200 } as const
  t.same(await giveFeedback(store, recent, f), { status: 'changed', playbookId: 'pb:1' }, 'before the row exists')
  await store.write([opForEvent(hint) as WriteOp])
  t.match((await store.getCall('CA1'))?.hints, [{ hintId: 'h1', text: 'Offer a callback', feedback: 'up', playbookId: 'pb:1', at: 100 }])
  t.same(await giveFeedback(store, new RecentHints(), { ...f, value: 'down' }), { status: 'changed', playbookId: 'pb:1' }, 'once stored, an instance that never saw it live can change it')
  t.same(await giveFeedback(store, new RecentHints(), { ...f, hintId: 'h9' }), { status: 'not_found' }, 'neither live nor stored: unknown')
})
