/** Doctor --live: opens the sessions and sends the requests calls would, and reports what OpenAI answered. */
import type { SessionUpdateEvent } from 'openai/resources/realtime/realtime'
import { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai'
import type { Config } from '../../src/config.ts'
import { agentSessionUpdate, transcriptionSessionUpdate, type RealtimeTarget } from '../../src/ai/events.ts'
import type { ResponsesClient } from '../../src/ai/hints.ts'
import type { ConnectionHandlers, ConnectRealtime, RealtimeConnection } from '../../src/ai/realtime-connection.ts'
import { SUMMARY_INSTRUCTIONS, SUMMARY_SCHEMA } from '../../src/ai/summary.ts'
import type { CheckId, CheckResult, LiveDeps } from './types.ts'

export type { LiveDeps }

/** One session or request: accepted, refused by the API (its own words), or no usable answer. */
export type Probe =
  | { readonly outcome: 'accepted', readonly ms: number }
  | { readonly outcome: 'refused', readonly ms: number, readonly message: string, readonly code?: string, readonly param?: string }
  | { readonly outcome: 'error', readonly ms: number, readonly message: string }

/** After answering, how long a socket gets to finish its close handshake before the check reports anyway. */
const CLOSE_GRACE_MS = 1000

/** Which setting an API `param` points at, so the fix names what to change. */
export function settingFor (param: string | undefined, kind: 'transcription' | 'realtime' = 'realtime'): string | undefined {
  if (param === undefined) return undefined
  // A transcription session's turn mode follows TRANSCRIBE_TURNS (or the model's default); the agent's is TURN_DETECTION.
  if (kind === 'transcription' && /turn_detection/.test(param)) return 'TRANSCRIBE_TURNS (or TRANSCRIBE_MODEL)'
  if (/transcription\.model/.test(param)) return 'TRANSCRIBE_MODEL'
  if (/transcription\.language/.test(param)) return 'LANGUAGE'
  if (/turn_detection/.test(param)) return 'TURN_DETECTION'
  if (/voice/.test(param)) return 'VOICE'
  if (/instructions/.test(param)) return 'AGENT_INSTRUCTIONS'
  if (/(^|\.)model$/.test(param)) return 'REALTIME_MODEL'
  return undefined
}

/** `Unexpected server response: 401` (from ws) → the status, when the handshake itself was answered. */
function handshakeStatus (err: Error): number | undefined {
  const m = /Unexpected server response: (\d{3})/.exec(err.message)
  return m === null ? undefined : Number(m[1])
}

/**
 * Opens one upstream session, sends `update` once it is open, and settles on the first
 * `session.updated` (accepted) or `error` (refused, with the API's message and param). Never
 * rejects; always closes the socket, and waits (briefly) for it to be closed.
 */
export function probeSession (connect: ConnectRealtime, target: RealtimeTarget, update: SessionUpdateEvent, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const started = Date.now()
    const ms = (): number => Date.now() - started
    let result: Probe | undefined
    let closed = false
    let grace: NodeJS.Timeout | undefined
    let conn: RealtimeConnection | undefined
    const settle = (p: Probe): void => {
      if (result !== undefined) return
      result = p
      clearTimeout(timer)
      conn?.close(1000, 'doctor done')
      if (closed) resolve(p)
      else grace = setTimeout(() => resolve(p), CLOSE_GRACE_MS)
    }
    const timer = setTimeout(() => settle({ outcome: 'error', ms: ms(), message: `no session.updated or error within ${timeoutMs} ms` }), timeoutMs)
    const handlers: ConnectionHandlers = {
      onOpen: () => conn?.send(update),
      onEvent: (event) => {
        if (event.type === 'session.updated') settle({ outcome: 'accepted', ms: ms() })
        else if (event.type === 'error') {
          const e = event.error
          settle({ outcome: 'refused', ms: ms(), message: e.message, ...(e.code != null ? { code: e.code } : {}), ...(e.param != null ? { param: e.param } : {}) })
        }
      },
      onError: (err) => {
        const status = handshakeStatus(err)
        if (status !== undefined && status < 500) settle({ outcome: 'refused', ms: ms(), message: `the handshake was answered with HTTP ${status}${status === 401 ? ' (the API key was not accepted)' : ''}`, ...(status === 401 || status === 403 ? { code: 'invalid_api_key' } : {}) })
        else settle({ outcome: 'error', ms: ms(), message: err.message })
      },
      onClose: (code, reason) => {
        closed = true
        if (result === undefined) settle({ outcome: 'error', ms: ms(), message: `the socket closed (${code}${reason === '' ? '' : ` ${reason}`}) before session.updated` })
        else {
          clearTimeout(grace)
          resolve(result)
        }
      },
    }
    try {
      conn = connect(target, handlers)
    } catch (err) {
      // A connector that throws (a bad base URL) is a failed check, not a crashed doctor.
      closed = true
      settle({ outcome: 'error', ms: ms(), message: (err as Error).message })
    }
  })
}

/** The API's own message, code and param from whatever the SDK threw. */
function refusedOrError (err: unknown, ms: number, timeoutMs: number): Probe {
  if (err instanceof APIUserAbortError || err instanceof APIConnectionTimeoutError) return { outcome: 'error', ms, message: `no answer within ${timeoutMs} ms` }
  if (err instanceof APIError && err.status !== undefined && err.status < 500) {
    const body = err.error as { message?: unknown } | undefined
    const message = typeof body?.message === 'string' && body.message !== '' ? body.message : err.message
    return { outcome: 'refused', ms, message: `HTTP ${err.status}: ${message}`, ...(err.code != null ? { code: err.code } : {}), ...(err.param != null ? { param: err.param } : {}) }
  }
  return { outcome: 'error', ms, message: err instanceof Error ? err.message : String(err) }
}

type TextRequest = Parameters<ResponsesClient['responses']['create']>[0]

/** The hint engine's request, minimal: streamed, not stored, 16 output tokens (the API's minimum). */
function hintRequest (model: string): TextRequest {
  return { model, instructions: 'Answer with one word.', input: 'ping', stream: true, store: false, max_output_tokens: 16 }
}

/** The summary engine's request, minimal: the same instructions and strict JSON schema. */
function summaryRequest (model: string): TextRequest {
  return {
    model,
    instructions: SUMMARY_INSTRUCTIONS,
    input: 'Transcript:\nCustomer: ping',
    store: false,
    max_output_tokens: 16,
    text: { format: { type: 'json_schema', name: 'call_summary', strict: true, schema: { ...SUMMARY_SCHEMA } } },
  }
}

/** One Responses request; a completed or incomplete (16 tokens) response means the model took it. */
export async function probeText (client: ResponsesClient, body: TextRequest, timeoutMs: number): Promise<Probe> {
  const started = Date.now()
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  try {
    const res = await client.responses.create(body, { signal: abort.signal, timeout: timeoutMs, maxRetries: 0 })
    if (!(Symbol.asyncIterator in res)) {
      if (res.status === 'failed') return { outcome: 'refused', ms: Date.now() - started, message: res.error?.message ?? 'response failed' }
      return { outcome: 'accepted', ms: Date.now() - started }
    }
    for await (const ev of res) {
      if (ev.type === 'response.completed' || ev.type === 'response.incomplete') return { outcome: 'accepted', ms: Date.now() - started }
      if (ev.type === 'response.failed') return { outcome: 'refused', ms: Date.now() - started, message: ev.response.error?.message ?? 'response failed' }
    }
    // The SDK ends the iteration quietly when the request is aborted (our timeout).
    const message = abort.signal.aborted ? `no answer within ${timeoutMs} ms` : 'the stream ended without response.completed'
    return { outcome: 'error', ms: Date.now() - started, message }
  } catch (err) {
    return refusedOrError(err, Date.now() - started, timeoutMs)
  } finally {
    clearTimeout(timer)
    abort.abort()
  }
}

function describe (p: Probe): string {
  if (p.outcome === 'accepted') return `accepted in ${p.ms} ms`
  if (p.outcome === 'error') return `no answer: ${p.message}`
  const extra = [p.param !== undefined ? `param ${p.param}` : '', p.code !== undefined ? `code ${p.code}` : ''].filter((s) => s !== '').join(', ')
  return `refused: ${p.message}${extra === '' ? '' : ` (${extra})`}`
}

const worst = (probes: readonly Probe[]): Probe => probes.find((p) => p.outcome === 'refused') ?? probes.find((p) => p.outcome === 'error') ?? probes[0] as Probe

/** `fixSetting` is what to change; for a session, the refused `param` may name a more precise one. */
function result (id: CheckId, title: string, labelled: ReadonlyArray<readonly [string, Probe]>, what: string, fixSetting: string, session?: 'transcription' | 'realtime'): CheckResult {
  const probes = labelled.map(([, p]) => p)
  const bad = worst(probes)
  const data = { probes: labelled.map(([label, p]) => ({ label, ...p })) }
  if (bad.outcome === 'accepted') {
    return { id, title, status: 'pass', message: `${what}: accepted (${probes.map((p) => `${p.ms} ms`).join(', ')})`, data }
  }
  const keyRefused = bad.outcome === 'refused' && (bad.code === 'invalid_api_key' || /^HTTP 40[13]\b/.test(bad.message))
  const setting = keyRefused
    ? 'OPENAI_API_KEY'
    : bad.outcome === 'refused' && session !== undefined ? settingFor(bad.param, session) ?? fixSetting : fixSetting
  const details = labelled.length > 1 ? labelled.map(([label, p]) => `${label}: ${describe(p)}`) : undefined
  return {
    id,
    title,
    status: 'fail',
    message: `${what}: ${describe(bad)}`,
    ...(details !== undefined ? { details } : {}),
    fix: bad.outcome === 'refused'
      ? `Calls send exactly this, so they would fail the same way: change ${setting} (docs/configuration.md "Models" lists current models), then run npm run doctor -- --live again.`
      : 'Check OPENAI_BASE_URL, this machine\'s internet access and https://status.openai.com, then run the doctor again.',
    data,
  }
}

/**
 * The sessions and requests the current config makes, all at once, each under `timeoutMs`:
 * assist's transcription session per track (every mode: outbound calls always run assist),
 * the agent session (MODE=agent), and one request per text model.
 */
export async function runLiveChecks (config: Config, deps: LiveDeps | undefined, timeoutMs: number): Promise<CheckResult[]> {
  if (deps === undefined) {
    const fail = (id: CheckId, title: string): CheckResult => ({ id, title, status: 'fail', message: 'OPENAI_API_KEY is not set: nothing to check', fix: 'Set OPENAI_API_KEY (and OPENAI_BASE_URL if you use a proxy), then run npm run doctor -- --live again.' })
    return [fail('openai-assist', 'OpenAI assist sessions'), fail('openai-agent', 'OpenAI agent session'), fail('openai-hint', 'OpenAI hint model'), fail('openai-summary', 'OpenAI summary model')]
  }
  const transcription = transcriptionSessionUpdate(config)
  const [inbound, outbound, agent, hint, summary] = await Promise.all([
    probeSession(deps.connect, { intent: 'transcription' }, transcription, timeoutMs),
    probeSession(deps.connect, { intent: 'transcription' }, transcription, timeoutMs),
    config.mode === 'agent' ? probeSession(deps.connect, { model: config.realtimeModel }, agentSessionUpdate(config), timeoutMs) : undefined,
    probeText(deps.responses, hintRequest(config.hintModel), timeoutMs),
    probeText(deps.responses, summaryRequest(config.summaryModel), timeoutMs),
  ])
  return [
    result('openai-assist', 'OpenAI assist sessions', [['inbound track', inbound], ['outbound track', outbound]],
      `2 transcription sessions (TRANSCRIBE_MODEL=${config.transcribeModel})`, 'TRANSCRIBE_MODEL', 'transcription'),
    agent === undefined
      ? { id: 'openai-agent', title: 'OpenAI agent session', status: 'skip', message: `MODE=${config.mode} opens no agent session (set MODE=agent to check REALTIME_MODEL=${config.realtimeModel})` }
      : result('openai-agent', 'OpenAI agent session', [['agent', agent]], `realtime session (REALTIME_MODEL=${config.realtimeModel}, VOICE=${config.voice})`, 'REALTIME_MODEL', 'realtime'),
    result('openai-hint', 'OpenAI hint model', [['hint', hint]], `streamed Responses request (HINT_MODEL=${config.hintModel})`, 'HINT_MODEL'),
    result('openai-summary', 'OpenAI summary model', [['summary', summary]], `JSON-schema Responses request (SUMMARY_MODEL=${config.summaryModel})`, 'SUMMARY_MODEL'),
  ]
}
