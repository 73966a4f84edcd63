/** TwiML for a warm transfer: the caller's sentence, the copilot's fork, the operator's dial with a whisper, and what follows. */
import twilio from 'twilio'
import type { StreamParams } from '../twilio/twiml.ts'

const { VoiceResponse } = twilio.twiml
const SAY = { voice: 'Polly.Joanna-Neural' } as const

/**
 * The `<Start><Stream name>` of the person's leg. Names are unique per call; `<Stop><Stream name>` ends this fork
 * when the caller goes back to the agent (twilio.com/docs/voice/twiml/stream, "name").
 */
export const PERSON_STREAM_NAME = 'talkhint-person'
/** How long the operator's phone rings before the caller goes back to the agent (Dial's `timeout`, seconds). */
export const OPERATOR_RING_S = 20

type Stream = ReturnType<ReturnType<InstanceType<typeof VoiceResponse>['start']>['stream']>
function addParams (stream: Stream, params: StreamParams & { stream: 'start' | 'connect' }): void {
  for (const [name, value] of Object.entries(params)) if (value !== undefined) stream.parameter({ name, value })
}

export interface WarmTransferTarget {
  /** wss:// media URL and https:// stream status callback (as for every stream). */
  readonly streamUrl: string
  readonly streamStatus: string
  /** Absolute URLs of the whisper, the `<Dial action>` and the operator leg's status callback, each with `?call=<CallSid>`. */
  readonly whisperUrl: string
  readonly dialAction: string
  readonly dialStatus: string
}

/**
 * The caller hears one sentence; the copilot forks both tracks of the caller's call (so the person's leg is
 * transcribed under the same CallSid); the operator is dialled, hears the whisper at `whisperUrl` when they pick
 * up, and only then is bridged (`answerOnBridge`: the caller hears ringing until then). `<Dial action>` decides
 * what follows: hang up after a completed call, or back to the agent when nobody answered.
 */
export function warmTransferTwiml (t: WarmTransferTarget, p: StreamParams, operatorPhone: string, sentence: string, callerId?: string): string {
  const vr = new VoiceResponse()
  vr.say(SAY, sentence)
  const stream = vr.start().stream({ name: PERSON_STREAM_NAME, url: t.streamUrl, track: 'both_tracks', statusCallback: t.streamStatus, statusCallbackMethod: 'POST' })
  addParams(stream, { ...p, stream: 'start' })
  const dial = vr.dial({ answerOnBridge: true, timeout: OPERATOR_RING_S, action: t.dialAction, method: 'POST', ...(callerId !== undefined ? { callerId } : {}) })
  dial.number({ url: t.whisperUrl, method: 'POST', statusCallback: t.dialStatus, statusCallbackMethod: 'POST', statusCallbackEvent: ['ringing', 'answered', 'completed'] }, operatorPhone)
  return vr.toString()
}

/** Played to the operator alone, before the caller is connected. */
export function whisperTwiml (briefing: string): string {
  const vr = new VoiceResponse()
  vr.say(SAY, briefing)
  return vr.toString()
}

/** The person's leg ended normally: nothing more for the caller. */
export function transferDoneTwiml (): string {
  const vr = new VoiceResponse()
  vr.hangup()
  return vr.toString()
}

/**
 * Nobody took the call: stop the copilot's fork and give the caller back to the agent (a fresh `<Connect><Stream>`,
 * its own token, the same `<Connect action>` as the first time). The agent says that nobody is free.
 */
export function backToAgentTwiml (t: { streamUrl: string, streamStatus: string, connectAction: string }, p: StreamParams): string {
  const vr = new VoiceResponse()
  vr.stop().stream({ name: PERSON_STREAM_NAME })
  const stream = vr.connect({ action: t.connectAction, method: 'POST' }).stream({ url: t.streamUrl, statusCallback: t.streamStatus, statusCallbackMethod: 'POST' })
  addParams(stream, { ...p, stream: 'connect' })
  return vr.toString()
}

/** Nobody took the call and the agent cannot take it back (no AI now): one sentence, a callback promised, goodbye. */
export function callbackPromisedTwiml (): string {
  const vr = new VoiceResponse()
  vr.say(SAY, 'Sorry, nobody is free to take your call right now. We have your number and will call you back as soon as we can. Goodbye.')
  vr.hangup()
  return vr.toString()
}
