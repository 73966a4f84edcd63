/** Click-to-call: ring the operator from our number; when they answer, TwiML dials the target. */
import type { Config } from '../config.ts'
import type { Failure } from '../errors.ts'
import { publicUrl, TWILIO_PATHS } from '../routes.ts'
import type { TwilioApi } from '../twilio/rest.ts'
import { checkDialDestination, type DialPolicy, type DialRateLimiter, type DialRefusal } from './dial-guard.ts'

/** `refused`: why the toll-fraud guard said no (for the metrics); `retryAfterS` with `rate_limited`. */
export type ClickToCallFailure =
  Failure<'invalid_input' | 'forbidden' | 'rate_limited' | 'not_configured' | 'upstream_failed', 'invalid_number' | 'invalid_purpose' | 'destination_refused' | 'too_many_calls' | 'not_configured' | 'twilio_error'>
  & { readonly retryAfterS?: number, readonly refused?: DialRefusal | 'session_rate' | 'instance_rate' }
/** `status`: Twilio's status of the new call (queued). */
export type ClickToCallResult = { ok: true, callSid: string, status: string, to: string } | ClickToCallFailure

/** The toll-fraud guard every click-to-call passes: where it may go, and how many calls this caller may place. */
export interface ClickToCallGuard {
  readonly policy: DialPolicy
  readonly limiter: DialRateLimiter
  /** Who is placing the call (the dashboard session id, or one key for all Bearer callers). */
  readonly session: string
  readonly now: number
}

/**
 * The checks every paid call passes, in order: the destination (toll-fraud guard), the settings it needs (`settings`,
 * undefined while any of `missing`, env names, is unset), then the rate limits, so a refused call spends no budget.
 * `what` names the call in the message.
 */
export function admitDial<S> (to: string, guard: ClickToCallGuard, settings: S | undefined, missing: readonly string[], what: string): { ok: true, e164: string, settings: S } | ClickToCallFailure {
  const dest = checkDialDestination(to, guard.policy)
  if (!dest.ok) {
    return dest.reason === 'invalid_number'
      ? { ok: false, kind: 'invalid_input', code: 'invalid_number', message: dest.message, refused: dest.reason }
      : { ok: false, kind: 'forbidden', code: 'destination_refused', message: dest.message, refused: dest.reason }
  }
  if (settings === undefined) return { ok: false, kind: 'not_configured', code: 'not_configured', message: `${what} needs ${missing.join(', ')} to be set.` }
  const rate = guard.limiter.take(guard.session, guard.now)
  if (!rate.ok) return { ok: false, kind: 'rate_limited', code: 'too_many_calls', message: rate.message, retryAfterS: rate.retryAfterS, refused: rate.reason }
  return { ok: true, e164: dest.e164, settings }
}

/** Checks the destination and the rate limits, then creates the call with `url` = /twilio/outbound?to=… and our status callback. */
export async function startClickToCall (
  config: Pick<Config, 'publicBaseUrl' | 'operatorPhone' | 'twilioPhoneNumber'>,
  api: TwilioApi | undefined,
  to: string,
  guard: ClickToCallGuard
): Promise<ClickToCallResult> {
  const missing = [
    api === undefined ? 'TWILIO_ACCOUNT_SID' : '',
    config.twilioPhoneNumber === undefined ? 'TWILIO_PHONE_NUMBER' : '',
    config.operatorPhone === undefined ? 'OPERATOR_PHONE' : '',
  ].filter(Boolean)
  const { twilioPhoneNumber: from, operatorPhone: operator } = config
  const settings = api !== undefined && from !== undefined && operator !== undefined ? { api, from, operator } : undefined
  const admitted = admitDial(to, guard, settings, missing, 'Click-to-call')
  if (!admitted.ok) return admitted
  try {
    const call = await admitted.settings.api.createCall({
      to: admitted.settings.operator,
      from: admitted.settings.from,
      url: publicUrl(config.publicBaseUrl, `${TWILIO_PATHS.outbound}?to=${encodeURIComponent(admitted.e164)}`),
      statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.callStatus),
    })
    return { ok: true, callSid: call.sid, status: call.status, to: admitted.e164 }
  } catch (err) {
    return { ok: false, kind: 'upstream_failed', code: 'twilio_error', message: `Twilio refused the call: ${(err as Error).message}` }
  }
}
