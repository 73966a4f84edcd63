/** Finding 5 (slow bodies): a request that trickles in is cut at REQUEST_TIMEOUT_S; upgraded WebSockets are not. */
import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { WebSocket } from 'ws'
import { buildTestApp, listen, TEST_DASHBOARD_TOKEN } from '../helpers.ts'

t.test('1 byte every 300 ms: the server answers 408 and closes at REQUEST_TIMEOUT_S', async (t) => {
  const app = await buildTestApp(t, { REQUEST_TIMEOUT_S: '1' })
  const base = new URL(await listen(app))
  const socket = connect(Number(base.port), base.hostname)
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  let reply = ''
  socket.on('data', (c: Buffer) => { reply += c.toString() })
  const startedAt = Date.now()
  socket.write('POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{')
  const drip = setInterval(() => { if (!socket.destroyed && socket.writable) socket.write(' ') }, 300)
  t.teardown(() => clearInterval(drip))
  await once(socket, 'close')
  clearInterval(drip)
  const took = Date.now() - startedAt
  t.match(reply, /^HTTP\/1\.1 408 /, 'a 408 Request Timeout')
  t.ok(took >= 900 && took < 4000, `cut after about a second (${took} ms), not left open`)
})

t.test('a dashboard WebSocket idle well past REQUEST_TIMEOUT_S stays open', async (t) => {
  const app = await buildTestApp(t, { REQUEST_TIMEOUT_S: '1' })
  const base = await listen(app)
  const ws = new WebSocket(base.replace('http', 'ws') + '/ui', { headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.teardown(() => ws.terminate())
  await once(ws, 'open')
  let closed = false
  ws.on('close', () => { closed = true })
  await new Promise((resolve) => setTimeout(resolve, 2500))
  t.equal(closed, false, 'still open after 2.5 timeouts')
  ws.ping()
  await once(ws, 'pong')
  t.pass('and still answering')
})
