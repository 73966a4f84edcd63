/** simulateCall: plays Twilio for one whole call against a running TalkHint (webhook → TwiML → stream). */
import { setImmediate as yieldToIo } from 'node:timers/promises'
import { speakerForTrack, type Direction, type Track } from '../../src/call/events.ts'
import { TWILIO_PATHS } from '../../src/routes.ts'
import { FIXTURES, FRAME_BYTES, FRAME_MS, SILENCE_FRAME_B64, loadTrackAudio, type AudioInput, type TrackAudio } from './audio.ts'
import { TwilioStreamClient } from './stream-client.ts'
import { describeVerbs, parseTwiml, type ParsedTwiml, type TwimlStream } from './twiml.ts'
import { SimError, type Problem, type SimEventListener } from './types.ts'
import { postTwilioWebhook, randomSid, toLocalUrl, voiceParams, type ServerTarget } from './webhook.ts'
import { finishCall, webhookError, type SimResult } from './outcome.ts'
import { playAfterConnect, type AfterConnect, type OperatorPickup } from './transfer.ts'

export type { SimResult }

export interface SimulateOptions {
  /** The running TalkHint (default http://127.0.0.1:8080). */
  readonly serverUrl?: string
  /** PUBLIC_BASE_URL as the server has it: every signed URL is built from it. */
  readonly publicBaseUrl: string
  /** TWILIO_AUTH_TOKEN as the server has it. */
  readonly authToken: string
  readonly accountSid?: string
  readonly callSid?: string
  /** Inbound: the caller's number. Click-to-call leg: our Twilio number. */
  readonly from?: string
  /** Inbound: our Twilio number. Click-to-call leg: the operator's phone (rung first). */
  readonly to?: string
  /** Simulate the click-to-call leg (POST /twilio/outbound?to=…) that dials this E.164 number. */
  readonly outbound?: string
  /**
   * Play a call the server placed through the REST API (what the fake Twilio REST recorded): Twilio requests its
   * `url` when the called party answers, and posts its `statusCallback`. With `machineDetection`, the request carries
   * `answeredBy` (default `human`) as AMD sends it; for a call nobody answers, use `simulateUnansweredCall`.
   */
  readonly placed?: PlacedCall
  /** The AMD verdict for a `placed` call with machineDetection: human, machine_end_beep, machine_end_silence, fax, unknown… */
  readonly answeredBy?: string
  /** The remote party's audio (default: the shipped caller fixture). */
  readonly caller?: AudioInput
  /** The operator's audio in assist mode (default: the shipped operator fixture). */
  readonly operator?: AudioInput
  /** Keypresses at call times (bidirectional streams only: Twilio sends no DTMF on `<Start>`). */
  readonly dtmf?: ReadonlyArray<{ readonly digit: string, readonly atMs: number }>
  /** 1 = real time (default); N = N times faster. */
  readonly speed?: number
  /** Silence streamed after the audio ends (default 1 s on `<Start>`, 3 s on `<Connect>` to let the agent answer). */
  readonly tailMs?: number
  /** On `<Connect>`, keep the line open while the server's audio is still playing, up to this long (default 30 s). */
  readonly maxReplyMs?: number
  readonly subprotocol?: string | false
  /** POST the stream and call status callbacks as Twilio would (default true). */
  readonly statusCallbacks?: boolean
  readonly signal?: AbortSignal
  /** A transfer's `<Dial>`: the person answers (default; whisper, then the bridged talk on the fork), lets it ring out, or is busy. */
  readonly operatorPickup?: OperatorPickup
  /** Every notable moment of the call (the CLI's live log; the extension point for dashboard output). */
  readonly onEvent?: SimEventListener
}

/** A call the server created with Calls.create, as the fake Twilio REST records it (fakes/twilio-rest.ts CreatedCall). */
export interface PlacedCall {
  readonly sid?: string
  readonly from: string
  readonly to: string
  /** The absolute https URL Twilio requests for the call's TwiML. */
  readonly url: string | undefined
  readonly statusCallback: string | undefined
  /** `Enable` or `DetectMessageEnd` when answering machine detection was asked for. */
  readonly machineDetection?: string | undefined
}

const DTMF = /^[0-9*#wW]$/
/** How long AMD listened before deciding, as Twilio reports it (MachineDetectionDuration, ms): a machine's whole greeting. */
const AMD_MS: Readonly<Record<string, string>> = { human: '1870', unknown: '5000', fax: '2400' }
/** Twilio's voice-webhook params for a placed call's TwiML request, with the AMD verdict when AMD was on. */
function placedParams (placed: PlacedCall, accountSid: string, callSid: string, answeredBy: string | undefined): Record<string, string> {
  const params = voiceParams({ accountSid, callSid, from: placed.from, to: placed.to, direction: 'outbound-api' })
  if (placed.machineDetection === undefined) return params
  const verdict = answeredBy ?? 'human'
  return { ...params, AnsweredBy: verdict, MachineDetectionDuration: AMD_MS[verdict] ?? '6120' }
}
/** AMD verdicts after which nobody listens for a stream: the TwiML speaks (or not) and hangs up. */
const isMachine = (answeredBy: string | undefined): boolean => answeredBy !== undefined && (answeredBy === 'fax' || answeredBy.startsWith('machine_'))

/** What every phase of a call shares: where to send, how to report. */
interface Ctx {
  readonly opts: SimulateOptions
  readonly target: ServerTarget
  readonly emit: SimEventListener
  readonly problems: Problem[]
  problem (code: string, severity: Problem['severity'], message: string): void
}

/** The webhook's answer: who is calling, and the TwiML Twilio got. */
interface Answered {
  readonly accountSid: string
  readonly callSid: string
  readonly direction: Direction
  readonly params: Record<string, string>
  readonly webhook: SimResult['webhook']
  readonly twiml: ParsedTwiml
  readonly twimlXml: string
}

/**
 * Runs one call the way Twilio would and resolves with what happened. Throws `SimError` when the
 * call cannot go ahead (server unreachable, 403, bad TwiML, stream refused, unreadable audio);
 * server misbehaviour during the stream is reported in `problems`, not thrown.
 */
export async function simulateCall (opts: SimulateOptions): Promise<SimResult> {
  checkOptions(opts)
  const ctx = newCtx(opts)
  const { emit, problems } = ctx
  const [caller, operator] = await Promise.all([loadTrackAudio(opts.caller ?? FIXTURES.caller), loadTrackAudio(opts.operator ?? FIXTURES.operator)])
  emit({ type: 'audio', role: 'caller', label: caller.label, ms: caller.ms })
  emit({ type: 'audio', role: 'operator', label: operator.label, ms: operator.ms })
  const call = await answer(ctx)
  const { twiml } = call
  const stream = twiml.stream
  for (const v of stream === undefined ? twiml.verbs : twiml.verbs.slice(0, twiml.streamIndex)) if (v.verb === 'Say') emit({ type: 'say', text: v.text })
  if (stream === undefined || twiml.issues.some((i) => i.code === '31941')) {
    if (opts.placed !== undefined && isMachine(opts.answeredBy)) {
      // The voicemail (or a fax hang-up) is the expected answer to a machine: it plays, then the call completes.
      emit({ type: 'next', summary: describeVerbs(twiml.verbs) })
      if (opts.statusCallbacks !== false && opts.placed.statusCallback !== undefined) {
        await callback(ctx, opts.placed.statusCallback, { ...call.params, CallStatus: 'completed', CallDuration: '0' }, 'completed')
      }
      return finishCall({ ...call, problems, stream: undefined })
    }
    if (stream === undefined) {
      const dials = twiml.verbs.some((v) => v.verb === 'Dial')
      ctx.problem('no-stream', dials ? 'warning' : 'error', dials
        ? 'TwiML has no <Stream>: the call goes through without TalkHint (no transcript, no AI)'
        : 'TwiML has no <Stream> and no <Dial>: the caller hears the message above and the call ends')
    }
    emit({ type: 'next', summary: describeVerbs(twiml.verbs) })
    return finishCall({ ...call, problems, stream: undefined })
  }
  const audio = (track: Track): TrackAudio => speakerForTrack(call.direction, track) === 'remote' ? caller : operator
  return streamCall(ctx, call, stream, audio)
}

/** Signs and posts the voice webhook, then reads the TwiML it returns. */
async function answer (ctx: Ctx): Promise<Answered> {
  const { opts, target, emit } = ctx
  const accountSid = opts.accountSid ?? randomSid('AC')
  const callSid = opts.callSid ?? opts.placed?.sid ?? randomSid('CA')
  const direction: Direction = opts.outbound === undefined && opts.placed === undefined ? 'inbound' : 'outbound'
  const path = opts.placed?.url ?? (opts.outbound === undefined ? TWILIO_PATHS.inbound : `${TWILIO_PATHS.outbound}?to=${encodeURIComponent(opts.outbound)}`)
  const params = opts.placed !== undefined
    ? placedParams(opts.placed, accountSid, callSid, opts.answeredBy)
    : voiceParams({
      accountSid,
      callSid,
      from: opts.from ?? '+15555550100',
      to: opts.to ?? '+15555550199',
      direction: direction === 'inbound' ? 'inbound' : 'outbound-api',
    })
  const hook = await postTwilioWebhook(target, path, params, { signal: opts.signal })
  emit({ type: 'webhook', url: hook.url, status: hook.status, ms: hook.ms })
  if (hook.status !== 200) throw webhookError(target, hook)
  if (!/^(text|application)\/xml\b/.test(hook.contentType)) {
    ctx.problem('12300', 'warning', `webhook answered with Content-Type "${hook.contentType}"; Twilio expects text/xml (error 12300)`)
  }
  const twiml = parseTwiml(hook.body)
  emit({ type: 'twiml', summary: describeVerbs(twiml.verbs) })
  for (const issue of twiml.issues) ctx.problem(issue.code, issue.severity, issue.message)
  return { accountSid, callSid, direction, params, webhook: { url: hook.url, status: hook.status, ms: hook.ms }, twiml, twimlXml: hook.body }
}

/** Opens the stream, plays the call out, hangs up, and sends the status callbacks. */
async function streamCall (ctx: Ctx, call: Answered, stream: TwimlStream, audio: (t: Track) => TrackAudio): Promise<SimResult> {
  const { opts, target, emit } = ctx
  const streamUrl = new URL(stream.url, target.publicBaseUrl.replace(/^https:/, 'wss:') + '/').href
  const local = toLocalUrl(target.serverUrl, target.publicBaseUrl, streamUrl)
  if (!local.underBase) ctx.problem('base-url', 'warning', `stream url ${stream.url} is not under PUBLIC_BASE_URL ${target.publicBaseUrl}; connecting to its path on ${target.serverUrl} anyway`)
  const client = await TwilioStreamClient.open({
    url: local.url,
    signedUrl: stream.url.startsWith('wss://') ? stream.url : streamUrl,
    authToken: target.authToken,
    subprotocol: opts.subprotocol,
    accountSid: call.accountSid,
    callSid: call.callSid,
    tracks: stream.tracks,
    bidirectional: stream.bidirectional,
    customParameters: stream.parameters,
    speed: opts.speed,
    onEvent: emit,
    signal: opts.signal,
  })
  const callbacks: Array<Promise<void>> = []
  const post = (url: string | undefined, event: string, params: Record<string, string>): void => {
    if (opts.statusCallbacks !== false && url !== undefined) callbacks.push(callback(ctx, url, params, event))
  }
  const streamStatus = (event: string): Record<string, string> =>
    ({ AccountSid: call.accountSid, CallSid: call.callSid, StreamSid: client.streamSid, StreamName: stream.name ?? client.streamSid, StreamEvent: event, Timestamp: new Date().toISOString() })
  post(stream.statusCallback, 'stream-started', streamStatus('stream-started'))
  client.start()
  const after = describeVerbs(call.twiml.verbs.slice(call.twiml.streamIndex + 1))
  // <Start> forks and goes straight on; <Connect> holds the call until the server closes the socket.
  if (!stream.bidirectional) emit({ type: 'next', summary: `while streaming, Twilio goes on with: ${after}` })
  const aborted = await pump(client, stream, audio, opts, emit)
  const serverClosed = !client.isOpen
  if (!serverClosed) client.stop()
  const close = await client.close(1000, '', aborted ? 'abort' : 'client')
  const durationMs = client.clock.now()
  post(stream.statusCallback, 'stream-stopped', streamStatus('stream-stopped'))
  const byServer = serverClosed && close.by === 'server'
  const holder = call.twiml.verbs[call.twiml.streamIndex]
  const actionUrl = byServer && holder?.verb === 'Connect' ? holder.action : undefined
  // The call is still up when the server ends <Connect>: Twilio asks the action URL what next, then the call goes on.
  const connectAction = actionUrl === undefined ? undefined : await requestConnectAction(ctx, call, actionUrl)
  const afterConnect = connectAction?.twiml === undefined ? undefined : await playTwimlAfter(ctx, call, { url: connectAction.url, twiml: connectAction.twiml }, audio)
  post(opts.placed !== undefined ? opts.placed.statusCallback : target.publicBaseUrl + TWILIO_PATHS.callStatus, 'completed', { ...call.params, CallStatus: 'completed', CallDuration: String(Math.round((durationMs + (afterConnect?.durationMs ?? 0)) / 1000)) })
  await Promise.all(callbacks)
  if (byServer) {
    if (close.code !== 1000 && close.code !== 1005) ctx.problem('31921', 'error', `server closed the stream with ${close.code}${close.reason !== '' ? ` (${close.reason})` : ''} before the call ended`)
    // The <Parameter name="token"> of the TwiML did not verify: the webhook and /media disagree on the key.
    if (close.code === 1008 && close.reason === 'stream not authorised') ctx.problem('stream-token', 'error', 'the server refused the stream token from its own TwiML: every instance must share TWILIO_AUTH_TOKEN (and STREAM_TOKEN_SECRET, if set), and the stream must start within 5 minutes of the webhook')
    else if (!stream.bidirectional) ctx.problem('31921', 'warning', 'server closed a <Start><Stream> fork: Twilio stops streaming but the call goes on')
    if (stream.bidirectional && actionUrl === undefined) emit({ type: 'next', summary: `the server ended <Connect>; Twilio continues with: ${after}` })
  }
  return finishCall({ ...call, problems: [...ctx.problems, ...client.problems, ...(afterConnect?.problems ?? [])], stream, client, local: local.url, close, aborted, durationMs, connectAction, afterConnect })
}

/**
 * Streams the tracks in real 20 ms frames (scaled by speed), interleaved per tick, each track
 * padded with silence until the longest ends, then the tail; on `<Connect>`, also while the
 * server's reply is still playing. Returns true if aborted.
 */
async function pump (client: TwilioStreamClient, stream: TwimlStream, audio: (t: Track) => TrackAudio, opts: SimulateOptions, emit: SimEventListener): Promise<boolean> {
  const tracks = stream.tracks
  const frames = tracks.map((t) => audio(t).frames)
  const audioFrames = Math.max(0, ...frames.map((f) => f.length))
  const tailFrames = Math.ceil((opts.tailMs ?? (stream.bidirectional ? 3000 : 1000)) / FRAME_MS)
  const endFrame = audioFrames + tailFrames
  const capFrame = endFrame + Math.ceil((opts.maxReplyMs ?? 30_000) / FRAME_MS)
  const dtmf = [...(opts.dtmf ?? [])].sort((a, b) => a.atMs - b.atMs)
  let nextDtmf = 0
  try {
    for (let k = 0; client.isOpen; k++) {
      const atMs = k * FRAME_MS
      if (k >= endFrame) {
        const playing = stream.bidirectional && (client.playback.bufferedMs(client.clock.now()) > 0 || client.playback.pendingMarks > 0)
        if (!playing || k >= capFrame) break
      }
      await client.clock.until(atMs, opts.signal)
      for (; nextDtmf < dtmf.length && dtmf[nextDtmf].atMs <= atMs; nextDtmf++) {
        const { digit } = dtmf[nextDtmf]
        if (client.dtmf(digit)) emit({ type: 'dtmf', digit, atMs })
        else emit({ type: 'dtmf.skipped', digit, reason: stream.bidirectional ? 'stream closed' : 'Twilio sends no DTMF on a <Start><Stream>' })
      }
      for (let i = 0; i < tracks.length; i++) {
        const f = frames[i]
        client.media(tracks[i], k < f.length ? f[k] : SILENCE_FRAME_B64, FRAME_BYTES)
        if (k === f.length) emit({ type: 'audio.ended', track: tracks[i], atMs })
      }
      // When catching up (high speed, late timer), let the socket breathe and incoming messages in.
      if (client.bufferedAmount > 1 << 20) while (client.bufferedAmount > 1 << 18 && client.isOpen) await new Promise((resolve) => setTimeout(resolve, 5))
      else if ((k & 31) === 31) await yieldToIo()
    }
  } catch (err) {
    if (opts.signal?.aborted === true) return true
    throw err
  }
  return false
}

/** What every phase of one simulated call shares: where to send, how to report (a throwing listener is ignored). */
function newCtx (opts: Ctx['opts']): Ctx {
  const emit: SimEventListener = (e) => { try { opts.onEvent?.(e) } catch {} }
  const problems: Problem[] = []
  return {
    opts,
    target: { serverUrl: opts.serverUrl ?? 'http://127.0.0.1:8080', publicBaseUrl: opts.publicBaseUrl.replace(/\/+$/, ''), authToken: opts.authToken },
    emit,
    problems,
    problem (code, severity, message) {
      const p = { code, severity, message, count: 1 }
      problems.push(p)
      emit({ type: 'problem', problem: p })
    },
  }
}

function checkOptions (opts: SimulateOptions): void {
  const bad = (message: string): never => { throw new SimError('BAD_OPTIONS', message) }
  if (opts.speed !== undefined && !(opts.speed > 0 && Number.isFinite(opts.speed))) bad(`speed must be a positive number (got ${opts.speed})`)
  // A non-E.164 --outbound is sent as is: the server must answer it with a spoken error, worth seeing.
  if (opts.outbound === '') bad('outbound must be a phone number like +14155550100')
  if (opts.placed !== undefined && opts.outbound !== undefined) bad('a call is either a click-to-call leg (outbound) or a placed call (placed), not both')
  if (opts.placed !== undefined && opts.placed.url === undefined) bad('the placed call has no Url: Twilio would have nothing to request when it is answered')
  if (opts.answeredBy !== undefined && opts.placed?.machineDetection === undefined) bad('answeredBy needs a placed call with MachineDetection: Twilio sends AnsweredBy only when AMD was asked for')
  if (!/^https:\/\//.test(opts.publicBaseUrl)) bad(`PUBLIC_BASE_URL must be an https:// URL, as the server requires (got "${opts.publicBaseUrl}")`)
  if (opts.authToken === '') bad('TWILIO_AUTH_TOKEN is empty: the simulator signs every request with it')
  for (const d of opts.dtmf ?? []) if (!DTMF.test(d.digit) || !(d.atMs >= 0)) bad(`invalid DTMF "${d.digit}" at ${d.atMs} ms (digits 0-9, * or #)`)
}

/** Requests `<Connect action>` as Twilio does (signed POST, the call's params) and reads the TwiML it returns. */
async function requestConnectAction (ctx: Ctx, call: Answered, url: string): Promise<SimResult['connectAction']> {
  const absolute = new URL(url, ctx.target.publicBaseUrl + '/').href
  let status = 0
  try {
    const res = await postTwilioWebhook(ctx.target, absolute, { ...call.params, CallStatus: 'in-progress' }, { signal: ctx.opts.signal })
    status = res.status
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
    const twiml = parseTwiml(res.body)
    for (const issue of twiml.issues) ctx.problem(issue.code, issue.severity, issue.message)
    ctx.emit({ type: 'next', summary: `the server ended <Connect>; its action ${new URL(absolute).pathname} answered: ${describeVerbs(twiml.verbs)}` })
    return { url: res.url, status, twiml }
  } catch (err) {
    ctx.problem('11200', 'error', `<Connect action> ${absolute} failed (${(err as Error).message}); Twilio would say an application error occurred and hang up`)
    return { url: absolute, status, twiml: undefined }
  }
}

/** Carries on after `<Connect action>` as Twilio would (tools/sim/transfer.ts), with this call's audio and callbacks. */
async function playTwimlAfter (ctx: Ctx, call: Answered, first: { url: string, twiml: ParsedTwiml }, audio: (t: Track) => TrackAudio): Promise<AfterConnect> {
  return await playAfterConnect({
    target: ctx.target,
    call,
    opts: ctx.opts,
    emit: ctx.emit,
    problem: (code, severity, message) => ctx.problem(code, severity, message),
    callback: async (url, event, params) => { if (ctx.opts.statusCallbacks !== false && url !== undefined) await callback(ctx, url, params, event) },
    audio,
    // No keypresses after the first stream (they are timed on its clock).
    pump: async (client, stream, a, o, emit) => await pump(client, stream, a, { ...ctx.opts, tailMs: o.tailMs, maxReplyMs: o.maxReplyMs, dtmf: undefined }, emit),
  }, first)
}

async function callback (ctx: Ctx, url: string, params: Record<string, string>, event: string, onStatus?: (status: number) => void): Promise<void> {
  try {
    const res = await postTwilioWebhook(ctx.target, url, params)
    onStatus?.(res.status)
    ctx.emit({ type: 'status.callback', url: res.url, event, status: res.status })
    if (res.status >= 300) ctx.problem('11200', 'warning', `status callback ${new URL(url).pathname} (${event}) answered ${res.status}`)
  } catch (err) {
    ctx.problem('11200', 'warning', `status callback ${url} (${event}) failed: ${(err as Error).message}`)
  }
}

/** What Twilio reports for a placed call that never connects: only its status callback. */
export interface UnansweredResult { readonly callSid: string, readonly status: 'no-answer' | 'busy' | 'failed', readonly callback: { readonly url: string, readonly status: number } | undefined, readonly problems: readonly Problem[] }

/**
 * A placed call nobody answers (`no-answer`: it rang out; `busy`; `failed`: the number could not be reached): Twilio
 * never requests its TwiML and posts the final CallStatus to its status callback, as it does for a real call.
 */
export async function simulateUnansweredCall (opts: Pick<SimulateOptions, 'serverUrl' | 'publicBaseUrl' | 'authToken' | 'accountSid' | 'signal' | 'onEvent'> & { readonly placed: PlacedCall, readonly status: UnansweredResult['status'] }): Promise<UnansweredResult> {
  checkOptions({ ...opts, placed: opts.placed })
  const ctx = newCtx(opts)
  const { emit, problems } = ctx
  const callSid = opts.placed.sid ?? randomSid('CA')
  const url = opts.placed.statusCallback
  if (url === undefined) return { callSid, status: opts.status, callback: undefined, problems }
  let status = 0
  emit({ type: 'next', summary: `nobody answers: the call ends ${opts.status}` })
  const params = { ...voiceParams({ accountSid: opts.accountSid ?? randomSid('AC'), callSid, from: opts.placed.from, to: opts.placed.to, direction: 'outbound-api' }), CallStatus: opts.status, CallDuration: '0' }
  await callback(ctx, url, params, opts.status, (s) => { status = s })
  return { callSid, status: opts.status, callback: { url, status }, problems }
}
