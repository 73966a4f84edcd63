/** Agent mode: one Realtime session speaks with the caller; turn states, playback ledger, barge-in. */
import type { AgentState, AiStatus, Speaker } from '../call/events.ts'
import type { LiveCall, MediaFrame } from '../call/session.ts'
import type { Logger } from '../log.ts'
import { base64ByteLength } from '../twilio/codec.ts'
import { AgentTools, type AgentToolsOptions, type ToolConfig } from './agent-tools.ts'
import { AgentTranscripts } from './agent-transcripts.ts'
import type { CallContext } from './call-context.ts'
import { agentSessionUpdate, greetingEvent, historyEvents, type RealtimeServerEvent, type SessionConfig, type Turn } from './events.ts'
import { GapFill, silence } from './gap-fill.ts'
import { InputTranscripts } from './input-transcripts.ts'
import { PlaybackLedger } from './playback-ledger.ts'
import type { ConnectRealtime } from './realtime-connection.ts'
import { Upstream, type Link, type ReadyKind } from './upstream.ts'

export type AgentConfig = SessionConfig & ToolConfig & {
  readonly agentGreeting: string
  readonly realtimeRolloverMs: number
  readonly realtimeBufferMs: number
  readonly realtimeReconnectAttempts: number
}

export interface AgentOptions {
  readonly ctx: CallContext
  readonly connect: ConnectRealtime
  readonly config: AgentConfig
  readonly tools: Omit<AgentToolsOptions, 'send' | 'call' | 'log' | 'ctx' | 'config'>
  readonly log: Logger
  /** How the caller is labelled (the remote party). */
  readonly callerSpeaker: Speaker
  readonly onStatus: (status: AiStatus, detail?: string) => void
}

/** Turns kept for re-injection into a new session (reconnect, roll-over). */
const MAX_HISTORY = 50
/** Cancelled responses remembered so their in-flight deltas can be recognised and dropped. */
const MAX_CANCELLED = 16

export class AgentSession {
  readonly mode = 'agent' as const
  readonly ctx: CallContext
  readonly upstream: Upstream
  status: AiStatus = 'connecting'
  lateDeltasDropped = 0
  bargeIns = 0
  #o: AgentOptions
  #log: Logger
  #call: LiveCall | undefined
  #ledger = new PlaybackLedger()
  #gap = new GapFill()
  #state: AgentState = 'listening'
  #greeted = false
  #history: Turn[] = []
  #response: { id: string, audio: boolean } | undefined
  #cancelled: string[] = []
  /** Items of a previous session still playing: the new session cannot truncate them. */
  #foreign = new Set<string>()
  #input: InputTranscripts
  #spoken: AgentTranscripts
  #callerStoppedAt = 0
  #tools: AgentTools
  /** End of the latest caller frame on Twilio's clock: caller transcripts are timed on it too. */
  #mediaMs = 0

  constructor (o: AgentOptions) {
    this.#o = o
    this.ctx = o.ctx
    this.#log = o.log
    this.#greeted = o.config.agentGreeting.trim() === ''
    this.#input = new InputTranscripts(o.ctx, 'caller:', o.callerSpeaker, (text) => this.#remember('user', text))
    this.#spoken = new AgentTranscripts(o.ctx, () => this.#nowMs(), (text) => this.#remember('assistant', text))
    this.#tools = new AgentTools({
      ...o.tools,
      config: o.config,
      ctx: o.ctx,
      log: o.log,
      send: (event) => this.upstream.send(event),
      call: () => this.#call,
    })
    this.upstream = new Upstream({
      connect: o.connect,
      target: { model: o.config.realtimeModel },
      sessionUpdate: agentSessionUpdate(o.config),
      log: o.log,
      rolloverMs: o.config.realtimeRolloverMs,
      bufferBytes: o.config.realtimeBufferMs * 8,
      maxAttempts: o.config.realtimeReconnectAttempts,
      handlers: {
        onEvent: (event, link) => this.#onEvent(event, link),
        onReady: (link, kind) => this.#onReady(kind),
        onStatus: (status, detail) => {
          this.status = status
          o.onStatus(status, detail)
        },
        onGiveUp: (reason) => this.#giveUp(reason),
        onRefused: (refusal) => this.#giveUp(`config refused: ${refusal.message}`),
        isIdle: () => this.#idle(),
      },
    })
  }

  get state (): AgentState { return this.#state }

  /** The media stream started: we may talk now. */
  attach (call: LiveCall): void {
    this.#call = call
    this.#log = call.log
    this.#tools.attached()
    this.#maybeGreet()
  }

  /** Hot path: caller audio only (the outbound track, if any, is our own voice). */
  media (frame: MediaFrame): void {
    if (frame.track !== 'inbound') return
    this.#mediaMs = frame.timestamp + (frame.bytes >>> 3)
    const gap = this.#gap.gapBefore(frame.timestamp, frame.bytes)
    if (gap > 0) this.upstream.append(silence(gap), gap * 8, frame.timestamp - gap, true)
    this.upstream.append(frame.payload, frame.bytes, frame.timestamp)
  }

  /** A Twilio mark echo: the audio before it has played. */
  mark (name: string): void {
    if (this.#ledger.played(name)) this.#afterPlayback()
  }

  close (reason: string): Record<string, unknown> {
    this.upstream.close(reason)
    this.#tools.close()
    this.ctx.order.flush()
    return {
      framesForwarded: this.upstream.framesForwarded,
      framesDropped: this.upstream.framesDropped,
      silenceFilledMs: this.#gap.filledMs,
      reconnects: this.upstream.reconnects,
      rollovers: this.upstream.rollovers,
      bargeIns: this.bargeIns,
      lateDeltasDropped: this.lateDeltasDropped,
    }
  }

  #onReady (kind: ReadyKind): void {
    if (kind !== 'first') {
      // A fresh session knows nothing: give it the conversation so far, then carry on.
      for (const event of historyEvents(this.#history)) this.upstream.send(event)
      this.#response = undefined
      this.#foreign = new Set(this.#ledger.ids())
      if (this.#state === 'thinking') this.#setState('listening')
      this.#log.info({ kind, turns: this.#history.length }, 'realtime session replaced; transcript re-injected')
    }
    this.#maybeGreet()
  }

  #maybeGreet (): void {
    if (this.#greeted || this.#call === undefined || !this.upstream.ready) return
    this.#greeted = true
    this.upstream.send(greetingEvent(this.#o.config.agentGreeting))
  }

  #onEvent (event: RealtimeServerEvent, link: Link): void {
    if (this.#input.handle(event, link)) {
      if (event.type === 'input_audio_buffer.speech_started' && this.upstream.isActive(link)) this.#bargeIn()
      else if (event.type === 'input_audio_buffer.speech_stopped' && this.upstream.isActive(link)) {
        this.#callerStoppedAt = this.ctx.now()
        this.#setState('thinking')
      }
      return
    }
    // Responses on a retired session belong to a conversation we have moved away from.
    if (!this.upstream.isActive(link)) return
    switch (event.type) {
      case 'response.created':
        this.#response = { id: event.response.id ?? '', audio: false }
        if (this.#state === 'listening') this.#setState('thinking')
        return
      case 'response.output_audio.delta':
        return this.#audio(event.response_id, event.item_id, event.delta)
      case 'response.output_audio.done':
        this.#complete(event.item_id)
        return this.#afterPlayback()
      case 'response.output_audio_transcript.delta':
        return this.#spoken.text(event.item_id, event.delta, false)
      case 'response.output_audio_transcript.done':
        return this.#spoken.text(event.item_id, event.transcript, true)
      case 'response.function_call_arguments.done':
        this.#tools.requested(event.call_id, event.name, event.arguments)
        return
      case 'response.done':
        return this.#responseDone(event.response)
      default:
    }
  }

  #audio (responseId: string, itemId: string, delta: string): void {
    const call = this.#call
    if ((this.#response?.id !== responseId && this.#cancelled.includes(responseId)) || call === undefined) {
      this.lateDeltasDropped++
      return
    }
    let response = this.#response
    if (response === undefined || response.id !== responseId) response = this.#response = { id: responseId, audio: false }
    if (!response.audio) {
      response.audio = true
      if (this.#callerStoppedAt > 0) {
        this.ctx.metric('caller_stop_to_agent_audio_ms', this.ctx.now() - this.#callerStoppedAt)
        this.#callerStoppedAt = 0
      }
      this.#setState('speaking')
    }
    this.#spoken.started(itemId)
    // A <Start> stream cannot take audio back (31924): nothing was sent, so nothing will play.
    if (!call.sendMedia(delta)) return
    const mark = this.#ledger.sent(itemId, base64ByteLength(delta))
    if (mark !== undefined) call.sendMark(mark)
  }

  /** The item's audio is complete: mark its tail so we learn when the caller has heard all of it. */
  #complete (itemId: string): void {
    const tail = this.#ledger.complete(itemId)
    if (tail !== undefined) this.#call?.sendMark(tail)
  }

  #responseDone (response: { id?: string, status?: string, output?: Array<{ type?: string, id?: string, name?: string, call_id?: string, arguments?: string }> }): void {
    if (this.#response?.id === response.id) this.#response = undefined
    for (const item of response.output ?? []) {
      if (item.id !== undefined) this.#complete(item.id)
      if (item.type === 'function_call' && item.call_id !== undefined && item.name !== undefined) {
        this.#tools.requested(item.call_id, item.name, item.arguments ?? '{}')
      }
    }
    if (response.status === 'failed') this.#log.warn({ responseId: response.id }, 'realtime response failed')
    this.#tools.responseDone()
    if (this.#state === 'thinking' && !this.#input.inSpeech) this.#setState('listening')
    this.#afterPlayback()
  }

  /** The caller started talking over us: stop playback, tell the model what was heard, drop the rest. */
  #bargeIn (): void {
    const response = this.#response
    if (response !== undefined) {
      this.#cancelled.push(response.id)
      if (this.#cancelled.length > MAX_CANCELLED) this.#cancelled.shift()
      this.#response = undefined
    }
    const item = this.#ledger.playing()
    const call = this.#call
    if (item !== undefined && call !== undefined) {
      // Order matters: Twilio stops playing first, then the model learns how much was heard.
      call.sendClear()
      if (!this.#foreign.has(item.itemId)) {
        this.upstream.send({ type: 'conversation.item.truncate', item_id: item.itemId, content_index: 0, audio_end_ms: item.playedMs })
      }
      this.bargeIns++
      this.#log.debug({ itemId: item.itemId, playedMs: item.playedMs, sentMs: item.sentBytes >>> 3 }, 'barge-in')
    }
    this.#ledger.reset()
    this.#setState('listening')
  }

  #afterPlayback (): void {
    if (!this.#ledger.idle || this.#response !== undefined) return
    if (this.#state === 'speaking') this.#setState('listening')
    this.#tools.playbackIdle()
  }

  #idle (): boolean {
    return this.#state === 'listening' && !this.#input.inSpeech && this.#response === undefined && this.#ledger.idle && !this.#tools.busy
  }

  /** Call-relative now: the media clock, or the wall clock if it is ahead (no caller audio yet). */
  #nowMs (): number {
    return Math.max(this.#mediaMs, this.ctx.callMs)
  }

  #setState (state: AgentState): void {
    if (state === this.#state) return
    this.#state = state
    this.ctx.publish({ type: 'agent.state', callSid: this.ctx.callSid, at: this.ctx.now(), state })
  }

  #remember (role: Turn['role'], text: string): void {
    this.#history.push({ role, text })
    if (this.#history.length > MAX_HISTORY) this.#history.shift()
  }

  #giveUp (reason: string): void {
    this.status = 'degraded'
    this.#o.onStatus('degraded', `ai unavailable (${reason}); transferring to the operator`)
    this.#tools.fallback()
  }
}
