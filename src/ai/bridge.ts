/** The realtime AI bridge: pre-warms sessions at webhook time and attaches one AI session to each call. */
import type { Config, Mode } from '../config.ts'
import type { CallEventBus } from '../call/bus.ts'
import { speakerForTrack, type AiStatus, type CallWebhookEvent, type Direction } from '../call/events.ts'
import type { CallHandler, LiveCall } from '../call/session.ts'
import { outboundAgentSettings } from '../call/agent-call.ts'
import type { Logger } from '../log.ts'
import type { TwilioApi } from '../twilio/rest.ts'
import type { Handoffs } from '../handoff/handoffs.ts'
import { AgentSession } from './agent.ts'
import { CallContext } from './call-context.ts'
import type { ConnectRealtime } from './realtime-connection.ts'
import { AssistSession } from './assist.ts'

export interface BridgeDeps {
  /** undefined when OPENAI_API_KEY is not set: the bridge is off and says so per call. */
  readonly connect: ConnectRealtime | undefined
  readonly config: Config
  readonly bus: CallEventBus
  readonly twilio: TwilioApi | undefined
  /** Warm transfers and the way back (src/handoff/); without it, transfers are a plain dial. */
  readonly handoffs?: Handoffs
  readonly log: Logger
  readonly now: () => number
}

export interface RealtimeBridge {
  readonly enabled: boolean
  /** Opens the call's session(s) from the webhook, before the media stream exists. */
  prewarm (event: CallWebhookEvent): void
  /** The call handler for a started media stream (the registry's factory). */
  attach (call: LiveCall): CallHandler | undefined
  /** Closes every upstream socket (shutdown). */
  close (): void
  readonly stats: { readonly live: number, readonly prewarmed: number, readonly adopted: number, readonly expired: number }
}

type AiSession = AssistSession | AgentSession

interface Entry {
  session: AiSession
  call: LiveCall | undefined
  status: AiStatus | undefined
  detail: string | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  closed: boolean
  /** The purpose the session was opened with: a stream whose verified purpose differs does not adopt it. */
  purpose: string | undefined
}

/** Creates the bridge. Everything it does per call is bounded and never blocks the media path. */
export function createRealtimeBridge (deps: BridgeDeps): RealtimeBridge {
  const { config, bus, log, now } = deps
  const prewarmed = new Map<string, Entry>()
  const live = new Set<Entry>()
  let adopted = 0
  let expired = 0

  const publishStatus = (entry: Entry, status: AiStatus, detail?: string): void => {
    entry.status = status
    entry.detail = detail
    const call = entry.call
    if (call === undefined) return
    const kind = entry.session.mode === 'agent' ? 'realtime' as const : 'transcription' as const
    bus.publish({ type: 'ai.status', callSid: call.callSid, at: now(), status, ...(detail !== undefined ? { detail } : {}), ...(status === 'refused' ? { kind } : {}) })
  }

  /** `purpose`: an outbound agent call's task, which sets that call's greeting and instructions. */
  const open = (callSid: string, mode: Mode, direction: Direction, sessionLog: Logger, purpose: string | undefined): Entry => {
    const connect = deps.connect as ConnectRealtime
    const ctx = new CallContext(callSid, bus, now)
    const entry: Entry = { session: undefined as unknown as AiSession, call: undefined, status: undefined, detail: undefined, timer: undefined, closed: false, purpose }
    const onStatus = (status: AiStatus, detail?: string): void => {
      if (status !== entry.status || detail !== entry.detail) publishStatus(entry, status, detail)
    }
    entry.session = mode === 'agent'
      ? new AgentSession({
        ctx,
        connect,
        config: purpose === undefined ? config : { ...config, ...outboundAgentSettings(config, purpose) },
        tools: { twilio: deps.twilio, ...(deps.handoffs !== undefined ? { handoffs: deps.handoffs } : {}) },
        resume: () => deps.handoffs?.resumeFor(callSid),
        log: sessionLog,
        callerSpeaker: speakerForTrack(direction, 'inbound'),
        onStatus,
      })
      : new AssistSession({ ctx, connect, config, log: sessionLog, direction }, onStatus)
    return entry
  }

  const finish = (entry: Entry, reason: string): void => {
    if (entry.closed) return
    entry.closed = true
    clearTimeout(entry.timer)
    live.delete(entry)
    const call = entry.call
    const accounting = entry.session.close(reason)
    if (call === undefined) return
    const { ctx } = entry.session
    const forwarded = entry.session instanceof AgentSession ? entry.session.upstream.framesForwarded : entry.session.framesForwarded
    const dropped = entry.session instanceof AgentSession ? entry.session.upstream.framesDropped : entry.session.framesDropped
    ctx.metric('frames_forwarded', forwarded)
    ctx.metric('frames_dropped', dropped)
    call.log.info({ reason, mode: entry.session.mode, ai: accounting, metrics: ctx.summary() }, 'ai bridge stopped')
  }

  return {
    enabled: deps.connect !== undefined,

    prewarm (event) {
      if (deps.connect === undefined || !event.ai || prewarmed.has(event.callSid)) return
      const sessionLog = log.child({ callSid: event.callSid })
      const entry = open(event.callSid, event.mode, event.direction, sessionLog, event.purpose)
      entry.timer = setTimeout(() => {
        if (prewarmed.get(event.callSid) !== entry) return
        prewarmed.delete(event.callSid)
        expired++
        sessionLog.info({ ttlMs: config.realtimePrewarmTtlMs }, 'pre-warmed realtime session was not adopted by a media stream; closed')
        finish(entry, 'not adopted')
      }, config.realtimePrewarmTtlMs)
      prewarmed.set(event.callSid, entry)
    },

    attach (call) {
      if (deps.connect === undefined) {
        bus.publish({ type: 'ai.status', callSid: call.callSid, at: now(), status: 'off', detail: 'OPENAI_API_KEY is not set' })
        // An agent call without AI would be silence: end the stream so Twilio runs the TwiML after
        // <Connect> (a sentence, then the operator if one is set).
        if (call.mode === 'agent' && call.bidirectional) setImmediate(() => call.end(1000, 'ai off'))
        return undefined
      }
      let entry = prewarmed.get(call.callSid)
      if (entry !== undefined) {
        prewarmed.delete(call.callSid)
        clearTimeout(entry.timer)
        entry.timer = undefined
        if (entry.session.mode !== call.mode || entry.purpose !== call.purpose) {
          finish(entry, 'mode changed')
          entry = undefined
        } else {
          adopted++
          call.log.debug({}, 'adopted the pre-warmed realtime session')
        }
      }
      entry ??= open(call.callSid, call.mode, call.direction, call.log, call.purpose)
      const e = entry
      e.call = call
      e.session.ctx.startedAt = call.startedAt
      const session = e.session
      if (session instanceof AgentSession) session.attach(call)
      else session.attach(call.direction, call.tracks)
      live.add(e)
      publishStatus(e, session.status, e.detail)
      return {
        media: (frame) => session.media(frame),
        ...(session instanceof AgentSession ? { mark: (name: string) => session.mark(name) } : {}),
        stop: (reason) => finish(e, reason),
      }
    },

    close () {
      for (const entry of prewarmed.values()) finish(entry, 'shutdown')
      prewarmed.clear()
      for (const entry of [...live]) finish(entry, 'shutdown')
    },

    get stats () {
      return { live: live.size, prewarmed: prewarmed.size, adopted, expired }
    },
  }
}
