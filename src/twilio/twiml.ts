/** TwiML for every way a call can go: assist, agent, click-to-call, no-AI fallback, spoken errors. */
import twilio from 'twilio'
import type { Mode } from '../config.ts'
import type { Direction } from '../call/events.ts'

const { VoiceResponse } = twilio.twiml

export interface StreamTarget {
  /** Absolute wss:// URL of the media route (from PUBLIC_BASE_URL + MEDIA_STREAM_PATH). */
  readonly streamUrl: string
  /** Absolute https:// URL of the stream status callback. */
  readonly statusCallback: string
  /** Absolute https:// URL for the dialled leg's progress (`<Number statusCallback>`); without it, a bare `<Dial>`. */
  readonly dialStatus?: string
}

/** Agent mode also needs the absolute https:// URL Twilio requests when `<Connect>` ends. */
export interface AgentTarget extends StreamTarget { readonly connectAction: string }

/** What the media stream learns from `start.customParameters` (the `start` message has no From/To). */
export interface StreamParams {
  readonly direction: Direction
  readonly from: string
  readonly to: string
  readonly mode: Mode
  /** An outbound agent call's task for the AI (src/call/agent-call.ts); covered by the token. */
  readonly purpose?: string
  /** The per-call stream token (src/twilio/stream-token.ts); sent as `<Parameter name="token">`. */
  readonly token?: string
}

const SAY = { voice: 'Polly.Joanna-Neural' } as const

type DialAttributes = Parameters<InstanceType<typeof VoiceResponse>['dial']>[0]

/**
 * `<Dial>` to one number. With `dialStatus`, the number is a `<Number>` that reports its leg's progress there
 * (initiated, ringing, answered, completed: twilio.com/docs/voice/twiml/number#statuscallbackevent), so the
 * dashboard can say whose phone is ringing instead of "Live".
 */
function dialNumber (vr: InstanceType<typeof VoiceResponse>, attrs: DialAttributes, to: string, dialStatus: string | undefined): void {
  const dial = vr.dial(attrs)
  if (dialStatus === undefined) {
    dial.number(to)
    return
  }
  dial.number({ statusCallback: dialStatus, statusCallbackMethod: 'POST', statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'] }, to)
}

function addParams (stream: ReturnType<ReturnType<InstanceType<typeof VoiceResponse>['start']>['stream']>, params: StreamParams & { stream: 'start' | 'connect' }): void {
  for (const [name, value] of Object.entries(params)) if (value !== undefined) stream.parameter({ name, value })
}

/**
 * Assist mode: fork both tracks to us (`<Start>` goes straight on to the next verb), then ring
 * the operator. `answerOnBridge` keeps the caller hearing ringback until the operator answers.
 */
export function assistTwiml (t: StreamTarget, p: StreamParams, dialTo: string, callerId?: string, say?: string): string {
  const vr = new VoiceResponse()
  if (say !== undefined) vr.say(SAY, say)
  const stream = vr.start().stream({ url: t.streamUrl, track: 'both_tracks', statusCallback: t.statusCallback, statusCallbackMethod: 'POST' })
  addParams(stream, { ...p, stream: 'start' })
  dialNumber(vr, { answerOnBridge: true, ...(callerId !== undefined ? { callerId } : {}) }, dialTo, t.dialStatus)
  return vr.toString()
}

/**
 * Agent mode: a bidirectional `<Connect><Stream>` (inbound track only; anything else is 31941).
 * When the stream ends, Twilio requests `connectAction` and runs the TwiML it returns (hang up,
 * transfer, fallback: src/call/stream-outcome.ts); with an action, verbs after `<Connect>` never
 * run, so there are none (twilio.com/docs/voice/twiml/connect, "action").
 */
export function agentTwiml (t: AgentTarget, p: StreamParams): string {
  const vr = new VoiceResponse()
  const stream = vr.connect({ action: t.connectAction, method: 'POST' }).stream({ url: t.streamUrl, statusCallback: t.statusCallback, statusCallbackMethod: 'POST' })
  addParams(stream, { ...p, stream: 'connect' })
  return vr.toString()
}

/** The call continues without AI (draining, over capacity): a plain dial, with a sentence in agent mode. */
export function noAiTwiml (mode: Mode, dialTo: string, callerId?: string, dialStatus?: string): string {
  const vr = new VoiceResponse()
  if (mode === 'agent') vr.say(SAY, 'Please hold while I connect you to a person.')
  dialNumber(vr, { answerOnBridge: true, ...(callerId !== undefined ? { callerId } : {}) }, dialTo, dialStatus)
  return vr.toString()
}

/** Ends the call at once (an outbound agent call answered by a fax machine). */
export function hangupTwiml (): string {
  const vr = new VoiceResponse()
  vr.hangup()
  return vr.toString()
}

/**
 * The voicemail an outbound agent call leaves after the beep: the message, then `<Hangup/>`. With
 * MachineDetection=DetectMessageEnd Twilio asks for this TwiML only once the greeting has ended, so
 * the message is recorded whole (docs/protocol.md F).
 */
export function voicemailTwiml (message: string): string {
  return sayAndHangupTwiml(message)
}

/** Speaks one clear sentence and hangs up: never a silent hang-up, never a 500 to Twilio. */
export function sayAndHangupTwiml (sentence: string): string {
  const vr = new VoiceResponse()
  vr.say(SAY, sentence)
  vr.hangup()
  return vr.toString()
}

/** Redirect target for `transfer_to_operator`: says a sentence, then dials the operator. */
export function transferTwiml (operatorPhone: string, sentence = 'Connecting you to a person now.'): string {
  const vr = new VoiceResponse()
  vr.say(SAY, sentence)
  vr.dial({ answerOnBridge: true }, operatorPhone)
  return vr.toString()
}
