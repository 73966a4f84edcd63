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

/** The call's status callback. `Direction`: `inbound`, `outbound-api` (click-to-call) or `outbound-dial`. */
export const CallStatusParams = Type.Object({ CallSid: callSid(), CallStatus: text(), CallDuration: text(), Direction: text() }, OPEN)

/**
 * `<Dial><Number statusCallback>`: the dialled (child) leg's progress. `CallSid` is the child leg, `ParentCallSid` the
 * call it was dialled from; `CallStatus` is initiated, ringing, in-progress (answered), or the final status.
 */
export const DialStatusParams = Type.Object({ CallSid: callSid(), ParentCallSid: Type.String({ minLength: 1, maxLength: 64 }), CallStatus: Type.String({ minLength: 1, maxLength: 32 }) }, OPEN)

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

/** `<Dial action>` of a warm transfer: how the dialled leg ended (DialCallStatus) and its SID. */
export const DialActionParams = Type.Object({ CallSid: callSid(), DialCallStatus: text(), DialCallSid: text(), DialCallDuration: text() }, OPEN)

/** Requests about the dialled leg itself (the `<Number url>` whisper, its status callback): its CallSid and its parent's. */
export const DialedLegParams = Type.Object({ CallSid: callSid(), ParentCallSid: text(), CallStatus: text() }, OPEN)
