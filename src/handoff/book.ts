/** What every instance knows of each call's handoff: the conversation so far, the stage, the operator's briefing. */
import type { CallEvent, Direction, HandoffReason, HandoffStage, Speaker } from '../call/events.ts'
import { isTerminalCallStatus } from '../call/statuses.ts'
import type { SummaryLine } from '../ai/summary.ts'
import { setBounded } from '../util/bounded.ts'

/** Lines kept per call (the oldest go first): enough for a briefing and to re-inject into the agent. */
const MAX_LINES = 60
/** Calls remembered at once. */
const MAX_CALLS = 5_000

export interface HandoffRecord {
  readonly lines: SummaryLine[]
  stage: HandoffStage | undefined
  reason: HandoffReason | undefined
  briefing: string | undefined
  /** The call as its first events gave it (the copilot's stream token for the person's leg needs the same). */
  call: { direction: Direction, from: string, to: string } | undefined
  /** The caller's number. */
  remote: string | undefined
  /** Transcript lines carry item ids: a final seen twice (a retried event) is kept once. */
  readonly seen: Set<string>
}

/**
 * Fed from the cluster's event feed (every instance's call events), so the whisper request, the `<Dial action>`
 * and the agent that takes the caller back can land on any instance and still know the call. Bounded: 60 lines
 * per call, 5,000 calls, forgotten at the call's final status.
 */
export class HandoffBook {
  #calls = new Map<string, HandoffRecord>()
  #waiters = new Map<string, Array<(briefing: string | undefined) => void>>()

  observe (e: CallEvent): void {
    switch (e.type) {
      case 'call.webhook':
      case 'call.started': {
        const r = this.#record(e.callSid)
        if (r.call === undefined || (e.from !== '' && r.call.from === '')) r.call = { direction: e.direction, from: e.from, to: e.to }
        r.remote = r.call.direction === 'inbound' ? r.call.from : r.call.to
        return
      }
      case 'transcript.final': {
        if (e.text.trim() === '') return
        const r = this.#record(e.callSid)
        if (r.seen.has(e.itemId)) return
        r.seen.add(e.itemId)
        r.lines.push({ speaker: e.speaker as Speaker, text: e.text.trim() })
        if (r.lines.length > MAX_LINES) r.lines.shift()
        if (r.seen.size > 4 * MAX_LINES) r.seen.clear()
        return
      }
      case 'call.handoff': {
        const r = this.#record(e.callSid)
        r.stage = e.stage
        if (e.reason !== undefined) r.reason = e.reason
        if (e.stage === 'started') r.briefing = undefined
        if (e.briefing !== undefined) {
          r.briefing = e.briefing
          const waiters = this.#waiters.get(e.callSid)
          this.#waiters.delete(e.callSid)
          for (const w of waiters ?? []) w(e.briefing)
        }
        return
      }
      case 'call.status':
        if (isTerminalCallStatus(e.status)) {
          this.#calls.delete(e.callSid)
          const waiters = this.#waiters.get(e.callSid)
          this.#waiters.delete(e.callSid)
          for (const w of waiters ?? []) w(undefined)
        }
        break
      default:
    }
  }

  get (callSid: string): Readonly<HandoffRecord> | undefined { return this.#calls.get(callSid) }

  /** The conversation so far, oldest first. */
  lines (callSid: string): readonly SummaryLine[] { return this.#calls.get(callSid)?.lines ?? [] }

  /** The briefing once written, or undefined after `timeoutMs` (the caller must not wait on a slow model). */
  async briefing (callSid: string, timeoutMs: number): Promise<string | undefined> {
    const known = this.#calls.get(callSid)?.briefing
    if (known !== undefined || timeoutMs <= 0) return known
    return await new Promise((resolve) => {
      const list = this.#waiters.get(callSid) ?? []
      let done = false
      const finish = (b: string | undefined): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        const rest = (this.#waiters.get(callSid) ?? []).filter((w) => w !== finish)
        if (rest.length === 0) this.#waiters.delete(callSid)
        else this.#waiters.set(callSid, rest)
        resolve(b)
      }
      const timer = setTimeout(() => finish(undefined), timeoutMs)
      list.push(finish)
      this.#waiters.set(callSid, list)
    })
  }

  get size (): number { return this.#calls.size }

  #record (callSid: string): HandoffRecord {
    let r = this.#calls.get(callSid)
    if (r === undefined) {
      r = { lines: [], stage: undefined, reason: undefined, briefing: undefined, call: undefined, remote: undefined, seen: new Set() }
      setBounded(this.#calls, callSid, r, MAX_CALLS)
    }
    return r
  }
}
