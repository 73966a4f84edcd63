/** The Twilio REST calls TalkHint makes, through the real `twilio` client (base URL configurable for fakes). */
import twilio from 'twilio'
import type RequestClient from 'twilio/lib/base/RequestClient.js'

const TWILIO_ORIGIN = /^https:\/\/[a-z0-9.-]+\.twilio\.com/

/**
 * A RequestClient that sends every request to `baseUrl` instead of *.twilio.com, keeping path,
 * query, body and auth exactly as the SDK built them. Tests point it at a local fake REST server.
 */
class RebasedRequestClient extends twilio.RequestClient {
  #baseUrl: string
  constructor (baseUrl: string) {
    super()
    this.#baseUrl = baseUrl
  }

  override request<TData> (opts: RequestClient.RequestOptions<TData>) {
    return super.request<TData>({ ...opts, uri: opts.uri.replace(TWILIO_ORIGIN, this.#baseUrl) })
  }
}

/** Error from Twilio's REST API, with Twilio's numeric error code (e.g. 63016) when it gave one. */
export class TwilioApiError extends Error {
  readonly code: string
  readonly twilioCode: number | undefined
  readonly status: number | undefined
  constructor (message: string, twilioCode: number | undefined, status: number | undefined) {
    super(message)
    this.name = 'TwilioApiError'
    this.code = 'TWILIO_API_ERROR'
    this.twilioCode = twilioCode
    this.status = status
  }
}

export interface CreateCallInput {
  to: string
  from: string
  url: string
  statusCallback: string
  statusCallbackEvent?: string[]
  /** Answering machine detection (synchronous: the `url` is requested once it has decided, with AnsweredBy). */
  machineDetection?: 'Enable' | 'DetectMessageEnd'
}
export interface SendMessageInput { to: string, from: string, body: string, statusCallback?: string }
export interface IncomingNumber { sid: string, phoneNumber: string, voiceUrl: string, voiceMethod: string }

/** The slice of Twilio's REST API that TalkHint uses; domain code depends on this, not the SDK. */
export interface TwilioApi {
  createCall (input: CreateCallInput): Promise<{ sid: string, status: string }>
  /** Ends a live call (`status=completed`). */
  hangupCall (callSid: string): Promise<void>
  /** Replaces a live call's TwiML (used to transfer a caller to the operator). */
  redirectCall (callSid: string, twiml: string): Promise<void>
  /** Stops one media stream of a live call (`status=stopped`); the call goes on. */
  stopStream (callSid: string, streamSid: string): Promise<void>
  sendMessage (input: SendMessageInput): Promise<{ sid: string, status: string }>
  findIncomingNumber (phoneNumber: string): Promise<IncomingNumber | undefined>
  setVoiceUrl (numberSid: string, voiceUrl: string): Promise<void>
}

export interface TwilioApiOptions {
  accountSid: string
  authToken: string
  /** Replaces https://*.twilio.com (tests: a local fake REST server). */
  baseUrl?: string
}

/** Builds the TwilioApi on the real `twilio` client. */
export function createTwilioApi (opts: TwilioApiOptions): TwilioApi {
  const client = twilio(opts.accountSid, opts.authToken, {
    ...(opts.baseUrl !== undefined ? { httpClient: new RebasedRequestClient(opts.baseUrl) } : {}),
    autoRetry: true,
    maxRetries: 2,
  })
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      const e = err as { message?: string, code?: number, status?: number }
      throw new TwilioApiError(e.message ?? String(err), typeof e.code === 'number' ? e.code : undefined, e.status)
    }
  }
  return {
    createCall: (input) => wrap(async () => {
      const call = await client.calls.create({
        to: input.to,
        from: input.from,
        url: input.url,
        method: 'POST',
        statusCallback: input.statusCallback,
        statusCallbackMethod: 'POST',
        statusCallbackEvent: input.statusCallbackEvent ?? ['initiated', 'ringing', 'answered', 'completed'],
        ...(input.machineDetection !== undefined ? { machineDetection: input.machineDetection } : {}),
      })
      return { sid: call.sid, status: call.status }
    }),
    hangupCall: (callSid) => wrap(async () => { await client.calls(callSid).update({ status: 'completed' }) }),
    redirectCall: (callSid, twiml) => wrap(async () => { await client.calls(callSid).update({ twiml }) }),
    stopStream: (callSid, streamSid) => wrap(async () => { await client.calls(callSid).streams(streamSid).update({ status: 'stopped' }) }),
    sendMessage: (input) => wrap(async () => {
      const msg = await client.messages.create({
        to: input.to,
        from: input.from,
        body: input.body,
        ...(input.statusCallback !== undefined ? { statusCallback: input.statusCallback } : {}),
      })
      return { sid: msg.sid, status: msg.status }
    }),
    findIncomingNumber: (phoneNumber) => wrap(async () => {
      const [n] = await client.incomingPhoneNumbers.list({ phoneNumber, limit: 1 })
      return n === undefined ? undefined : { sid: n.sid, phoneNumber: n.phoneNumber, voiceUrl: n.voiceUrl, voiceMethod: n.voiceMethod }
    }),
    setVoiceUrl: (numberSid, voiceUrl) => wrap(async () => {
      await client.incomingPhoneNumbers(numberSid).update({ voiceUrl, voiceMethod: 'POST' })
    }),
  }
}
