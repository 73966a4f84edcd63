import t from 'tap'
import { createCallEventBus } from '../../../src/call/bus.ts'
import type { CallEvent } from '../../../src/call/events.ts'
import { silentLogger, type Logger } from '../../../src/log.ts'
import { createRecorder, opForEvent } from '../../../src/storage/recorder.ts'
import { StoreError, type Store, type WriteOp } from '../../../src/storage/store.ts'
import { sqliteEngine } from './databases.ts'
import { until } from '../../until.ts'

const A = '+14155550101'
const OURS = '+15550002222'

const webhook = (callSid: string, at = 1000): CallEvent =>
  ({ type: 'call.webhook', callSid, at, mode: 'assist', direction: 'inbound', from: A, to: OURS, ai: true })
const final = (callSid: string, itemId: string, text: string, at = 2000): CallEvent =>
  ({ type: 'transcript.final', callSid, at, itemId, speaker: 'remote', text, startMs: 0, endMs: 800 })

/** A real store behind a switch: `down` makes every write fail as an outage would. */
function flaky (store: Store) {
  const state = { down: false, writes: 0, calledDuringPublish: false, publishing: false }
  const wrapped: Store = {
    ...store,
    write: async (ops) => {
      if (state.publishing) state.calledDuringPublish = true
      state.writes++
      if (state.down) throw new StoreError('STORE_UNAVAILABLE', 'connection refused')
      return store.write(ops)
    },
  }
  return { store: wrapped, state }
}

function capturingLog () {
  const lines: Array<{ level: string, msg: string | undefined, obj: object }> = []
  const log: Logger = {
    fatal: (obj, msg) => lines.push({ level: 'fatal', msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    debug: () => {},
    trace: () => {},
    child: () => log,
  }
  return { log, lines }
}

t.test('maps call events to writes (and ignores the rest)', async (t) => {
  t.match(opForEvent(webhook('CA1')), { op: 'call', callSid: 'CA1', patch: { direction: 'inbound', from: A, to: OURS, contactPhone: A, mode: 'assist' } })
  t.notOk((opForEvent(webhook('CA1')) as Extract<WriteOp, { op: 'call' }>).patch.aiStatus, 'a call with AI has no ai status yet')
  t.match(opForEvent({ ...webhook('CA1'), ai: false } as CallEvent), { patch: { aiStatus: 'off' } })
  t.match(opForEvent({ ...webhook('CA1'), direction: 'outbound', from: OURS, to: A } as CallEvent), { patch: { contactPhone: A } }, 'outbound: the contact is `to`')
  t.equal((opForEvent({ ...webhook('CA1'), from: 'anonymous' } as CallEvent) as Extract<WriteOp, { op: 'call' }>).patch.contactPhone, undefined)
  t.match(opForEvent({ type: 'call.status', callSid: 'CA1', at: 5, status: 'completed', duration: 42 }), { patch: { status: 'completed', durationS: 42, endedAt: 5 } })
  t.match(opForEvent({ type: 'call.status', callSid: 'CA1', at: 5, status: 'ringing' }), { patch: { status: 'ringing', endedAt: undefined } })
  t.match(opForEvent({ type: 'ai.status', callSid: 'CA1', at: 5, status: 'degraded' }), { patch: { aiStatus: 'degraded' } })
  t.match(opForEvent(final('CA1', 'i1', 'hello')), { op: 'utterance', itemId: 'i1', text: 'hello', speaker: 'remote' })
  t.equal(opForEvent(final('CA1', 'i1', '   ')), undefined, 'empty finals are not stored')
  t.match(opForEvent({ type: 'hint.done', callSid: 'CA1', at: 5, hintId: 'h1', text: 'Ask', itemId: 'i1', superseded: true }), { op: 'hint', superseded: true })
  t.match(opForEvent({ type: 'call.summary', callSid: 'CA1', at: 5, summary: 's', intent: 'i', actionItems: ['a'] }), { op: 'summary', actionItems: ['a'] })
  t.equal(opForEvent({ type: 'transcript.partial', callSid: 'CA1', at: 5, itemId: 'i', speaker: 'remote', text: 'hel', startMs: 0, endMs: 1 }), undefined)
  t.equal(opForEvent({ type: 'call.levels', callSid: 'CA1', at: 5, inbound: 0, outbound: 0 }), undefined)
})

t.test('writes each final as it happens, never inside the publish call', async (t) => {
  const db = await sqliteEngine.create(t)
  const { store, state } = flaky(await db.open())
  const bus = createCallEventBus(silentLogger)
  const recorder = createRecorder({ store, bus, log: silentLogger })
  t.teardown(() => recorder.close())
  state.publishing = true
  bus.publish(webhook('CA1'))
  bus.publish(final('CA1', 'i1', 'first words'))
  state.publishing = false
  t.equal(state.calledDuringPublish, false, 'publish returned before any database work started')
  t.equal(recorder.status().queued, 2)
  await recorder.idle()
  t.same((await store.getCall('CA1'))?.utterances.map((u) => u.text), ['first words'], 'stored mid-call, before any end event')
  bus.publish(final('CA1', 'i2', 'more words'))
  await recorder.idle()
  t.equal((await store.getCall('CA1'))?.utterances.length, 2)
  t.match(recorder.status(), { state: 'ok', queued: 0, written: 3, dropped: 0 })
})

t.test('a database outage is reported per call and retried with backoff; nothing queued is lost', async (t) => {
  const db = await sqliteEngine.create(t)
  const { store, state } = flaky(await db.open())
  const bus = createCallEventBus(silentLogger)
  const errors: CallEvent[] = []
  bus.subscribe((e) => { if (e.type === 'call.error') errors.push(e) })
  const { log, lines } = capturingLog()
  const recorder = createRecorder({ store, bus, log, retryInitialMs: 5, retryMaxMs: 20 })
  t.teardown(() => recorder.close())

  state.down = true
  bus.publish(webhook('CA1'))
  bus.publish(final('CA1', 'i1', 'said during the outage'))
  bus.publish(webhook('CA2'))
  await until('two retries', () => recorder.status().retries >= 2)
  t.match(recorder.status(), { state: 'retrying', queued: 3, lastError: /connection refused/ }, 'retried, still holding the writes')
  bus.publish(final('CA2', 'i1', 'also during the outage'))
  t.same(errors.map((e) => [e.callSid, (e as { code: string }).code]), [['CA1', 'STORAGE_UNAVAILABLE'], ['CA2', 'STORAGE_UNAVAILABLE']], 'each live call told once')
  t.ok(lines.some((l) => l.level === 'error' && /retried with backoff/.test(l.msg ?? '')), 'logged')

  state.down = false
  await recorder.idle()
  t.same((await store.getCall('CA1'))?.utterances.map((u) => u.text), ['said during the outage'])
  t.same((await store.getCall('CA2'))?.utterances.map((u) => u.text), ['also during the outage'])
  t.match(recorder.status(), { state: 'ok', queued: 0, written: 4, dropped: 0 })
  t.ok(lines.some((l) => l.level === 'info' && /storage is back/.test(l.msg ?? '')))
})

t.test('past the queue bound, new writes are dropped, counted and reported; the queued ones survive', async (t) => {
  const db = await sqliteEngine.create(t)
  const { store, state } = flaky(await db.open())
  const bus = createCallEventBus(silentLogger)
  const errors: string[] = []
  bus.subscribe((e) => { if (e.type === 'call.error') errors.push(e.code) })
  const recorder = createRecorder({ store, bus, log: silentLogger, maxQueue: 5, retryInitialMs: 5, retryMaxMs: 10 })
  t.teardown(() => recorder.close())
  state.down = true
  bus.publish(webhook('CA1'))
  for (let i = 0; i < 7; i++) bus.publish(final('CA1', `i${i}`, `utterance ${i}`))
  t.match(recorder.status(), { queued: 5, dropped: 3 })
  t.ok(errors.includes('STORAGE_QUEUE_FULL'))
  state.down = false
  await recorder.idle()
  t.same((await store.getCall('CA1'))?.utterances.map((u) => u.itemId), ['i0', 'i1', 'i2', 'i3'], 'the oldest are kept, in order')
})

t.test('one invalid write is skipped without holding back the others in its batch', async (t) => {
  const db = await sqliteEngine.create(t)
  const store = await db.open()
  const bus = createCallEventBus(silentLogger)
  const recorder = createRecorder({ store, bus, log: silentLogger })
  t.teardown(() => recorder.close())
  bus.publish(webhook('CA1'))
  recorder.enqueue({ op: 'utterance', callSid: 'CA1', at: 1, itemId: 'bad', speaker: 'remote', text: null as unknown as string, startMs: 0, endMs: 1 })
  bus.publish(final('CA1', 'i2', 'after the bad one'))
  await recorder.idle()
  t.same((await store.getCall('CA1'))?.utterances.map((u) => u.itemId), ['i2'])
  t.match(recorder.status(), { rejected: 1, written: 2, state: 'ok' })
})

t.test('close saves what is queued; with the database down it gives up after the timeout and says so', async (t) => {
  const db = await sqliteEngine.create(t)
  const { store, state } = flaky(await db.open())
  const bus = createCallEventBus(silentLogger)
  const recorder = createRecorder({ store, bus, log: silentLogger })
  bus.publish(webhook('CA1'))
  for (let i = 0; i < 50; i++) bus.publish(final('CA1', `i${i}`, `u${i}`))
  await recorder.close()
  t.equal((await store.getCall('CA1'))?.utterances.length, 50, 'flushed on close')
  t.equal(recorder.enqueue({ op: 'call', callSid: 'CA9', at: 1, patch: {} }), false, 'closed: refuses new writes')
  bus.publish(final('CA1', 'late', 'after close'))
  t.equal((await store.getCall('CA1'))?.utterances.length, 50, 'unsubscribed')

  const { log, lines } = capturingLog()
  const bus2 = createCallEventBus(silentLogger)
  const r2 = createRecorder({ store, bus: bus2, log, retryInitialMs: 5, retryMaxMs: 10 })
  state.down = true
  bus2.publish(webhook('CA2'))
  await r2.close(50)
  t.ok(lines.some((l) => l.level === 'error' && /unsaved writes/.test(l.msg ?? '') && (l.obj as { lost: number }).lost === 1))
  t.equal(r2.status().state, 'closed')
})
