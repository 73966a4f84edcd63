import t from 'tap'
import { buildTestApp } from '../helpers.ts'

t.test('GET /healthz answers ok, then 503 draining once shutdown begins', async (t) => {
  const app = await buildTestApp(t)
  const ok = await app.inject('/healthz')
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { status: 'ok' })
  app.lifecycle.startDrain()
  const draining = await app.inject('/healthz')
  t.equal(draining.statusCode, 503)
  t.same(draining.json(), { status: 'draining' })
})

t.test('GET /version tells which build is live', async (t) => {
  const app = await buildTestApp(t, { DEPLOY_ID: 'deploy-42', GIT_COMMIT: 'abc1234', MODE: 'agent' })
  const res = await app.inject('/version')
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { version: /^\d+\.\d+\.\d+/, commit: 'abc1234', deployId: 'deploy-42', node: process.version, mode: 'agent' })
  t.ok(!Number.isNaN(Date.parse(body.startedAt)), 'startedAt is an ISO date')
})
