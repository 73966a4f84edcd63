/** The setup doctor: runs every check in order and renders the report for people or machines. */
import { checkConfig } from './config-check.ts'
import { runLiveChecks } from './live.ts'
import { checkModels } from './models-check.ts'
import { checkHealth, checkStream, checkVersion } from './server-checks.ts'
import { checkWebhook } from './webhook-check.ts'
import type { CheckId, CheckResult, CheckStatus, DoctorDeps, DoctorOptions, DoctorReport } from './types.ts'

const TITLES: Record<CheckId, string> = {
  config: 'Configuration',
  models: 'Model retirements',
  health: 'Health (/healthz)',
  version: 'Deployment (/version)',
  stream: 'Media stream handshake',
  webhook: 'Twilio number webhook',
  'openai-assist': 'OpenAI assist sessions',
  'openai-agent': 'OpenAI agent session',
  'openai-hint': 'OpenAI hint model',
  'openai-summary': 'OpenAI summary model',
}
const LIVE_IDS = ['openai-assist', 'openai-agent', 'openai-hint', 'openai-summary'] as const
/** Per live check; they run at once, so the whole --live part ends within about this (plus closing). */
export const DEFAULT_LIVE_TIMEOUT_MS = 10_000
const skipped = (id: CheckId, message: string): CheckResult => ({ id, title: TITLES[id], status: 'skip', message })

/**
 * Config first (nothing else can run without it), then its models' retirement dates, then the
 * server (unreachable skips the rest of the server checks, so one cause gives one message), then
 * the Twilio number, then (--live) what OpenAI says to the sessions and requests calls would make.
 */
export async function runDoctor (opts: DoctorOptions, deps: DoctorDeps): Promise<DoctorReport> {
  const checks: CheckResult[] = []
  const { config, result } = checkConfig(opts.env)
  checks.push(result)
  if (config === undefined) {
    for (const id of ['models', 'health', 'version', 'stream', 'webhook', ...(opts.live === true ? LIVE_IDS : [])] as const) checks.push(skipped(id, 'fix the configuration first'))
    return { ok: false, publicBaseUrl: opts.env.PUBLIC_BASE_URL, connect: opts.connect, checks }
  }
  checks.push(checkModels(config, opts.now ?? new Date()))
  const where = opts.connect ?? config.publicBaseUrl
  const health = await checkHealth(config, deps.httpGet, opts.timeoutMs, where)
  checks.push(health.result)
  if (health.reachable) {
    checks.push(await checkVersion(config, deps.httpGet, {
      timeoutMs: opts.timeoutMs,
      where,
      localVersion: opts.localVersion,
      ...(opts.expectCommit !== undefined ? { expectCommit: opts.expectCommit } : {}),
      ...((opts.expectDeployId ?? opts.env.DEPLOY_ID) !== undefined ? { expectDeployId: opts.expectDeployId ?? opts.env.DEPLOY_ID } : {}),
    }))
    checks.push(await checkStream(config, deps.wsHandshake, opts.timeoutMs, where))
  } else {
    checks.push(skipped('version', 'server unreachable'), skipped('stream', 'server unreachable'))
  }
  const api = config.twilioAccountSid === undefined || deps.twilioApi === undefined
    ? undefined
    : deps.twilioApi({ accountSid: config.twilioAccountSid, authToken: config.twilioAuthToken, baseUrl: config.twilioApiBaseUrl })
  checks.push(await checkWebhook(config, api, { fix: opts.fix === true, timeoutMs: opts.timeoutMs }))
  if (opts.live === true) checks.push(...await runLiveChecks(config, deps.live?.(config), opts.liveTimeoutMs ?? DEFAULT_LIVE_TIMEOUT_MS))
  return { ok: checks.every((c) => c.status !== 'fail'), publicBaseUrl: config.publicBaseUrl, connect: opts.connect, checks }
}

const MARK: Record<CheckStatus, string> = { pass: '✓', fixed: '✓', warn: '!', fail: '✗', skip: '-' }

/** Human-readable report: one line per check, then its details and the fix, indented. */
export function formatReport (report: DoctorReport): string {
  const lines = [`TalkHint doctor: ${report.publicBaseUrl ?? '(no PUBLIC_BASE_URL)'}${report.connect !== undefined ? ` (connecting to ${report.connect})` : ''}`, '']
  for (const c of report.checks) {
    lines.push(`${MARK[c.status]} ${c.title}: ${c.status === 'skip' ? `skipped (${c.message})` : c.message}`)
    for (const d of c.details ?? []) lines.push(`    - ${d}`)
    if (c.fix !== undefined && (c.status === 'fail' || c.status === 'warn')) lines.push(`    → fix: ${c.fix}`)
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length
  lines.push('', report.ok ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`)
  return lines.join('\n') + '\n'
}
