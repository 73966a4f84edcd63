/** On-demand summary of a stored call (e.g. one that ended while the server was down), saved with the call. */
import { describeAiError, type ResponsesClient } from '../ai/hints.ts'
import { SummaryError, summarizeTranscript } from '../ai/summary.ts'
import type { Failure } from '../errors.ts'
import type { Store, Summary } from './store.ts'

/** `code`: not_configured, not_found, summary_<SummaryError code> (unprocessable), or the OpenAI failure's code. */
export type SummarizeFailure = Failure<'not_configured' | 'not_found' | 'unprocessable' | 'upstream_failed'>
export type SummarizeResult = { ok: true, summary: Summary } | SummarizeFailure

export interface SummarizeDeps {
  readonly store: Pick<Store, 'getCall' | 'write'>
  /** undefined without OPENAI_API_KEY. */
  readonly client: ResponsesClient | undefined
  readonly model: string
  readonly now: () => number
}

/** Summarizes the call's stored transcript with the post-call summary prompt and stores the result. */
export async function summarizeStoredCall (deps: SummarizeDeps, callSid: string): Promise<SummarizeResult> {
  if (deps.client === undefined) return { ok: false, kind: 'not_configured', code: 'not_configured', message: 'Summaries need OPENAI_API_KEY to be set.' }
  const detail = await deps.store.getCall(callSid)
  if (detail === undefined) return { ok: false, kind: 'not_found', code: 'not_found', message: 'No call with this id is stored.' }
  const lines = detail.utterances.map((u) => ({ speaker: u.speaker, text: u.text }))
  try {
    const s = await summarizeTranscript(deps.client, deps.model, lines)
    const at = deps.now()
    await deps.store.write([{ op: 'summary', callSid, at, summary: s.summary, intent: s.intent, actionItems: s.actionItems }])
    return { ok: true, summary: { summary: s.summary, intent: s.intent, actionItems: s.actionItems, at } }
  } catch (err) {
    if (err instanceof SummaryError) return { ok: false, kind: 'unprocessable', code: `summary_${err.code}`, message: err.message }
    if (err instanceof Error && err.name === 'StoreError') throw err
    const d = describeAiError(err, 'summary')
    return { ok: false, kind: 'upstream_failed', code: d.code, message: d.message }
  }
}
