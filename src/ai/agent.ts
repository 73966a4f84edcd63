/** Agent mode: one Realtime session speaks with the caller; turn states, playback ledger, barge-in. */
import type { RealtimeResponse } from 'openai/resources/realtime/realtime'
import type { AgentState, AiStatus, Speaker } from '../call/events.ts'
import type { LiveCall, MediaFrame } from '../call/session.ts'
import type { Logger } from '../log.ts'
import { base64ByteLength } from '../twilio/codec.ts'
import { AgentTools, type AgentToolsOptions, type ToolConfig } from './agent-tools.ts'
import { AgentTranscripts } from './agent-transcripts.ts'
import type { CallContext } from './call-context.ts'
import { agentSessionUpdate, greetingEvent, historyEvents, systemNoteEvent, type RealtimeClientEvent, type Turn, type RealtimeServerEvent, type SessionConfig } from './events.ts'
import { GapFill, silence } from './gap-fill.ts'
import { InputTranscripts } from './input-transcripts.ts'
import { PlaybackLedger } from './playback-ledger.ts'
import type { ConnectRealtime } from './realtime-connection.ts'
import { TurnHistory } from './turn-history.ts'
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
  /**
   * Asked once, when the session first can speak: a call coming back from a transfer nobody answered gets its
   * conversation so far and what to say instead of the greeting (src/handoff/handoffs.ts `resumeFor`).
   */
  readonly resume?: () => { readonly lines: ReadonlyArray<{ readonly speaker: Speaker, readonly text: string }>, readonly instructions: string } | undefined
}

/** Turns kept for re-injection into a new session (reconnect, roll-over). */
const MAX_HISTORY = 50
/** Cancelled responses remembered so their in-flight deltas can be recognised and dropped. */
const MAX_CANCELLED = 16
/** Our greeting's client event id: the API echoes it in `error.event_id` if it refuses the greeting. */
const GREETING_EVENT_ID = 'talkhint_greeting'
/** A plain request for the model to answer the conversation as it stands (the retry after a failed response). */
const ANSWER: RealtimeClientEvent = { type: 'response.create' }

export class AgentSession {
  readonly mode = 'agent' as const
  readonly ctx: CallContext
  readonly upstream: Upstream
  status: AiStatus = 'connecting'
  lateDeltasDropped = 0
  bargeIns = 0
  #greeting: string
  #onStatus: AgentOptions['onStatus']
  #log: Logger
  #call: LiveCall | undefined
  #ledger = new PlaybackLedger()
  #gap = new GapFill()
  #state: AgentState = 'listening'
  #greeted = false
  /** The first words were asked for (the greeting, or what to say when the caller comes back from a transfer). */
  #opened = false
  #resume: AgentOptions['resume']
  #history = new TurnHistory(MAX_HISTORY)
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
  /** Responses in a row that ended failed or incomplete without a sound: one retry, then the fallback. */
  #silentFailures = 0
  /** What a retry sends: the greeting until it is answered, then a plain response.create. */
  #retry: RealtimeClientEvent = ANSWER

  constructor (o: AgentOptions) {
    this.#greeting = o.config.agentGreeting
    this.#onStatus = o.onStatus
    this.ctx = o.ctx
    this.#log = o.log
    this.#greeted = o.config.agentGreeting.trim() === ''
    this.#resume = o.resume
    this.#input = new InputTranscripts(o.ctx, 'caller:', o.callerSpeaker)
    // #history reads the transcript events itself: it needs their item ids to keep conversation order.
    this.#spoken = new AgentTranscripts(o.ctx, () => this.#nowMs(), () => {})
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
      this.#history.sessionReplaced(kind === 'reconnect')
      const turns = this.#history.turns()
      for (const event of historyEvents(turns)) this.upstream.send(event)
      this.#response = undefined
      this.#foreign = new Set(this.#ledger.ids())
      if (this.#state === 'thinking') this.#setState('listening')
      this.#log.info({ kind, turns: turns.length, pending: this.#history.pending }, 'realtime session replaced; transcript re-injected')
    }
    this.#maybeGreet()
  }

  #maybeGreet (): void {
    if (this.#opened || this.#call === undefined || !this.upstream.ready) return
    this.#opened = true
    const resume = this.#resume?.()
    if (resume !== undefined) {
      // Never greeted twice: the caller has heard us already. The conversation, a note on why we are back, and a turn.
      this.#greeted = true
      const turns = resume.lines.flatMap((l): Turn[] => l.speaker === 'agent' ? [{ role: 'assistant', text: l.text }] : l.speaker === 'remote' ? [{ role: 'user', text: l.text }] : [])
      for (const event of historyEvents(turns)) this.upstream.send(event)
      this.upstream.send(systemNoteEvent(resume.instructions))
      this.#retry = ANSWER
      this.upstream.send(ANSWER)
      this.#log.info({ turns: turns.length }, 'caller is back from a transfer nobody answered; the agent takes a message')
      return
    }
    if (this.#greeted) return
    this.#greeted = true
    this.#retry = { ...greetingEvent(this.#greeting), event_id: GREETING_EVENT_ID }
    this.upstream.send(this.#retry)
  }

  #onEvent (event: RealtimeServerEvent, link: Link): void {
    this.#history.observe(event, this.upstream.isActive(link))
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
      // Tool calls run from response.done only, once the response is known to have completed.
      case 'response.done':
        return this.#responseDone(event.response)
      case 'error':
        return this.#refused(event.error?.code, event.error?.event_id)
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

  #responseDone (response: RealtimeResponse): void {
    const mine = this.#response?.id === response.id ? this.#response : undefined
    if (mine !== undefined) this.#response = undefined
    const completed = response.status === 'completed'
    for (const item of response.output ?? []) {
      if (item.id !== undefined) this.#complete(item.id)
      if (item.type !== 'function_call' || item.call_id === undefined) continue
      // A call from a cancelled (barge-in), failed or incomplete response, or an item that did not
      // complete, may carry cut-off arguments and was never confirmed: it must not hang up or
      // transfer. A missing item status is read as completed (the SDK types make it optional).
      if (completed && (item.status === undefined || item.status === 'completed')) {
        this.#tools.requested(item.call_id, item.name, item.arguments)
      } else {
        this.#log.warn({ tool: item.name, responseStatus: response.status, itemStatus: item.status }, 'tool call not run: its response did not complete')
      }
    }
    this.#tools.responseDone()
    if (this.#failedSilently(response, mine?.audio === true)) return
    if (this.#state === 'thinking' && !this.#input.inSpeech) this.#setState('listening')
    this.#afterPlayback()
  }

  /**
   * `failed` or `incomplete` with nothing said would leave the caller in silence: ask once more,
   * then give up to the fallback (a sentence, then the operator). A response that did speak, e.g.
   * `incomplete` for `max_output_tokens` after some audio, counts as an answer: the caller heard
   * something and will reply, and a retry would repeat it from the start. `cancelled` is a
   * barge-in, not a failure. Nothing is retried while the caller is talking (their turn brings a
   * new response) or while the call is ending (goodbye, transfer).
   */
  #failedSilently (response: RealtimeResponse, spoke: boolean): boolean {
    const status = response.status
    const failed = (status === 'failed' || status === 'incomplete') && !spoke && !this.#tools.busy && !this.#input.inSpeech
    if (!failed) {
      if (status === 'completed' || spoke) {
        this.#silentFailures = 0
        this.#retry = ANSWER
      }
      return false
    }
    const details = response.status_details
    const why = `${status}${details?.reason !== undefined ? ` (${details.reason})` : ''}${details?.error?.code !== undefined ? ` (${details.error.code})` : ''}`
    this.#log.warn({ responseId: response.id, status, reason: details?.reason, error: details?.error, attempt: this.#silentFailures + 1 }, 'realtime response ended without a word')
    if (++this.#silentFailures > 1) {
      this.#giveUp(`responses ${why} twice`)
      return true
    }
    this.upstream.send(this.#retry)
    return true
  }

  /**
   * An `error` event for one of our requests. `conversation_already_has_active_response` on the
   * greeting means the model is already answering the caller (server VAD heard them first): that
   * answer plays, and greeting over it would talk across the caller. The greeting is not resent.
   */
  #refused (code: string | null | undefined, eventId: string | null | undefined): void {
    if (code !== 'conversation_already_has_active_response') return
    if (eventId === GREETING_EVENT_ID) {
      this.#retry = ANSWER
      this.#log.info({}, 'greeting skipped: the model is already answering the caller')
    }
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

  #giveUp (reason: string): void {
    this.status = 'degraded'
    this.#onStatus('degraded', `ai unavailable (${reason}); transferring to the operator`)
    this.#tools.fallback()
  }
}
