/** Decides the TwiML a call gets from config, admission and the webhook's params (pure). */
import { isE164, type Config } from '../config.ts'
import type { Admission } from '../lifecycle.ts'
import { maskPhone } from '../log.ts'
import { mediaStreamUrl, publicUrl, TWILIO_PATHS } from '../routes.ts'
import { agentTwiml, assistTwiml, noAiTwiml, sayAndHangupTwiml, type StreamParams, type StreamTarget } from '../twilio/twiml.ts'

export interface Answer {
  readonly twiml: string
  /** Set when the call could not be handled as configured: what an operator must fix. */
  readonly problem?: string
  /** The call as recorded; undefined when the call is refused outright. */
  readonly call?: StreamParams & { ai: boolean }
}

type AnswerConfig = Pick<Config, 'publicBaseUrl' | 'mode' | 'operatorPhone' | 'twilioPhoneNumber'>

function target (config: AnswerConfig): StreamTarget {
  return { streamUrl: mediaStreamUrl(config.publicBaseUrl), statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.streamStatus) }
}

/** TwiML for an inbound call to our number (POST /twilio/inbound). */
export function answerInbound (config: AnswerConfig, admission: Admission, from: string, to: string): Answer {
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
    return { twiml: noAiTwiml(mode, operatorPhone), call: { ...params, ai: false } }
  }
  const twiml = mode === 'assist'
    ? assistTwiml(target(config), params, operatorPhone as string)
    : agentTwiml(target(config), params, operatorPhone)
  return { twiml, call: { ...params, ai: true } }
}

/**
 * TwiML for a click-to-call leg (POST /twilio/outbound?to=…): Twilio rang the operator first;
 * now stream both tracks and dial the number they asked for. Always assist: a human is on it.
 */
export function answerOutbound (config: AnswerConfig, admission: Admission, to: string | undefined, from: string): Answer {
  if (to === undefined || !isE164(to)) {
    return {
      twiml: sayAndHangupTwiml('Sorry, the number you asked to call is not a valid phone number. Please check it and try again. Goodbye.'),
      problem: `outbound call has an invalid "to" number (expected E.164 like +14155550100, got ${to === undefined ? 'nothing' : maskPhone(to)})`,
    }
  }
  const callerId = config.twilioPhoneNumber
  const params: StreamParams = { direction: 'outbound', from: callerId ?? from, to, mode: 'assist' }
  if (!admission.ai) return { twiml: noAiTwiml('assist', to, callerId), call: { ...params, ai: false } }
  return { twiml: assistTwiml(target(config), params, to, callerId, 'Connecting your call.'), call: { ...params, ai: true } }
}
