/** Twilio's webhook form params as route schemas: the fields we read, each an optional string; any other passes. */
import { Type } from 'typebox'

/**
 * Twilio adds params without notice, so unknown ones pass (and nothing is stripped). By the time a schema sees the
 * body, plugins/core.ts `verifyTwilio` (preValidation) has checked the signature over the params as received and
 * left one string per key, so these schemas never see, coerce or change what was signed.
 */
const OPEN = { additionalProperties: true }
const text = () => Type.Optional(Type.String())
/** Twilio sends a CallSid with every voice webhook: a signed request without one is malformed (a clear 400). */
const callSid = () => Type.String({ minLength: 1 })

/** Voice webhooks (inbound, outbound, `<Connect action>`). */
export const VoiceCallParams = Type.Object({ CallSid: callSid(), From: text(), To: text() }, OPEN)

/**
 * An outbound agent call's TwiML request (MachineDetection set): AnsweredBy is Twilio's AMD verdict (human,
 * machine_start, machine_end_beep, machine_end_silence, machine_end_other, fax, unknown).
 */
export const AgentCallParams = Type.Object({ CallSid: callSid(), From: text(), To: text(), AnsweredBy: text(), MachineDetectionDuration: text() }, OPEN)

/** The call's status callback. */
export const CallStatusParams = Type.Object({ CallSid: callSid(), CallStatus: text(), CallDuration: text() }, OPEN)

/** `<Stream statusCallback>`. */
export const StreamStatusParams = Type.Object({ CallSid: callSid(), StreamSid: text(), StreamEvent: text(), StreamError: text() }, OPEN)

/** An incoming WhatsApp message or a message's status callback (Twilio's messaging params and their older names). */
export const MessageParams = Type.Object({
  MessageSid: text(),
  SmsMessageSid: text(),
  SmsSid: text(),
  From: text(),
  To: text(),
  Body: text(),
  NumMedia: text(),
  ProfileName: text(),
  MessageStatus: text(),
  SmsStatus: text(),
  ErrorCode: text(),
}, OPEN)
