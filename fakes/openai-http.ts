/** A local fake of OpenAI's Responses API (POST /v1/responses, JSON and SSE) as the `openai` SDK sends and reads it. */
/*
 * Shapes follow node_modules/openai (7.57.0): resources/responses/responses.d.ts for the request params, the
 * Response object and the stream events; core/streaming (Stream.fromSSEResponse, SSEDecoder) for the wire; and
 * core/error (APIError.generate) for error bodies `{ error: { message, type, param, code } }`.
 * `startFakeOpenAI()` runs it on its own port; `createFakeResponses({ apiKey }).listener` mounts it on another fake's
 * HTTP server (the Realtime fake), so one OPENAI_BASE_URL serves transcripts, hints and summaries.
 *
 * Where the docs leave it unsure (⚠️), and what this fake does:
 * - `[DONE]`: the API reference shows Responses streams as `event: <type>` + `data: <json>` pairs ending after
 *   `response.completed` / `.incomplete` / `.failed`, with no `data: [DONE]` (that is Chat Completions); the SDK's
 *   own test snapshots still append one. The fake sends none by default (`doneSentinel: true` adds it); the SDK
 *   reads both, and so does our code (it only looks at typed events).
 * - `output_text`: in the SDK types `Response.output_text` is required, but it is an SDK convenience computed by
 *   `addOutputText` on non-streamed responses, not documented on the wire. The fake leaves it out (code that needs
 *   it from a streamed `response.completed` must compute it from `output`).
 * - Mid-stream failures: the API may send `response.failed` (response.error set) or a bare `error` event
 *   ({type:'error', code, message, param, sequence_number}); the SDK throws an APIError on the SSE event named
 *   `error` and yields `response.failed` as an event. Both are scriptable (`failMidStream`).
 * - Which errors carry `retry-after` / `x-should-retry` is not documented; the fake sends the headers a script gives.
 * - Validation messages imitate the real ones seen in the wild ("Unknown parameter: 'x'.", "Missing required
 *   parameter: 'model'.", strict json_schema rules); exact wording may differ from OpenAI's.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'

export const FAKE_OPENAI_KEY = 'sk-test-fake-openai-key'

/** What a script answers for one request. A plain string is `{ text }`. */
export interface FakeReply {
  /** The assistant text (default "OK"). */
  text?: string
  /** Explicit token split of `text` for streaming (default: word by word, spaces attached). */
  tokens?: string[]
  /** Answer with a refusal content part instead of output_text. */
  refusal?: string
  /** Milliseconds between streamed tokens (default: the server option, else 0). */
  tokenDelayMs?: number
  /** HTTP error status (400, 401, 429, 500, 503…) with an OpenAI error body; nothing is generated. */
  status?: number
  error?: { message?: string, type?: string, code?: string | null, param?: string | null }
  /** Extra response headers (e.g. retry-after-ms, x-should-retry). */
  headers?: Record<string, string>
  /** Stream this many tokens, then never finish (the client must abort). Non-streamed: never answer. */
  hangAfter?: number
  /** After `failAfter` tokens (default 0), end the stream with a `response.failed` or an `error` event. */
  failMidStream?: { kind: 'response.failed' | 'error', code?: string, message?: string, failAfter?: number }
  /** Stop as `incomplete` with this reason (status "incomplete", incomplete_details.reason). */
  incomplete?: 'max_output_tokens' | 'content_filter'
}

export interface RecordedResponsesRequest {
  readonly seq: number
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** True when the Bearer token matched. */
  readonly authorized: boolean
  /** The parsed JSON body (undefined when it did not parse). */
  readonly body: Record<string, unknown> | undefined
  readonly model: string | undefined
  readonly instructions: string | undefined
  readonly input: unknown
  readonly stream: boolean
  /** Status we answered with (0 while hanging before headers). */
  status: number
  /** True when the client closed the connection before the response was complete (an abort). */
  clientClosed: boolean
  /** Resolves once the exchange is over: completed by us or closed by the client. */
  readonly finished: Promise<void>
}

export type ReplyScript = (req: RecordedResponsesRequest) => FakeReply | string | Promise<FakeReply | string>

export interface FakeOpenAIOptions {
  apiKey?: string
  reply?: ReplyScript
  tokenDelayMs?: number
  /** Append `data: [DONE]` after the terminal event (the SDK tolerates both). */
  doneSentinel?: boolean
  /** Models this account cannot use: answered 404 `model_not_found` as the API does, before any script. */
  unknownModels?: readonly string[]
}

export interface FakeOpenAI {
  /** Give this to OPENAI_BASE_URL: http://127.0.0.1:PORT/v1 */
  readonly url: string
  readonly requests: RecordedResponsesRequest[]
  setReply (script: ReplyScript): void
  /** Resolves with the n-th request (1-based) once it has arrived. */
  waitForRequest (n: number, timeoutMs?: number): Promise<RecordedResponsesRequest>
  close (): Promise<void>
}

const KNOWN_PARAMS = new Set(['access_programs', 'background', 'context_management', 'conversation', 'image', 'include',
  'input', 'instructions', 'max_output_tokens', 'max_tool_calls', 'metadata', 'model', 'moderation', 'parallel_tool_calls',
  'previous_response_id', 'prompt', 'prompt_cache_key', 'prompt_cache_options', 'prompt_cache_retention', 'reasoning',
  'safety_identifier', 'service_tier', 'store', 'stream', 'stream_options', 'temperature', 'text', 'tool_choice', 'tools',
  'top_logprobs', 'top_p', 'truncation', 'user'])
const ROLES = new Set(['user', 'assistant', 'system', 'developer'])

class InvalidRequest extends Error {
  readonly param: string | null
  readonly code: string | null
  constructor (message: string, param: string | null = null, code: string | null = null) {
    super(message)
    this.param = param
    this.code = code
  }
}

const hex = (n: number): string => randomBytes(n).toString('hex')
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Validates a create body the way the API does for the params we use; throws InvalidRequest. */
export function validateResponsesBody (body: unknown): asserts body is Record<string, unknown> {
  if (!isObject(body)) throw new InvalidRequest('The request body must be a JSON object.')
  for (const key of Object.keys(body)) {
    if (!KNOWN_PARAMS.has(key)) throw new InvalidRequest(`Unknown parameter: '${key}'.`, key, 'unknown_parameter')
  }
  if (body.model === undefined) throw new InvalidRequest("Missing required parameter: 'model'.", 'model', 'missing_required_parameter')
  if (typeof body.model !== 'string' || body.model === '') throw new InvalidRequest("Invalid type for 'model': expected a non-empty string.", 'model', 'invalid_type')
  if (body.instructions !== undefined && body.instructions !== null && typeof body.instructions !== 'string') {
    throw new InvalidRequest("Invalid type for 'instructions': expected a string.", 'instructions', 'invalid_type')
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw new InvalidRequest("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type')
  }
  validateInput(body.input)
  if (body.text !== undefined) validateText(body.text, body.input)
}

function validateInput (input: unknown): void {
  if (input === undefined || typeof input === 'string') return
  if (!Array.isArray(input)) throw new InvalidRequest("Invalid type for 'input': expected a string or an array of input items.", 'input', 'invalid_type')
  input.forEach((item, i) => {
    const at = `input[${i}]`
    if (!isObject(item)) throw new InvalidRequest(`Invalid type for '${at}': expected an object.`, at, 'invalid_type')
    if (item.type !== undefined && item.type !== 'message') return // other item types are passed through unchecked
    if (typeof item.role !== 'string' || !ROLES.has(item.role)) {
      throw new InvalidRequest(`Invalid value for '${at}.role': expected one of user, assistant, system, developer.`, `${at}.role`, 'invalid_value')
    }
    if (typeof item.content === 'string') return
    if (!Array.isArray(item.content)) throw new InvalidRequest(`Invalid type for '${at}.content': expected a string or an array.`, `${at}.content`, 'invalid_type')
    item.content.forEach((part: unknown, j: number) => {
      const p = `${at}.content[${j}]`
      if (!isObject(part) || typeof part.type !== 'string') throw new InvalidRequest(`Invalid type for '${p}': expected a content part.`, p, 'invalid_type')
      if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text !== 'string') {
        throw new InvalidRequest(`Missing required parameter: '${p}.text'.`, `${p}.text`, 'missing_required_parameter')
      }
    })
  })
}

function validateText (text: unknown, input: unknown): void {
  if (!isObject(text)) throw new InvalidRequest("Invalid type for 'text': expected an object.", 'text', 'invalid_type')
  const format = text.format
  if (format === undefined) return
  if (!isObject(format)) throw new InvalidRequest("Invalid type for 'text.format': expected an object.", 'text.format', 'invalid_type')
  if (format.type === 'text') return
  if (format.type === 'json_object') {
    if (!JSON.stringify(input ?? '').toLowerCase().includes('json')) {
      throw new InvalidRequest("Response input messages must contain the word 'json' in some form to use 'text.format' of type 'json_object'.", 'input', null)
    }
    return
  }
  if (format.type !== 'json_schema') {
    throw new InvalidRequest("Invalid value for 'text.format.type': expected one of text, json_schema, json_object.", 'text.format.type', 'invalid_value')
  }
  if (typeof format.name !== 'string') throw new InvalidRequest("Missing required parameter: 'text.format.name'.", 'text.format.name', 'missing_required_parameter')
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(format.name)) {
    throw new InvalidRequest("Invalid 'text.format.name': must match ^[a-zA-Z0-9_-]{1,64}$.", 'text.format.name', 'invalid_value')
  }
  if (!isObject(format.schema)) throw new InvalidRequest("Missing required parameter: 'text.format.schema'.", 'text.format.schema', 'missing_required_parameter')
  if (format.strict === true) checkStrictSchema(format.name, format.schema, [])
}

/** Strict structured outputs: every object closes additionalProperties and requires every property. */
function checkStrictSchema (name: string, schema: Record<string, unknown>, path: string[]): void {
  const fail = (msg: string): never => {
    throw new InvalidRequest(`Invalid schema for response_format '${name}': In context=(${path.map((p) => `'${p}'`).join(', ')}), ${msg}`, 'text.format.schema', 'invalid_json_schema')
  }
  if (schema.type === 'object') {
    if (schema.additionalProperties !== false) fail("'additionalProperties' is required to be supplied and to be false.")
    const props = isObject(schema.properties) ? schema.properties : {}
    const required = Array.isArray(schema.required) ? schema.required : []
    for (const key of Object.keys(props)) {
      if (!required.includes(key)) fail(`'required' is required to be supplied and to be an array including every key in properties. Missing '${key}'.`)
      const sub = props[key]
      if (isObject(sub)) checkStrictSchema(name, sub, [...path, 'properties', key])
    }
  }
  if (schema.type === 'array' && isObject(schema.items)) checkStrictSchema(name, schema.items, [...path, 'items'])
}

/** Splits text into word tokens that keep their trailing spaces, so joining them gives the text back. */
export function tokenize (text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === '' ? [] : [text])
}

/** The Responses API as a Node request listener, so another fake (e.g. the Realtime one) can mount it on its server. */
export interface FakeResponsesHandler {
  /** Answers POST /v1/responses; anything else gets the API's JSON 404. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void
  readonly requests: RecordedResponsesRequest[]
  setReply (script: ReplyScript): void
  /** Resolves with the n-th request (1-based) once it has arrived. */
  waitForRequest (n: number, timeoutMs?: number): Promise<RecordedResponsesRequest>
  /** Stops token timers of streams in progress (call before closing the server). */
  stop (): void
}

/** Starts the fake on an ephemeral loopback port. */
export async function startFakeOpenAI (opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const responses = createFakeResponses(opts)
  const server: Server = createServer(responses.listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests: responses.requests,
    setReply: (s) => responses.setReply(s),
    waitForRequest: (n, timeoutMs) => responses.waitForRequest(n, timeoutMs),
    async close () {
      responses.stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Creates the request listener and its record of requests. */
export function createFakeResponses (opts: FakeOpenAIOptions = {}): FakeResponsesHandler {
  const apiKey = opts.apiKey ?? FAKE_OPENAI_KEY
  let script: ReplyScript = opts.reply ?? (() => 'OK')
  const requests: RecordedResponsesRequest[] = []
  const waiters = new Set<() => void>()
  const closing = new AbortController()
  let seq = 0

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: Error) => {
        if (!res.headersSent) sendError(res, 500, { message: `fake crashed: ${err.message}`, type: 'server_error' })
        else res.destroy(err)
      })
    })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake')
    const auth = req.headers.authorization ?? ''
    let body: Record<string, unknown> | undefined
    try {
      const parsed: unknown = JSON.parse(raw)
      body = isObject(parsed) ? parsed : undefined
    } catch { body = undefined }
    let markFinished = (): void => {}
    const rec: RecordedResponsesRequest = {
      seq: ++seq,
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      authorized: auth === `Bearer ${apiKey}`,
      body,
      model: typeof body?.model === 'string' ? body.model : undefined,
      instructions: typeof body?.instructions === 'string' ? body.instructions : undefined,
      input: body?.input,
      stream: body?.stream === true,
      status: 0,
      clientClosed: false,
      finished: new Promise<void>((resolve) => { markFinished = resolve }),
    }
    res.on('close', () => {
      if (!res.writableFinished) rec.clientClosed = true
      markFinished()
    })
    requests.push(rec)
    for (const w of [...waiters]) w()

    if (rec.method !== 'POST' || rec.path !== '/v1/responses') {
      return sendError(res, 404, { message: `Invalid URL (${rec.method} ${rec.path})`, type: 'invalid_request_error' }, rec)
    }
    if (auth === '') {
      return sendError(res, 401, {
        message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        type: 'invalid_request_error',
      }, rec)
    }
    if (!rec.authorized) {
      return sendError(res, 401, { message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', code: 'invalid_api_key' }, rec)
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendError(res, 400, { message: 'Invalid Content-Type header; expected application/json.', type: 'invalid_request_error' }, rec)
    }
    if (body === undefined) {
      return sendError(res, 400, { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error' }, rec)
    }
    try {
      validateResponsesBody(body)
    } catch (err) {
      if (!(err instanceof InvalidRequest)) throw err
      return sendError(res, 400, { message: err.message, type: 'invalid_request_error', param: err.param, code: err.code }, rec)
    }

    if (rec.model !== undefined && opts.unknownModels?.includes(rec.model) === true) {
      // The API's wording for a model that does not exist or that this key may not use.
      return sendError(res, 404, { message: `The model \`${rec.model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' }, rec)
    }

    const scripted = await script(rec)
    const reply: FakeReply = typeof scripted === 'string' ? { text: scripted } : scripted
    if (reply.status !== undefined && reply.status >= 400) {
      return sendError(res, reply.status, { ...defaultError(reply.status), ...reply.error }, rec, reply.headers)
    }
    if (rec.stream) return streamReply(res, rec, body, reply)
    if (reply.hangAfter !== undefined) return // never answer; the client times out or aborts
    rec.status = 200
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_${hex(16)}`, ...reply.headers })
    res.end(JSON.stringify(finalResponse(body, reply, `resp_${hex(24)}`, `msg_${hex(24)}`)))
  }

  const streamReply = async (res: ServerResponse, rec: RecordedResponsesRequest, body: Record<string, unknown>, reply: FakeReply): Promise<void> => {
    const respId = `resp_${hex(24)}`
    const msgId = `msg_${hex(24)}`
    const delay = reply.tokenDelayMs ?? opts.tokenDelayMs ?? 0
    rec.status = 200
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': `req_${hex(16)}`,
      ...reply.headers,
    })
    res.flushHeaders()
    let n = 0
    const send = (type: string, data: Record<string, unknown>): boolean => {
      if (res.destroyed || res.writableEnded) return false
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: n++ })}\n\n`)
      return true
    }
    const base = responseObject(body, respId, 'in_progress', [])
    send('response.created', { response: base })
    send('response.in_progress', { response: base })
    const part = reply.refusal !== undefined ? { type: 'refusal', refusal: '' } : { type: 'output_text', annotations: [], logprobs: [], text: '' }
    send('response.output_item.added', { output_index: 0, item: { id: msgId, type: 'message', status: 'in_progress', content: [], role: 'assistant' } })
    send('response.content_part.added', { item_id: msgId, output_index: 0, content_index: 0, part })

    const full = reply.refusal ?? reply.text ?? 'OK'
    const tokens = reply.tokens ?? tokenize(full)
    const stopAt = reply.hangAfter ?? reply.failMidStream?.failAfter ?? tokens.length
    const deltaType = reply.refusal !== undefined ? 'response.refusal.delta' : 'response.output_text.delta'
    for (let i = 0; i < Math.min(stopAt, tokens.length); i++) {
      if (delay > 0 && !(await sleep(delay, closing.signal))) return
      const extra = reply.refusal !== undefined ? {} : { logprobs: [] }
      if (!send(deltaType, { item_id: msgId, output_index: 0, content_index: 0, delta: tokens[i], ...extra })) return
    }
    if (reply.hangAfter !== undefined) return // keep the socket open until the client gives up
    if (reply.failMidStream !== undefined) {
      const { kind, code = 'server_error', message = 'The server had an error while processing your request. Sorry about that!' } = reply.failMidStream
      if (kind === 'error') send('error', { code, message, param: null })
      else send('response.failed', { response: { ...responseObject(body, respId, 'failed', []), error: { code, message } } })
      return endStream(res)
    }
    const text = tokens.join('')
    const content = reply.refusal !== undefined ? { type: 'refusal', refusal: text } : { type: 'output_text', annotations: [], logprobs: [], text }
    if (reply.refusal !== undefined) send('response.refusal.done', { item_id: msgId, output_index: 0, content_index: 0, refusal: text })
    else send('response.output_text.done', { item_id: msgId, output_index: 0, content_index: 0, text, logprobs: [] })
    send('response.content_part.done', { item_id: msgId, output_index: 0, content_index: 0, part: content })
    const itemStatus = reply.incomplete !== undefined ? 'incomplete' : 'completed'
    const item = { id: msgId, type: 'message', status: itemStatus, content: [content], role: 'assistant' }
    send('response.output_item.done', { output_index: 0, item })
    const final = finalResponse(body, { ...reply, text: reply.refusal === undefined ? text : undefined }, respId, msgId)
    send(reply.incomplete !== undefined ? 'response.incomplete' : 'response.completed', { response: final })
    endStream(res)
  }

  const endStream = (res: ServerResponse): void => {
    if (opts.doneSentinel === true && !res.destroyed) res.write('data: [DONE]\n\n')
    res.end()
  }

  const sendError = (res: ServerResponse, status: number, error: FakeReply['error'], rec?: RecordedResponsesRequest, headers?: Record<string, string>): void => {
    if (rec !== undefined) rec.status = status
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${hex(16)}`, ...headers })
    res.end(JSON.stringify({ error: { message: '', type: 'invalid_request_error', param: null, code: null, ...error } }))
  }

  return {
    listener,
    requests,
    setReply (s) { script = s },
    waitForRequest (n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const r = requests[n - 1]
          if (r === undefined) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(r)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`fake OpenAI: request #${n} did not arrive within ${timeoutMs} ms (got ${requests.length})`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    stop () { closing.abort() },
  }
}

function defaultError (status: number): NonNullable<FakeReply['error']> {
  if (status === 429) {
    return { message: 'Rate limit reached for requests. Please try again in 1s.', type: 'requests', code: 'rate_limit_exceeded' }
  }
  if (status >= 500) return { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error' }
  return { message: `Request failed with status ${status}.`, type: 'invalid_request_error' }
}

/** The Response object in a given state (GA field set; see Response in responses.d.ts). */
function responseObject (body: Record<string, unknown>, id: string, status: string, output: unknown[]): Record<string, unknown> {
  const text = isObject(body.text) ? body.text : {}
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: body.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: text.format ?? { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    user: null,
    metadata: body.metadata ?? {},
  }
}

function finalResponse (body: Record<string, unknown>, reply: FakeReply, id: string, msgId: string): Record<string, unknown> {
  const content = reply.refusal !== undefined
    ? { type: 'refusal', refusal: reply.refusal }
    : { type: 'output_text', annotations: [], logprobs: [], text: reply.text ?? 'OK' }
  const status = reply.incomplete !== undefined ? 'incomplete' : 'completed'
  const output = [{ id: msgId, type: 'message', status, content: [content], role: 'assistant' }]
  const inputTokens = Math.ceil(JSON.stringify(body.input ?? '').length / 4) + Math.ceil(String(body.instructions ?? '').length / 4)
  const outputTokens = tokenize(reply.refusal ?? reply.text ?? 'OK').length
  return {
    ...responseObject(body, id, status, output),
    completed_at: status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    incomplete_details: reply.incomplete !== undefined ? { reason: reply.incomplete } : null,
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + outputTokens,
    },
  }
}

/** Resolves true after ms, or false at once if the signal aborts (the fake is closing). */
function sleep (ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
