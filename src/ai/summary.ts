/** Post-call summary: summary, caller intent and action items via the Responses API with structured output. */
import type { CallEventBus } from '../call/bus.ts'
import type { CallEvent, Speaker } from '../call/events.ts'
import type { Logger } from '../log.ts'
import { BoundedSet } from '../util/bounded.ts'
import { StreamContinuations } from '../call/continuation.ts'
import { isTerminalCallStatus } from '../call/statuses.ts'
import { describeAiError, ENDED_MEMORY, type ResponsesClient } from './hints.ts'
import { SPEAKER_LABELS } from './playbook.ts'

export interface CallSummary {
  readonly summary: string
  readonly intent: string
  readonly actionItems: readonly string[]
}

/** One transcript line; stored utterance rows fit as they are (extra fields are ignored). */
export interface SummaryLine { readonly speaker: Speaker, readonly text: string }

/** Why a summary could not be made; `code` goes into the call.error event as `summary_<code>`. */
export class SummaryError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'SummaryError'
    this.code = code
  }
}

export const SUMMARY_INSTRUCTIONS = `You summarize phone calls for a small CRM. You get the transcript of one call between a customer
and our side (a human operator or an AI agent). Reply with:
- summary: 2 to 4 sentences on what the call was about and how it ended;
- intent: the customer's main goal in a few words (for example "cancel subscription");
- action_items: concrete follow-ups for our side, each starting with a verb; an empty list if there are none.
Use only what the transcript says; never invent names, numbers or promises. Write in the language of the call.`

/** Strict JSON schema for structured output (every property required, no extras). */
export const SUMMARY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['summary', 'intent', 'action_items'],
  properties: {
    summary: { type: 'string', description: 'What the call was about and how it ended, 2 to 4 sentences.' },
    intent: { type: 'string', description: "The customer's main goal in a few words." },
    action_items: { type: 'array', items: { type: 'string' }, description: 'Follow-ups for our side; empty if none.' },
  },
} as const

export const MAX_TRANSCRIPT_CHARS = 48_000
const OMITTED = '[… the middle of the call is omitted …]'

/** Formats the transcript, keeping its start and end when it is longer than `maxChars`. */
export function formatTranscript (lines: readonly SummaryLine[], maxChars = MAX_TRANSCRIPT_CHARS): string {
  const rendered = lines.filter((l) => l.text.trim() !== '').map((l) => `${SPEAKER_LABELS[l.speaker] ?? l.speaker}: ${l.text.trim()}`)
  const total = rendered.reduce((n, l) => n + l.length + 1, 0)
  if (total <= maxChars) return rendered.join('\n')
  const head: string[] = []
  const tail: string[] = []
  let budget = Math.floor(maxChars / 4)
  for (const l of rendered) {
    if (l.length + 1 > budget) break
    head.push(l)
    budget -= l.length + 1
  }
  budget = maxChars - head.reduce((n, l) => n + l.length + 1, 0) - OMITTED.length
  for (let i = rendered.length - 1; i >= head.length; i--) {
    const l = rendered[i]!
    if (l.length + 1 > budget) break
    tail.unshift(l)
    budget -= l.length + 1
  }
  return [...head, OMITTED, ...tail].join('\n')
}

/** Reads the structured reply; refusals, cut-short answers and bad JSON become SummaryErrors. */
export function parseSummaryResponse (response: { status?: string | null, incomplete_details?: { reason?: string } | null, output?: readonly unknown[] }): CallSummary {
  let text = ''
  for (const item of response.output ?? []) {
    const msg = item as { type?: string, content?: Array<{ type?: string, text?: string, refusal?: string }> }
    if (msg.type !== 'message') continue
    for (const part of msg.content ?? []) {
      if (part.type === 'refusal') throw new SummaryError('refused', `summary: the model refused (${part.refusal ?? 'no reason given'})`)
      if (part.type === 'output_text') text += part.text ?? ''
    }
  }
  if (response.status === 'incomplete') {
    throw new SummaryError('incomplete', `summary: the answer was cut short (${response.incomplete_details?.reason ?? 'unknown reason'})`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new SummaryError('invalid_json', `summary: the model's answer is not valid JSON (${text.slice(0, 80)})`, { cause: err })
  }
  const d = data as { summary?: unknown, intent?: unknown, action_items?: unknown }
  const items = Array.isArray(d.action_items) ? d.action_items : undefined
  if (typeof d.summary !== 'string' || typeof d.intent !== 'string' || items === undefined || !items.every((i) => typeof i === 'string')) {
    throw new SummaryError('invalid_shape', 'summary: the model\'s JSON lacks summary, intent or action_items')
  }
  return {
    summary: d.summary.trim().slice(0, 2000),
    intent: d.intent.trim().slice(0, 300),
    actionItems: (items as string[]).map((i) => i.trim().slice(0, 300)).filter((i) => i !== '').slice(0, 20),
  }
}

/**
 * Summarizes a transcript on demand (the post-call engine uses it, and so can the API for a
 * stored call). Throws SummaryError (refusal, bad JSON, nothing to summarize) or the SDK's APIError.
 */
export async function summarizeTranscript (
  client: ResponsesClient, model: string, lines: readonly SummaryLine[],
  opts: { signal?: AbortSignal, timeoutMs?: number, maxChars?: number } = {}
): Promise<CallSummary> {
  const transcript = formatTranscript(lines, opts.maxChars)
  if (transcript === '') throw new SummaryError('empty', 'summary: the call has no transcript')
  const response = await client.responses.create({
    model,
    instructions: SUMMARY_INSTRUCTIONS,
    input: `Transcript:\n${transcript}`,
    store: false,
    max_output_tokens: 2000,
    text: { format: { type: 'json_schema', name: 'call_summary', strict: true, schema: { ...SUMMARY_SCHEMA } } },
  }, { signal: opts.signal, timeout: opts.timeoutMs ?? 60_000 })
  return parseSummaryResponse(response)
}

export interface SummaryEngineOptions {
  client: ResponsesClient
  model: string
  bus: CallEventBus
  log: Logger
  now?: () => number
  /** Characters of transcript kept per call while it runs (start and end survive). */
  maxChars?: number
}

export interface SummaryEngine {
  /** Summaries being generated. */
  readonly pending: number
  /** Stops listening; waits up to `graceMs` for summaries in flight, then aborts them. */
  close (graceMs?: number): Promise<void>
}

interface Transcript { streamSid: string | undefined, lines: SummaryLine[], chars: number }

/** On call.stopped for a call with a transcript, publishes call.summary (or call.error). */
export function createSummaryEngine (opts: SummaryEngineOptions): SummaryEngine {
  const { bus, log } = opts
  const now = opts.now ?? Date.now
  const maxChars = opts.maxChars ?? MAX_TRANSCRIPT_CHARS
  const calls = new Map<string, Transcript>()
  const ended = new BoundedSet<string>(ENDED_MEMORY)
  const running = new Map<Promise<void>, AbortController>()
  const continuations = new StreamContinuations()

  const add = (callSid: string, speaker: Speaker, text: string): void => {
    let t = calls.get(callSid)
    if (t === undefined) calls.set(callSid, t = { streamSid: undefined, lines: [], chars: 0 })
    t.lines.push({ speaker, text })
    t.chars += text.length
    // Past twice the prompt budget, drop lines just after the opening so memory stays bounded.
    while (t.chars > 2 * maxChars && t.lines.length > 12) t.chars -= t.lines.splice(10, 1)[0]!.text.length
  }

  const summarize = async (callSid: string, lines: SummaryLine[], controller: AbortController): Promise<void> => {
    try {
      const s = await summarizeTranscript(opts.client, opts.model, lines, { signal: controller.signal, maxChars })
      bus.publish({ type: 'call.summary', callSid, at: now(), summary: s.summary, intent: s.intent, actionItems: s.actionItems })
      log.info({ callSid, actionItems: s.actionItems.length }, 'call summary ready')
    } catch (err) {
      const { code, message } = err instanceof SummaryError ? err : describeAiError(err, 'summary')
      log.warn({ callSid, code, err }, message)
      bus.publish({ type: 'call.error', callSid, at: now(), code: `summary_${code}`, message })
    }
  }

  const finish = (callSid: string): void => {
    const t = calls.get(callSid)
    if (t === undefined) return
    calls.delete(callSid)
    ended.add(callSid)
    if (t.lines.length === 0) return
    const controller = new AbortController()
    const p: Promise<void> = summarize(callSid, t.lines, controller).finally(() => running.delete(p))
    running.set(p, controller)
  }

  const onEvent = (ev: CallEvent): void => {
    continuations.observe(ev)
    if (ev.type === 'transcript.final') {
      if (!ended.has(ev.callSid) && ev.text.trim() !== '') add(ev.callSid, ev.speaker, ev.text.trim())
    } else if (ev.type === 'call.started') {
      ended.delete(ev.callSid)
      const t = calls.get(ev.callSid)
      if (t !== undefined) t.streamSid = ev.streamSid
      else calls.set(ev.callSid, { streamSid: ev.streamSid, lines: [], chars: 0 })
    } else if (ev.type === 'call.stopped') {
      const t = calls.get(ev.callSid)
      // A reconnected stream owns the call now; the old stream's stop must not end it.
      if (t === undefined || (t.streamSid !== undefined && t.streamSid !== ev.streamSid)) return
      // Handed to a person (or AI off): one call, one summary, written when the whole call is over.
      if (!continuations.stopEndsCall(ev)) return
      finish(ev.callSid)
    } else if (ev.type === 'call.status' && isTerminalCallStatus(ev.status)) {
      // A call that ended while no stream was up (during a transfer, after AI off) is summarized at its final status.
      if ((calls.get(ev.callSid)?.lines.length ?? 0) > 0) finish(ev.callSid)
    }
  }

  const unsubscribe = bus.subscribe(onEvent)
  return {
    get pending () { return running.size },
    async close (graceMs = 3000) {
      unsubscribe()
      calls.clear()
      if (running.size === 0) return
      let timer: ReturnType<typeof setTimeout> | undefined
      const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs) })
      await Promise.race([Promise.allSettled([...running.keys()]), grace])
      clearTimeout(timer)
      for (const c of running.values()) c.abort()
      await Promise.allSettled([...running.keys()])
    },
  }
}
