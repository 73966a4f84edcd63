/** The operator's whisper: two sentences written from the conversation so far, or a plain one when the AI cannot. */
import type { ResponsesClient } from '../ai/hints.ts'
import { formatTranscript, type SummaryLine } from '../ai/summary.ts'
import type { HandoffReason } from '../call/events.ts'

export const BRIEFING_INSTRUCTIONS = `You brief a human operator who is about to take over a phone call from an AI agent.
The operator hears your words once, over the phone, just before being connected to the caller.
Write exactly two short sentences: who is calling and what they want; then what was already said, promised or
asked for. Use only what the transcript says; never invent names, numbers or promises. Plain spoken language, no
lists, no markup, at most 60 words. Write in the language of the call.`

/** Longest briefing spoken (Twilio's <Say> takes up to 4,096 characters; a whisper should be short). */
const MAX_CHARS = 500

const REASONS: Record<HandoffReason, string> = {
  tool: 'The caller asked for a person.',
  fallback: 'The AI agent had a technical problem.',
  'take-over': 'A colleague took the call over from the AI agent.',
}

/**
 * Without the text model (no key, an error, too slow): the reason and the caller's last words, so the operator
 * never starts cold. `caller` is spoken digit by digit by Twilio.
 */
export function plainBriefing (lines: readonly SummaryLine[], reason: HandoffReason, caller: string | undefined): string {
  const last = [...lines].reverse().find((l) => l.speaker === 'remote' && l.text.trim() !== '')
  const who = caller === undefined || caller === '' ? 'A caller' : `A caller from ${caller}`
  const said = last === undefined ? 'They have not said anything yet.' : `Their last words were: ${clip(last.text.trim(), 300)}`
  return clip(`${who} is being transferred to you. ${REASONS[reason]} ${said}`, MAX_CHARS)
}

/** Asks the text model for the briefing. Throws on an API error, a refusal or an empty answer. */
export async function writeBriefing (
  client: ResponsesClient, model: string, lines: readonly SummaryLine[],
  opts: { reason: HandoffReason, signal?: AbortSignal, timeoutMs?: number }
): Promise<string> {
  const transcript = formatTranscript(lines, 12_000)
  if (transcript === '') throw new Error('briefing: nothing has been said yet')
  const response = await client.responses.create({
    model,
    instructions: BRIEFING_INSTRUCTIONS,
    input: `Why the call is being handed over: ${REASONS[opts.reason]}\n\nTranscript:\n${transcript}`,
    store: false,
    max_output_tokens: 300,
  }, { signal: opts.signal, timeout: opts.timeoutMs ?? 8_000 })
  let text = ''
  for (const item of response.output ?? []) {
    if (item.type !== 'message') continue
    for (const part of item.content) {
      if (part.type === 'refusal') throw new Error(`briefing: the model refused (${part.refusal})`)
      if (part.type === 'output_text') text += part.text
    }
  }
  text = text.replace(/\s+/g, ' ').trim()
  if (text === '') throw new Error('briefing: the model answered with no text')
  return clip(text, MAX_CHARS)
}

function clip (text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`
}
