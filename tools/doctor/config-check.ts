/** Doctor check 1: the configuration loads, with every problem named and the usual traps flagged. */
import { ConfigError, loadConfig, type Config } from '../../src/config.ts'
import type { CheckResult } from './types.ts'

const WHERE_TO_SET = 'Set them in .env for a local run, or as secrets where it is deployed (fly secrets set NAME=value; Replit: Secrets), then run the doctor again.'

/** Loads the config like the server does; returns it (if valid) and the check result. */
export function checkConfig (env: Readonly<Record<string, string | undefined>>): { config: Config | undefined, result: CheckResult } {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const details = [...err.problems]
    const raw = env.PUBLIC_BASE_URL?.trim() ?? ''
    let fix = WHERE_TO_SET
    if (/^http:\/\//i.test(raw)) {
      // The classic tunnel mistake: copying the http:// address.
      details.push('PUBLIC_BASE_URL uses http instead of https: Twilio streams only to wss:// and signs the https:// URL, so every webhook would fail its signature check (403)')
      fix = `Set PUBLIC_BASE_URL=${raw.replace(/^http:/i, 'https:').replace(/\/+$/, '')} (the https:// address Twilio reaches; Fly, Replit, ngrok and cloudflared all serve https). ${WHERE_TO_SET}`
    }
    return {
      config: undefined,
      result: { id: 'config', title: 'Configuration', status: 'fail', message: `${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} in the environment`, details, fix },
    }
  }
  const warnings = configWarnings(config)
  return {
    config,
    result: {
      id: 'config',
      title: 'Configuration',
      status: warnings.length > 0 ? 'warn' : 'pass',
      message: `valid (mode ${config.mode}, PUBLIC_BASE_URL ${config.publicBaseUrl})`,
      ...(warnings.length > 0 ? { details: warnings } : {}),
      data: { mode: config.mode, publicBaseUrl: config.publicBaseUrl },
    },
  }
}

/** Valid but probably not what the operator wants; these never fail the run. */
function configWarnings (config: Config): string[] {
  const out: string[] = []
  const host = new URL(config.publicBaseUrl).hostname
  if (/^(localhost|127\.|0\.0\.0\.0|\[?::1\]?$|10\.|192\.168\.)/.test(host)) {
    out.push(`PUBLIC_BASE_URL points at ${host}, which Twilio cannot reach: use your deployment's address or a tunnel (ngrok, cloudflared)`)
  }
  if (config.openaiApiKey === undefined) out.push('OPENAI_API_KEY is not set: calls are answered without AI')
  if (config.mode === 'assist' && config.operatorPhone === undefined) {
    out.push('OPERATOR_PHONE is not set: assist mode forwards inbound calls to it (set it to your phone in E.164, e.g. +14155550100)')
  }
  if (config.dashboardTokenGenerated) out.push('DASHBOARD_TOKEN is not set: a new random one is made at every start, so dashboard logins break on restart')
  return out
}
