/** X-Twilio-Signature checks against PUBLIC_BASE_URL (wraps the twilio package's own validator). */
import twilio from 'twilio'

export type Params = Record<string, string | string[] | undefined>

/** The request header Twilio signs webhooks and media-stream upgrades with (as Node lower-cases it). */
export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature'

/**
 * Checks a webhook signature. `url` is PUBLIC_BASE_URL + path + raw query, never built from the
 * Host header: Fly and Replit terminate TLS in front of us, so the Host we see is not what Twilio signed.
 */
export function isValidWebhookSignature (authToken: string, signature: string | undefined, url: string, params: Params): boolean {
  if (signature === undefined || signature === '' || authToken === '') return false
  const flat: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(params)) if (v !== undefined) flat[k] = v
  return twilio.validateRequest(authToken, signature, url, flat)
}

/**
 * Checks the signature on the media-stream upgrade: Twilio signs the `wss://` URL as written in
 * the TwiML, with no params; Twilio's docs suggest also trying it with a trailing slash.
 */
export function isValidStreamSignature (authToken: string, signature: string | undefined, streamUrl: string): boolean {
  const bare = streamUrl.replace(/\/+$/, '')
  return isValidWebhookSignature(authToken, signature, bare, {}) ||
    isValidWebhookSignature(authToken, signature, `${bare}/`, {})
}

/** Computes the signature Twilio would send (used by the call simulator and tests). */
export function signTwilioRequest (authToken: string, url: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params)
}
