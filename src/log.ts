/** Logging: the Logger type domain code depends on, and pino options with redaction and phone masking. */
import type { LoggerOptions } from 'pino'

/** The part of pino that src/ uses, so domain code never depends on Fastify. */
export interface Logger {
  fatal (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  info (obj: object, msg?: string): void
  debug (obj: object, msg?: string): void
  trace (obj: object, msg?: string): void
  child (bindings: Record<string, unknown>): Logger
}

/** A Logger that drops everything (tests and tools that want silence). */
export const silentLogger: Logger = {
  fatal () {},
  error () {},
  warn () {},
  info () {},
  debug () {},
  trace () {},
  child () { return silentLogger },
}

const PHONE = /\+?\d[\d\s().-]{6,}\d/g

/** Masks a phone number to its last four digits: +14155550123 → ***0123. */
export function maskPhone (value: string): string {
  const digits = value.replace(/\D/g, '')
  return digits.length <= 4 ? '***' : `***${digits.slice(-4)}`
}

/** Masks every phone-number-looking run inside a string (prefixes like `whatsapp:` survive). */
export function maskPhonesIn (text: string): string {
  return text.replace(PHONE, (m) => maskPhone(m))
}

/**
 * Masks the phone numbers in a request URL (a click-to-call leg's `?to=`, a contact page's path): any run of
 * digits after `+` or `%2B`, and the whole value of a phone-named query parameter. CallSids have no `+`.
 */
export function maskPhonesInUrl (url: string): string {
  const q = url.indexOf('?')
  const query = q < 0 ? '' : url.slice(q).replace(/([?&](?:to|from|phone|number)=)([^&#]*)/gi, (_, k: string, v: string) => k + maskPhone(v))
  return (q < 0 ? url : url.slice(0, q) + query).replace(/(?:\+|%2B)\d{5,}/gi, (m) => maskPhone(m))
}

/** Keys whose values are phone numbers wherever they appear in a log object. */
const PHONE_KEYS = ['from', 'to', 'From', 'To', 'Caller', 'Called', 'phone', 'operatorPhone', 'twilioPhoneNumber']

export interface LogOptions {
  level: string
  /** Log phone numbers in full (LOG_PHONE_NUMBERS=true); otherwise the last four digits only. */
  logPhoneNumbers: boolean
  pretty: boolean
}

/** pino options: JSON in production, pretty on a TTY; secrets redacted, phone numbers masked. */
export function loggerOptions (opts: LogOptions): LoggerOptions {
  const secretPaths = [
    'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-twilio-signature"]',
    'req.headers["set-cookie"]', 'res.headers["set-cookie"]',
    '*.apiKey', '*.authToken', '*.token', '*.password', '*.signature', '*.cookie',
    'apiKey', 'authToken', 'token', 'password', 'signature',
    'config.openaiApiKey', 'config.twilioAuthToken', 'config.dashboardToken', 'config.metricsToken',
    'config.streamTokenSecret',
  ]
  const paths = opts.logPhoneNumbers
    ? secretPaths
    : [...secretPaths, 'req.url', ...PHONE_KEYS, ...PHONE_KEYS.map((k) => `*.${k}`)]
  return {
    level: opts.level,
    redact: {
      paths,
      censor: (value: unknown, path: string[]) => {
        const key = path[path.length - 1] ?? ''
        if (key === 'url' && typeof value === 'string') return maskPhonesInUrl(value)
        if (PHONE_KEYS.includes(key) && typeof value === 'string') return maskPhonesIn(value)
        return '[redacted]'
      },
    },
    ...(opts.pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  }
}
