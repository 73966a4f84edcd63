/** Decides the TwiML a call gets from config, admission and the webhook's params (pure). */
import { isE164, type Config } from '../config.ts'
import type { Admission } from '../lifecycle.ts'
import { maskPhone } from '../log.ts'
import { mediaStreamUrl, publicUrl, TWILIO_PATHS } from '../routes.ts'
import type { StreamKind } from '../twilio/stream-token.ts'
import { agentTwiml, assistTwiml, noAiTwiml, sayAndHangupTwiml, type AgentTarget, type StreamParams } from '../twilio/twiml.ts'

export interface Answer {
  readonly twiml: string
  /** Set when the call could not be handled as configured: what an operator must fix. */
  readonly problem?: string
  /** The call as recorded; undefined when the call is refused outright. */
  readonly call?: StreamParams & { ai: boolean }
}

type AnswerConfig = Pick<Config, 'publicBaseUrl' | 'mode' | 'operatorPhone' | 'twilioPhoneNumber'>

/** Mints the call's stream token for the `<Stream>` about to be returned; undefined (no CallSid) = no token. */
export type MintStreamToken = (claims: StreamParams & { stream: StreamKind }) => string

/** The params with the token the media session will require (the token never reaches `Answer.call`). */
const signed = (p: StreamParams, stream: StreamKind, mint: MintStreamToken | undefined): StreamParams =>
  mint === undefined ? p : { ...p, token: mint({ ...p, stream }) }

function target (config: AnswerConfig): AgentTarget {
  return {
    streamUrl: mediaStreamUrl(config.publicBaseUrl),
    statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.streamStatus),
    connectAction: publicUrl(config.publicBaseUrl, TWILIO_PATHS.connectAction),
    dialStatus: dialStatusUrl(config),
  }
}

/** Where the dialled leg reports its progress (the dashboard's "Ringing your phone" / "Calling …"). */
const dialStatusUrl = (config: AnswerConfig): string => publicUrl(config.publicBaseUrl, TWILIO_PATHS.dialStatus)

/** TwiML for an inbound call to our number (POST /twilio/inbound). */
export function answerInbound (config: AnswerConfig, admission: Admission, from: string, to: string, mint?: MintStreamToken): Answer {
  const { mode, operatorPhone } = config
  const params: StreamParams = { direction: 'inbound', from, to, mode }
  if (mode === 'assist' && operatorPhone === undefined) {
    return {
      twiml: sayAndHangupTwiml('Sorry, this line is not set up yet: there is no one to forward your call to. Please try again later. Goodbye.'),
      problem: 'OPERATOR_PHONE is not set: assist mode forwards inbound calls to it',
    }
  }
  if (!admission.ai) {
    if (operatorPhone === undefined) {
      return {
        twiml: sayAndHangupTwiml('Sorry, we are very busy right now. Please call again in a few minutes. Goodbye.'),
        problem: `call refused (${admission.reason}) and OPERATOR_PHONE is not set to take it without AI`,
      }
    }
    return { twiml: noAiTwiml(mode, operatorPhone, undefined, dialStatusUrl(config)), call: { ...params, ai: false } }
  }
  const twiml = mode === 'assist'
    ? assistTwiml(target(config), signed(params, 'start', mint), operatorPhone as string)
    : agentTwiml(target(config), signed(params, 'connect', mint))
  return { twiml, call: { ...params, ai: true } }
}

/**
 * TwiML for a click-to-call leg (POST /twilio/outbound?to=…): Twilio rang the operator first;
 * now stream both tracks and dial the number they asked for. Always assist: a human is on it.
 */
export function answerOutbound (config: AnswerConfig, admission: Admission, to: string | undefined, from: string, mint?: MintStreamToken): Answer {
  if (to === undefined || !isE164(to)) {
    return {
      twiml: sayAndHangupTwiml('Sorry, the number you asked to call is not a valid phone number. Please check it and try again. Goodbye.'),
      problem: `outbound call has an invalid "to" number (expected E.164 like +14155550100, got ${to === undefined ? 'nothing' : maskPhone(to)})`,
    }
  }
  const callerId = config.twilioPhoneNumber
  const params: StreamParams = { direction: 'outbound', from: callerId ?? from, to, mode: 'assist' }
  if (!admission.ai) return { twiml: noAiTwiml('assist', to, callerId, dialStatusUrl(config)), call: { ...params, ai: false } }
  return { twiml: assistTwiml(target(config), signed(params, 'start', mint), to, callerId, 'Connecting your call.'), call: { ...params, ai: true } }
}
