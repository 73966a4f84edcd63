/** Doctor checks 2–4: PUBLIC_BASE_URL answers /healthz and /version and completes the media-stream handshake. */
import type { Config } from '../../src/config.ts'
import { HEALTH_PATH, mediaStreamUrl, MEDIA_STREAM_PATH, publicUrl, TWILIO_SUBPROTOCOL, VERSION_PATH } from '../../src/routes.ts'
import { signTwilioRequest, TWILIO_SIGNATURE_HEADER } from '../../src/twilio/signature.ts'
import type { CheckResult, HttpGet, WsHandshake } from './types.ts'

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL'])
const TLS = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|EPROTO$|ERR_CERT)/

/** Turns a network error into what went wrong and how to fix it; `where` names the address tried. */
export function describeNetworkError (err: unknown, where: string, timeoutMs: number): { message: string, fix: string } {
  const code = (err as { code?: string }).code ?? 'EUNKNOWN'
  const host = where.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '')
  if (DNS.has(code)) {
    return { message: `server unreachable: cannot resolve ${host} (DNS, ${code})`, fix: 'Check the host name in PUBLIC_BASE_URL. A new Fly app or custom domain can take a few minutes to resolve; a tunnel (ngrok, cloudflared) gets a new name each time it restarts.' }
  }
  if (code === 'ECONNREFUSED') {
    return { message: `server unreachable: connection refused by ${host}`, fix: 'Nothing is listening there. Start TalkHint (npm start) and make sure it listens on 0.0.0.0 and on PORT; on Fly, [http_service] internal_port must equal PORT; a tunnel must forward to that port.' }
  }
  if (code === 'ETIMEDOUT') {
    return { message: `server unreachable: no answer from ${host} within ${timeoutMs} ms`, fix: 'Check that the machine is running (fly status; Fly autostop may have stopped it) and that no firewall drops the traffic, or retry with a longer --timeout.' }
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return { message: `server unreachable: no route to ${host} (${code})`, fix: 'Check this machine\'s network connection and the address in PUBLIC_BASE_URL.' }
  }
  if (TLS.test(code)) {
    return { message: `TLS failed for ${host} (${code})`, fix: `The https certificate for ${host} is not valid for that name or has expired. On Fly: fly certs show ${host}. Twilio refuses invalid certificates too.` }
  }
  if (code === 'ECONNRESET') {
    return { message: `the connection to ${host} was reset`, fix: 'A proxy or the server closed the connection: check that PUBLIC_BASE_URL is the address TalkHint is served at and that the server is not crashing (see its log).' }
  }
  return { message: `request to ${host} failed (${code}): ${(err as Error).message}`, fix: 'Check PUBLIC_BASE_URL and that the server is running.' }
}

const snippet = (body: string): string => body.replace(/\s+/g, ' ').slice(0, 120)
const parse = (body: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(body) as unknown
    return typeof v === 'object' && v !== null ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
const NOT_TALKHINT = 'Point PUBLIC_BASE_URL at the address TalkHint itself is served at (including any path prefix your proxy adds).'

/** GET /healthz: 200 {status:ok} passes; 503 means draining. `reachable` false skips the other server checks. */
export async function checkHealth (config: Config, httpGet: HttpGet, timeoutMs: number, where: string): Promise<{ reachable: boolean, result: CheckResult }> {
  const url = publicUrl(config.publicBaseUrl, HEALTH_PATH)
  const base = { id: 'health', title: 'Health (/healthz)' } as const
  let res
  try {
    res = await httpGet(url, timeoutMs)
  } catch (err) {
    return { reachable: false, result: { ...base, status: 'fail', ...describeNetworkError(err, where, timeoutMs), data: { url } } }
  }
  const data = { url, status: res.status }
  const body = parse(res.body)
  if (res.status === 200 && body?.status === 'ok') return { reachable: true, result: { ...base, status: 'pass', message: `${url} answered 200 ok`, data } }
  if (res.status === 503) {
    return {
      reachable: true,
      result: { ...base, status: 'fail', message: `the server is draining (503${body?.status === 'draining' ? ' draining' : ''}): a deploy or shutdown is under way and new calls get no AI`, fix: 'Wait for the deploy to finish and run the doctor again. If it stays 503, restart the instance (fly machine restart / redeploy).', data },
    }
  }
  if (res.status === 404) return { reachable: true, result: { ...base, status: 'fail', message: `${url} is not served (404): PUBLIC_BASE_URL does not point at TalkHint`, fix: NOT_TALKHINT, data } }
  return { reachable: true, result: { ...base, status: 'fail', message: `${url} answered ${res.status} ${snippet(res.body)}`.trim(), fix: `Expected 200 {"status":"ok"}. ${NOT_TALKHINT} If it is TalkHint, its log says what failed.`, data } }
}

/** GET /version: prints the build and flags a stale deployment. */
export async function checkVersion (config: Config, httpGet: HttpGet, opts: { timeoutMs: number, where: string, localVersion: string, expectCommit?: string, expectDeployId?: string }): Promise<CheckResult> {
  const url = publicUrl(config.publicBaseUrl, VERSION_PATH)
  const base = { id: 'version', title: 'Deployment (/version)' } as const
  let res
  try {
    res = await httpGet(url, opts.timeoutMs)
  } catch (err) {
    return { ...base, status: 'fail', ...describeNetworkError(err, opts.where, opts.timeoutMs) }
  }
  const v = parse(res.body)
  if (res.status !== 200 || typeof v?.version !== 'string') {
    return { ...base, status: 'fail', message: `${url} answered ${res.status} without TalkHint's version JSON`, fix: NOT_TALKHINT, data: { url, status: res.status } }
  }
  const commit = typeof v.commit === 'string' ? v.commit : null
  const deployId = typeof v.deployId === 'string' ? v.deployId : null
  const message = `version ${v.version}, commit ${commit ?? 'unknown'}, deploy ${deployId ?? 'unknown'}, started ${String(v.startedAt ?? '?')}`
  const data = { url, version: v.version, commit, deployId, startedAt: v.startedAt ?? null, mode: v.mode ?? null }
  const stale = (why: string, fix: string): CheckResult => ({ ...base, status: 'fail', message: `stale deployment: ${why}`, details: [message], fix, data })
  const REDEPLOY = 'Deploy this checkout (fly deploy --build-arg GIT_COMMIT=$(git rev-parse HEAD), or redeploy on Replit) and wait until every machine runs it (fly status). If an old machine keeps answering, stop it: fly machines list.'
  if (opts.expectCommit !== undefined) {
    if (commit === null) return stale(`expected commit ${opts.expectCommit}, but the server reports none`, `Set GIT_COMMIT at deploy time so /version can tell builds apart (${REDEPLOY})`)
    if (!commit.startsWith(opts.expectCommit) && !opts.expectCommit.startsWith(commit)) return stale(`the server runs commit ${commit}, expected ${opts.expectCommit}`, REDEPLOY)
  }
  if (opts.expectDeployId !== undefined && deployId !== opts.expectDeployId) {
    return stale(`the server runs deploy ${deployId ?? '(none)'}, expected ${opts.expectDeployId}`, REDEPLOY)
  }
  const order = compareVersions(v.version, opts.localVersion)
  if (order < 0) return stale(`the server runs ${v.version}, this checkout is ${opts.localVersion}`, REDEPLOY)
  if (order > 0) {
    return { ...base, status: 'warn', message, details: [`this checkout (${opts.localVersion}) is older than the deployment (${v.version})`], fix: 'Update this checkout (git pull) before changing the deployment from it.', data }
  }
  return { ...base, status: 'pass', message, data }
}

/** Compares dotted versions numerically (1.10.0 > 1.9.0); pre-release suffixes are ignored. */
export function compareVersions (a: string, b: string): number {
  const pa = a.split(/[.+-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0)
  const pb = b.split(/[.+-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

/** Opens the media stream exactly as Twilio does: wss URL from TwiML, subprotocol, X-Twilio-Signature over the URL. */
export async function checkStream (config: Config, wsHandshake: WsHandshake, timeoutMs: number, where: string): Promise<CheckResult> {
  const url = mediaStreamUrl(config.publicBaseUrl)
  const base = { id: 'stream', title: 'Media stream handshake' } as const
  const signature = signTwilioRequest(config.twilioAuthToken, url, {})
  let res
  try {
    res = await wsHandshake(url, { protocol: TWILIO_SUBPROTOCOL, headers: { [TWILIO_SIGNATURE_HEADER]: signature }, timeoutMs })
  } catch (err) {
    return { ...base, status: 'fail', ...describeNetworkError(err, where, timeoutMs), data: { url } }
  }
  if (res.kind === 'open' && res.protocol === TWILIO_SUBPROTOCOL) {
    return { ...base, status: 'pass', message: `${url}: 101, subprotocol ${TWILIO_SUBPROTOCOL} echoed, signature accepted`, data: { url, status: 101, protocol: res.protocol } }
  }
  if (res.kind !== 'refused') {
    return { ...base, status: 'fail', message: `${url} upgraded without echoing ${TWILIO_SUBPROTOCOL} (${res.kind === 'open' ? `got "${res.protocol}"` : res.detail})`, fix: `Something in front of TalkHint strips Sec-WebSocket-Protocol, or this is not TalkHint. ${NOT_TALKHINT}`, data: { url, status: 101 } }
  }
  const data = { url, status: res.status }
  if (res.status === 404) {
    return { ...base, status: 'fail', message: `the stream path is not served (404 on ${MEDIA_STREAM_PATH}): is PUBLIC_BASE_URL pointing at TalkHint?`, fix: `${NOT_TALKHINT} A proxy in front must also pass WebSocket upgrades on ${MEDIA_STREAM_PATH}.`, data }
  }
  if (res.status === 403) {
    return { ...base, status: 'fail', message: 'the server rejected the stream signature (403): TWILIO_AUTH_TOKEN differs from the server\'s', fix: `Use the same TWILIO_AUTH_TOKEN here and on the server (Twilio Console → Account → API keys & tokens → Auth Token). The signature also covers the URL: the server's PUBLIC_BASE_URL must be exactly ${config.publicBaseUrl}.`, data }
  }
  if (res.status === 503) {
    return { ...base, status: 'fail', message: 'the stream upgrade got 503: the server is draining or shutting down', fix: 'Wait for the deploy to finish and run the doctor again.', data }
  }
  return { ...base, status: 'fail', message: `the stream upgrade was answered with HTTP ${res.status} instead of 101`, fix: `A proxy in front may not pass WebSocket upgrades, or this is not TalkHint. ${NOT_TALKHINT}`, data }
}
