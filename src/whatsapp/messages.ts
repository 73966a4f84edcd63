/** WhatsApp through Twilio: inbound/status webhook params → stored messages, and sending with clear refusals. */
import type { Failure } from '../errors.ts'
import { normalizePhone } from '../storage/search.ts'
import type { WriteOp } from '../storage/store.ts'
import { TwilioApiError, type TwilioApi } from '../twilio/rest.ts'
import twilio from 'twilio'

export const WHATSAPP_PREFIX = 'whatsapp:'
/** WhatsApp's limit for a free-form message body. */
export const MAX_BODY = 1600

/**
 * What we answer an incoming message with: empty Messaging TwiML (200, text/xml), the form Twilio's
 * Messaging Webhooks page documents for "receive without replying". A bare 204 is also said to
 * work (Twilio's own skills repo; error 15003's page, for voice), but that is not the primary
 * messaging doc, and a project reported 11200 debugger errors for empty bodies: TwiML is safe.
 */
export const NO_REPLY_TWIML = new twilio.twiml.MessagingResponse().toString()

type Form = Readonly<Record<string, string | undefined>>
type MessageOp = Extract<WriteOp, { op: 'message' }>
type StatusOp = Extract<WriteOp, { op: 'message.status' }>

/** `whatsapp:+E164` for a phone number. */
export function whatsappAddress (phone: string): string {
  return WHATSAPP_PREFIX + phone
}

const intOrUndefined = (v: string | undefined): number | undefined => {
  const n = Number(v)
  return v === undefined || v === '' || !Number.isInteger(n) ? undefined : n
}

/** The message a POST /twilio/whatsapp webhook describes (Twilio's incoming-message params). */
export function inboundMessageOp (form: Form, at: number): MessageOp | undefined {
  const sid = form.MessageSid ?? form.SmsMessageSid
  if (sid === undefined || form.From === undefined) return undefined
  return {
    op: 'message',
    at,
    sid,
    direction: 'inbound',
    from: form.From,
    to: form.To ?? '',
    contactPhone: normalizePhone(form.From) ?? null,
    body: form.Body ?? '',
    numMedia: intOrUndefined(form.NumMedia) ?? 0,
    status: form.SmsStatus ?? form.MessageStatus ?? 'received',
    ...(form.ProfileName !== undefined && form.ProfileName.trim() !== '' ? { profileName: form.ProfileName.trim().slice(0, 200) } : {}),
  }
}

/** The status update a POST /twilio/whatsapp-status callback describes. */
export function statusOp (form: Form, at: number): StatusOp | undefined {
  const sid = form.MessageSid ?? form.SmsSid
  const status = form.MessageStatus ?? form.SmsStatus
  if (sid === undefined || status === undefined) return undefined
  const errorCode = intOrUndefined(form.ErrorCode)
  return {
    op: 'message.status',
    at,
    sid,
    status,
    ...(errorCode !== undefined ? { errorCode } : {}),
    ...(form.From !== undefined ? { from: form.From } : {}),
    ...(form.To !== undefined ? { to: form.To, contactPhone: normalizePhone(form.To) ?? null } : {}),
  }
}

type SendCode = 'invalid_number' | 'invalid_body' | 'not_configured' | 'outside_session_window' | 'sender_not_enabled' | 'twilio_error'
/** `op`: the failed attempt, for the contact's timeline (when Twilio refused it). */
export type SendFailure = Failure<'invalid_input' | 'unprocessable' | 'not_configured' | 'upstream_failed', SendCode> & { readonly twilioCode?: number, readonly op?: MessageOp }
/** `status`: Twilio's status of the message (queued, accepted…). */
export type SendResult = { ok: true, sid: string, status: string, op: MessageOp } | SendFailure

export interface SendDeps {
  readonly api: TwilioApi | undefined
  /** TWILIO_WHATSAPP_NUMBER (E.164, without the prefix). */
  readonly from: string | undefined
  /** Absolute URL of POST /twilio/whatsapp-status. */
  readonly statusCallback: string
  readonly now: () => number
}

/** Why Twilio refused, in words the dashboard user can act on. */
function refusal (err: TwilioApiError): Pick<SendFailure, 'kind' | 'code' | 'message'> {
  switch (err.twilioCode) {
    case 63016:
      return {
        kind: 'unprocessable',
        code: 'outside_session_window',
        message: 'WhatsApp only allows free-form messages within 24 hours of the customer\'s last message to you. ' +
          'They have not written in the last 24 hours, so Twilio refused it (error 63016): send an approved template, or wait for them to write.',
      }
    case 21211:
    case 21614:
    case 63003:
      return { kind: 'invalid_input', code: 'invalid_number', message: `Twilio says this number cannot receive WhatsApp messages (error ${err.twilioCode}).` }
    case 21606:
    case 63007:
      return { kind: 'unprocessable', code: 'sender_not_enabled', message: `TWILIO_WHATSAPP_NUMBER is not a WhatsApp sender on this Twilio account (error ${err.twilioCode}).` }
    default:
      return { kind: 'upstream_failed', code: 'twilio_error', message: `Twilio refused the message: ${err.message}${err.twilioCode === undefined ? '' : ` (error ${err.twilioCode})`}` }
  }
}

/** Sends a free-form WhatsApp message; refusals come back as a failure (kind, code, message), never a throw. */
export async function sendWhatsApp (deps: SendDeps, rawTo: string, body: string): Promise<SendResult> {
  const to = normalizePhone(rawTo)
  if (to === undefined) return { ok: false, kind: 'invalid_input', code: 'invalid_number', message: 'Enter the number in international form, like +14155550100.' }
  if (body.trim() === '' || body.length > MAX_BODY) return { ok: false, kind: 'invalid_input', code: 'invalid_body', message: `The message must have 1 to ${MAX_BODY} characters.` }
  if (deps.api === undefined || deps.from === undefined) {
    const missing = [deps.api === undefined ? 'TWILIO_ACCOUNT_SID' : '', deps.from === undefined ? 'TWILIO_WHATSAPP_NUMBER' : ''].filter(Boolean)
    return { ok: false, kind: 'not_configured', code: 'not_configured', message: `Sending WhatsApp messages needs ${missing.join(' and ')} to be set.` }
  }
  const base = { op: 'message' as const, direction: 'outbound' as const, from: whatsappAddress(deps.from), to: whatsappAddress(to), contactPhone: to, body, numMedia: 0 }
  try {
    const msg = await deps.api.sendMessage({ from: base.from, to: base.to, body, statusCallback: deps.statusCallback })
    return { ok: true, sid: msg.sid, status: msg.status, op: { ...base, at: deps.now(), sid: msg.sid, status: msg.status } }
  } catch (err) {
    const e = err instanceof TwilioApiError ? err : new TwilioApiError((err as Error).message, undefined, undefined)
    const r = refusal(e)
    // The attempt is kept in the contact's timeline, marked failed with Twilio's code.
    const op: MessageOp = { ...base, at: deps.now(), sid: null, status: 'failed', ...(e.twilioCode !== undefined ? { errorCode: e.twilioCode } : {}), errorMessage: r.message }
    return { ok: false, ...r, ...(e.twilioCode !== undefined ? { twilioCode: e.twilioCode } : {}), op }
  }
}
