import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCallEventBus } from '../../../src/call/bus.ts'
import { silentLogger } from '../../../src/log.ts'
import { startStorage } from '../../../src/storage/service.ts'
import { until } from '../../until.ts'

t.test('a database that is down at start-up: calls are held, then saved once it comes up and is migrated', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-service-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const blocker = join(dir, 'volume')
  writeFileSync(blocker, 'not a directory yet') // like a volume that is not mounted yet
  const bus = createCallEventBus(silentLogger)
  const service = await startStorage({
    databaseUrl: `sqlite:${join(blocker, 'talkhint.db')}`,
    bus,
    log: silentLogger,
    now: Date.now,
    migrateRetryMs: 10,
    recorder: { retryInitialMs: 5, retryMaxMs: 20 },
  })
  t.teardown(() => service.close())
  t.equal(service.ready(), false, 'started without a database')
  await t.rejects(service.store.listCalls({ limit: 1 }), { code: 'STORE_UNAVAILABLE' })
  bus.publish({ type: 'call.webhook', callSid: 'CA1', at: 1, mode: 'assist', direction: 'inbound', from: '+14155550101', to: '+15550002222', ai: true })
  bus.publish({ type: 'transcript.final', callSid: 'CA1', at: 2, itemId: 'i1', speaker: 'remote', text: 'kept while the disk was away', startMs: 0, endMs: 1 })

  rmSync(blocker)
  mkdirSync(blocker)
  await until('the migration and the queued writes', () => service.ready() && service.recorder.status().queued === 0)
  t.equal(service.ready(), true, 'migrated once the database appeared')
  await service.recorder.idle()
  t.same((await service.store.getCall('CA1'))?.utterances.map((u) => u.text), ['kept while the disk was away'])
  t.match(service.recorder.status(), { state: 'ok', dropped: 0 })
})

t.test('a bad DATABASE_URL fails start-up with a clear error', async (t) => {
  await t.rejects(startStorage({ databaseUrl: 'mysql://x', bus: createCallEventBus(silentLogger), log: silentLogger, now: Date.now }), { code: 'STORE_BAD_URL', message: /sqlite: or postgres/ })
})
