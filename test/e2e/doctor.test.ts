import t from 'tap'
import Fastify from 'fastify'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { buildTestApp, listen, testConfig, TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN } from '../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest, type FakeNumber } from '../../fakes/twilio-rest.ts'
import { createFakeResponses } from '../../fakes/openai-http.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime } from '../../fakes/realtime-server.ts'
import { runDoctor } from '../../tools/doctor/doctor.ts'
import { createHttpGet, createWsHandshake } from '../../tools/doctor/net.ts'
import type { CheckId, DoctorReport } from '../../tools/doctor/types.ts'
import { createTwilioApi } from '../../src/twilio/rest.ts'
import core from '../../plugins/core.ts'
import health from '../../plugins/health.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const { version: LOCAL_VERSION } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
const EXPECTED_WEBHOOK = `${TEST_BASE_URL}/twilio/inbound`
const NUMBER_SID = 'PN' + 'ab'.repeat(16)

interface Teardown { teardown (fn: () => unknown): void }

/** The operator's environment: everything set, pointing at the fake Twilio REST server. */
function doctorEnv (fakeUrl: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PUBLIC_BASE_URL: TEST_BASE_URL,
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID,
    TWILIO_PHONE_NUMBER: '+15550002222',
    TWILIO_API_BASE_URL: fakeUrl,
    DASHBOARD_TOKEN: TEST_DASHBOARD_TOKEN,
    OPENAI_API_KEY: 'sk-test',
    OPERATOR_PHONE: '+15550001111',
    ...overrides,
  }
}

async function fakeTwilio (t: Teardown, voiceUrl = EXPECTED_WEBHOOK, voiceMethod = 'POST') {
  const numbers: FakeNumber[] = [{ sid: NUMBER_SID, phone_number: '+15550002222', voice_url: voiceUrl, voice_method: voiceMethod }]
  const fake = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN, numbers })
  t.teardown(() => fake.close())
  return fake
}

function doctor (connect: string, env: Record<string, string | undefined>, opts: { fix?: boolean, expectCommit?: string, localVersion?: string, timeoutMs?: number } = {}): Promise<DoctorReport> {
  return runDoctor({ env, connect, timeoutMs: opts.timeoutMs ?? 3000, localVersion: opts.localVersion ?? LOCAL_VERSION, fix: opts.fix ?? false, ...(opts.expectCommit !== undefined ? { expectCommit: opts.expectCommit } : {}) }, {
    httpGet: createHttpGet({ connect }),
    wsHandshake: createWsHandshake({ connect }),
    twilioApi: createTwilioApi,
  })
}

const check = (report: DoctorReport, id: CheckId) => {
  const c = report.checks.find((x) => x.id === id)
  if (c === undefined) throw new Error(`no ${id} check`)
  return c
}

/** A loopback port nothing listens on. */
async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

// One real app serves every test that does not change its state (building one takes a while).
const app = await buildTestApp(t, { GIT_COMMIT: 'abc1234def', DEPLOY_ID: 'deploy-41' })
const base = await listen(app)

t.test('all green against the real app and the fake Twilio REST API', async (t) => {
  const fake = await fakeTwilio(t)
  const report = await doctor(base, doctorEnv(fake.url), { expectCommit: 'abc1234' })
  t.equal(report.ok, true)
  t.same(report.checks.map((c) => [c.id, c.status]), [['config', 'pass'], ['models', 'pass'], ['health', 'pass'], ['version', 'pass'], ['stream', 'pass'], ['webhook', 'pass']])
  t.match(check(report, 'stream').message, /101, subprotocol audio\.twilio\.com echoed/)
  t.match(check(report, 'version').data, { version: LOCAL_VERSION, commit: 'abc1234def' })
  t.match(check(report, 'webhook').message, /\+15550002222 calls https:\/\/talkhint\.example\.com\/twilio\/inbound/)
  t.notOk(fake.requests.some((r) => r.method === 'POST'), 'nothing was changed without --fix')
  t.equal(app.calls.size, 0, 'the probe stream never became a call')
})

t.test('a different TWILIO_AUTH_TOKEN gets the 403 message', async (t) => {
  const fake = await fakeTwilio(t)
  const report = await doctor(base, doctorEnv(fake.url, { TWILIO_AUTH_TOKEN: 'not-the-servers-token' }))
  t.equal(report.ok, false)
  const stream = check(report, 'stream')
  t.equal(stream.status, 'fail')
  t.match(stream.message, /403\): TWILIO_AUTH_TOKEN differs from the server's/)
  t.match(stream.fix, /same TWILIO_AUTH_TOKEN here and on the server/)
  t.match(check(report, 'webhook').message, /Twilio rejected TWILIO_ACCOUNT_SID/, 'the REST API refuses the wrong token too')
})

t.test('a server without the media route gets the 404 message', async (t) => {
  const bare = Fastify()
  t.teardown(() => bare.close())
  await bare.register(core, { config: testConfig() })
  await bare.register(health)
  const base = await listen(bare)
  const fake = await fakeTwilio(t)
  const report = await doctor(base, doctorEnv(fake.url))
  t.equal(check(report, 'health').status, 'pass')
  const stream = check(report, 'stream')
  t.equal(stream.status, 'fail')
  t.match(stream.message, /the stream path is not served \(404 on \/media\): is PUBLIC_BASE_URL pointing at TalkHint\?/)
  t.equal(report.ok, false)
})

t.test('a stale deployment is named: commit, deploy id or an older version', async (t) => {
  const fake = await fakeTwilio(t)
  const byCommit = check(await doctor(base, doctorEnv(fake.url), { expectCommit: 'def5678' }), 'version')
  t.equal(byCommit.status, 'fail')
  t.match(byCommit.message, /^stale deployment: the server runs commit abc1234def, expected def5678/)
  t.match(byCommit.fix, /fly deploy/)
  const byDeploy = check(await doctor(base, doctorEnv(fake.url, { DEPLOY_ID: 'deploy-42' })), 'version')
  t.match(byDeploy.message, /^stale deployment: the server runs deploy deploy-41, expected deploy-42/)
  const byVersion = check(await doctor(base, doctorEnv(fake.url), { localVersion: '99.0.0' }), 'version')
  t.match(byVersion.message, new RegExp(`^stale deployment: the server runs ${LOCAL_VERSION.replaceAll('.', '\\.')}, this checkout is 99\\.0\\.0`))
  const newer = check(await doctor(base, doctorEnv(fake.url), { localVersion: '0.0.1' }), 'version')
  t.equal(newer.status, 'warn', 'a checkout behind the deployment warns, it does not fail')
})

t.test('a webhook pointing elsewhere fails; --fix points it here and a re-run is green', async (t) => {
  const fake = await fakeTwilio(t, 'https://old-host.example.net/voice')
  const env = doctorEnv(fake.url)

  const before = await doctor(base, env)
  const w = check(before, 'webhook')
  t.equal(w.status, 'fail')
  t.match(w.message, /webhook points elsewhere: https:\/\/old-host\.example\.net\/voice \(expected https:\/\/talkhint\.example\.com\/twilio\/inbound\)/)
  t.match(w.fix, /--fix/)
  t.equal(before.ok, false)

  const fixed = await doctor(base, env, { fix: true })
  t.equal(check(fixed, 'webhook').status, 'fixed')
  t.equal(fixed.ok, true)
  const update = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith(`/IncomingPhoneNumbers/${NUMBER_SID}.json`))
  t.match(update?.params, { VoiceUrl: EXPECTED_WEBHOOK, VoiceMethod: 'POST' }, 'the fake received the update')
  t.equal(fake.numbers[0]?.voice_url, EXPECTED_WEBHOOK)

  const after = await doctor(base, env)
  t.equal(after.ok, true)
  t.ok(after.checks.every((c) => c.status === 'pass'))
})

t.test('an http:// webhook and a GET webhook get their own messages', async (t) => {
  const http = await fakeTwilio(t, 'http://talkhint.example.com/twilio/inbound')
  const w = check(await doctor(base, doctorEnv(http.url)), 'webhook')
  t.equal(w.status, 'fail')
  t.match(w.message, /uses http instead of https/)
  const get = await fakeTwilio(t, EXPECTED_WEBHOOK, 'GET')
  t.match(check(await doctor(base, doctorEnv(get.url)), 'webhook').message, /uses GET; TalkHint answers POST only/)
})

t.test('a number not in the account is named', async (t) => {
  const fake = await fakeTwilio(t)
  const w = check(await doctor(base, doctorEnv(fake.url, { TWILIO_PHONE_NUMBER: '+15550009999' })), 'webhook')
  t.equal(w.status, 'fail')
  t.match(w.message, /number not found: \+15550009999 is not in account AC/)
})

t.test('an unreachable server: connection refused, or no answer before --timeout', async (t) => {
  const fake = await fakeTwilio(t)
  const refused = await doctor(`http://127.0.0.1:${await closedPort()}`, doctorEnv(fake.url))
  t.match(check(refused, 'health').message, /server unreachable: connection refused by 127\.0\.0\.1:\d+/)
  t.equal(check(refused, 'version').status, 'skip')
  t.equal(check(refused, 'stream').status, 'skip')
  t.equal(check(refused, 'webhook').status, 'pass', 'the Twilio check does not depend on the server')
  t.equal(refused.ok, false)

  // Accepts connections and never answers.
  const silent: Server = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.close() })
  const { port } = silent.address() as AddressInfo
  const slow = await doctor(`http://127.0.0.1:${port}`, doctorEnv(fake.url), { timeoutMs: 200 })
  t.match(check(slow, 'health').message, /server unreachable: no answer from 127\.0\.0\.1:\d+ within 200 ms/)
})

t.test('PUBLIC_BASE_URL with http:// fails the config check with its own message', async (t) => {
  const report = await doctor('http://127.0.0.1:9', { PUBLIC_BASE_URL: 'http://talkhint.example.com', TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN })
  const c = check(report, 'config')
  t.equal(c.status, 'fail')
  t.match(c.details?.join('\n'), /uses http instead of https/)
  t.match(c.fix, /PUBLIC_BASE_URL=https:\/\/talkhint\.example\.com/)
  t.ok(report.checks.slice(1).every((x) => x.status === 'skip'))
})

/** Runs a CLI in a directory without .env, with only the given environment. */
function run (args: string[], env: Record<string, string | undefined>, cwd: string): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

t.test('the CLI (node tools/doctor.ts and bin/talkhint.js doctor) prints JSON and sets the exit code', async (t) => {
  const fake = await fakeTwilio(t)
  const cwd = await mkdtemp(join(tmpdir(), 'talkhint-doctor-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))

  // Settings come from ./.env; what the environment sets wins over it.
  const env = doctorEnv(fake.url)
  await writeFile(join(cwd, '.env'), Object.entries({ ...env, TWILIO_AUTH_TOKEN: 'overridden-by-the-environment' }).map(([k, v]) => `${k}=${v ?? ''}`).join('\n') + '\n')
  const ok = await run([join(ROOT, 'tools/doctor.ts'), '--connect', base, '--json'], { TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN }, cwd)
  t.equal(ok.code, 0, ok.stderr)
  const report = JSON.parse(ok.stdout) as DoctorReport
  t.equal(report.ok, true)
  t.equal(report.connect, base)
  t.same(report.checks.map((c) => c.status), ['pass', 'pass', 'pass', 'pass', 'pass', 'pass'])

  const bad = await run([join(ROOT, 'bin/talkhint.js'), 'doctor', '--connect', base, '--timeout', '3s', '--env-file', join(cwd, '.env')], {}, cwd)
  t.equal(bad.code, 1)
  t.match(bad.stdout, /✗ Media stream handshake: the server rejected the stream signature \(403\): TWILIO_AUTH_TOKEN differs from the server's/)
  t.match(bad.stdout, /→ fix: Use the same TWILIO_AUTH_TOKEN/)
  t.match(bad.stdout, /✓ Health \(\/healthz\)/)

  const usage = await run([join(ROOT, 'bin/talkhint.js')], {}, cwd)
  t.equal(usage.code, 0)
  t.match(usage.stderr, /Usage: talkhint <command>[\s\S]*doctor/)
  const unknown = await run([join(ROOT, 'bin/talkhint.js'), 'frobnicate'], {}, cwd)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command "frobnicate"/)
  const badOption = await run([join(ROOT, 'tools/doctor.ts'), '--timeout', 'soon'], {}, cwd)
  t.equal(badOption.code, 2)
  t.match(badOption.stderr, /--timeout must be/)
})

t.test('doctor --live (the CLI) against the fake OpenAI: exit 0 when every session and model is accepted, 1 on a refusal', async (t) => {
  const twilio = await fakeTwilio(t)
  const responses = createFakeResponses({ apiKey: FAKE_OPENAI_KEY, unknownModels: ['gpt-nope'] })
  const openai = await startFakeRealtime({ http: responses.listener })
  t.teardown(async () => {
    responses.stop()
    await openai.close()
  })
  const cwd = await mkdtemp(join(tmpdir(), 'talkhint-doctor-live-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))
  const env = doctorEnv(twilio.url, { OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: openai.url, MODE: 'agent' })

  const started = Date.now()
  const ok = await run([join(ROOT, 'tools/doctor.ts'), '--connect', base, '--json', '--live'], env, cwd)
  t.ok(Date.now() - started < 15_000, 'done within 15 s')
  t.equal(ok.code, 0, ok.stderr)
  const report = JSON.parse(ok.stdout) as DoctorReport
  t.same(report.checks.map((c) => [c.id, c.status]), [['config', 'pass'], ['models', 'pass'], ['health', 'pass'], ['version', 'pass'], ['stream', 'pass'], ['webhook', 'pass'],
    ['openai-assist', 'pass'], ['openai-agent', 'pass'], ['openai-hint', 'pass'], ['openai-summary', 'pass']])
  t.equal(openai.connections.length, 3, 'two transcription sessions and one agent session')
  t.ok(openai.connections.every((c) => c.closed), 'every socket closed')
  t.equal(app.calls.size, 0, 'no call placed')

  const bad = await run([join(ROOT, 'tools/doctor.ts'), '--connect', base, '--live'], { ...env, VOICE: 'robot', SUMMARY_MODEL: 'gpt-nope', REALTIME_MODEL: 'gpt-realtime' }, cwd)
  t.equal(bad.code, 1)
  t.match(bad.stdout, /^! Model retirements: 1 configured model has an announced shutdown date\n {4}- gpt-realtime \(REALTIME_MODEL\) shuts down on 2027-01-20, (\d+ days? left|less than a day left|already past): use gpt-realtime-2\.1 \[openai@/m)
  t.match(bad.stdout, /^✗ OpenAI agent session: realtime session \(REALTIME_MODEL=gpt-realtime, VOICE=robot\): refused: Invalid value: 'robot'.*\(param session\.audio\.output\.voice, code invalid_value\)$/m)
  t.match(bad.stdout, /^ {4}→ fix: Calls send exactly this, so they would fail the same way: change VOICE/m)
  t.match(bad.stdout, /^✗ OpenAI summary model: .*refused: HTTP 404: The model `gpt-nope` does not exist/m)
  t.match(bad.stdout, /^✓ OpenAI assist sessions: 2 transcription sessions/m)
  t.match(bad.stdout, /^2 checks failed\.$/m)
  t.ok(openai.connections.every((c) => c.closed), 'every socket closed after the refusals too')
})

// Last: it drains the shared app.
t.test('a draining server gets the 503 message', async (t) => {
  const fake = await fakeTwilio(t)
  app.lifecycle.startDrain()
  const report = await doctor(base, doctorEnv(fake.url))
  const h = check(report, 'health')
  t.equal(h.status, 'fail')
  t.match(h.message, /the server is draining \(503 draining\)/)
  t.equal(report.ok, false)
})
