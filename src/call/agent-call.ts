/** Outbound agent calls: placed with answering machine detection; Twilio's verdict picks the agent, a voicemail or a hang-up. */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Config } from '../config.ts'
import type { Admission } from '../lifecycle.ts'
import { mediaStreamUrl, publicUrl, TWILIO_PATHS } from '../routes.ts'
import type { TwilioApi } from '../twilio/rest.ts'
import { agentTwiml, hangupTwiml, sayAndHangupTwiml, voicemailTwiml, type StreamParams } from '../twilio/twiml.ts'
import { admitDial, type ClickToCallFailure, type ClickToCallGuard } from './click-to-call.ts'
import type { MintStreamToken } from './answer.ts'
import type { CallOutcome } from './events.ts'

/**
 * Longest purpose accepted. It travels in the webhook URL and as a `<Parameter>` (name + value under 500
 * characters, docs/protocol.md A1), and is read onto answering machines: a few sentences, not a script.
 */
export const PURPOSE_MAX_LENGTH = 300

/** Control characters (line breaks, tabs, NUL…): a purpose is one line of text. */
const CONTROL = /\p{Cc}/u

/** A purpose is one line of plain text, 1 to PURPOSE_MAX_LENGTH characters once trimmed. */
export function checkPurpose (raw: string | undefined): { ok: true, purpose: string } | ClickToCallFailure {
  const purpose = raw?.trim() ?? ''
  const refuse = (message: string): ClickToCallFailure => ({ ok: false, kind: 'invalid_input', code: 'invalid_purpose', message })
  if (purpose === '') return refuse('An AI agent call needs a purpose: what the agent should do on this call (e.g. "Confirm Maria\'s appointment on Tuesday at 3 pm").')
  if (purpose.length > PURPOSE_MAX_LENGTH) return refuse(`The purpose is ${purpose.length} characters; at most ${PURPOSE_MAX_LENGTH}.`)
  if (CONTROL.test(purpose)) return refuse('The purpose must be one line of plain text (no line breaks or control characters).')
  return { ok: true, purpose }
}

// The webhook URL carries the call's number and purpose. Twilio signs the whole URL (X-Twilio-Signature), and this MAC,
// with the stream-token key under its own label, also proves that this server wrote that pair (not a URL pasted elsewhere).
const URL_MAC_LABEL = 'talkhint agent call v1'
const urlMac = (key: Buffer, to: string, purpose: string): string =>
  createHmac('sha256', key).update(URL_MAC_LABEL).update('\n').update(JSON.stringify([to, purpose])).digest('base64url')

/** `/twilio/agent-call?to=…&purpose=…&sig=…`: what Twilio requests once AMD has decided. */
export function agentCallPath (key: Buffer, to: string, purpose: string): string {
  const q = new URLSearchParams({ to, purpose, sig: urlMac(key, to, purpose) })
  return `${TWILIO_PATHS.agentCall}?${q.toString()}`
}

/** The number and purpose of a webhook URL this server signed; undefined for anything else. */
export function verifyAgentCallQuery (key: Buffer, q: { to?: string, purpose?: string, sig?: string }): { to: string, purpose: string } | undefined {
  if (q.to === undefined || q.purpose === undefined || q.sig === undefined) return undefined
  const expected = Buffer.from(urlMac(key, q.to, q.purpose))
  const got = Buffer.from(q.sig)
  return got.length === expected.length && timingSafeEqual(got, expected) ? { to: q.to, purpose: q.purpose } : undefined
}

export type AgentCallResult = { ok: true, callSid: string, status: string, to: string, from: string, purpose: string } | ClickToCallFailure

type StartConfig = Pick<Config, 'publicBaseUrl' | 'twilioPhoneNumber' | 'openaiApiKey'>

/**
 * Places an AI call: the same toll-fraud guard and rate limits as click-to-call, then Calls.create to `to` from our
 * number with MachineDetection=DetectMessageEnd (synchronous: the TwiML is requested once a person is detected, or
 * once a machine's greeting has ended; docs/protocol.md F) and our own status callback for no-answer, busy, failed.
 */
export async function startAgentCall (config: StartConfig, api: TwilioApi | undefined, to: string, rawPurpose: string | undefined, guard: ClickToCallGuard, key: Buffer): Promise<AgentCallResult> {
  const checked = checkPurpose(rawPurpose)
  if (!checked.ok) return checked
  const { purpose } = checked
  const from = config.twilioPhoneNumber
  const missing = [
    api === undefined ? 'TWILIO_ACCOUNT_SID' : '',
    from === undefined ? 'TWILIO_PHONE_NUMBER' : '',
    config.openaiApiKey === undefined ? 'OPENAI_API_KEY' : '',
  ].filter(Boolean)
  const settings = api !== undefined && from !== undefined && config.openaiApiKey !== undefined ? { api, from } : undefined
  const admitted = admitDial(to, guard, settings, missing, 'An AI agent call')
  if (!admitted.ok) return admitted
  try {
    const call = await admitted.settings.api.createCall({
      to: admitted.e164,
      from: admitted.settings.from,
      url: publicUrl(config.publicBaseUrl, agentCallPath(key, admitted.e164, purpose)),
      statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.agentCallStatus),
      machineDetection: 'DetectMessageEnd',
    })
    return { ok: true, callSid: call.sid, status: call.status, to: admitted.e164, from: admitted.settings.from, purpose }
  } catch (err) {
    return { ok: false, kind: 'upstream_failed', code: 'twilio_error', message: `Twilio refused the call: ${(err as Error).message}` }
  }
}

/** Who Twilio's AnsweredBy says picked up. Values we do not know (and `unknown`, or none) go to the agent: a person may be there. */
export function answeredByKind (answeredBy: string | undefined): 'person' | 'machine' | 'fax' {
  if (answeredBy === 'fax') return 'fax'
  if (answeredBy !== undefined && /^machine_(start|end_beep|end_silence|end_other)$/.test(answeredBy)) return 'machine'
  return 'person'
}

/** The outcome an AMD verdict records: a fax line takes no message, so that call failed. */
export function outcomeForAnsweredBy (answeredBy: string | undefined): CallOutcome {
  const kind = answeredByKind(answeredBy)
  return kind === 'person' ? 'human' : kind === 'machine' ? 'machine' : 'failed'
}

/** The outcome a status callback records: only calls nobody answered (`canceled` too: it never connected). */
export function outcomeForStatus (status: string): CallOutcome | undefined {
  switch (status) {
    case 'no-answer': return 'no-answer'
    case 'busy': return 'busy'
    case 'failed':
    case 'canceled': return 'failed'
    default: return undefined
  }
}

type SpeechConfig = Pick<Config, 'businessName' | 'voicemailTemplate'>

const sentence = (text: string): string => /[.!?]$/.test(text) ? text : `${text}.`

/** What the voicemail says: VOICEMAIL_TEMPLATE with {purpose} and {business} filled in, or a built-in message. */
export function voicemailMessage (config: SpeechConfig, purpose: string): string {
  if (config.voicemailTemplate !== undefined) {
    return config.voicemailTemplate.replaceAll('{purpose}', purpose).replaceAll('{business}', config.businessName ?? '')
  }
  const from = config.businessName === undefined ? '' : ` from ${config.businessName}`
  return `Hello, this is an automated message${from}. We are calling about the following: ${sentence(purpose)} Please call us back when you can. Thank you, goodbye.`
}

/** The greeting and instructions of the agent on an outbound call: who it calls for, and its task. */
export function outboundAgentSettings (config: SpeechConfig & Pick<Config, 'agentInstructions'>, purpose: string): { agentGreeting: string, agentInstructions: string } {
  const onBehalf = config.businessName === undefined ? '' : ` on behalf of ${config.businessName}`
  return {
    agentGreeting: `Hello, this is an AI assistant calling${onBehalf}. Do you have a moment?`,
    agentInstructions: `${config.agentInstructions}\n\n` +
      `This is an outbound call: you called this person${onBehalf}; they did not call you. You open by saying who you are and asking ` +
      'if they have a moment. Your task on this call, set by the person who placed it (carry it out in your own words; do not read it out):\n' +
      `<purpose>${purpose}</purpose>\n` +
      'Stay on this task. When it is done, or the person does not want to talk, thank them, say goodbye and end the call.',
  }
}

type AnswerConfig = Pick<Config, 'publicBaseUrl' | 'twilioPhoneNumber' | 'businessName' | 'voicemailTemplate'>

export interface AgentCallAnswer {
  readonly twiml: string
  readonly outcome: CallOutcome
  /** What the webhook answered, for the call.webhook event (the agent path: ai true, unless there is no AI room now). */
  readonly call: StreamParams & { ai: boolean, purpose: string }
}

/**
 * The TwiML for Twilio's AMD verdict (POST /twilio/agent-call): a person (or `unknown`) gets the agent on a
 * `<Connect><Stream>` whose token carries the purpose; a machine, after its greeting, gets the voicemail and
 * `<Hangup/>`; a fax gets `<Hangup/>`.
 */
export function answerAgentCall (config: AnswerConfig, admission: Admission, placed: { to: string, purpose: string }, answeredBy: string | undefined, from: string, mint?: MintStreamToken): AgentCallAnswer {
  const params: StreamParams = { direction: 'outbound', from: config.twilioPhoneNumber ?? from, to: placed.to, mode: 'agent', purpose: placed.purpose }
  const outcome = outcomeForAnsweredBy(answeredBy)
  const kind = answeredByKind(answeredBy)
  if (kind === 'machine') return { twiml: voicemailTwiml(voicemailMessage(config, placed.purpose)), outcome, call: { ...params, purpose: placed.purpose, ai: false } }
  if (kind === 'fax') return { twiml: hangupTwiml(), outcome, call: { ...params, purpose: placed.purpose, ai: false } }
  if (!admission.ai) {
    return { twiml: sayAndHangupTwiml('Sorry, we cannot take this call right now. We will try you again later. Goodbye.'), outcome, call: { ...params, purpose: placed.purpose, ai: false } }
  }
  const signed = mint === undefined ? params : { ...params, token: mint({ ...params, stream: 'connect' }) }
  const target = {
    streamUrl: mediaStreamUrl(config.publicBaseUrl),
    statusCallback: publicUrl(config.publicBaseUrl, TWILIO_PATHS.streamStatus),
    connectAction: publicUrl(config.publicBaseUrl, TWILIO_PATHS.connectAction),
  }
  return { twiml: agentTwiml(target, signed), outcome, call: { ...params, purpose: placed.purpose, ai: true } }
}
