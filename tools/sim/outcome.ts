/** How a simulated call ended: the result object, and errors that say what to fix when it could not run. */
import { MULAW_BYTES_PER_MS } from '../../src/audio/mulaw.ts'
import type { SimResult } from './simulate.ts'
import type { StreamClientOptions, TwilioStreamClient } from './stream-client.ts'
import type { ParsedTwiml, TwimlStream } from './twiml.ts'
import { SimError, type CloseInfo, type Problem } from './types.ts'
import type { ServerTarget, WebhookResponse } from './webhook.ts'

export interface CallOutcome {
  readonly accountSid: string
  readonly callSid: string
  readonly webhook: SimResult['webhook']
  readonly twiml: ParsedTwiml
  readonly twimlXml: string
  readonly problems: readonly Problem[]
  readonly stream: TwimlStream | undefined
  readonly client?: TwilioStreamClient
  readonly local?: string
  readonly close?: CloseInfo
  readonly aborted?: boolean
  readonly durationMs?: number
  readonly connectAction?: SimResult['connectAction']
}

/** Builds the `SimResult` (counts as plain numbers, the reply audio, the verdict). */
export function finishCall (o: CallOutcome): SimResult {
  const c = o.client
  const zero = { frames: 0, bytes: 0 }
  const sent = c?.stats.sent ?? { inbound: zero, outbound: zero, dtmf: 0, messages: 0 }
  const received = c?.stats.received ?? { media: 0, audioBytes: 0, marks: 0, marksEchoed: 0, clears: 0, droppedBytes: 0 }
  const aborted = o.aborted ?? false
  return {
    ok: !aborted && !o.problems.some((p) => p.severity === 'error'),
    aborted,
    accountSid: o.accountSid,
    callSid: o.callSid,
    webhook: o.webhook,
    twiml: o.twiml,
    twimlXml: o.twimlXml,
    stream: o.stream === undefined || c === undefined
      ? undefined
      : { url: o.stream.url, bidirectional: o.stream.bidirectional, tracks: o.stream.tracks, parameters: o.stream.parameters, streamSid: c.streamSid, localUrl: o.local ?? '', protocol: c.protocol },
    sent: {
      inbound: { ...sent.inbound },
      outbound: { ...sent.outbound },
      dtmf: sent.dtmf,
      messages: sent.messages,
      ms: { inbound: sent.inbound.bytes / MULAW_BYTES_PER_MS, outbound: sent.outbound.bytes / MULAW_BYTES_PER_MS },
    },
    received: { ...received, audioMs: received.audioBytes / MULAW_BYTES_PER_MS, droppedMs: received.droppedBytes / MULAW_BYTES_PER_MS },
    close: o.close,
    problems: o.problems,
    replyAudio: c !== undefined && o.stream?.bidirectional === true ? c.playback.played(o.durationMs) : undefined,
    durationMs: o.durationMs ?? 0,
    connectAction: o.connectAction,
  }
}

/** Turns a non-200 webhook answer into an error that says which settings to check. */
export function webhookError (target: ServerTarget, hook: WebhookResponse): SimError {
  const path = new URL(hook.url).pathname
  switch (hook.status) {
    case 403:
      return new SimError('WEBHOOK_FORBIDDEN', `the server rejected the webhook signature (403 on POST ${path}). The simulator signs ${hook.url} with its TWILIO_AUTH_TOKEN; ` +
        `the server's PUBLIC_BASE_URL must be exactly ${target.publicBaseUrl} and its TWILIO_AUTH_TOKEN the same as the simulator's (--public-base-url, --auth-token, or the same .env)`)
    case 404:
      return new SimError('WEBHOOK_NOT_FOUND', `POST ${path} returned 404: is ${target.serverUrl} a TalkHint server? (Twilio would report error 11200)`)
    case 503:
      return new SimError('WEBHOOK_FAILED', `the server answered 503 on POST ${path}: it is shutting down or overloaded`)
    default:
      return new SimError('WEBHOOK_FAILED', `the server answered HTTP ${hook.status} on POST ${path}; Twilio would play "an application error has occurred" (error 11200)${hook.body !== '' ? `: ${hook.body.slice(0, 200)}` : ''}`)
  }
}

/** A failed stream handshake (network or subprotocol) as Twilio would report it. */
export function streamError (url: string, err: Error & { code?: string }): SimError {
  if (/subprotocol/i.test(err.message)) {
    return new SimError('STREAM_SUBPROTOCOL', `the server did not accept the audio.twilio.com subprotocol (${err.message}). Servers must echo it when offered; try --no-subprotocol to test a client that offers none`, { cause: err })
  }
  const why = err.code ?? err.message
  return new SimError('STREAM_UNREACHABLE', `could not open the media stream at ${url} (${why}); Twilio would report error 31901`, { cause: err })
}

/** A handshake answered with an HTTP status instead of 101. */
export function handshakeStatusError (opts: StreamClientOptions, status: number): SimError {
  const path = new URL(opts.url).pathname
  if (status === 403) {
    return new SimError('STREAM_FORBIDDEN', `the server refused the media-stream upgrade with 403: the X-Twilio-Signature over ${opts.signedUrl} did not verify. ` +
      'The simulator signs the wss:// URL from the TwiML with TWILIO_AUTH_TOKEN; the server checks it against its own PUBLIC_BASE_URL + the media path, so PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN must be the same on both sides')
  }
  if (status === 404) {
    return new SimError('STREAM_NOT_FOUND', `the stream path ${path} does not exist on the server (404); the TwiML's <Stream url> and the server's media route disagree (Twilio error 31920)`)
  }
  return new SimError('STREAM_REJECTED', `the server answered the media-stream upgrade at ${path} with HTTP ${status} instead of 101 (Twilio error 31920)`)
}
