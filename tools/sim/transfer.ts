/** After `<Connect action>`: plays what Twilio runs next (the warm transfer's fork, the operator's ring, whisper and bridge, `<Dial action>`, the agent again). */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Track } from '../../src/call/events.ts'
import { FRAME_MS, SILENCE_FRAME_B64, type TrackAudio } from './audio.ts'
import { TwilioStreamClient } from './stream-client.ts'
import { describeVerbs, parseTwiml, type ParsedTwiml, type TwimlStream, type TwimlVerb } from './twiml.ts'
import type { CloseInfo, Problem, SimEventListener } from './types.ts'
import { postTwilioWebhook, randomSid, toLocalUrl, type ServerTarget } from './webhook.ts'

/** What the dialled person does: picks up (default), lets it ring out (`<Dial timeout>`), or is busy. */
export type OperatorPickup = 'answer' | 'no-answer' | 'busy'

/** Most TwiML documents fetched after the first action's answer (each `<Dial action>`, each `<Connect action>`). */
export const MAX_TWIML_DOCUMENTS = 8
/** Most verbs run in all of them: a server that answers TwiML in a loop cannot keep the simulator going. */
export const MAX_VERBS = 64

/** One `<Dial>`: who was rung, what they heard before the bridge, how long they talked, and how it ended. */
export interface DialOutcome {
  readonly to: string
  /** The dialled leg's CallSid (a child of the call). */
  readonly legSid: string
  readonly status: 'completed' | 'no-answer' | 'busy'
  /** The `<Say>` text of the `<Number url>` TwiML: what the person heard alone, before the bridge. */
  readonly whisper: string | undefined
  /** Call-clock ms of the bridged conversation (0 when nobody answered). */
  readonly durationMs: number
  /** The `<Dial action>` request and its answer's verbs. */
  readonly action: { readonly url: string, readonly status: number, readonly summary: string } | undefined
}

/** Everything Twilio did after the first `<Connect>` ended. */
export interface AfterConnect {
  /** Each TwiML document run, in order: where it came from and what it said. */
  readonly documents: ReadonlyArray<{ readonly url: string, readonly summary: string }>
  /** What the caller heard (`<Say>`). */
  readonly said: readonly string[]
  readonly dials: readonly DialOutcome[]
  /** `<Start><Stream>` forks opened on the call, and what stopped them. */
  readonly forks: ReadonlyArray<{ readonly name: string | undefined, readonly streamSid: string, readonly stoppedBy: 'Stop' | 'dial ended' | 'call ended' }>
  /** `<Connect><Stream>`s opened again (the caller back with the agent). */
  readonly agentStreams: ReadonlyArray<{ readonly streamSid: string, readonly durationMs: number, readonly close: CloseInfo }>
  readonly ended: 'hangup' | 'end of TwiML' | 'step limit' | 'failed' | 'aborted'
  /** Wall-clock ms × speed: the call time this part added. */
  readonly durationMs: number
  /** What the stream clients found (Twilio's per-stream errors). */
  readonly problems: readonly Problem[]
}

export interface AfterConnectDeps {
  readonly target: ServerTarget
  readonly call: { readonly accountSid: string, readonly callSid: string, readonly params: Readonly<Record<string, string>> }
  readonly opts: {
    readonly speed?: number
    readonly subprotocol?: string | false
    readonly signal?: AbortSignal
    readonly operatorPickup?: OperatorPickup
    readonly tailMs?: number
    readonly maxReplyMs?: number
  }
  readonly emit: SimEventListener
  problem (code: string, severity: Problem['severity'], message: string): void
  /** Posts a status callback and waits for it (nothing when callbacks are off or `url` is undefined). */
  callback (url: string | undefined, event: string, params: Record<string, string>): Promise<void>
  readonly audio: (t: Track) => TrackAudio
  /** The simulator's frame pump (simulate.ts): streams the tracks, then the tail; true if aborted. */
  readonly pump: (client: TwilioStreamClient, stream: TwimlStream, audio: (t: Track) => TrackAudio, opts: { tailMs?: number, maxReplyMs?: number, signal?: AbortSignal }, emit: SimEventListener) => Promise<boolean>
}

interface Doc { readonly url: string, readonly twiml: ParsedTwiml }
interface Fork { readonly client: TwilioStreamClient, readonly stream: TwimlStream }

/**
 * Runs `first` (the `<Connect action>`'s answer) and whatever its actions answer, as Twilio would, until a hang-up,
 * the end of the TwiML, or the step limit. Never throws for the server's faults: they are reported as problems.
 */
export async function playAfterConnect (d: AfterConnectDeps, first: Doc): Promise<AfterConnect> {
  const startedAt = Date.now()
  const speed = d.opts.speed ?? 1
  const documents: Array<AfterConnect['documents'][number]> = []
  const said: string[] = []
  const dials: DialOutcome[] = []
  const forks: Array<AfterConnect['forks'][number]> = []
  const agentStreams: Array<AfterConnect['agentStreams'][number]> = []
  const problems: Problem[] = []
  const open: Fork[] = []
  let ended: AfterConnect['ended'] | undefined
  let verbs = 0

  const fetchTwiml = async (url: string, params: Record<string, string>, what: string): Promise<Doc | undefined> => {
    const absolute = new URL(url, d.target.publicBaseUrl + '/').href
    try {
      const res = await postTwilioWebhook(d.target, absolute, params, { signal: d.opts.signal })
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
      const twiml = parseTwiml(res.body)
      for (const issue of twiml.issues) if (issue.code !== 'hangup') d.problem(issue.code, issue.severity, issue.message)
      d.emit({ type: 'next', summary: `${what} ${new URL(absolute).pathname} answered: ${describeVerbs(twiml.verbs)}` })
      return { url: res.url, twiml }
    } catch (err) {
      d.problem('11200', 'error', `${what} ${absolute} failed (${(err as Error).message}); Twilio would say an application error occurred and hang up`)
      return undefined
    }
  }

  const streamStatus = (client: TwilioStreamClient, stream: TwimlStream, event: string): Record<string, string> =>
    ({ AccountSid: d.call.accountSid, CallSid: d.call.callSid, StreamSid: client.streamSid, StreamName: stream.name ?? client.streamSid, StreamEvent: event, Timestamp: new Date().toISOString() })

  const openStream = async (stream: TwimlStream): Promise<TwilioStreamClient | undefined> => {
    const base = d.target.publicBaseUrl
    const wsUrl = new URL(stream.url, base.replace(/^https:/, 'wss:') + '/').href
    try {
      const client = await TwilioStreamClient.open({
        url: toLocalUrl(d.target.serverUrl, base, wsUrl).url,
        signedUrl: stream.url.startsWith('wss://') ? stream.url : wsUrl,
        authToken: d.target.authToken,
        subprotocol: d.opts.subprotocol,
        accountSid: d.call.accountSid,
        callSid: d.call.callSid,
        tracks: stream.tracks,
        bidirectional: stream.bidirectional,
        customParameters: stream.parameters,
        speed,
        onEvent: d.emit,
        signal: d.opts.signal,
      })
      client.start()
      await d.callback(stream.statusCallback, 'stream-started', streamStatus(client, stream, 'stream-started'))
      return client
    } catch (err) {
      d.problem('31920', 'error', `the ${stream.kind === 'start' ? '<Start>' : '<Connect>'}<Stream> after the transfer could not open: ${(err as Error).message}`)
      return undefined
    }
  }

  /** Stops the open forks named `name` (all when undefined): `stop`, close, status callback. */
  const stopForks = async (name: string | undefined, by: AfterConnect['forks'][number]['stoppedBy']): Promise<void> => {
    for (const f of [...open]) {
      if (name !== undefined && f.stream.name !== name) continue
      open.splice(open.indexOf(f), 1)
      if (f.client.isOpen) f.client.stop()
      await f.client.close()
      problems.push(...f.client.problems)
      forks.push({ name: f.stream.name, streamSid: f.client.streamSid, stoppedBy: by })
      await d.callback(f.stream.statusCallback, 'stream-stopped', streamStatus(f.client, f.stream, 'stream-stopped'))
    }
  }

  /** `<Dial>`: ring, then (per `operatorPickup`) whisper and bridge, or not; then `<Dial action>` if it has one. */
  const dial = async (v: Extract<TwimlVerb, { verb: 'Dial' }>): Promise<Doc | undefined> => {
    const pickup = d.opts.operatorPickup ?? 'answer'
    const legSid = randomSid('CA')
    const to = v.target
    const events = new Set(v.number?.statusCallbackEvents ?? [])
    const leg = (status: string, extra: Record<string, string> = {}): Record<string, string> => ({
      AccountSid: d.call.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: legSid,
      ParentCallSid: d.call.callSid,
      CallStatus: status,
      Direction: 'outbound-dial',
      From: v.callerId ?? d.call.params.To ?? '',
      To: to,
      ...extra,
    })
    const legStatus = async (event: 'ringing' | 'answered' | 'completed', status: string, extra?: Record<string, string>): Promise<void> => {
      if (events.has(event)) await d.callback(v.number?.statusCallback, `dialled leg ${event}`, leg(status, extra))
    }
    const report = (stage: 'ringing' | 'answered' | 'ended', status: string, durationMs = 0): void =>
      d.emit({ type: 'dial', to, stage, status, legSid, durationMs })

    let status: DialOutcome['status']
    let whisper: string | undefined
    let durationMs = 0
    if (pickup !== 'busy') {
      report('ringing', 'ringing')
      await legStatus('ringing', 'ringing')
    }
    if (pickup === 'answer') {
      await legStatus('answered', 'in-progress')
      report('answered', 'in-progress')
      // <Number url>: the called party hears this TwiML alone; Twilio bridges once it has played.
      if (v.number?.url !== undefined) {
        const played = await fetchTwiml(v.number.url, leg('in-progress'), 'the whisper (<Number url>)')
        const words = played?.twiml.verbs.flatMap((w) => w.verb === 'Say' ? [w.text] : []) ?? []
        whisper = words.join(' ')
        d.emit({ type: 'whisper', text: whisper, legSid })
      }
      // Bridged: the caller on the inbound track, the person on the outbound one, on every fork of the call.
      if (open.length > 0) {
        const bridged = turnTaking(d.audio)
        await Promise.all(open.map(async (f) => await d.pump(f.client, f.stream, bridged, { signal: d.opts.signal }, d.emit)))
        durationMs = Math.max(...open.map((f) => f.client.clock.now()))
      } else {
        durationMs = Math.max(d.audio('inbound').ms, d.audio('outbound').ms)
      }
      await stopForks(undefined, 'dial ended')
      status = 'completed'
      await legStatus('completed', 'completed', { CallDuration: String(Math.round(durationMs / 1000)) })
    } else {
      // Nobody picks up within <Dial timeout> (call time), or the line is busy at once.
      if (pickup === 'no-answer') await sleep((v.timeout ?? 30) * 1000 / speed, undefined, { signal: d.opts.signal })
      status = pickup
      await legStatus('completed', pickup)
    }
    report('ended', status, durationMs)
    let action: DialOutcome['action']
    let next: Doc | undefined
    if (v.action !== undefined) {
      next = await fetchTwiml(v.action, {
        ...d.call.params,
        CallStatus: 'in-progress',
        DialCallStatus: status,
        DialCallSid: legSid,
        ...(status === 'completed' ? { DialCallDuration: String(Math.round(durationMs / 1000)) } : {}),
      }, '<Dial action>')
      action = { url: new URL(v.action, d.target.publicBaseUrl + '/').href, status: next === undefined ? 0 : 200, summary: next === undefined ? '' : describeVerbs(next.twiml.verbs) }
      if (next === undefined) ended = 'failed'
    }
    dials.push({ to, legSid, status, whisper, durationMs, action })
    return next
  }

  /** `<Connect><Stream>` again: the caller talks to the agent; when the server ends it, `<Connect action>` decides. */
  const connect = async (v: Extract<TwimlVerb, { verb: 'Start' | 'Connect' }>, stream: TwimlStream): Promise<Doc | undefined> => {
    const client = await openStream(stream)
    if (client === undefined) {
      ended = 'failed'
      return undefined
    }
    const aborted = await d.pump(client, stream, d.audio, d.opts, d.emit)
    const serverClosed = !client.isOpen
    if (!serverClosed) client.stop()
    const close = await client.close(1000, '', aborted ? 'abort' : 'client')
    problems.push(...client.problems)
    agentStreams.push({ streamSid: client.streamSid, durationMs: client.clock.now(), close })
    await d.callback(stream.statusCallback, 'stream-stopped', streamStatus(client, stream, 'stream-stopped'))
    if (aborted) ended = 'aborted'
    else if (serverClosed && close.by === 'server' && v.action !== undefined) return await fetchTwiml(v.action, { ...d.call.params, CallStatus: 'in-progress' }, '<Connect action>')
    else ended = 'hangup' // the caller hung up while the agent had them
    return undefined
  }

  let doc: Doc | undefined = first
  for (let fetched = 0; doc !== undefined && ended === undefined; fetched++) {
    if (fetched > MAX_TWIML_DOCUMENTS) {
      d.problem('loop', 'error', `the server kept answering with more TwiML (${MAX_TWIML_DOCUMENTS} documents after <Connect action>); the simulator hangs up here`)
      ended = 'step limit'
      break
    }
    documents.push({ url: doc.url, summary: describeVerbs(doc.twiml.verbs) })
    let next: Doc | undefined
    for (const v of doc.twiml.verbs) {
      if (++verbs > MAX_VERBS) {
        d.problem('loop', 'error', `more than ${MAX_VERBS} verbs after <Connect action>; the simulator hangs up here`)
        ended = 'step limit'
        break
      }
      if (d.opts.signal?.aborted === true) {
        ended = 'aborted'
        break
      }
      if (v.verb === 'Say') {
        said.push(v.text)
        d.emit({ type: 'say', text: v.text })
      } else if (v.verb === 'Start' && v.stream !== undefined) {
        const client = await openStream(v.stream)
        if (client !== undefined) open.push({ client, stream: v.stream })
      } else if (v.verb === 'Stop') {
        await stopForks(v.streamName, 'Stop')
      } else if (v.verb === 'Dial') {
        next = await dial(v)
        // <Dial action> replaces the rest of this document; without one, Twilio goes on with the next verb.
        if (next !== undefined || v.action !== undefined) break
      } else if (v.verb === 'Connect') {
        if (v.stream === undefined) continue
        next = await connect(v, v.stream)
        break
      } else if (v.verb === 'Hangup' || v.verb === 'Reject') {
        ended = 'hangup'
        break
      } else if (v.verb === 'Redirect' || v.verb === 'Other') {
        d.emit({ type: 'next', summary: `${describeVerbs([v])} is not played by the simulator; skipped` })
      }
    }
    if (next === undefined) ended ??= 'end of TwiML'
    doc = next
  }
  // The call is over: Twilio stops whatever still streams.
  await stopForks(undefined, 'call ended')
  return { documents, said, dials, forks, agentStreams, ended: ended ?? 'end of TwiML', durationMs: (Date.now() - startedAt) * speed, problems }
}

/** Pause between the caller's last word and the person's first on the bridged leg. */
const TURN_GAP_MS = 600

/**
 * The bridged conversation as a turn: the caller (inbound) speaks first, the person (outbound) answers once the
 * caller's audio is over, so the copilot sees a question, then its answer, with time for a hint in between.
 */
function turnTaking (audio: (t: Track) => TrackAudio): (t: Track) => TrackAudio {
  const first = audio('inbound')
  const second = audio('outbound')
  const wait = Math.ceil((first.ms + TURN_GAP_MS) / FRAME_MS)
  const answer: TrackAudio = { ...second, frames: [...Array<string>(wait).fill(SILENCE_FRAME_B64), ...second.frames], ms: wait * FRAME_MS + second.ms }
  return (t) => t === 'inbound' ? first : answer
}

/** The report's lines for what happened after `<Connect action>`. */
export function formatAfterConnect (a: AfterConnect): string[] {
  const lines: string[] = []
  for (const dial of a.dials) {
    lines.push(`  transfer   dialled ${dial.to} (leg ${dial.legSid}): ${dial.status}`)
    if (dial.whisper !== undefined) lines.push(`  whisper    "${dial.whisper}"`)
    if (dial.status === 'completed') lines.push(`  person     ${(dial.durationMs / 1000).toFixed(1)}s bridged with the caller`)
    if (dial.action !== undefined) lines.push(`  dial       action → ${dial.action.summary !== '' ? dial.action.summary : 'failed'}`)
  }
  for (const f of a.forks) lines.push(`  fork       ${f.streamSid}${f.name !== undefined ? ` (${f.name})` : ''} stopped: ${f.stoppedBy}`)
  for (const s of a.agentStreams) lines.push(`  agent      back on ${s.streamSid} for ${(s.durationMs / 1000).toFixed(1)}s, closed by ${s.close.by}`)
  lines.push(`  then       ${a.ended}`)
  return lines
}
