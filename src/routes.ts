/** Route paths and wire constants shared by the plugins that serve them, the code that writes them into TwiML, and tools/. */

/** The Twilio media-stream WebSocket; TwiML stream URLs are derived from this, so they cannot drift. */
export const MEDIA_STREAM_PATH = '/media'

/** The WebSocket subprotocol Twilio may offer on the media stream; the server echoes it only when offered (docs/protocol.md A4). */
export const TWILIO_SUBPROTOCOL = 'audio.twilio.com'

/** The dashboard's WebSocket (live call events). */
export const UI_PATH = '/ui'

/** Liveness (503 while draining) and build identity, read by load balancers and the doctor. */
export const HEALTH_PATH = '/healthz'
export const VERSION_PATH = '/version'

export const TWILIO_PATHS = {
  inbound: '/twilio/inbound',
  outbound: '/twilio/outbound',
  callStatus: '/twilio/call-status',
  /** `<Dial><Number statusCallback>`: progress of the leg a call dials (the operator, or the number on click-to-call). */
  dialStatus: '/twilio/dial-status',
  streamStatus: '/twilio/stream-status',
  /** `<Connect action>` of an agent call: Twilio asks what next once the stream has ended. */
  connectAction: '/twilio/connect-action',
  /** `<Number url>` of a warm transfer: the operator's whisper (the briefing), played before the caller is bridged. */
  whisper: '/twilio/whisper',
  /** `<Dial action>` of a warm transfer: DialCallStatus says whether a person took the call. */
  transferAction: '/twilio/transfer-action',
  /** `<Number statusCallback>` of a warm transfer: the operator's phone ringing, answered, done. */
  transferStatus: '/twilio/transfer-status',
  /** An outbound agent call's TwiML, requested once answering machine detection has decided (src/call/agent-call.ts). */
  agentCall: '/twilio/agent-call',
  /** An outbound agent call's status callback: no-answer, busy and failed become its outcome. */
  agentCallStatus: '/twilio/agent-call-status',
  whatsapp: '/twilio/whatsapp',
  whatsappStatus: '/twilio/whatsapp-status',
} as const

/** Absolute https URL of one of our routes, as Twilio will call it. */
export function publicUrl (publicBaseUrl: string, pathAndQuery: string): string {
  return publicBaseUrl + pathAndQuery
}

/** The `wss://` URL of the media stream, exactly as written in TwiML (and so as Twilio signs it). */
export function mediaStreamUrl (publicBaseUrl: string): string {
  return publicBaseUrl.replace(/^https:/, 'wss:') + MEDIA_STREAM_PATH
}
