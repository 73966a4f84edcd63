/** How a simulated call ended: the result object, and errors that say what to fix when it could not run. */
import type { Track } from '../../src/call/events.ts'
import { MULAW_BYTES_PER_MS } from '../../src/audio/mulaw.ts'
import type { TwilioStreamClient } from './stream-client.ts'
import type { AfterConnect } from './transfer.ts'
import type { ParsedTwiml, TwimlStream } from './twiml.ts'
import { SimError, type CloseInfo, type Problem, type StreamStats } from './types.ts'
import type { ServerTarget, WebhookResponse } from './webhook.ts'

export interface SimResult {
  /** The call went through and nothing Twilio would call an error happened. */
  readonly ok: boolean
  readonly aborted: boolean
  readonly accountSid: string
  readonly callSid: string
  readonly webhook: { readonly url: string, readonly status: number, readonly ms: number }
  readonly twiml: ParsedTwiml
  readonly twimlXml: string
  readonly stream: (Pick<TwimlStream, 'url' | 'bidirectional' | 'tracks' | 'parameters'> & { streamSid: string, localUrl: string, protocol: string }) | undefined
  readonly sent: StreamStats['sent'] & { readonly ms: Record<Track, number> }
  readonly received: StreamStats['received'] & { readonly audioMs: number, readonly droppedMs: number }
  readonly close: CloseInfo | undefined
  readonly problems: readonly Problem[]
  /** On `<Connect>`: what the caller heard, 8 kHz μ-law on the call timeline (for the output WAV). */
  readonly replyAudio: Buffer | undefined
  /** Call-clock ms from stream start to close. */
  readonly durationMs: number
  /** The server ended `<Connect action>`: Twilio's request to the action URL and the TwiML it got. */
  readonly connectAction: { readonly url: string, readonly status: number, readonly twiml: ParsedTwiml | undefined } | undefined
  /** What Twilio ran after `<Connect action>` (a warm transfer: whisper, the person's leg, dial status; the agent again). */
  readonly afterConnect: AfterConnect | undefined
}

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
  readonly afterConnect?: AfterConnect
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
    afterConnect: o.afterConnect,
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
