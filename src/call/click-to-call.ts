/** Click-to-call: ring the operator from our number; when they answer, TwiML dials the target. */
import { isE164, type Config } from '../config.ts'
import { publicUrl, TWILIO_PATHS } from '../routes.ts'
import type { TwilioApi } from '../twilio/rest.ts'

export type ClickToCallResult =
  | { ok: true, callSid: string, status: string }
  | { ok: false, status: 400 | 502 | 503, error: string, message: string }

/** Validates, then creates the call with `url` = /twilio/outbound?to=… and our status callback. */
export async function startClickToCall (
  config: Pick<Config, 'publicBaseUrl' | 'operatorPhone' | 'twilioPhoneNumber'>,
  api: TwilioApi | undefined,
  to: string
): Promise<ClickToCallResult> {
  const target = to.replace(/[\s().-]/g, '')
  if (!isE164(target)) return { ok: false, status: 400, error: 'invalid_number', message: 'Enter the number in international form, like +14155550100.' }
  const missing = [
    api === undefined ? 'TWILIO_ACCOUNT_SID' : '',
    config.twilioPhoneNumber === undefined ? 'TWILIO_PHONE_NUMBER' : '',
    config.operatorPhone === undefined ? 'OPERATOR_PHONE' : '',
  ].filter(Boolean)
  if (api === undefined || config.twilioPhoneNumber === undefined || config.operatorPhone === undefined) {
    return { ok: false, status: 503, error: 'not_configured', message: `Click-to-call needs ${missing.join(', ')} to be set.` }
  }
  try {
    const call = await api.createCall({
      to: config.operatorPhone,
      from: config.twilioPhoneNumber,
      url: publicUrl(config.publicBaseUrl, `${TWILIO_PATHS.outbound}?to=${encodeURIComponent(target)}`),
      statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.callStatus),
    })
    return { ok: true, callSid: call.sid, status: call.status }
  } catch (err) {
    return { ok: false, status: 502, error: 'twilio_error', message: `Twilio refused the call: ${(err as Error).message}` }
  }
}
