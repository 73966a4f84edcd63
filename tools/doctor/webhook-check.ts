/** Doctor check 5: the Twilio number's voice webhook points at this deployment's /twilio/inbound (--fix sets it). */
import type { Config } from '../../src/config.ts'
import { publicUrl, TWILIO_PATHS } from '../../src/routes.ts'
import { TwilioApiError, type IncomingNumber, type TwilioApi } from '../../src/twilio/rest.ts'
import type { CheckResult } from './types.ts'

type Problem = { kind: 'empty' | 'http' | 'elsewhere' | 'method', message: string }

const base = { id: 'webhook', title: 'Twilio number webhook' } as const

/** Same scheme, host (any case) and path (trailing slash ignored); a query string is allowed. */
function normalise (url: string): { scheme: string, rest: string } | undefined {
  try {
    const u = new URL(url)
    return { scheme: u.protocol, rest: `${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '')}` }
  } catch {
    return undefined
  }
}

/** What is wrong with the number's webhook, or undefined when it calls `expected` with POST. */
export function webhookProblem (n: IncomingNumber, expected: string): Problem | undefined {
  if (n.voiceUrl === '' || n.voiceUrl === null) return { kind: 'empty', message: `${n.phoneNumber} has no voice webhook: calls to it never reach TalkHint` }
  const got = normalise(n.voiceUrl)
  const want = normalise(expected) as { scheme: string, rest: string }
  if (got?.rest === want.rest && got.scheme === 'http:') {
    return { kind: 'http', message: `${n.phoneNumber}'s webhook uses http instead of https (${n.voiceUrl}): Twilio signs the http:// URL, TalkHint checks the https:// one, so every call is refused (403)` }
  }
  if (got === undefined || got.rest !== want.rest || got.scheme !== want.scheme) {
    return { kind: 'elsewhere', message: `${n.phoneNumber}'s webhook points elsewhere: ${n.voiceUrl} (expected ${expected})` }
  }
  if (n.voiceMethod.toUpperCase() !== 'POST') {
    return { kind: 'method', message: `${n.phoneNumber}'s webhook uses ${n.voiceMethod}; TalkHint answers POST only` }
  }
  return undefined
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`the Twilio API did not answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

function apiFailure (err: unknown, config: Config): CheckResult {
  const e = err as Partial<TwilioApiError> & { message?: string }
  if (err instanceof TwilioApiError && (e.status === 401 || e.twilioCode === 20003)) {
    return { ...base, status: 'fail', message: `Twilio rejected TWILIO_ACCOUNT_SID ${config.twilioAccountSid ?? ''} with this TWILIO_AUTH_TOKEN (401)`, fix: 'Copy the Account SID and Auth Token from the Twilio Console home page (they must belong to the same account or subaccount).' }
  }
  return { ...base, status: 'fail', message: `the Twilio API call failed: ${e.message ?? String(err)}`, fix: 'Check this machine\'s internet access and https://status.twilio.com, then run the doctor again.' }
}

/** Looks the number up and, with `fix`, points its voice webhook at PUBLIC_BASE_URL + /twilio/inbound. */
export async function checkWebhook (config: Config, api: TwilioApi | undefined, opts: { fix: boolean, timeoutMs: number }): Promise<CheckResult> {
  if (api === undefined || config.twilioAccountSid === undefined || config.twilioPhoneNumber === undefined) {
    return { ...base, status: 'skip', message: 'set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER to check which webhook your number calls' }
  }
  const expected = publicUrl(config.publicBaseUrl, TWILIO_PATHS.inbound)
  const phone = config.twilioPhoneNumber
  let n: IncomingNumber | undefined
  try {
    n = await withTimeout(api.findIncomingNumber(phone), opts.timeoutMs)
  } catch (err) {
    return apiFailure(err, config)
  }
  if (n === undefined) {
    return { ...base, status: 'fail', message: `number not found: ${phone} is not in account ${config.twilioAccountSid}`, fix: 'Check TWILIO_PHONE_NUMBER (E.164, e.g. +14155550100) against Console → Phone Numbers → Active numbers, and that TWILIO_ACCOUNT_SID is the account (or subaccount) that owns it.', data: { phoneNumber: phone } }
  }
  const problem = webhookProblem(n, expected)
  const data = { phoneNumber: n.phoneNumber, numberSid: n.sid, voiceUrl: n.voiceUrl, voiceMethod: n.voiceMethod, expected }
  if (problem === undefined) return { ...base, status: 'pass', message: `${n.phoneNumber} calls ${expected} (POST)`, data }
  if (!opts.fix) {
    return { ...base, status: 'fail', message: problem.message, fix: `Run the doctor with --fix (npm run doctor -- --fix, or npx talkhint doctor --fix) to set it, or in the Twilio Console → Phone Numbers → ${n.phoneNumber} → "A call comes in": Webhook, ${expected}, HTTP POST.`, data: { ...data, problem: problem.kind } }
  }
  try {
    await withTimeout(api.setVoiceUrl(n.sid, expected), opts.timeoutMs)
    const after = await withTimeout(api.findIncomingNumber(phone), opts.timeoutMs)
    if (after === undefined || webhookProblem(after, expected) !== undefined) {
      return { ...base, status: 'fail', message: `--fix sent the update but ${phone} still calls ${after?.voiceUrl ?? '(unknown)'}`, fix: `Set it in the Twilio Console: Phone Numbers → ${phone} → "A call comes in": Webhook, ${expected}, HTTP POST.`, data }
    }
  } catch (err) {
    return apiFailure(err, config)
  }
  return { ...base, status: 'fixed', message: `${n.phoneNumber} now calls ${expected} (POST); it called ${n.voiceUrl || '(nothing)'} (${n.voiceMethod})`, details: [problem.message], data: { ...data, problem: problem.kind, fixed: true } }
}
