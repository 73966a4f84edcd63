/** Hands a call from the AI to a person and back: starts the handoff, writes the briefing, answers Twilio's requests. */
import type { ResponsesClient } from '../ai/hints.ts'
import type { CallEventBus } from '../call/bus.ts'
import type { HandoffReason } from '../call/events.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import { mediaStreamUrl, publicUrl, TWILIO_PATHS } from '../routes.ts'
import type { StreamKind } from '../twilio/stream-token.ts'
import type { StreamParams } from '../twilio/twiml.ts'
import { plainBriefing, writeBriefing } from './briefing.ts'
import type { HandoffBook } from './book.ts'
import { backToAgentTwiml, callbackPromisedTwiml, transferDoneTwiml, warmTransferTwiml, whisperTwiml } from './twiml.ts'

export type HandoffConfig = Pick<Config, 'publicBaseUrl' | 'operatorPhone' | 'twilioPhoneNumber' | 'hintModel'>

export interface HandoffDeps {
  readonly config: HandoffConfig
  readonly bus: CallEventBus
  readonly book: HandoffBook
  /** Mints the stream token for a `<Stream>` on this call (src/twilio/stream-token.ts). */
  readonly mint: (callSid: string, claims: StreamParams & { stream: StreamKind }) => string
  /** The text model for the briefing; undefined without OPENAI_API_KEY (then the plain briefing). */
  readonly responses: ResponsesClient | undefined
  readonly log: Logger
  readonly now: () => number
  /** Longest the briefing may take to write (the operator hears the plain one after that). */
  readonly briefingTimeoutMs?: number
}

/** What the agent is told when the caller comes back to it because nobody answered. */
export const RETURNED_INSTRUCTIONS = 'You tried to transfer the caller to a person, but nobody is free right now. ' +
  'Tell the caller so in one short sentence, then offer to take a message: ask for their name, the best number to ' +
  'call them back on, and what it is about. When you have all three, call take_message, tell them someone will call ' +
  'back, and end the call.'

/** Dial outcomes after which a person took (and finished) the call. Anything else is "nobody answered". */
const ANSWERED: ReadonlySet<string> = new Set(['completed', 'answered'])

export const TRANSFER_SENTENCES: Record<HandoffReason, string> = {
  tool: 'Connecting you to a person now.',
  fallback: 'Sorry, I am having technical trouble. Let me connect you to a person.',
  'take-over': 'One moment, a colleague is joining the call now.',
}

/**
 * One per instance. Every step is published on the bus (`call.handoff`), so the dashboard, storage and the
 * other instances (through the cluster feed, into their HandoffBook) follow the same call.
 */
export class Handoffs {
  #d: HandoffDeps
  #writing = new Map<string, AbortController>()

  constructor (deps: HandoffDeps) { this.#d = deps }

  /** A person can be dialled (OPERATOR_PHONE is set). */
  get available (): boolean { return this.#d.config.operatorPhone !== undefined }

  /**
   * Starts handing `callSid` to the operator: publishes `started`, writes the briefing in the background, and
   * returns the warm-transfer TwiML (to redirect the call to, or to answer `<Connect action>` with). Undefined
   * without an operator number.
   */
  begin (callSid: string, reason: HandoffReason): string | undefined {
    const { config, bus, now } = this.#d
    if (config.operatorPhone === undefined) return undefined
    bus.publish({ type: 'call.handoff', callSid, at: now(), stage: 'started', reason })
    this.#brief(callSid, reason)
    return this.transferTwiml(callSid, reason)
  }

  /** The warm-transfer TwiML for this call (with a fresh stream token for the copilot's fork). */
  transferTwiml (callSid: string, reason: HandoffReason): string | undefined {
    const { config } = this.#d
    if (config.operatorPhone === undefined) return undefined
    const base = config.publicBaseUrl
    const q = `?call=${encodeURIComponent(callSid)}`
    return warmTransferTwiml({
      streamUrl: mediaStreamUrl(base),
      streamStatus: publicUrl(base, TWILIO_PATHS.streamStatus),
      whisperUrl: publicUrl(base, TWILIO_PATHS.whisper + q),
      dialAction: publicUrl(base, TWILIO_PATHS.transferAction + q),
      dialStatus: publicUrl(base, TWILIO_PATHS.transferStatus + q),
    }, this.#params(callSid, 'assist', 'start'), config.operatorPhone, TRANSFER_SENTENCES[reason], config.twilioPhoneNumber)
  }

  /** The operator picked up: the briefing (waiting up to `waitMs` for the model), as TwiML for their ear only. */
  async whisper (callSid: string, waitMs: number): Promise<string> {
    const { book, bus, now } = this.#d
    const written = await book.briefing(callSid, waitMs)
    const r = book.get(callSid)
    const briefing = written ?? plainBriefing(book.lines(callSid), r?.reason ?? 'tool', r?.remote)
    bus.publish({ type: 'call.handoff', callSid, at: now(), stage: 'joined', ...(written === undefined ? { briefing } : {}) })
    return whisperTwiml(briefing)
  }

  /** The operator's phone is ringing (their leg's status callback). */
  ringing (callSid: string): void {
    this.#d.bus.publish({ type: 'call.handoff', callSid, at: this.#d.now(), stage: 'ringing' })
  }

  /**
   * `<Dial action>`: the person's leg is over. Answered → the call ends with it. Otherwise the caller goes back to
   * the agent (when `aiAdmitted`), or hears that someone will call back (and a task is stored for it).
   */
  dialEnded (callSid: string, dialStatus: string, aiAdmitted: boolean): string {
    const { bus, now, config } = this.#d
    this.#writing.get(callSid)?.abort()
    if (ANSWERED.has(dialStatus)) {
      bus.publish({ type: 'call.handoff', callSid, at: now(), stage: 'completed', dialStatus })
      return transferDoneTwiml()
    }
    bus.publish({ type: 'call.handoff', callSid, at: now(), stage: 'returned', dialStatus })
    if (aiAdmitted) {
      const base = config.publicBaseUrl
      return backToAgentTwiml({
        streamUrl: mediaStreamUrl(base),
        streamStatus: publicUrl(base, TWILIO_PATHS.streamStatus),
        connectAction: publicUrl(base, TWILIO_PATHS.connectAction),
      }, this.#params(callSid, 'agent', 'connect'))
    }
    const r = this.#d.book.get(callSid)
    bus.publish({
      type: 'callback.requested',
      callSid,
      at: now(),
      taskId: `${callSid}-noanswer`,
      name: '',
      callbackNumber: r?.remote ?? '',
      caller: r?.remote ?? '',
      reason: 'Nobody answered the transfer and the AI agent was not available to take a message.',
    })
    return callbackPromisedTwiml()
  }

  /** For an agent session starting on `callSid`: the conversation and what to say when nobody took the call. */
  resumeFor (callSid: string): { lines: ReturnType<HandoffBook['lines']>, instructions: string } | undefined {
    const r = this.#d.book.get(callSid)
    if (r?.stage !== 'returned') return undefined
    return { lines: r.lines, instructions: RETURNED_INSTRUCTIONS }
  }

  close (): void {
    for (const c of this.#writing.values()) c.abort()
    this.#writing.clear()
  }

  #params (callSid: string, mode: 'assist' | 'agent', stream: StreamKind): StreamParams {
    const call = this.#d.book.get(callSid)?.call ?? { direction: 'inbound' as const, from: '', to: '' }
    const p: StreamParams = { direction: call.direction, from: call.from, to: call.to, mode }
    return { ...p, token: this.#d.mint(callSid, { ...p, stream }) }
  }

  #brief (callSid: string, reason: HandoffReason): void {
    const { responses, book, bus, now, log, config } = this.#d
    const lines = [...book.lines(callSid)]
    const remote = book.get(callSid)?.remote
    const publish = (briefing: string): void => bus.publish({ type: 'call.handoff', callSid, at: now(), stage: 'briefed', briefing })
    if (responses === undefined || lines.length === 0) return publish(plainBriefing(lines, reason, remote))
    this.#writing.get(callSid)?.abort()
    const controller = new AbortController()
    this.#writing.set(callSid, controller)
    writeBriefing(responses, config.hintModel, lines, { reason, signal: controller.signal, timeoutMs: this.#d.briefingTimeoutMs ?? 8_000 })
      .then(publish, (err: unknown) => {
        if (controller.signal.aborted) return
        log.warn({ callSid, err }, 'briefing could not be written by the model; the operator hears the plain one')
        publish(plainBriefing(lines, reason, remote))
      })
      .finally(() => { if (this.#writing.get(callSid) === controller) this.#writing.delete(callSid) })
  }
}
