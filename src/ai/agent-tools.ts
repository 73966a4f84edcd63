/** The agent's tools (end_call, transfer_to_operator, take_message) and the AI-failure fallback: Twilio REST, or `<Connect action>`. */
import type { StreamOutcome } from '../call/events.ts'
import type { LiveCall } from '../call/session.ts'
import { FALLBACK_SENTENCE } from '../call/stream-outcome.ts'
import type { Logger } from '../log.ts'
import type { TwilioApi } from '../twilio/rest.ts'
import { transferTwiml } from '../twilio/twiml.ts'
import type { HandoffReason } from '../call/events.ts'
import type { CallContext } from './call-context.ts'
import { speakEvent, toolOutputEvent, type RealtimeClientEvent } from './events.ts'

export interface ToolConfig { readonly operatorPhone: string | undefined }

export interface AgentToolsOptions {
  readonly ctx: CallContext
  readonly log: Logger
  readonly config: ToolConfig
  readonly twilio: TwilioApi | undefined
  /** Sends a client event on the live session; false when none is ready. */
  readonly send: (event: RealtimeClientEvent) => boolean
  readonly call: () => LiveCall | undefined
  /** Longest wait for the goodbye / last sentence to play before acting anyway. */
  readonly endTimeoutMs?: number
  /**
   * Warm transfers (src/handoff/): `begin` announces the handoff, writes the operator's briefing and returns the
   * TwiML that dials them with a whisper. Without it, a transfer is the plain `<Dial>` of old.
   */
  readonly handoffs?: { readonly available: boolean, begin (callSid: string, reason: HandoffReason): string | undefined }
}

type EndingKind = StreamOutcome
interface Ending { kind: EndingKind, awaitResponse: boolean, done: boolean, timer: ReturnType<typeof setTimeout> | undefined }

const GOODBYE = 'Say a short, friendly goodbye to the caller now, in one sentence. Do not ask anything.'

/**
 * Tool calls are collected while a response streams and run once it is done (a new response
 * cannot start while one is active). Hanging up or transferring waits until the caller has
 * heard the last words (the playback ledger goes idle), or `endTimeoutMs` at most.
 */
export class AgentTools {
  #ctx: CallContext
  #log: Logger
  #config: ToolConfig
  #twilio: TwilioApi | undefined
  #send: AgentToolsOptions['send']
  #liveCall: AgentToolsOptions['call']
  #endTimeoutMs: number
  #handoffs: AgentToolsOptions['handoffs']
  #pending: Array<{ callId: string, name: string, args: string }> = []
  #seen = new Set<string>()
  #ending: Ending | undefined

  constructor (o: AgentToolsOptions) {
    this.#ctx = o.ctx
    this.#log = o.log
    this.#config = o.config
    this.#twilio = o.twilio
    this.#send = o.send
    this.#liveCall = o.call
    this.#endTimeoutMs = o.endTimeoutMs ?? 15_000
    this.#handoffs = o.handoffs
  }

  /** True once the call is being ended or transferred (no roll-over, no new turns). */
  get busy (): boolean { return this.#ending !== undefined }

  requested (callId: string, name: string, args: string): void {
    if (this.#seen.has(callId)) return
    this.#seen.add(callId)
    this.#pending.push({ callId, name, args })
  }

  /** A response finished: either the goodbye we asked for, or one whose tool calls now run. */
  responseDone (): void {
    if (this.#ending?.awaitResponse === true) {
      this.#ending.awaitResponse = false
      return
    }
    const calls = this.#pending
    this.#pending = []
    for (const c of calls) this.#run(c.callId, c.name, c.args)
  }

  /** Everything sent to the caller has played. */
  playbackIdle (): void {
    const e = this.#ending
    if (e !== undefined && !e.awaitResponse) this.#end()
  }

  /** The media stream is attached: a fallback decided before it can run now. */
  attached (): void {
    if (this.#ending?.kind === 'fallback') this.#end()
  }

  /** The AI is gone: one sentence (spoken by Twilio) and the operator, by REST or through <Connect action>. */
  fallback (): void {
    if (this.#ending?.done === true) return
    if (this.#ending !== undefined) clearTimeout(this.#ending.timer)
    this.#ending = { kind: 'fallback', awaitResponse: false, done: false, timer: undefined }
    this.#end()
  }

  close (): void {
    if (this.#ending !== undefined) clearTimeout(this.#ending.timer)
  }

  #run (callId: string, name: string, args: string): void {
    const log = this.#log
    const send = this.#send
    log.info({ tool: name, args: args.slice(0, 200) }, 'agent called a tool')
    if (this.#ending !== undefined) {
      send(toolOutputEvent(callId, { ok: false, error: 'The call is already ending.' }))
      return
    }
    if (name === 'end_call') {
      send(toolOutputEvent(callId, { ok: true }))
      this.#startEnding('hangup', send(speakEvent(GOODBYE)))
    } else if (name === 'transfer_to_operator' && this.#config.operatorPhone !== undefined) {
      send(toolOutputEvent(callId, { ok: true }))
      this.#startEnding('transfer', false)
    } else if (name === 'take_message') {
      const message = this.#takeMessage(callId, args)
      send(toolOutputEvent(callId, message === undefined
        ? { ok: false, error: 'A message needs the caller\'s name and what it is about. Ask for what is missing.' }
        : { ok: true, note: 'Message recorded. Tell the caller someone will call them back, then end the call.' }))
      send({ type: 'response.create' })
    } else {
      const error = name === 'transfer_to_operator'
        ? 'No operator is available right now. Tell the caller and keep helping them.'
        : `Unknown tool ${name}.`
      if (name === 'transfer_to_operator') log.warn({}, 'transfer_to_operator needs OPERATOR_PHONE; the agent keeps the call')
      send(toolOutputEvent(callId, { ok: false, error }))
      send({ type: 'response.create' })
    }
  }

  #startEnding (kind: EndingKind, awaitResponse: boolean): void {
    const timer = setTimeout(() => { this.#end() }, this.#endTimeoutMs)
    this.#ending = { kind, awaitResponse, done: false, timer }
  }

  #end (): void {
    this.#finish().catch((err: unknown) => this.#log.error({ err }, 'ending the call failed'))
  }

  async #finish (): Promise<void> {
    const e = this.#ending
    const call = this.#liveCall()
    if (e === undefined || e.done || call === undefined) return
    e.done = true
    clearTimeout(e.timer)
    const twilio = this.#twilio
    const log = this.#log
    // Without REST credentials (or an operator to redirect to), the stream's end decides: Twilio
    // requests <Connect action>, answered from this outcome (hang up, transfer, fallback).
    if (twilio === undefined || (e.kind !== 'hangup' && this.#config.operatorPhone === undefined)) {
      // <Connect action> answers with the warm transfer; the handoff (and its briefing) starts now all the same.
      if (e.kind !== 'hangup') this.#handoffs?.begin(call.callSid, e.kind === 'fallback' ? 'fallback' : 'tool')
      return this.#endStream(call, e.kind)
    }
    try {
      if (e.kind === 'hangup') {
        await twilio.hangupCall(call.callSid)
        log.info({}, 'agent hung up the call')
        return
      }
      await twilio.redirectCall(call.callSid, this.#transferTwiml(call.callSid, e.kind))
      log.info({ reason: e.kind, warm: this.#handoffs !== undefined }, 'call transferred to the operator')
    } catch (err) {
      log.error({ err, kind: e.kind }, 'Twilio REST call failed; ending the stream so <Connect action> does it')
      this.#ctx.publish({ type: 'call.error', callSid: this.#ctx.callSid, at: this.#ctx.now(), code: 'TWILIO_API_ERROR', message: `could not ${e.kind === 'hangup' ? 'hang up' : 'transfer'} the call: ${(err as Error).message}` })
      this.#endStream(call, e.kind)
    }
  }

  /** The warm transfer when handoffs are wired (the handoff starts here), else the plain dial. */
  #transferTwiml (callSid: string, kind: EndingKind): string {
    const warm = this.#handoffs?.begin(callSid, kind === 'fallback' ? 'fallback' : 'tool')
    return warm ?? transferTwiml(this.#config.operatorPhone as string, kind === 'fallback' ? FALLBACK_SENTENCE : undefined)
  }

  /** take_message: a callback task on the caller's contact (published; storage and the dashboard take it from the bus). */
  #takeMessage (callId: string, args: string): { name: string } | undefined {
    let a: { name?: unknown, callback_number?: unknown, reason?: unknown }
    try { a = JSON.parse(args) as typeof a } catch { return undefined }
    const str = (v: unknown, max: number): string => typeof v === 'string' ? v.replace(/\s+/g, ' ').trim().slice(0, max) : ''
    const name = str(a.name, 120)
    const reason = str(a.reason, 500)
    if (name === '' || reason === '') return undefined
    const call = this.#liveCall()
    const callerNumber = call === undefined ? '' : call.direction === 'inbound' ? call.from : call.to
    const ctx = this.#ctx
    ctx.publish({ type: 'callback.requested', callSid: ctx.callSid, at: ctx.now(), taskId: callId, name, callbackNumber: str(a.callback_number, 40) || callerNumber, caller: callerNumber, reason })
    this.#log.info({ taskId: callId }, 'agent took a message for a callback')
    return { name }
  }

  /** Records why, then closes the stream normally (1000): Twilio moves on to <Connect action>. */
  #endStream (call: LiveCall, outcome: StreamOutcome): void {
    const ctx = this.#ctx
    ctx.publish({ type: 'stream.outcome', callSid: ctx.callSid, at: ctx.now(), outcome })
    this.#log.info({ outcome }, 'ending the media stream; <Connect action> carries on')
    call.end(1000, outcome === 'hangup' ? 'ended by agent' : 'transfer to operator')
  }
}
