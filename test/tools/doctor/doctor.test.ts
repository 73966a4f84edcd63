import t from 'tap'
import { checkConfig } from '../../../tools/doctor/config-check.ts'
import { formatReport, runDoctor } from '../../../tools/doctor/doctor.ts'
import { connectProblem, mapToConnect, NetworkError } from '../../../tools/doctor/net.ts'
import { compareVersions, describeNetworkError } from '../../../tools/doctor/server-checks.ts'
import { webhookProblem } from '../../../tools/doctor/webhook-check.ts'
import type { DoctorDeps, HandshakeResult, HttpResponse } from '../../../tools/doctor/types.ts'

const ENV = { PUBLIC_BASE_URL: 'https://talkhint.example.com', TWILIO_AUTH_TOKEN: 'tok', DASHBOARD_TOKEN: 'dashboard-token-123', OPENAI_API_KEY: 'sk', OPERATOR_PHONE: '+15550001111' }

/** Fake network: answers by path; records what was asked. */
function fakeNet (answers: Record<string, HttpResponse | Error>, handshake: HandshakeResult | Error) {
  const asked: string[] = []
  const deps: DoctorDeps = {
    httpGet: async (url) => {
      asked.push(url)
      const a = answers[new URL(url).pathname]
      if (a === undefined) return { status: 404, body: '' }
      if (a instanceof Error) throw a
      return a
    },
    wsHandshake: async (url, opts) => {
      asked.push(`${url} ${opts.protocol} sig=${opts.headers['x-twilio-signature'] !== undefined}`)
      if (handshake instanceof Error) throw handshake
      return handshake
    },
  }
  return { deps, asked }
}
const OK = { '/healthz': { status: 200, body: '{"status":"ok"}' }, '/version': { status: 200, body: '{"version":"1.2.3","commit":"abc","deployId":null,"startedAt":"2026-01-01T00:00:00.000Z"}' } }
const run = (deps: DoctorDeps, env: Record<string, string> = ENV) => runDoctor({ env, timeoutMs: 1000, localVersion: '1.2.3' }, deps)

t.test('network failures are named with their cause and fix', async (t) => {
  const cases: Array<[string, RegExp, RegExp]> = [
    ['ENOTFOUND', /cannot resolve talkhint\.example\.com \(DNS, ENOTFOUND\)/, /host name in PUBLIC_BASE_URL/],
    ['EAI_AGAIN', /cannot resolve .*DNS/, /host name/],
    ['ECONNREFUSED', /connection refused by talkhint\.example\.com/, /0\.0\.0\.0.*internal_port/],
    ['ETIMEDOUT', /no answer from talkhint\.example\.com within 1000 ms/, /--timeout/],
    ['CERT_HAS_EXPIRED', /TLS failed for talkhint\.example\.com \(CERT_HAS_EXPIRED\)/, /fly certs show/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /TLS failed/, /certificate/],
    ['ECONNRESET', /was reset/, /proxy/],
    ['EWHATEVER', /failed \(EWHATEVER\)/, /PUBLIC_BASE_URL/],
  ]
  for (const [code, message, fix] of cases) {
    const d = describeNetworkError(new NetworkError(code, 'x'), 'https://talkhint.example.com', 1000)
    t.match(d.message, message, code)
    t.match(d.fix, fix, code)
  }
})

t.test('an unresolvable host fails health once and skips the other server checks', async (t) => {
  const { deps, asked } = fakeNet({ '/healthz': new NetworkError('ENOTFOUND', 'getaddrinfo ENOTFOUND') }, { kind: 'open', protocol: 'audio.twilio.com' })
  const report = await run(deps)
  t.equal(report.ok, false)
  t.same(report.checks.map((c) => [c.id, c.status]), [['config', 'pass'], ['models', 'pass'], ['health', 'fail'], ['version', 'skip'], ['stream', 'skip'], ['webhook', 'skip']])
  t.match(report.checks[2]?.message, /server unreachable: cannot resolve talkhint\.example\.com/)
  t.same(asked, ['https://talkhint.example.com/healthz'])
})

t.test('the stream check offers the subprotocol with a signature and reads every answer', async (t) => {
  const results: Array<[HandshakeResult | Error, string, RegExp]> = [
    [{ kind: 'open', protocol: 'audio.twilio.com' }, 'pass', /101, subprotocol audio\.twilio\.com echoed/],
    [{ kind: 'subprotocol', detail: 'Server sent no subprotocol' }, 'fail', /without echoing audio\.twilio\.com \(Server sent no subprotocol\)/],
    [{ kind: 'refused', status: 404 }, 'fail', /the stream path is not served \(404 on \/media\): is PUBLIC_BASE_URL pointing at TalkHint\?/],
    [{ kind: 'refused', status: 403 }, 'fail', /TWILIO_AUTH_TOKEN differs from the server's/],
    [{ kind: 'refused', status: 503 }, 'fail', /draining or shutting down/],
    [{ kind: 'refused', status: 200 }, 'fail', /answered with HTTP 200 instead of 101/],
    [new NetworkError('ETIMEDOUT', 'Opening handshake has timed out'), 'fail', /no answer from .* within 1000 ms/],
  ]
  for (const [handshake, status, message] of results) {
    const { deps, asked } = fakeNet(OK, handshake)
    const stream = (await run(deps)).checks.find((c) => c.id === 'stream')
    t.equal(stream?.status, status)
    t.match(stream?.message, message)
    t.ok(asked.includes('wss://talkhint.example.com/media audio.twilio.com sig=true'), 'the wss URL from TwiML, signed, with the subprotocol')
  }
})

t.test('health answers other than 200 ok are explained', async (t) => {
  const cases: Array<[HttpResponse, RegExp]> = [
    [{ status: 503, body: '{"status":"draining"}' }, /draining \(503 draining\)/],
    [{ status: 404, body: 'Not Found' }, /is not served \(404\): PUBLIC_BASE_URL does not point at TalkHint/],
    [{ status: 200, body: '<html>welcome</html>' }, /answered 200 <html>welcome<\/html>/],
    [{ status: 502, body: 'bad gateway' }, /answered 502 bad gateway/],
  ]
  for (const [answer, message] of cases) {
    const { deps } = fakeNet({ ...OK, '/healthz': answer }, { kind: 'open', protocol: 'audio.twilio.com' })
    const health = (await run(deps)).checks.find((c) => c.id === 'health')
    t.equal(health?.status, 'fail')
    t.match(health?.message, message)
  }
})

t.test('a /version that is not TalkHint\'s fails', async (t) => {
  const { deps } = fakeNet({ ...OK, '/version': { status: 200, body: '{"hello":1}' } }, { kind: 'open', protocol: 'audio.twilio.com' })
  const v = (await run(deps)).checks.find((c) => c.id === 'version')
  t.equal(v?.status, 'fail')
  t.match(v?.message, /without TalkHint's version JSON/)
})

t.test('--expect-commit against a server without GIT_COMMIT says how to set it', async (t) => {
  const { deps } = fakeNet({ ...OK, '/version': { status: 200, body: '{"version":"1.2.3","commit":null}' } }, { kind: 'open', protocol: 'audio.twilio.com' })
  const report = await runDoctor({ env: ENV, timeoutMs: 1000, localVersion: '1.2.3', expectCommit: 'abc' }, deps)
  const v = report.checks.find((c) => c.id === 'version')
  t.match(v?.message, /stale deployment: expected commit abc, but the server reports none/)
  t.match(v?.fix, /GIT_COMMIT/)
})

t.test('config: every problem is listed; warnings do not fail', async (t) => {
  const bad = checkConfig({ PUBLIC_BASE_URL: 'https://x.example.com', MODE: 'robot', MAX_CALLS: 'lots' })
  t.equal(bad.result.status, 'fail')
  t.equal(bad.config, undefined)
  t.equal(bad.result.details?.length, 3)
  t.match(bad.result.details?.join('\n'), /TWILIO_AUTH_TOKEN is required[\s\S]*MODE must be one of[\s\S]*MAX_CALLS must be/)
  const warn = checkConfig({ PUBLIC_BASE_URL: 'https://localhost:8080', TWILIO_AUTH_TOKEN: 't', MODE: 'assist' })
  t.equal(warn.result.status, 'warn')
  t.match(warn.result.details?.join('\n'), /Twilio cannot reach[\s\S]*OPENAI_API_KEY is not set[\s\S]*OPERATOR_PHONE is not set[\s\S]*DASHBOARD_TOKEN is not set/)
  t.equal(checkConfig(ENV).result.status, 'pass')
})

t.test('webhookProblem tells empty, http, elsewhere and GET apart', async (t) => {
  const expected = 'https://talkhint.example.com/twilio/inbound'
  const n = (voiceUrl: string, voiceMethod = 'POST') => ({ sid: 'PN1', phoneNumber: '+15550002222', voiceUrl, voiceMethod })
  t.equal(webhookProblem(n(expected), expected), undefined)
  t.equal(webhookProblem(n('https://TalkHint.example.com/twilio/inbound/'), expected), undefined, 'host case and a trailing slash do not matter')
  t.equal(webhookProblem(n('https://talkhint.example.com/twilio/inbound?x=1'), expected), undefined, 'a query string still reaches TalkHint')
  t.equal(webhookProblem(n(''), expected)?.kind, 'empty')
  t.equal(webhookProblem(n('http://talkhint.example.com/twilio/inbound'), expected)?.kind, 'http')
  t.equal(webhookProblem(n('https://demo.twilio.com/welcome/voice/'), expected)?.kind, 'elsewhere')
  t.equal(webhookProblem(n('https://talkhint.example.com/twilio/outbound'), expected)?.kind, 'elsewhere')
  t.equal(webhookProblem(n('not a url'), expected)?.kind, 'elsewhere')
  t.equal(webhookProblem(n(expected, 'GET'), expected)?.kind, 'method')
})

t.test('--connect keeps the public path and Host, like curl --connect-to', async (t) => {
  const http = mapToConnect('https://talkhint.example.com/base/healthz', 'http://127.0.0.1:8080')
  t.equal(http.url.href, 'http://127.0.0.1:8080/base/healthz')
  t.equal(http.host, 'talkhint.example.com')
  t.equal(mapToConnect('wss://talkhint.example.com/media', 'http://127.0.0.1:8080').url.href, 'ws://127.0.0.1:8080/media')
  t.equal(mapToConnect('wss://talkhint.example.com/media', 'https://10.0.0.5').url.href, 'wss://10.0.0.5/media')
  const direct = mapToConnect('https://talkhint.example.com/healthz', undefined)
  t.equal(direct.url.href, 'https://talkhint.example.com/healthz')
  t.equal(direct.host, undefined)
  t.equal(connectProblem('http://127.0.0.1:8080'), undefined)
  t.match(connectProblem('127.0.0.1:8080'), /must be a URL like http:\/\/127/)
  t.match(connectProblem('ftp://127.0.0.1'), /http:\/\/ or https:\/\//)
  t.match(connectProblem('nonsense'), /must be a URL/)
  t.match(connectProblem('http://127.0.0.1:8080/path'), /origin only/)
})

t.test('versions compare numerically', async (t) => {
  t.equal(compareVersions('1.10.0', '1.9.0'), 1)
  t.equal(compareVersions('0.1.0', '0.1.0'), 0)
  t.equal(compareVersions('0.1.0', '0.2.0'), -1)
  t.equal(compareVersions('2.0.0-rc.1', '2.0.0'), 0)
})

t.test('the text report marks each check and prints the fix under failures', async (t) => {
  const { deps } = fakeNet(OK, { kind: 'refused', status: 403 })
  const text = formatReport(await run(deps))
  t.match(text, /^TalkHint doctor: https:\/\/talkhint\.example\.com$/m)
  t.match(text, /^✓ Configuration: valid/m)
  t.match(text, /^✓ Health \(\/healthz\): https:\/\/talkhint\.example\.com\/healthz answered 200 ok$/m)
  t.match(text, /^✗ Media stream handshake: .*403/m)
  t.match(text, /^ {4}→ fix: Use the same TWILIO_AUTH_TOKEN/m)
  t.match(text, /^- Twilio number webhook: skipped \(set TWILIO_ACCOUNT_SID/m)
  t.match(text, /^1 check failed\.$/m)
})
