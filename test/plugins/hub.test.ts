import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'node:net'
import { bareDashboardApp, loginCookie, UiSocket, upgradeStatus } from '../e2e/browser/harness.ts'
import { listen, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { callSidFor, scriptedCall } from '../e2e/browser/call-script.ts'
import type { SnapshotMessage, UiCall, UiEvent } from '../../src/hub/schema.ts'
import type { CallEvent } from '../../src/call/events.ts'
import { applyMessage, createStore } from '../../static/js/store.js'

const wsUrl = (base: string, path = '/ui'): string => base.replace(/^http/, 'ws') + path
const byId = (calls: readonly UiCall[]): Record<string, unknown> => Object.fromEntries(calls.map((c) => [c.callSid, JSON.parse(JSON.stringify(c))]))

t.test('/ui refuses the upgrade without a session (401, no socket) and from a foreign origin (403)', async (t) => {
  const app = await bareDashboardApp(t)
  const base = await listen(app)
  t.equal(await upgradeStatus(wsUrl(base), {}), 401)
  t.equal(await upgradeStatus(wsUrl(base), { cookie: 'talkhint_session=1.2.3' }), 401)
  t.equal(await upgradeStatus(wsUrl(base), { authorization: 'Bearer wrong-token-here' }), 401)
  const cookie = await loginCookie(app)
  t.equal(await upgradeStatus(wsUrl(base), { cookie, origin: 'https://evil.example' }), 403)
  t.equal(app.hub.stats.clients, 0, 'refused upgrades never reached the hub')
  t.equal(await upgradeStatus(wsUrl(base), { cookie, origin: base }), 101)
  t.equal(await upgradeStatus(wsUrl(base), { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }), 101, 'CLIs use Bearer')
  t.equal(await upgradeStatus(wsUrl(base, '/ui?callSid=%3Cscript%3E'), { cookie }), 400, 'a malformed callSid is refused before the upgrade')
})

t.test('dashboards joining while calls publish converge with no gap and no duplicate (real sockets)', async (t) => {
  const app = await bareDashboardApp(t)
  const base = await listen(app)
  const cookie = await loginCookie(app)
  const scripts = [1, 2, 3, 4].map((n) => scriptedCall({ callSid: callSidFor(100 + n), turns: 6, mode: n === 2 ? 'agent' : 'assist', t0: 1_700_000_000_000 + n }))
  const events: CallEvent[] = []
  for (let i = 0; i < 200; i++) for (const s of scripts) if (s[i] !== undefined) events.push(s[i] as CallEvent)
  const clients: UiSocket[] = []
  t.teardown(() => { for (const c of clients) c.close() })
  // Publish a few events per macrotask while sockets open and handshake concurrently.
  let i = 0
  while (i < events.length) {
    for (let k = 0; k < 3 && i < events.length; k++) app.bus.publish(events[i++] as CallEvent)
    if (i % 9 === 0) clients.push(new UiSocket(wsUrl(base), { cookie }))
    await new Promise((resolve) => setImmediate(resolve))
  }
  const finalSeq = app.hub.stats.seq
  await Promise.all(clients.map((c) => c.next((m) => ('seq' in m && m.seq === finalSeq && m.type !== 'heartbeat') || (m.type === 'snapshot' && m.seq === finalSeq))))
  const final = byId(app.hub.snapshot().calls)
  const joinedAt = new Set<number>()
  for (const c of clients) {
    const snap = c.messages[0] as SnapshotMessage
    joinedAt.add(snap.seq)
    const seqs = c.messages.slice(1).map((m) => (m as UiEvent).seq)
    if (!seqs.every((s, j) => s === snap.seq + 1 + j)) t.fail(`client that joined at seq ${snap.seq} saw a gap or duplicate`)
    const store = createStore()
    for (const m of c.messages) applyMessage(store, m)
    t.same(byId([...store.calls.values()] as UiCall[]), final)
  }
  t.ok(clients.length >= 20, `${clients.length} clients`)
  t.ok(joinedAt.size > 5, `they joined at ${joinedAt.size} different points of the stream`)
})

t.test('one-call subscription by message or query string', async (t) => {
  const app = await bareDashboardApp(t)
  const base = await listen(app)
  const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
  const a = callSidFor(201)
  const b = callSidFor(202)
  const byQuery = await new UiSocket(wsUrl(base, `/ui?callSid=${a}`), auth).opened()
  const byMessage = await new UiSocket(wsUrl(base), auth).opened()
  t.teardown(() => { byQuery.close(); byMessage.close() })
  await byMessage.next((m) => m.type === 'snapshot')
  byMessage.send({ type: 'subscribe', callSid: a })
  await byMessage.next((m) => m.type === 'snapshot' && m.scope === a)
  for (const e of scriptedCall({ callSid: b, t0: 1 })) app.bus.publish(e)
  for (const e of scriptedCall({ callSid: a, t0: 2 })) app.bus.publish(e)
  for (const s of [byQuery, byMessage]) {
    await s.next((m) => m.type === 'call.ended')
    const events = s.messages.filter((m) => m.type !== 'snapshot' && m.type !== 'heartbeat') as UiEvent[]
    t.ok(events.length > 10)
    t.ok(events.every((e) => e.callSid === a), 'only the subscribed call')
  }
})

t.test('a dashboard that stops reading is dropped with 1013 and the hub moves on', async (t) => {
  const app = await bareDashboardApp(t, { hub: { maxBufferedBytes: 256 * 1024, closeGraceMs: 20_000 } })
  const base = await listen(app)
  const cookie = await loginCookie(app)
  const slow = await new UiSocket(wsUrl(base), { cookie }).opened()
  const fast = await new UiSocket(wsUrl(base), { cookie }).opened()
  t.teardown(() => { slow.close(); fast.close() })
  await slow.next((m) => m.type === 'snapshot')
  ;(slow.ws as unknown as { _socket: Socket })._socket.pause() // the peer stops reading
  const sid = callSidFor(300)
  app.bus.publish({ type: 'call.webhook', callSid: sid, at: 1, mode: 'assist', direction: 'inbound', from: '+14155550123', to: '+15550002222', ai: true })
  const big = 'x'.repeat(32 * 1024)
  let n = 0
  // Kernel socket buffers absorb the first few MB; then ws buffers and the hub notices.
  while (app.hub.stats.dropped === 0 && n < 4000) {
    app.bus.publish({ type: 'transcript.final', callSid: sid, at: 2, itemId: `i${n++}`, speaker: 'remote', text: big, startMs: n, endMs: n + 1 })
    if (n % 20 === 0) await sleep(1)
  }
  t.equal(app.hub.stats.dropped, 1, `dropped after ${n} large events`)
  t.equal(app.hub.stats.clients, 1, 'the reading dashboard is still attached')
  ;(slow.ws as unknown as { _socket: Socket })._socket.resume()
  await new Promise((resolve) => slow.ws.once('close', resolve))
  t.equal(slow.closeCode, 1013)
  app.bus.publish({ type: 'transcript.final', callSid: sid, at: 3, itemId: 'after', speaker: 'remote', text: 'still flowing', startMs: 1e6, endMs: 1e6 + 1 })
  const last = await fast.next((m) => m.type === 'transcript.final' && m.line.itemId === 'after')
  t.ok(last, 'the fast dashboard got everything, including events after the drop')
})

t.test('closing the app closes dashboards with 1001', async (t) => {
  const app = await bareDashboardApp(t)
  const base = await listen(app)
  const s = await new UiSocket(wsUrl(base), { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }).opened()
  await s.next((m) => m.type === 'snapshot')
  const closed = new Promise((resolve) => s.ws.once('close', resolve))
  await app.close()
  await closed
  t.equal(s.closeCode, 1001)
})
