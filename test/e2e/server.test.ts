import t from 'tap'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEST_AUTH_TOKEN, TEST_BASE_URL } from '../helpers.ts'
import { until } from '../until.ts'

const SERVER = new URL('../../src/server.ts', import.meta.url).pathname

function spawnServer (env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-server-'))
  const child = fork(SERVER, [], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: `sqlite:${join(dir, 't.db')}`, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return { child, dir, exited, out: () => stdout, err: () => stderr }
}

t.test('without DASHBOARD_TOKEN the server generates one and prints the login URL once, outside the JSON log', async (t) => {
  const s = spawnServer({ PUBLIC_BASE_URL: TEST_BASE_URL, TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN, OPERATOR_PHONE: '+15550001111' })
  t.teardown(() => { s.child.kill('SIGKILL'); rmSync(s.dir, { recursive: true, force: true }) })
  const [msg] = await once(s.child, 'message') as [{ port: number }]
  const base = `http://127.0.0.1:${msg.port}`
  await until('the printed token', () => /with the token: \S+\n/.test(s.err()), 5000, 50)
  const printed = s.err()
  t.match(printed, `log in at ${TEST_BASE_URL}/login`, 'public login URL')
  t.match(printed, `${base}/login`, 'local login URL')
  const token = /with the token: (\S+)/.exec(printed)?.[1] ?? ''
  t.ok(token.length >= 20, 'a long random token')
  t.equal(printed.split(token).length - 1, 1, 'printed once')
  t.notMatch(s.out(), token, 'never written to the JSON log')

  const login = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
  t.equal(login.status, 200, 'the printed token logs in')
  t.match(login.headers.get('set-cookie'), /HttpOnly/i, 'session cookie set')
  const wrong = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token + 'x' }) })
  t.equal(wrong.status, 401, 'another token does not')
  s.child.kill('SIGTERM')
  t.equal(await s.exited, 0)
})

t.test('a bad configuration stops start-up with one message naming every problem (exit 78)', async (t) => {
  const s = spawnServer({ PUBLIC_BASE_URL: 'http://insecure.example.com', PORT: 'eighty' })
  t.teardown(() => { s.child.kill('SIGKILL'); rmSync(s.dir, { recursive: true, force: true }) })
  t.equal(await s.exited, 78)
  t.match(s.err(), /PUBLIC_BASE_URL must be an https:\/\/ URL/)
  t.match(s.err(), /TWILIO_AUTH_TOKEN/)
  t.match(s.err(), /PORT/)
})
