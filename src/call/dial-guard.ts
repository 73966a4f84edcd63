/** Toll-fraud guard for numbers we dial: country allow-list, premium and revenue-share ranges, call rate limits. */
import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max'
import type { Config } from '../config.ts'
import { setBounded } from '../util/bounded.ts'

export interface DialPolicy {
  /** ISO 3166 alpha-2 codes a call may go to. */
  readonly allowedCountries: ReadonlySet<string>
}

export type DialRefusal =
  | 'invalid_number' | 'country_not_allowed' | 'premium_rate' | 'shared_cost' | 'personal_number' | 'revenue_share_range'

export type DialCheck =
  | { ok: true, e164: string, country: string }
  | { ok: false, reason: DialRefusal, message: string }

/**
 * The allow-list: DIAL_ALLOWED_COUNTRIES, else the country of TWILIO_PHONE_NUMBER (the `max` metadata
 * places it; a fictional +1 555 number falls back to the first country of its calling code, US), else US.
 */
export function dialPolicy (config: Pick<Config, 'dialAllowedCountries' | 'twilioPhoneNumber'>): DialPolicy {
  if (config.dialAllowedCountries !== undefined) return { allowedCountries: new Set(config.dialAllowedCountries) }
  const own = config.twilioPhoneNumber === undefined ? undefined : parsePhoneNumberFromString(config.twilioPhoneNumber)
  return { allowedCountries: new Set([own?.country ?? own?.getPossibleCountries()[0] ?? 'US']) }
}

/**
 * Ranges refused whatever the allow-list says, because the library cannot classify them (it has no
 * country and no type for most) or files them as ordinary lines. Each is a known toll-fraud route:
 * - +870 Inmarsat, +881 global mobile satellite, +882/+883 international networks, +878 universal personal
 *   telecommunications, +888 OCHA, +979 international premium rate, +808 international shared cost
 *   (ITU-T E.164 non-geographic codes, priced per operator, the classic international revenue-share numbers);
 * - NANP exchange 976 (+1 NPA 976 XXXX): the pay-per-call exchange inside ordinary area codes, which the
 *   metadata files as fixed line or mobile.
 * Country-wide high-risk destinations (+247 Ascension, +53 Cuba, ...) are handled by the allow-list.
 */
const REVENUE_SHARE: ReadonlyArray<{ re: RegExp, what: string }> = [
  { re: /^\+(870|878|881|882|883|888|979|808)/, what: 'an international non-geographic (satellite, network or premium) number' },
  { re: /^\+1[2-9]\d{2}976\d{4}$/, what: 'a North American 976 pay-per-call number' },
]

/** Number types (from the `max` metadata) that cost the caller more than an ordinary call, and why. */
const REFUSED_TYPES: Partial<Record<NumberType & string, { reason: DialRefusal, what: string }>> = {
  PREMIUM_RATE: { reason: 'premium_rate', what: 'a premium-rate number' },
  SHARED_COST: { reason: 'shared_cost', what: 'a shared-cost number' },
  // UK 070 "personal numbers" forward anywhere at a premium rate: a well-known fraud route.
  PERSONAL_NUMBER: { reason: 'personal_number', what: 'a personal (follow-me) number' },
}

/**
 * Whether TalkHint may dial `raw` (E.164, spaces and punctuation allowed). Pure: no I/O, no logging,
 * so click-to-call and the agent's transfer can share it. Refusals carry a message fit for the user.
 */
export function checkDialDestination (raw: string, policy: DialPolicy): DialCheck {
  const e164 = raw.replace(/[\s().-]/g, '')
  if (!/^\+[1-9]\d{1,16}$/.test(e164)) return refuse('invalid_number', 'Enter the number in international form, like +14155550100.')
  for (const r of REVENUE_SHARE) {
    if (r.re.test(e164)) return refuse('revenue_share_range', `Calls to ${r.what} are not allowed (toll-fraud protection).`)
  }
  const n = parsePhoneNumberFromString(e164)
  if (n === undefined || !n.isValid()) return refuse('invalid_number', 'That is not a valid phone number (check the country code and the number of digits).')
  const type = n.getType()
  const refused = type === undefined ? undefined : REFUSED_TYPES[type]
  if (refused !== undefined) return refuse(refused.reason, `Calls to ${refused.what} are not allowed (toll-fraud protection).`)
  const country = n.country
  if (country === undefined || !policy.allowedCountries.has(country)) {
    const where = country === undefined ? 'international non-geographic numbers' : `country ${country}`
    return refuse('country_not_allowed', `Calls to ${where} are not allowed here (allowed: ${[...policy.allowedCountries].join(', ')}; DIAL_ALLOWED_COUNTRIES).`)
  }
  return { ok: true, e164: n.number, country }
}

function refuse (reason: DialRefusal, message: string): DialCheck {
  return { ok: false, reason, message }
}

export type RateCheck = { ok: true } | { ok: false, reason: 'session_rate' | 'instance_rate', retryAfterS: number, message: string }

/**
 * Calls placed per dashboard session per minute and per instance per hour (sliding windows). A stolen
 * session can place a few calls, not a phone bill. Memory: one short list per session, at most
 * `maxSessions` sessions (least recently used dropped), and one list for the instance.
 */
export class DialRateLimiter {
  readonly #perSession: number
  readonly #perInstance: number
  readonly #maxSessions: number
  readonly #sessions = new Map<string, number[]>()
  #instance: number[] = []

  constructor (opts: { perSessionPerMin: number, perInstancePerHour: number, maxSessions?: number }) {
    this.#perSession = opts.perSessionPerMin
    this.#perInstance = opts.perInstancePerHour
    this.#maxSessions = opts.maxSessions ?? 1000
  }

  /** Takes one call from both budgets, or says which one is spent (taking nothing). */
  take (session: string, now: number): RateCheck {
    const mine = (this.#sessions.get(session) ?? []).filter((at) => at > now - 60_000)
    this.#instance = this.#instance.filter((at) => at > now - 3600_000)
    if (mine.length >= this.#perSession) {
      return { ok: false, reason: 'session_rate', retryAfterS: wait(mine, 60_000, now), message: `At most ${this.#perSession} calls a minute from one session (DIAL_RATE_PER_SESSION_PER_MIN). Try again shortly.` }
    }
    if (this.#instance.length >= this.#perInstance) {
      return { ok: false, reason: 'instance_rate', retryAfterS: wait(this.#instance, 3600_000, now), message: `This server has placed ${this.#perInstance} calls in the last hour, its limit (DIAL_RATE_PER_INSTANCE_PER_HOUR).` }
    }
    mine.push(now)
    this.#instance.push(now)
    setBounded(this.#sessions, session, mine, this.#maxSessions)
    return { ok: true }
  }
}

function wait (times: readonly number[], windowMs: number, now: number): number {
  return Math.max(1, Math.ceil(((times[0] ?? now) + windowMs - now) / 1000))
}
