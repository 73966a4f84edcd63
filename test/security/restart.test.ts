/** Finding 5 (restarts): calls cut by a crash end as `interrupted`; neither the hub nor the page shows them live. */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTestApp, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { ENGINES } from '../src/storage/databases.ts'
import { openStore } from '../../src/storage/open.ts'
import type { WriteOp } from '../../src/storage/store.ts'
import type { UiCall } from '../../src/hub/schema.ts'
import { applyMessage, createStore } from '../../static/js/store.js'

const HOUR = 3600_000
const open = (callSid: string, at: number): WriteOp => ({ op: 'call', callSid, at, patch: { direction: 'inbound', from: '+14155550123', to: '+15550002222', mode: 'assist', status: 'in-progress', startedAt: at } })

for (const engine of ENGINES) {
  t.test(`${engine.name}: closeInterrupted closes open calls created before the cut-off, and only those`, { skip: engine.skip }, async (t) => {
    const db = await engine.create(t)
    const store = await db.open()
    await store.migrate()
    const now = 1_800_000_000_000
    await store.write([
      open('CAold', now - 5 * HOUR),
      open('CAyoung', now - HOUR),
      open('CAdone', now - 6 * HOUR),
      { op: 'call', callSid: 'CAdone', at: now - 5 * HOUR, patch: { status: 'completed', endedAt: now - 5 * HOUR } },
    ])
    t.same(await store.closeInterrupted(now - 4 * HOUR, now), ['CAold'])
    t.match((await store.getCall('CAold'))?.call, { status: 'interrupted', endedAt: now })
    t.match((await store.getCall('CAyoung'))?.call, { status: 'in-progress', endedAt: null }, 'a call that may still be live elsewhere is left alone')
    t.match((await store.getCall('CAdone'))?.call, { status: 'completed', endedAt: now - 5 * HOUR })
    await store.write([{ op: 'call', callSid: 'CAold', at: now + 1, patch: { status: 'in-progress' } }])
    t.match((await store.getCall('CAold'))?.call, { status: 'interrupted' }, 'a late non-final callback does not reopen it')
    await store.write([{ op: 'call', callSid: 'CAold', at: now + 2, patch: { status: 'completed', durationS: 42 } }])
    t.match((await store.getCall('CAold'))?.call, { status: 'completed', endedAt: now, durationS: 42 }, "Twilio's final status still wins")
    t.same(await store.closeInterrupted(now - 4 * HOUR, now), [], 'nothing left to close')
  })
}

t.test('at start-up a call left open by a crash is closed as interrupted; the hub never shows it live', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const url = `sqlite:${join(dir, 'talkhint.db')}`
  const now = Date.now()
  // The previous process: answered a call, then died with it open (nothing ever wrote its end).
  const { store } = await openStore(url, {})
  await store.write([open('CAcrashed', now - 60_000)])
  await store.close()

  const app = await buildTestApp(t, { DATABASE_URL: url })
  const res = await app.inject({ url: '/api/calls/CAcrashed', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.match(res.json().call, { status: 'interrupted', endedAt: Number })
  t.same(app.interruptedCalls, ['CAcrashed'])
  // A late event for it (a retried non-final status callback) must not bring it back as a live call.
  app.bus.publish({ type: 'call.status', callSid: 'CAcrashed', at: now, status: 'in-progress' })
  t.same(app.hub.snapshot().calls.map((c) => c.callSid), [], 'not in the hub snapshot')
  app.bus.publish({ type: 'call.status', callSid: 'CAnew', at: now, status: 'ringing' })
  t.same(app.hub.snapshot().calls.map((c) => c.callSid), ['CAnew'], 'other calls still show')
})

t.test('the page: a call shown live that a resync snapshot no longer has becomes ended (server restarted)', async (t) => {
  const store = createStore()
  const call = (callSid: string, phase: string) => ({ callSid, phase, startedAt: 1000, endedAt: null, durationMs: null, endReason: null, levels: { remote: 0.5, local: 0.5 }, agentState: null }) as unknown as UiCall
  applyMessage(store, { type: 'snapshot', v: 1, seq: 5, scope: '*', serverTime: 2000, calls: [call('CAlive', 'live'), call('CAstays', 'live')] }, 2000)
  // The socket drops, the server restarts, the page reconnects: the new server knows only CAstays.
  applyMessage(store, { type: 'snapshot', v: 1, seq: 1, scope: '*', serverTime: 9000, calls: [call('CAstays', 'live')] }, 9000)
  t.match(store.calls.get('CAlive'), { phase: 'ended', endReason: 'lost', endedAt: 9000, durationMs: 8000, levels: { remote: 0, local: 0 } })
  t.match(store.calls.get('CAstays'), { phase: 'live' })
  applyMessage(store, { type: 'snapshot', v: 1, seq: 2, scope: '*', serverTime: 9500, calls: [call('CAstays', 'live')] }, 9500)
  t.notOk(store.calls.has('CAlive'), 'kept once as ended, then dropped like any ended call the server forgot')
})
