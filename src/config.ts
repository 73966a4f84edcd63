/** Configuration: one typed, validated, frozen object loaded once from the environment. */
import { isIP } from 'node:net'
import { isSupportedCountry } from 'libphonenumber-js/max'
import { TRANSCRIBE_TURNS, type TranscribeTurns } from './ai/turn-modes.ts'

export const MODES = ['assist', 'agent'] as const
export type Mode = typeof MODES[number]

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface Config {
  readonly port: number
  readonly host: string
  /** Public https origin Twilio reaches us at; every signed URL is built from it (never from Host). */
  readonly publicBaseUrl: string
  readonly twilioAccountSid: string | undefined
  readonly twilioAuthToken: string
  readonly twilioPhoneNumber: string | undefined
  readonly twilioWhatsappNumber: string | undefined
  /** Where the Twilio REST client sends requests; a local fake in tests. */
  readonly twilioApiBaseUrl: string | undefined
  readonly operatorPhone: string | undefined
  readonly mode: Mode
  readonly openaiApiKey: string | undefined
  readonly openaiBaseUrl: string
  readonly realtimeModel: string
  readonly transcribeModel: string
  readonly hintModel: string
  readonly summaryModel: string
  readonly voice: string
  readonly agentInstructions: string
  readonly agentGreeting: string
  /** Who outbound agent calls are made for (BUSINESS_NAME): said in their greeting and voicemail. */
  readonly businessName: string | undefined
  /** The voicemail an outbound agent call leaves (VOICEMAIL_TEMPLATE, `{purpose}` and `{business}` filled in); undefined: built in. */
  readonly voicemailTemplate: string | undefined
  readonly turnDetection: 'server_vad' | 'semantic_vad'
  readonly hintsPrompt: string | undefined
  readonly hintsPromptFile: string | undefined
  readonly language: string | undefined
  readonly dashboardToken: string
  /** True when DASHBOARD_TOKEN was not set and one was generated at start-up. */
  readonly dashboardTokenGenerated: boolean
  /** How long a dashboard login lasts (DASHBOARD_SESSION_HOURS, default 12; renewed while in use). */
  readonly dashboardSessionHours: number
  readonly metricsToken: string | undefined
  readonly databaseUrl: string
  readonly redisUrl: string | undefined
  /** Prefix of every Redis key and channel, so several deployments can share one Redis. */
  readonly redisPrefix: string
  readonly deployId: string | undefined
  readonly commit: string | undefined
  readonly logLevel: LogLevel
  readonly logPhoneNumbers: boolean
  readonly maxCalls: number
  /** Event-loop delay (ms) past which new calls are answered without AI. */
  readonly maxEventLoopDelayMs: number
  /** Event-loop utilisation (0.5–1) past which new calls are answered without AI; 1 turns this probe off. */
  readonly maxEventLoopUtilization: number
  readonly drainTimeoutS: number
  readonly retentionDays: number | undefined
  /** Realtime bridge: open a fresh upstream session this long after one opened (the API caps sessions at 60 min). */
  readonly realtimeRolloverMs: number
  /** A session pre-warmed by the webhook closes if no media stream adopts it within this time. */
  readonly realtimePrewarmTtlMs: number
  /** Most audio (ms) held per upstream session while it is not ready; older frames are dropped past it. */
  readonly realtimeBufferMs: number
  /** Agent mode: consecutive failed reconnects before the caller is transferred to the operator. */
  readonly realtimeReconnectAttempts: number
  /** Key of the per-call media-stream tokens; undefined = derived from TWILIO_AUTH_TOKEN (src/twilio/stream-token.ts). */
  readonly streamTokenSecret: string | undefined
  /** An upgraded /media socket that sends no `start` within this time is closed. */
  readonly mediaStartTimeoutMs: number
  /** A started stream with no media frame for this long (Twilio sends one every ~20 ms, silence too) is closed. */
  readonly mediaIdleTimeoutMs: number
  /** Upgraded /media sockets allowed to wait for `start` at once; more are closed at once. */
  readonly maxPendingStreams: number
  /** Which proxy's client-address header to trust (TRUST_PROXY); `none`: the socket's peer address. */
  readonly trustProxy: TrustProxy
  /** Click-to-call destinations allowed (DIAL_ALLOWED_COUNTRIES, ISO 3166 codes); undefined: the Twilio number's own country. */
  readonly dialAllowedCountries: readonly string[] | undefined
  /** Calls one dashboard session may place per minute (DIAL_RATE_PER_SESSION_PER_MIN). */
  readonly dialRatePerSessionPerMin: number
  /** Calls this instance may place per hour, all sessions together (DIAL_RATE_PER_INSTANCE_PER_HOUR). */
  readonly dialRatePerInstancePerHour: number
  /** Most seconds a client may take to send one whole HTTP request, headers and body (REQUEST_TIMEOUT_S). */
  readonly requestTimeoutS: number
  /** Assist transcription turns: undefined = follow the model (src/ai/turn-modes.ts). */
  readonly transcribeTurns: TranscribeTurns | undefined
  /** Client turns: quiet (ms) that ends an utterance. */
  readonly turnSilenceMs: number
  /** Client turns: shorter utterances (ms) are cleared, never committed. */
  readonly turnMinMs: number
  /** Client turns: an utterance this long (ms) is committed and the rest starts the next one. */
  readonly turnMaxMs: number
}

/**
 * TRUST_PROXY: `false` (default: nothing in front, the socket address is the client), `fly` (Fly-Client-IP),
 * `replit` (one proxy hop appending X-Forwarded-For), a hop count, or a comma list of proxy addresses/CIDRs.
 */
export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'fly' }
  | { readonly kind: 'replit' }
  | { readonly kind: 'hops', readonly hops: number }
  | { readonly kind: 'cidrs', readonly cidrs: readonly string[] }

export type Env = Readonly<Record<string, string | undefined>>

/** Thrown when the environment is unusable; `problems` names every bad or missing setting. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  readonly problems: readonly string[]
  constructor (problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

const E164 = /^\+[1-9]\d{6,14}$/

/** True for a phone number in E.164 form (+ then 7 to 15 digits). */
export function isE164 (value: string): boolean {
  return E164.test(value)
}

/** Generates a URL-safe random token (used when DASHBOARD_TOKEN is not set). */
export function randomToken (bytes = 24): string {
  return globalThis.crypto.getRandomValues(new Uint8Array(bytes))
    .reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')
}

/**
 * Reads and validates the environment. Collects every problem before failing, so a
 * deploy with three mistakes is fixed in one round trip, not three.
 */
export function loadConfig (env: Env = {}): Config {
  const problems: string[] = []
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim()
    return v === undefined || v === '' ? undefined : v
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name)
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`)
      return fallback
    }
    return n
  }
  const fraction = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name)
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max) {
      problems.push(`${name} must be a number from ${min} to ${max} (got "${raw}")`)
      return fallback
    }
    return n
  }
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(name)
    if (raw === undefined) return fallback
    if ((allowed as readonly string[]).includes(raw)) return raw as T
    problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`)
    return fallback
  }
  const phone = (name: string): string | undefined => {
    const raw = str(name)
    if (raw !== undefined && !isE164(raw)) problems.push(`${name} must be an E.164 phone number like +14155550100`)
    return raw
  }

  const publicBaseUrl = parsePublicBaseUrl(str('PUBLIC_BASE_URL'), problems)
  const twilioAuthToken = str('TWILIO_AUTH_TOKEN')
  if (twilioAuthToken === undefined) problems.push('TWILIO_AUTH_TOKEN is required (it verifies that webhooks come from Twilio)')
  const twilioAccountSid = str('TWILIO_ACCOUNT_SID')
  if (twilioAccountSid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(twilioAccountSid)) {
    problems.push('TWILIO_ACCOUNT_SID must look like AC followed by 32 hex characters')
  }
  const openaiBaseUrl = str('OPENAI_BASE_URL') ?? 'https://api.openai.com/v1'
  if (!/^https?:\/\/[^\s]+$/.test(openaiBaseUrl)) problems.push('OPENAI_BASE_URL must be an http:// or https:// URL')
  const twilioApiBaseUrl = str('TWILIO_API_BASE_URL')
  if (twilioApiBaseUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(twilioApiBaseUrl)) {
    problems.push('TWILIO_API_BASE_URL must be an http:// or https:// URL')
  }
  const databaseUrl = str('DATABASE_URL') ?? 'sqlite:./data/talkhint.db'
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with sqlite: or postgres://')
  }
  const redisUrl = str('REDIS_URL')
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://')
  const redisPrefix = str('REDIS_PREFIX') ?? 'talkhint'
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(redisPrefix)) problems.push('REDIS_PREFIX must be 1-64 letters, digits or _ . : -')
  const dashboardToken = str('DASHBOARD_TOKEN')
  if (dashboardToken !== undefined && dashboardToken.length < 12) problems.push('DASHBOARD_TOKEN must be at least 12 characters')
  const streamTokenSecret = str('STREAM_TOKEN_SECRET')
  if (streamTokenSecret !== undefined && streamTokenSecret.length < 32) problems.push('STREAM_TOKEN_SECRET must be at least 32 characters (e.g. openssl rand -hex 32)')
  const trustProxy = parseTrustProxy(str('TRUST_PROXY'), problems)
  const dialCountries = str('DIAL_ALLOWED_COUNTRIES')?.split(',').map((c) => c.trim().toUpperCase()).filter((c) => c !== '')
  if (dialCountries !== undefined && dialCountries.some((c) => !isSupportedCountry(c))) {
    problems.push(`DIAL_ALLOWED_COUNTRIES must be a comma list of two-letter country codes with a telephone numbering plan, like US,CA,GB (got "${str('DIAL_ALLOWED_COUNTRIES') ?? ''}")`)
  }
  const businessName = str('BUSINESS_NAME')
  if (businessName !== undefined && (businessName.length > 80 || /\p{Cc}/u.test(businessName))) problems.push('BUSINESS_NAME must be one line of at most 80 characters')
  const voicemailTemplate = str('VOICEMAIL_TEMPLATE')
  if (voicemailTemplate !== undefined) {
    const unknown = [...voicemailTemplate.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((n) => n !== 'purpose' && n !== 'business')
    if (voicemailTemplate.length > 600) problems.push('VOICEMAIL_TEMPLATE must be at most 600 characters (it is read onto an answering machine)')
    if (unknown.length > 0) problems.push(`VOICEMAIL_TEMPLATE may only use {purpose} and {business} (found {${unknown.join('}, {')}})`)
    if (voicemailTemplate.includes('{business}') && businessName === undefined) problems.push('VOICEMAIL_TEMPLATE uses {business}: set BUSINESS_NAME too')
  }
  const retention = str('RETENTION_DAYS') === undefined ? undefined : int('RETENTION_DAYS', 0, 1, 36500)

  const config: Config = {
    port: int('PORT', 8080, 0, 65535),
    host: str('HOST') ?? '0.0.0.0',
    publicBaseUrl,
    twilioAccountSid,
    twilioAuthToken: twilioAuthToken ?? '',
    twilioPhoneNumber: phone('TWILIO_PHONE_NUMBER'),
    twilioWhatsappNumber: phone('TWILIO_WHATSAPP_NUMBER'),
    twilioApiBaseUrl: twilioApiBaseUrl?.replace(/\/+$/, ''),
    operatorPhone: phone('OPERATOR_PHONE'),
    mode: oneOf('MODE', MODES, 'assist'),
    openaiApiKey: str('OPENAI_API_KEY'),
    openaiBaseUrl: openaiBaseUrl.replace(/\/+$/, ''),
    realtimeModel: str('REALTIME_MODEL') ?? 'gpt-realtime-2.1',
    transcribeModel: str('TRANSCRIBE_MODEL') ?? 'gpt-transcribe',
    hintModel: str('HINT_MODEL') ?? 'gpt-5.4-mini',
    summaryModel: str('SUMMARY_MODEL') ?? 'gpt-5.4-mini',
    voice: str('VOICE') ?? 'marin',
    agentInstructions: str('AGENT_INSTRUCTIONS') ??
      'You are a friendly, concise phone assistant. Keep answers short: this is a phone call.',
    agentGreeting: str('AGENT_GREETING') ?? 'Hello! Thanks for calling. How can I help you today?',
    businessName,
    voicemailTemplate,
    turnDetection: oneOf('TURN_DETECTION', ['server_vad', 'semantic_vad'] as const, 'server_vad'),
    hintsPrompt: str('HINTS_PROMPT'),
    hintsPromptFile: str('HINTS_PROMPT_FILE'),
    language: str('LANGUAGE'),
    dashboardToken: dashboardToken ?? randomToken(),
    dashboardTokenGenerated: dashboardToken === undefined,
    dashboardSessionHours: int('DASHBOARD_SESSION_HOURS', 12, 1, 24 * 90),
    metricsToken: str('METRICS_TOKEN'),
    databaseUrl,
    redisUrl,
    redisPrefix,
    deployId: str('DEPLOY_ID') ?? str('FLY_MACHINE_VERSION') ?? str('REPLIT_DEPLOYMENT_ID'),
    commit: str('GIT_COMMIT') ?? str('SOURCE_VERSION'),
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logPhoneNumbers: oneOf('LOG_PHONE_NUMBERS', ['true', 'false'] as const, 'false') === 'true',
    maxCalls: int('MAX_CALLS', 100, 1, 100000),
    maxEventLoopDelayMs: int('MAX_EVENT_LOOP_DELAY_MS', 200, 10, 60000),
    maxEventLoopUtilization: fraction('MAX_EVENT_LOOP_UTILIZATION', 0.98, 0.5, 1),
    drainTimeoutS: int('DRAIN_TIMEOUT_S', 280, 0, 3600),
    retentionDays: retention,
    realtimeRolloverMs: int('REALTIME_ROLLOVER_MS', 55 * 60_000, 100, 59 * 60_000),
    realtimePrewarmTtlMs: int('REALTIME_PREWARM_TTL_MS', 15_000, 10, 600_000),
    realtimeBufferMs: int('REALTIME_BUFFER_MS', 10_000, 100, 120_000),
    realtimeReconnectAttempts: int('REALTIME_RECONNECT_ATTEMPTS', 4, 1, 100),
    streamTokenSecret,
    mediaStartTimeoutMs: int('MEDIA_START_TIMEOUT_MS', 5000, 50, 60_000),
    mediaIdleTimeoutMs: int('MEDIA_IDLE_TIMEOUT_MS', 15_000, 50, 600_000),
    maxPendingStreams: int('MAX_PENDING_STREAMS', 50, 1, 100_000),
    trustProxy,
    dialAllowedCountries: dialCountries !== undefined && dialCountries.length > 0 ? Object.freeze(dialCountries) : undefined,
    dialRatePerSessionPerMin: int('DIAL_RATE_PER_SESSION_PER_MIN', 5, 1, 1000),
    dialRatePerInstancePerHour: int('DIAL_RATE_PER_INSTANCE_PER_HOUR', 30, 1, 100000),
    requestTimeoutS: int('REQUEST_TIMEOUT_S', 30, 1, 3600),
    transcribeTurns: str('TRANSCRIBE_TURNS') === undefined ? undefined : oneOf('TRANSCRIBE_TURNS', TRANSCRIBE_TURNS, 'server_vad'),
    turnSilenceMs: int('TURN_SILENCE_MS', 500, 300, 600),
    turnMinMs: int('TURN_MIN_MS', 200, 100, 2000),
    turnMaxMs: int('TURN_MAX_MS', 15_000, 2000, 60_000),
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze(config)
}

function parsePublicBaseUrl (raw: string | undefined, problems: string[]): string {
  if (raw === undefined) {
    problems.push('PUBLIC_BASE_URL is required: the https:// address Twilio reaches this server at')
    return ''
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    problems.push(`PUBLIC_BASE_URL must be an https:// URL (got "${raw}")`)
    return ''
  }
  if (url.protocol !== 'https:') problems.push('PUBLIC_BASE_URL must be an https:// URL (Twilio only streams to wss://)')
  if (url.search !== '' || url.hash !== '') problems.push('PUBLIC_BASE_URL must not have a query string or fragment')
  // Twilio signs a lowercase host; keep any path prefix (a reverse proxy may mount us under one).
  return `${url.protocol}//${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '')}`
}

function parseTrustProxy (raw: string | undefined, problems: string[]): TrustProxy {
  const v = raw?.toLowerCase()
  if (v === undefined || v === 'false' || v === 'none' || v === '0') return { kind: 'none' }
  if (v === 'fly') return { kind: 'fly' }
  if (v === 'replit') return { kind: 'replit' }
  if (/^\d+$/.test(v)) {
    const hops = Number(v)
    if (hops <= 10) return { kind: 'hops', hops }
  } else {
    const cidrs = v.split(',').map((c) => c.trim()).filter((c) => c !== '')
    if (cidrs.length > 0 && cidrs.every(isAddressOrCidr)) return { kind: 'cidrs', cidrs }
  }
  problems.push(`TRUST_PROXY must be false, fly, replit, a hop count from 1 to 10, or a comma list of proxy addresses/CIDRs (got "${raw ?? ''}")`)
  return { kind: 'none' }
}

function isAddressOrCidr (value: string): boolean {
  const [addr = '', bits, extra] = value.split('/')
  if (extra !== undefined) return false
  const family = isIP(addr)
  if (family === 0) return false
  if (bits === undefined) return true
  const n = Number(bits)
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128)
}
