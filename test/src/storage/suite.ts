/** The Store test suite: the same tests, run against every engine (see storage-*.test.ts). */
import type { Test } from 'tap'
import { openStore } from '../../../src/storage/open.ts'
import type { EngineUnderTest } from './databases.ts'
import type { CallQuery, MigrationResult, Store, WriteOp } from '../../../src/storage/store.ts'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { parsePhonePart, searchTerms } from '../../../src/storage/search.ts'
import { latestVersion, SQLITE_MIGRATIONS } from '../../../src/storage/migrations.ts'

/** The schema version a fresh database reaches (both engines have the same list). */
const LATEST = latestVersion(SQLITE_MIGRATIONS)

const execFileP = promisify(execFile)
const A = '+14155550101'
const B = '+14155550102'
const OURS = '+15550002222'

const webhook = (callSid: string, at: number, remote = A): WriteOp =>
  ({ op: 'call', callSid, at, patch: { direction: 'inbound', from: remote, to: OURS, contactPhone: remote, mode: 'assist' } })
const say = (callSid: string, itemId: string, text: string, startMs: number, at = 1): WriteOp =>
  ({ op: 'utterance', callSid, at, itemId, speaker: 'remote', text, startMs, endMs: startMs + 500 })

/** Registers the whole suite under `t` for one engine. */
export function storeSuite (t: Test, engine: EngineUnderTest): void {
  const fresh = async (tt: Test): Promise<Store> => (await engine.create(tt)).open()

  t.test('migrates an empty database to the latest version, and again is a no-op', async (t) => {
    const db = await engine.create(t)
    const first = await openStore(db.url, { schema: db.schema })
    t.teardown(() => first.store.close())
    t.same(first.migration, { from: 0, to: LATEST, latest: LATEST })
    t.same(await first.store.migrate(), { from: LATEST, to: LATEST, latest: LATEST }, 'idempotent')
    t.equal(await first.store.schemaVersion(), LATEST)
  })

  t.test('three instances starting at once on one database all start, and each step runs once', async (t) => {
    const db = await engine.create(t)
    // Real processes: "instances" are separate processes with their own connections and locks.
    const child = fileURLToPath(new URL('./migrate-child.ts', import.meta.url))
    const run = async (): Promise<MigrationResult> => {
      const { stdout } = await execFileP(process.execPath, [child, db.url, db.schema ?? ''])
      return JSON.parse(stdout) as MigrationResult
    }
    const results = await Promise.all([run(), run(), run()])
    t.same(results.map((r) => r.to), [LATEST, LATEST, LATEST])
    t.equal(results.filter((r) => r.from === 0).length, 1, 'exactly one instance applied the migrations')
    t.same(results.filter((r) => r.from !== 0).map((r) => r.from), [LATEST, LATEST], 'the others found them done')
    const a = await db.open()
    await a.write([webhook('CA1', 1000), say('CA1', 'i1', 'hello there', 0)])
    t.equal((await a.listCalls({ limit: 10, terms: ['hello'] })).calls.length, 1, 'the schema works')
  })

  t.test('upgrades a v1 database that holds data, indexing its existing transcripts', async (t) => {
    const db = await engine.create(t)
    const v1 = await db.open({ migrate: 1 })
    t.equal(await v1.schemaVersion(), 1)
    await v1.write([webhook('CAold', 1000), say('CAold', 'i1', 'my invoice was charged twice', 0)])
    await v1.write([{ op: 'message', at: 1500, sid: 'SMold', direction: 'inbound', from: `whatsapp:${A}`, to: `whatsapp:${OURS}`, contactPhone: A, body: 'hi', numMedia: 0, status: 'received' }])
    await v1.close()

    const { store, migration } = await openStore(db.url, { schema: db.schema })
    t.teardown(() => store.close())
    t.same(migration, { from: 1, to: LATEST, latest: LATEST })
    const found = await store.listCalls({ limit: 10, terms: ['invoice', 'twice'] })
    t.same(found.calls.map((c) => c.callSid), ['CAold'], 'v1 utterances are searchable after the upgrade')
    t.equal(found.calls[0]?.match?.text, 'my invoice was charged twice')
    await store.write([say('CAold', 'i2', 'and the refund never came', 1000)])
    t.equal((await store.listCalls({ limit: 10, terms: ['refund'] })).calls.length, 1, 'new rows are indexed too')
    t.equal((await store.contactHistory(A, 10)).messages.length, 1, 'v1 messages survive')
  })

  t.test('upgrades a v2 database: its calls gain an empty purpose and outcome, and new agent calls store both', async (t) => {
    const db = await engine.create(t)
    const v2 = await db.open({ migrate: 2 })
    await v2.write([webhook('CAold', 1000)])
    await v2.close()
    const { store, migration } = await openStore(db.url, { schema: db.schema })
    t.teardown(() => store.close())
    t.same(migration, { from: 2, to: LATEST, latest: LATEST })
    t.match((await store.getCall('CAold'))?.call, { purpose: null, outcome: null }, 'an existing call has neither')
    await store.write([
      { op: 'call', callSid: 'CAagent', at: 2000, patch: { direction: 'outbound', from: OURS, to: B, contactPhone: B, mode: 'agent', purpose: 'Confirm the appointment on Tuesday at 3 pm' } },
      { op: 'call', callSid: 'CAagent', at: 2100, patch: { purpose: 'a later purpose never replaces the first' } },
    ])
    t.match((await store.getCall('CAagent'))?.call, { mode: 'agent', purpose: 'Confirm the appointment on Tuesday at 3 pm', outcome: null })
  })

  t.test('stores an agent call\'s outcome: the first one stays, and the history lists it', async (t) => {
    const store = await fresh(t)
    await store.write([
      { op: 'call', callSid: 'CAvm', at: 1000, patch: { direction: 'outbound', from: OURS, to: A, contactPhone: A, mode: 'agent', purpose: 'Remind about the invoice' } },
      { op: 'call', callSid: 'CAvm', at: 1500, patch: { outcome: 'machine' } },
      { op: 'call', callSid: 'CAvm', at: 9000, patch: { status: 'completed', endedAt: 9000, outcome: 'failed' } },
      { op: 'call', callSid: 'CAbusy', at: 2000, patch: { direction: 'outbound', from: OURS, to: B, contactPhone: B, mode: 'agent', purpose: 'Confirm' } },
      { op: 'call', callSid: 'CAbusy', at: 2100, patch: { status: 'busy', outcome: 'busy' } },
    ])
    t.match((await store.getCall('CAvm'))?.call, { outcome: 'machine', status: 'completed', purpose: 'Remind about the invoice' })
    const page = await store.listCalls({ limit: 10 })
    t.same(page.calls.map((c) => [c.callSid, c.outcome, c.purpose]), [['CAbusy', 'busy', 'Confirm'], ['CAvm', 'machine', 'Remind about the invoice']])
    t.same((await store.contactHistory(B, 10)).calls.map((c) => c.outcome), ['busy'], 'the contact page has it too')
  })

  t.test('merges call events into one row: the webhook\'s parties win, a late status never overwrites a terminal one', async (t) => {
    const store = await fresh(t)
    await store.write([
      webhook('CA1', 1000),
      { op: 'call', callSid: 'CA1', at: 1100, patch: { startedAt: 1100, direction: 'outbound', from: B, to: OURS, contactPhone: B } },
      { op: 'call', callSid: 'CA1', at: 1200, patch: { aiStatus: 'ready' } },
      { op: 'call', callSid: 'CA1', at: 9000, patch: { status: 'completed', durationS: 8, endedAt: 9000 } },
      { op: 'call', callSid: 'CA1', at: 9100, patch: { status: 'in-progress' } },
      { op: 'call', callSid: 'CA1', at: 9200, patch: { endedAt: 9200, streamMs: 7900 } },
    ])
    const detail = await store.getCall('CA1')
    t.match(detail?.call, {
      callSid: 'CA1',
      direction: 'inbound',
      from: A,
      to: OURS,
      contactPhone: A,
      mode: 'assist',
      status: 'completed',
      aiStatus: 'ready',
      createdAt: 1000,
      startedAt: 1100,
      endedAt: 9000,
      durationS: 8,
      utteranceCount: 0,
      summary: null,
    })
    t.equal(await store.getCall('CAnope'), undefined)
    await store.write([{ op: 'call', callSid: 'CA2', at: 5, patch: { streamMs: 61_400 } }])
    t.equal((await store.getCall('CA2'))?.call.durationS, 61, 'falls back to the stream length')
  })

  t.test('stores utterances, hints and the summary; a repeated final updates instead of duplicating', async (t) => {
    const store = await fresh(t)
    // The transcript arrives before the webhook's row (e.g. after a restart): the call row is created.
    await store.write([say('CA1', 'i2', 'second', 2000), say('CA1', 'i1', 'first', 0)])
    await store.write([
      say('CA1', 'i1', 'first, corrected', 0),
      { op: 'hint', callSid: 'CA1', at: 5, hintId: 'h1', itemId: 'i1', text: 'Ask for the order number', superseded: false },
      { op: 'hint', callSid: 'CA1', at: 6, hintId: 'h2', itemId: 'i2', text: 'Old idea', superseded: true },
      { op: 'summary', callSid: 'CA1', at: 7, summary: 'Customer wants a refund.', intent: 'refund', actionItems: ['Refund order 42', 'Email receipt'] },
    ])
    const d = await store.getCall('CA1')
    t.same(d?.utterances.map((u) => [u.itemId, u.text, u.speaker, u.startMs, u.endMs]), [['i1', 'first, corrected', 'remote', 0, 500], ['i2', 'second', 'remote', 2000, 2500]])
    t.same(d?.hints.map((h) => [h.hintId, h.text, h.superseded]), [['h1', 'Ask for the order number', false], ['h2', 'Old idea', true]])
    t.match(d?.summary, { summary: 'Customer wants a refund.', intent: 'refund', actionItems: ['Refund order 42', 'Email receipt'], at: 7 })
    t.equal(d?.call.utteranceCount, 2)
    t.equal(d?.call.summary, 'Customer wants a refund.')
    t.same((await store.listCalls({ limit: 5, terms: ['corrected'] })).calls.length, 1, 'the corrected text is what is indexed')
    t.same((await store.listCalls({ limit: 5, terms: ['first', 'second'] })).calls.length, 1, 'words may come from different utterances')
  })

  t.test('hint feedback: stored on the hint row with who and when, idempotent, counted per playbook', async (t) => {
    const store = await fresh(t)
    const hint = (hintId: string, at: number, playbookId?: string): WriteOp =>
      ({ op: 'hint', callSid: 'CA1', at, hintId, itemId: `i_${hintId}`, text: `advice ${hintId}`, superseded: false, ...(playbookId !== undefined ? { playbookId } : {}) })
    await store.write([webhook('CA1', 1), hint('h1', 10, 'pb:aaa'), hint('h2', 20, 'pb:aaa'), hint('h3', 30, 'pb:bbb')])
    const give = (hintId: string, value: 'up' | 'down' | null, at: number, by = 'session:s1') => store.setHintFeedback({ callSid: 'CA1', hintId, value, by, at })

    t.same(await give('h1', 'up', 100), { status: 'changed', playbookId: 'pb:aaa' })
    t.same(await give('h1', 'up', 101, 'bearer'), { status: 'unchanged' }, 'the same value again changes nothing')
    t.same(await give('h2', 'down', 102), { status: 'changed', playbookId: 'pb:aaa' })
    t.same(await give('h3', 'up', 103), { status: 'changed', playbookId: 'pb:bbb' })
    t.same(await give('nope', 'up', 104), { status: 'not_found' }, 'an unknown hint is refused, not created')
    t.same(await store.setHintFeedback({ callSid: 'CAnope', hintId: 'h1', value: 'up', by: 'bearer', at: 104 }), { status: 'not_found' })
    t.match((await store.getCall('CA1'))?.hints.find((h) => h.hintId === 'h1'), { feedback: 'up', feedbackBy: 'session:s1', feedbackAt: 100, playbookId: 'pb:aaa' })
    t.same(await store.callFeedback('CA1'), { h1: 'up', h2: 'down', h3: 'up' })
    t.same(await store.feedbackCounts(), [{ playbookId: 'pb:aaa', up: 1, down: 1 }, { playbookId: 'pb:bbb', up: 1, down: 0 }])

    t.same(await give('h2', null, 105, 'bearer'), { status: 'changed', playbookId: 'pb:aaa' }, 'cleared')
    t.match((await store.getCall('CA1'))?.hints.find((h) => h.hintId === 'h2'), { feedback: null, feedbackBy: 'bearer', feedbackAt: 105 })
    t.same(await store.feedbackCounts(), [{ playbookId: 'pb:aaa', up: 1, down: 0 }, { playbookId: 'pb:bbb', up: 1, down: 0 }])
    await store.write([hint('h1', 10, 'pb:aaa')])
    t.equal((await store.getCall('CA1'))?.hints.find((h) => h.hintId === 'h1')?.feedback, 'up', 'the recorder writing the hint again keeps its feedback')
  })

  t.test('feedback that arrives before its hint is stored is kept, and the hint fills the row in', async (t) => {
    const store = await fresh(t)
    const early = { callSid: 'CA9', hintId: 'h1', value: 'down', by: 'session:s1', at: 500, pending: { playbookId: 'pb:ccc' } } as const
    t.same(await store.setHintFeedback(early), { status: 'changed', playbookId: 'pb:ccc' }, 'stored though neither the call nor the hint is')
    t.same(await store.setHintFeedback(early), { status: 'unchanged' }, 'idempotent on the placeholder too')
    t.same((await store.getCall('CA9'))?.hints, [], 'a placeholder is not listed as a hint')
    t.same(await store.feedbackCounts(), [{ playbookId: 'pb:ccc', up: 0, down: 1 }], 'but it is counted')
    await store.write([{ op: 'hint', callSid: 'CA9', at: 400, hintId: 'h1', itemId: 'i1', text: 'Offer a callback', superseded: false, playbookId: 'pb:ccc' }])
    t.same((await store.getCall('CA9'))?.hints, [{ hintId: 'h1', itemId: 'i1', text: 'Offer a callback', superseded: false, at: 400, playbookId: 'pb:ccc', feedback: 'down', feedbackBy: 'session:s1', feedbackAt: 500 }])
    t.same(await store.setHintFeedback({ ...early, value: 'up', at: 600, pending: { playbookId: 'pb:other' } }), { status: 'changed', playbookId: 'pb:ccc' }, 'the stored playbook wins')
  })

  t.test('one batch with repeats and hundreds of ops gives what applying them one by one gives', async (t) => {
    const store = await fresh(t)
    const ops: WriteOp[] = [
      say('CA1', 'i1', 'draft', 0, 10),
      webhook('CA1', 5),
      { op: 'hint', callSid: 'CA1', at: 11, hintId: 'h1', itemId: 'i1', text: 'first idea', superseded: false },
      say('CA1', 'i1', 'final words', 0, 12),
      { op: 'hint', callSid: 'CA1', at: 13, hintId: 'h1', itemId: 'i1', text: 'better idea', superseded: true },
    ]
    for (let i = 0; i < 400; i++) ops.push(say(`CAbulk${i % 40}`, `i${i}`, `bulk line ${i}`, i * 10, 100 + i))
    await store.write(ops)
    const d = await store.getCall('CA1')
    t.same(d?.utterances.map((u) => [u.text, u.at]), [['final words', 10]], 'last content, first time')
    t.same(d?.hints.map((h) => [h.text, h.superseded, h.at]), [['better idea', true, 11]])
    t.match(d?.call, { createdAt: 5, direction: 'inbound', from: A }, 'the webhook fills the row the utterance created')
    t.equal((await store.getCall('CAbulk7'))?.utterances.length, 10)
    t.equal((await store.listCalls({ limit: 100 })).calls.length, 41)
  })

  t.test('a batch is all or nothing, and a bad op is reported as a query failure', async (t) => {
    const store = await fresh(t)
    const bad = { ...say('CA1', 'i2', 'x', 0), text: null } as unknown as WriteOp
    await t.rejects(store.write([webhook('CA1', 1), say('CA1', 'i1', 'kept?', 0), bad]), { name: 'StoreError', code: 'STORE_QUERY_FAILED' })
    t.equal(await store.getCall('CA1'), undefined, 'nothing from the failed batch was written')
  })

  t.test('lists calls newest first with keyset pagination, stable across equal times', async (t) => {
    const store = await fresh(t)
    const ops: WriteOp[] = []
    for (let i = 0; i < 7; i++) ops.push(webhook(`CA${i}`, 1000 + Math.floor(i / 2) * 100, i % 2 === 0 ? A : B))
    await store.write(ops)
    const seen: string[] = []
    let cursor
    for (let page = 0; page < 10; page++) {
      const res = await store.listCalls({ limit: 3, ...(cursor !== undefined ? { cursor } : {}) })
      seen.push(...res.calls.map((c) => c.callSid))
      if (res.next === null) break
      cursor = res.next
    }
    t.same(seen, ['CA6', 'CA5', 'CA4', 'CA3', 'CA2', 'CA1', 'CA0'], 'every call once, newest first, ties by sid')
    t.same((await store.listCalls({ limit: 10, phone: B })).calls.map((c) => c.callSid), ['CA5', 'CA3', 'CA1'])
    t.same((await store.listCalls({ limit: 10, since: 1100, until: 1300 })).calls.map((c) => c.callSid), ['CA5', 'CA4', 'CA3', 'CA2'])
    const exact = await store.listCalls({ limit: 7 })
    t.equal(exact.next, null, 'no next cursor when the page holds the rest')
  })

  t.test('full-text search: every word, prefixes, any case, and user input never breaks the query', async (t) => {
    const store = await fresh(t)
    await store.write([
      webhook('CA1', 1000), say('CA1', 'i1', 'I need a REFUND for order 4521', 0), say('CA1', 'i2', 'Thanks, goodbye', 3000),
      webhook('CA2', 2000, B), say('CA2', 'i1', 'Can I change my delivery address?', 0),
      webhook('CA3', 3000), say('CA3', 'i1', 'refunds take five days', 0),
    ])
    const ids = async (q: string, phone?: string): Promise<string[]> =>
      (await store.listCalls({ limit: 10, terms: searchTerms(q), ...(phone !== undefined ? { phone } : {}) })).calls.map((c) => c.callSid)
    t.same(await ids('refund'), ['CA3', 'CA1'], 'prefix: refund matches refunds')
    t.same(await ids('Refund goodbye'), ['CA1'], 'all words, across utterances')
    t.same(await ids('deliv addr'), ['CA2'])
    t.same(await ids('4521'), ['CA1'], 'numbers')
    t.same(await ids('refund', B), [], 'combines with the phone filter')
    t.same(await ids('nothing-like-this'), [])
    for (const nasty of ['"refund', 'refund*', 'refund OR x', 'NEAR(refund)', "refund'); DROP TABLE calls; --", 'a:* & !b', '-refund', '(((']) {
      const res = await store.listCalls({ limit: 10, terms: searchTerms(nasty) })
      t.ok(Array.isArray(res.calls), `query ${JSON.stringify(nasty)} is handled`)
    }
    t.same(await ids('refund'), ['CA3', 'CA1'], 'and the tables are still there')
    const hit = (await store.listCalls({ limit: 10, terms: ['goodbye'] })).calls[0]
    t.match(hit?.match, { itemId: 'i2', speaker: 'remote', text: 'Thanks, goodbye', startMs: 3000 })
  })

  t.test('part of a number: digits anywhere, or the start after a +; combines with the other filters', async (t) => {
    const store = await fresh(t)
    const C = '+442079460123'
    await store.write([
      webhook('CA1', 1000, '+14155550123'), say('CA1', 'i1', 'about my refund', 0),
      webhook('CA2', 2000, A), webhook('CA3', 3000, C), webhook('CA4', 4000, '+14155550123'),
      { op: 'call', callSid: 'CA5', at: 5000, patch: { direction: 'inbound', from: 'client:ada', to: OURS, mode: 'assist' } },
    ])
    const ids = async (raw: string, more: Partial<CallQuery> = {}): Promise<string[]> => {
      const part = parsePhonePart(raw)
      if (!part.ok) throw new Error(part.message)
      return (await store.listCalls({ limit: 10, phonePart: part.value, ...more })).calls.map((c) => c.callSid)
    }
    t.same(await ids('0123'), ['CA4', 'CA3', 'CA1'], 'the last digits of two numbers')
    t.same(await ids('415 555'), ['CA4', 'CA2', 'CA1'], 'digits in the middle, spaces ignored')
    t.same(await ids('(415) 555-0123'), ['CA4', 'CA1'])
    t.same(await ids('+44 20'), ['CA3'], 'a leading + anchors at the start')
    t.same(await ids('+415'), [], 'so +415 is not 1 415')
    t.same(await ids('+1 415 555 0123'), ['CA4', 'CA1'], 'a whole number')
    t.same(await ids('999'), [])
    t.same(await ids('0123', { terms: ['refund'] }), ['CA1'], 'with a search')
    t.same(await ids('0123', { since: 2500 }), ['CA4', 'CA3'], 'with dates')
    t.same(await ids('555', { limit: 1, cursor: { at: 4000, sid: 'CA4' } }), ['CA2'], 'with pages')
  })

  t.test('contacts: created by calls, edited, cleared; history holds calls and messages', async (t) => {
    const store = await fresh(t)
    await store.write([webhook('CA1', 1000), webhook('CA2', 3000)])
    await store.write([{ op: 'message', at: 2000, sid: 'SM1', direction: 'inbound', from: `whatsapp:${A}`, to: `whatsapp:${OURS}`, contactPhone: A, body: 'Hello', numMedia: 0, status: 'received', profileName: 'Ada L.' }])
    let h = await store.contactHistory(A, 10)
    t.match(h.contact, { phone: A, name: 'Ada L.', notes: null }, 'the WhatsApp profile name fills an empty name')
    t.same(h.calls.map((c) => c.callSid), ['CA2', 'CA1'])
    t.same(h.messages.map((m) => m.sid), ['SM1'])
    const c1 = await store.updateContact(A, { name: 'Ada Lovelace', notes: 'Prefers mornings' }, 5000)
    t.match(c1, { phone: A, name: 'Ada Lovelace', notes: 'Prefers mornings', updatedAt: 5000 })
    const c2 = await store.updateContact(A, { notes: null }, 6000)
    t.match(c2, { name: 'Ada Lovelace', notes: null }, 'absent keeps, null clears')
    await store.write([{ op: 'message', at: 7000, sid: 'SM2', direction: 'inbound', from: `whatsapp:${A}`, to: `whatsapp:${OURS}`, contactPhone: A, body: 'Again', numMedia: 0, status: 'received', profileName: 'Someone Else' }])
    h = await store.contactHistory(A, 10)
    t.equal(h.contact?.name, 'Ada Lovelace', 'a profile name never overwrites a name')
    t.equal((await store.listCalls({ limit: 1 })).calls[0]?.contactName, 'Ada Lovelace', 'calls carry the contact name')
    const created = await store.updateContact(B, { name: 'Bob' }, 8000)
    t.match(created, { phone: B, name: 'Bob', notes: null, createdAt: 8000 })
    const none = await store.contactHistory('+19995550000', 10)
    t.same(none, { contact: undefined, calls: [], messages: [] })
  })

  t.test('messages: status only moves forward; a callback before the send is stored is merged', async (t) => {
    const store = await fresh(t)
    const out = (sid: string | null, at: number, status = 'queued'): WriteOp =>
      ({ op: 'message', at, sid, direction: 'outbound', from: `whatsapp:${OURS}`, to: `whatsapp:${A}`, contactPhone: A, body: 'Your order shipped', numMedia: 0, status })
    const st = (sid: string, status: string, at: number, errorCode?: number): WriteOp =>
      ({ op: 'message.status', sid, status, at, to: `whatsapp:${A}`, contactPhone: A, ...(errorCode !== undefined ? { errorCode } : {}) })
    await store.write([out('SM1', 1000), st('SM1', 'sent', 1100), st('SM1', 'delivered', 1200), st('SM1', 'sent', 1300)])
    t.match(await store.getMessage('SM1'), { status: 'delivered', body: 'Your order shipped', direction: 'outbound', contactPhone: A, updatedAt: 1300 })
    await store.write([st('SM1', 'read', 1400)])
    t.equal((await store.getMessage('SM1'))?.status, 'read')
    await store.write([st('SM2', 'sent', 2100), out('SM2', 2000)])
    t.match(await store.getMessage('SM2'), { status: 'sent', body: 'Your order shipped', createdAt: 2000 }, 'callback first, then the send: one row')
    await store.write([st('SM2', 'undelivered', 2200, 63024), st('SM2', 'delivered', 2300)])
    t.match(await store.getMessage('SM2'), { status: 'undelivered', errorCode: 63024 }, 'a failure is final')
    await store.write([{ ...out(null, 3000, 'failed'), errorCode: 63016, errorMessage: 'outside the 24-hour window' } as WriteOp])
    const msgs = (await store.contactHistory(A, 10)).messages
    t.match(msgs[0], { sid: null, status: 'failed', errorCode: 63016, errorMessage: 'outside the 24-hour window' }, 'a refused send is kept')
    t.equal(msgs.length, 3)
  })

  t.test('callback tasks: stored once per task on the contact, listed open or done, newest first', async (t) => {
    const store = await fresh(t)
    const task = (taskId: string, at: number, contactPhone: string | null = A): WriteOp =>
      ({ op: 'callback', callSid: 'CAcb', at, taskId, contactPhone, name: 'Ada', callbackNumber: '+14155550199', reason: `about ${taskId}` })
    await store.write([webhook('CAcb', 1), task('t1', 10), task('t2', 20)])
    await store.write([task('t1', 30)])
    t.same((await store.listCallbacks({ limit: 10 })).map((c) => [c.taskId, c.createdAt, c.doneAt]), [['t2', 20, null], ['t1', 10, null]], 'a repeated task is one task, first write wins')
    t.match((await store.listCallbacks({ limit: 1 }))[0], { callSid: 'CAcb', contactPhone: A, name: 'Ada', callbackNumber: '+14155550199', reason: 'about t2' })
    await store.write([{ op: 'callback.done', at: 40, taskId: 't1', done: true }])
    t.same((await store.listCallbacks({ open: true, limit: 10 })).map((c) => c.taskId), ['t2'])
    t.same((await store.listCallbacks({ open: false, limit: 10 })).map((c) => [c.taskId, c.doneAt]), [['t1', 40]])
    t.same((await store.listCallbacks({ phone: B, limit: 10 })).length, 0, 'by contact')
    t.same((await store.contactHistory(A, 10)).contact?.phone, A, 'the contact exists')
    await store.write([{ op: 'callback.done', at: 50, taskId: 't1', done: false }])
    t.same((await store.listCallbacks({ open: true, limit: 10 })).map((c) => c.taskId), ['t2', 't1'], 'reopened')
  })

  t.test('purge deletes old calls with their transcript, and old messages; contacts stay', async (t) => {
    const store = await fresh(t)
    await store.write([
      webhook('CAold', 1000), say('CAold', 'i1', 'ancient refund', 0),
      { op: 'hint', callSid: 'CAold', at: 1001, hintId: 'h1', itemId: 'i1', text: 'hint', superseded: false },
      { op: 'summary', callSid: 'CAold', at: 1002, summary: 's', intent: 'i', actionItems: [] },
      webhook('CAnew', 5000), say('CAnew', 'i1', 'recent refund', 0),
      { op: 'message', at: 1500, sid: 'SMold', direction: 'inbound', from: `whatsapp:${A}`, to: OURS, contactPhone: A, body: 'old', numMedia: 0, status: 'received' },
      { op: 'message', at: 5500, sid: 'SMnew', direction: 'inbound', from: `whatsapp:${A}`, to: OURS, contactPhone: A, body: 'new', numMedia: 0, status: 'received' },
    ])
    await store.updateContact(A, { notes: 'keep me' }, 1)
    t.same(await store.purge(2000), { calls: 1, messages: 1 })
    t.equal(await store.getCall('CAold'), undefined)
    t.same((await store.listCalls({ limit: 10, terms: ['refund'] })).calls.map((c) => c.callSid), ['CAnew'], 'the search index forgot it too')
    const h = await store.contactHistory(A, 10)
    t.same(h.messages.map((m) => m.sid), ['SMnew'])
    t.equal(h.contact?.notes, 'keep me')
    t.same(await store.purge(2000), { calls: 0, messages: 0 })
  })

  t.test('an unreachable database is reported as unavailable (retryable), not as a bad query', async (t) => {
    const { store } = await openStore(engine.unreachableUrl, { migrate: false })
    t.teardown(() => store.close())
    await t.rejects(store.write([webhook('CA1', 1)]), { name: 'StoreError', code: 'STORE_UNAVAILABLE' })
    await t.rejects(store.migrate(), { code: 'STORE_UNAVAILABLE' })
  })

  t.test('a closed store refuses politely', async (t) => {
    const db = await engine.create(t)
    const store = await db.open()
    await store.close()
    await store.close()
    await t.rejects(store.listCalls({ limit: 1 }), { code: 'STORE_CLOSED' })
  })
}
