/** Redis down at start-up, then up: the cluster plugin's background retries join the fan-out without a restart. */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import type { CallEvent } from '../../src/call/events.ts'
import { buildTestApp } from '../helpers.ts'
import { until } from '../until.ts'

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0
const skip = hasRedisServer ? false : 'needs the redis-server binary (it starts a throwaway Redis on a free port)'

async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise((resolve) => srv.close(resolve))
  return port
}

t.test('an instance that started while Redis was down joins the fan-out once Redis is up', { skip }, async (t) => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const a = await buildTestApp(t, { REDIS_URL: url })
  t.equal(a.eventFeed?.started, false, 'A is up without Redis')

  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.teardown(() => { redis.kill('SIGKILL') })
  await until('A to join the fan-out (background retry)', () => a.eventFeed?.started === true, 20_000, 50)
  t.pass('A joined without a restart')

  const b = await buildTestApp(t, { REDIS_URL: url })
  t.equal(b.eventFeed?.started, true, 'B joined at start-up')
  const onB: CallEvent[] = []
  b.eventFeed?.subscribe((e) => { onB.push(e) })
  a.bus.publish({ type: 'call.status', callSid: 'CArecovered', at: Date.now(), status: 'ringing' })
  await until('A\'s event on B', () => onB.some((e) => e.callSid === 'CArecovered'), 5000, 50)
  t.pass('A\'s events reach B: fan-out resumed')
})
