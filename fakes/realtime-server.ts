/**
 * A local fake of the OpenAI Realtime API (GA) over WebSocket, for tests and benchmarks.
 *
 * Protocol notes (from docs/protocol.md C and the openai 7.57 types in
 * node_modules/openai/resources/realtime/realtime.d.ts; ⚠️ = our reading, not an OpenAI page):
 * - Handshake: `GET /v1/realtime?model=<model>` opens a realtime (speech-to-speech) session;
 *   `GET /v1/realtime?intent=transcription` (no model) opens a transcription-only session.
 *   `Authorization: Bearer <key>` is required (401 otherwise); other paths 404; both or neither
 *   of model/intent 400. `OpenAI-Beta: realtime=v1` gets an `error` (beta_api_shape_disabled ⚠️) and close 1008.
 * - Right after the upgrade the server sends `session.created` with its defaults (pcm 24 kHz, server VAD).
 * - Client events accepted: session.update, input_audio_buffer.append/commit/clear,
 *   conversation.item.create/delete/retrieve/truncate, response.create/cancel. Anything else
 *   gets an `error` event (invalid_request_error). Beta shapes are refused with
 *   `beta_api_shape_disabled` ⚠️ (third-party reports): `transcription_session.update`, or a
 *   session.update carrying modalities / top-level voice / input_audio_format / output_audio_format /
 *   input_audio_transcription / top-level turn_detection. `session.type` must match the URL:
 *   `realtime` for a model URL, `transcription` for the intent URL (the API refuses the other).
 *   Formats must be GA objects: {type:'audio/pcm', rate:24000} | {type:'audio/pcmu'} | {type:'audio/pcma'}.
 *   A valid update is merged and answered with `session.updated` (full effective session).
 * - Errors are `{type:'error', event_id, error:{type, code, message, param, event_id}}`; the
 *   client's `event_id` is echoed in `error.event_id`. The session stays open.
 * - Typed: every event the fake sends is checked by tsc against the SDK's `RealtimeServerEvent`,
 *   and `waitFor(type)` returns the SDK's `RealtimeClientEvent` of that type.
 * - A session the API would refuse, judged on the merged result of an update: an unknown voice
 *   (the SDK's voice union), or `turn_detection` other than null on a transcription model that
 *   takes no VAD (gpt-realtime-whisper, gpt-live-transcribe) → `error` with `param`, no
 *   `session.updated`, the old session kept, the socket open.
 * - Input buffer: `bufferBytes` since the last commit or clear. A client `input_audio_buffer.commit`
 *   with under 100 ms gets `input_audio_buffer_commit_empty` (the API's code and wording); otherwise
 *   `input_audio_buffer.committed` {item_id, previous_item_id} (and `commits` records it), then the
 *   transcript if `transcribeCommit` scripts one. `input_audio_buffer.clear` → `.cleared`.
 * - VAD's end of turn in a realtime session with `create_response` on (the API's default) starts a
 *   response by itself, through the same `onResponseCreate` hook as a client `response.create`.
 * - `input_audio_buffer.append` {audio: base64} is accounted byte-exactly: `appended` keeps every
 *   payload string as received, `appendedBytes` the decoded total (8 bytes = 1 ms of μ-law).
 * - VAD and transcription are scripted by the test: speechStarted → `input_audio_buffer.speech_started`
 *   {audio_start_ms, item_id}; speechStopped → `speech_stopped` {audio_end_ms, item_id},
 *   `input_audio_buffer.committed`, `conversation.item.added` and `.done` (user, input_audio); transcribe →
 *   `conversation.item.input_audio_transcription.delta` {item_id, content_index, delta}… then
 *   `.completed` {item_id, content_index, transcript, usage}. Completions may be sent in any order.
 *   In a realtime session with `interrupt_response` on, speech_started cancels the active
 *   response (`response.done` status `cancelled`, status_details reason `turn_detected`), as the API
 *   does on WebSocket; `response.cancel` gives reason `client_cancelled`.
 * - Responses: `response.created`, `response.output_item.added` (assistant message),
 *   `response.content_part.added`, then per chunk `response.output_audio.delta` {response_id,
 *   item_id, output_index, content_index, delta} and `response.output_audio_transcript.delta`,
 *   then `output_audio.done`, `output_audio_transcript.done`, `content_part.done`,
 *   `response.output_item.done`, `conversation.item.done`, `response.done` {response:{id, status, output}}.
 *   Right after `response.created`: `rate_limits.updated` {rate_limits:[{name, limit, remaining, reset_seconds}]}.
 *   Function calls: `response.output_item.added` {item:{type:'function_call', name, call_id,
 *   arguments:''}}, `response.function_call_arguments.delta` {call_id, item_id, delta},
 *   `.done` {call_id, item_id, name, arguments}, `response.output_item.done`, `conversation.item.done`, `response.done`.
 *   A second response.create while one is active: error `conversation_already_has_active_response`.
 * - `conversation.item.truncate` {item_id, content_index:0, audio_end_ms}: only assistant items;
 *   audio_end_ms above the item's audio length is an error (invalid_value ⚠️ wording), otherwise
 *   `conversation.item.truncated`.
 * - Session end: `expire()` sends error code `session_expired` ("…maximum duration of 60 minutes")
 *   and closes with 1001 (observed behaviour, docs/protocol.md C). `drop()` kills the TCP connection.
 * - Bench only (not an API behaviour): `echo: true` answers every append of a realtime session
 *   with one `response.output_audio.delta` carrying the same payload.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import type { ConversationItem, RealtimeClientEvent, RealtimeServerEvent, RealtimeSession } from 'openai/resources/realtime/realtime'

/** A server event as the fake builds it: the SDK's union (tsc catches drift), `event_id` added by send(). */
type Omit1<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
export type FakeServerEvent = Omit1<RealtimeServerEvent, 'event_id'>
type SessionOut = Extract<FakeServerEvent, { type: 'session.created' }>['session']
/** A client event the fake recognises, by type (what TalkHint sends must be one of the SDK's). */
export type ClientEventOf<T extends RealtimeClientEvent['type']> = Extract<RealtimeClientEvent, { type: T }>

/** The voices the SDK names (its union is open, `string & {}`, so the literal members are picked out). */
type Literal<T> = T extends string ? (string extends T ? never : T) : never
type KnownVoice = Literal<Exclude<RealtimeSession['voice'], undefined>>
export const KNOWN_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const satisfies readonly KnownVoice[]
/** Fails to compile when the SDK adds a voice this list lacks. */
export const ALL_VOICES_LISTED: Exclude<KnownVoice, typeof KNOWN_VOICES[number]> extends never ? true : false = true

export const FAKE_OPENAI_KEY = 'sk-test-fake-realtime-key'

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

export interface FakeItem { id: string, type: string, role?: string, audioBytes: number, status: string, callId?: string, name?: string, transcript?: string }
export interface RespondOptions {
  /** Base64 μ-law chunks, each sent as one output_audio.delta. */
  chunks?: string[]
  transcript?: string
  /** Leave the response open (no .done events) to script barge-in. */
  complete?: boolean
}

export class FakeRealtimeConnection {
  readonly id: number
  readonly kind: 'realtime' | 'transcription'
  readonly model: string | undefined
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** Every parsed client event, in order (append events without their audio when not recording). */
  readonly received: Json[] = []
  /** Audio payloads exactly as received. */
  readonly appended: string[] = []
  appendedBytes = 0
  /** Bytes in the input buffer now: appended since the last commit (client or VAD) or clear. */
  bufferBytes = 0
  /** Client commits accepted, in order: the item each one made and how much audio it held. */
  readonly commits: Array<{ itemId: string, bytes: number }> = []
  appendCount = 0
  /** Client frames sent as binary rather than text (every client event must be a text frame). */
  binaryFrames = 0
  session: Json
  readonly items = new Map<string, FakeItem>()
  readonly errors: Json[] = []
  active: { id: string, itemId: string, cancelled: boolean } | undefined
  /** Responses the fake started on its own after a VAD end of turn (`create_response`). */
  autoResponses = 0
  closed = false
  closeCode: number | undefined
  #ws: WebSocket
  #server: FakeRealtimeServer
  get server (): FakeRealtimeServer { return this.#server }
  #waiters: Array<{ test: (e: Json) => boolean, resolve: (e: Json) => void }> = []
  #closeWaiters: Array<() => void> = []
  #echo: { responseId: string, itemId: string } | undefined
  #echoBuf: Buffer[] = []
  #vad = { speaking: false, item: '', startMs: 0, quietMs: 0 }

  constructor (server: FakeRealtimeServer, ws: WebSocket, id: number, url: URL, headers: IncomingHttpHeaders) {
    this.#server = server
    this.#ws = ws
    this.id = id
    this.url = url.pathname + url.search
    this.headers = headers
    this.model = url.searchParams.get('model') ?? undefined
    this.kind = this.model === undefined ? 'transcription' : 'realtime'
    this.session = defaultSession(this.kind, this.model, server.nextId('sess'))
    ws.on('message', (data, isBinary) => {
      // The API speaks JSON text frames; a binary frame from a client is counted for tests to catch.
      if (isBinary) this.binaryFrames++
      this.#onMessage(data.toString())
    })
    ws.on('close', (code) => {
      this.closed = true
      this.closeCode = code
      for (const w of this.#closeWaiters) w()
    })
    ws.on('error', () => {})
    this.send({ type: 'session.created', session: this.#sessionOut() })
  }

  /** The effective session as sent: built by merging validated client updates, so typed at this one boundary. */
  #sessionOut (): SessionOut { return this.session as unknown as SessionOut }

  /** Sends a server event (an event_id is added); typed against the SDK's RealtimeServerEvent. */
  send (event: FakeServerEvent): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return
    this.#ws.send(JSON.stringify({ event_id: this.#server.nextId('event'), ...event }))
  }

  /** Sends a text frame exactly as given (tests of malformed or unusually laid-out events). */
  sendText (text: string): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(text)
  }

  /** Resolves with the first received client event of `type` matching `test` (already received ones count). */
  waitFor<T extends RealtimeClientEvent['type']> (type: T, test: (e: ClientEventOf<T>) => boolean = () => true, timeoutMs = 5000): Promise<ClientEventOf<T>> {
    // Typed as the SDK's client event of that type: a test reading a field TalkHint sends fails to compile when the SDK renames it.
    const match = (e: Json): boolean => e.type === type && test(e as unknown as ClientEventOf<T>)
    const hit = this.received.find(match)
    if (hit !== undefined) return Promise.resolve(hit as unknown as ClientEventOf<T>)
    return new Promise((resolve, reject) => {
      const w = { test: match, resolve: (e: Json) => { clearTimeout(timer); resolve(e as unknown as ClientEventOf<T>) } }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        reject(new Error(`fake realtime #${this.id}: no ${type} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(w)
    })
  }

  /** Resolves once at least `bytes` of audio have been appended (checked as each event arrives, not by polling). */
  waitForAudio (bytes: number, timeoutMs = 5000): Promise<void> {
    if (this.appendedBytes >= bytes) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const w = { test: () => this.appendedBytes >= bytes, resolve: () => { clearTimeout(timer); resolve() } }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        reject(new Error(`fake realtime #${this.id}: ${this.appendedBytes}/${bytes} audio bytes within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(w)
    })
  }

  whenClosed (): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => this.#closeWaiters.push(resolve))
  }

  get appendedMs (): number { return this.appendedBytes / 8 }

  speechStarted (opts: { itemId?: string, audioStartMs?: number } = {}): string {
    const itemId = opts.itemId ?? this.#server.nextId('item')
    this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: opts.audioStartMs ?? Math.floor(this.appendedMs), item_id: itemId })
    const td = (this.session.audio as Json | undefined)?.input as Json | undefined
    const interrupt = (td?.turn_detection as Json | null | undefined)?.interrupt_response !== false
    if (this.kind === 'realtime' && interrupt && this.active !== undefined) this.#finish(this.active.id, 'cancelled', 'turn_detected')
    return itemId
  }

  speechStopped (itemId: string, audioEndMs = Math.floor(this.appendedMs)): void {
    this.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: audioEndMs, item_id: itemId })
    this.#commitItem(itemId, audioEndMs * 8)
    // The API's default (`create_response` on, or absent) in a realtime session: VAD's end of a turn
    // starts a response by itself. It goes through the same hook as a client response.create.
    const td = this.#turnDetection()
    if (this.kind === 'realtime' && isObj(td) && td.create_response !== false && this.active === undefined) {
      this.autoResponses++
      this.#server.onResponseCreate(this, { type: 'response.create' })
    }
  }

  /** The session's turn_detection now (null: none; the client commits). */
  #turnDetection (): unknown {
    const input = isObj(this.session.audio) ? (this.session.audio as Json).input : undefined
    return isObj(input) ? input.turn_detection : undefined
  }

  /** The input buffer becomes a user item (VAD's end of turn, or a client commit). */
  #commitItem (itemId: string, bytes: number): void {
    const previous = [...this.items.values()].at(-1)?.id ?? null
    this.bufferBytes = 0
    this.send({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: previous })
    const item = { id: itemId, type: 'message', role: 'user', audioBytes: bytes, status: 'completed' }
    this.items.set(itemId, item)
    // The SDK types `transcript` as an optional string (not null): it is left out until transcribed.
    const added: ConversationItem = { id: itemId, object: 'realtime.item', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio' }] }
    this.send({ type: 'conversation.item.added', previous_item_id: previous, item: added })
    // ⚠️ The docs only say .done comes when an item is finalized; a user audio item is final at
    // commit (its transcription streams separately), so it follows .added at once here.
    this.send({ type: 'conversation.item.done', previous_item_id: previous, item: added })
  }

  /** Streams the transcription of an item: deltas (default: one per word), then completed. */
  transcribe (itemId: string, transcript: string, deltas = transcript.split(/(?<= )/)): void {
    for (const delta of deltas) this.send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta })
    this.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript, usage: { type: 'duration', seconds: 1 } })
  }

  failTranscription (itemId: string): void {
    this.send({ type: 'conversation.item.input_audio_transcription.failed', item_id: itemId, content_index: 0, error: { type: 'transcription_error', code: 'audio_unintelligible', message: 'Audio could not be transcribed' } })
  }

  /** Starts a spoken response and streams it; returns its ids. */
  respond (opts: RespondOptions = {}): { responseId: string, itemId: string } {
    const responseId = this.#server.nextId('resp')
    const itemId = this.#server.nextId('item')
    this.active = { id: responseId, itemId, cancelled: false }
    const item: FakeItem = { id: itemId, type: 'message', role: 'assistant', audioBytes: 0, status: 'in_progress' }
    this.items.set(itemId, item)
    this.send({ type: 'response.created', response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] } })
    this.#rateLimits()
    this.send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item: { id: itemId, object: 'realtime.item', type: 'message', role: 'assistant', status: 'in_progress', content: [] } })
    this.send({ type: 'conversation.item.added', previous_item_id: null, item: { id: itemId, object: 'realtime.item', type: 'message', role: 'assistant', status: 'in_progress', content: [] } })
    this.send({ type: 'response.content_part.added', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, part: { type: 'audio', transcript: '' } })
    const chunks = opts.chunks ?? [tone(100), tone(100)]
    const words = (opts.transcript ?? 'Hello there.').split(/(?<= )/)
    chunks.forEach((chunk, i) => {
      this.audioDelta(responseId, itemId, chunk)
      const word = words[i]
      if (word !== undefined) this.send({ type: 'response.output_audio_transcript.delta', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta: word })
    })
    for (const word of words.slice(chunks.length)) this.send({ type: 'response.output_audio_transcript.delta', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta: word })
    item.transcript = opts.transcript ?? 'Hello there.'
    if (opts.complete !== false) this.#finish(responseId, 'completed')
    return { responseId, itemId }
  }

  /** One output_audio.delta (also used to script late deltas of a cancelled response). */
  audioDelta (responseId: string, itemId: string, chunk: string): void {
    const item = this.items.get(itemId)
    if (item !== undefined && this.active?.id === responseId) item.audioBytes += b64Bytes(chunk)
    this.send({ type: 'response.output_audio.delta', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta: chunk })
  }

  /** Ends the active response normally. */
  completeResponse (): void {
    if (this.active !== undefined) this.#finish(this.active.id, 'completed')
  }

  /** The model calls a function (a response with one function_call item). */
  functionCall (name: string, args: Json = {}): { responseId: string, callId: string } {
    const responseId = this.#server.nextId('resp')
    const itemId = this.#server.nextId('item')
    const callId = this.#server.nextId('call')
    const argText = JSON.stringify(args)
    this.items.set(itemId, { id: itemId, type: 'function_call', audioBytes: 0, status: 'completed', callId, name })
    const item = { id: itemId, object: 'realtime.item', type: 'function_call', status: 'in_progress', name, call_id: callId, arguments: '' } as const
    this.send({ type: 'response.created', response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] } })
    this.#rateLimits()
    this.send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item })
    this.send({ type: 'response.function_call_arguments.delta', response_id: responseId, item_id: itemId, output_index: 0, call_id: callId, delta: argText })
    this.send({ type: 'response.function_call_arguments.done', response_id: responseId, item_id: itemId, output_index: 0, call_id: callId, name, arguments: argText })
    const done = { ...item, status: 'completed', arguments: argText } as const
    this.send({ type: 'response.output_item.done', response_id: responseId, output_index: 0, item: done })
    this.send({ type: 'conversation.item.done', previous_item_id: null, item: done })
    this.send({ type: 'response.done', response: { id: responseId, object: 'realtime.response', status: 'completed', output: [done] } })
    return { responseId, callId }
  }

  /** The 60-minute cap: error session_expired, then close 1001. */
  expire (): void {
    this.send({ type: 'error', error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.', param: null, event_id: null } })
    this.#ws.close(1001, 'session expired')
  }

  /** Kills the TCP connection without a close frame. */
  drop (): void {
    this.#ws.terminate()
  }

  #error (code: string, message: string, clientEventId: unknown, param: string | null = null, type = 'invalid_request_error'): void {
    const error = { type, code, message, param, event_id: typeof clientEventId === 'string' ? clientEventId : null }
    this.errors.push(error)
    this.send({ type: 'error', error })
  }

  /** At the start of each response (the API reference: tokens reserved for its output), the budgets left (docs/protocol.md C). */
  #rateLimits (): void {
    this.send({ type: 'rate_limits.updated', rate_limits: [{ name: 'requests', limit: 5000, remaining: 4999, reset_seconds: 0.012 }, { name: 'tokens', limit: 40000, remaining: 39000, reset_seconds: 1.5 }] })
  }

  /** Ends the active response; a cancelled one says why (`turn_detected`: the caller spoke; `client_cancelled`: response.cancel). */
  #finish (responseId: string, status: 'completed' | 'cancelled', reason?: 'turn_detected' | 'client_cancelled'): void {
    const active = this.active
    if (active === undefined || active.id !== responseId) return
    this.active = undefined
    const item = this.items.get(active.itemId)
    if (item !== undefined) item.status = status === 'completed' ? 'completed' : 'incomplete'
    const transcript = item?.transcript ?? ''
    const base = { response_id: responseId, item_id: active.itemId, output_index: 0, content_index: 0 }
    this.send({ type: 'response.output_audio.done', ...base })
    this.send({ type: 'response.output_audio_transcript.done', ...base, transcript })
    this.send({ type: 'response.content_part.done', ...base, part: { type: 'audio', transcript } })
    const out: ConversationItem = { id: active.itemId, object: 'realtime.item', type: 'message', role: 'assistant', status: status === 'completed' ? 'completed' : 'incomplete', content: [{ type: 'output_audio', transcript }] }
    this.send({ type: 'response.output_item.done', response_id: responseId, output_index: 0, item: out })
    this.send({ type: 'conversation.item.done', previous_item_id: null, item: out })
    const details = status === 'cancelled' ? { status_details: { type: 'cancelled' as const, reason: reason ?? 'client_cancelled' } } : {}
    this.send({ type: 'response.done', response: { id: responseId, object: 'realtime.response', status, ...details, output: [out] } })
  }

  #onMessage (text: string): void {
    let event: unknown
    try {
      event = JSON.parse(text)
    } catch {
      return this.#error('invalid_json', 'The server could not parse the event as JSON.', null)
    }
    if (!isObj(event) || typeof event.type !== 'string') return this.#error('invalid_event', "Missing required parameter: 'type'.", null)
    const record = this.#server.record
    if (event.type === 'input_audio_buffer.append') {
      this.#append(event)
      if (record) this.received.push({ type: event.type })
    } else {
      this.received.push(event)
      this.#handle(event)
    }
    for (const w of [...this.#waiters]) {
      if (w.test(event)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        w.resolve(event)
      }
    }
  }

  #append (event: Json): void {
    const audio = event.audio
    if (typeof audio !== 'string' || !BASE64.test(audio) || audio.length % 4 !== 0) {
      return this.#error('invalid_value', "Invalid 'audio'. Expected base64-encoded audio bytes.", event.event_id, 'audio')
    }
    if (audio.length > 20_000_000) return this.#error('invalid_value', 'Audio chunk exceeds 15 MB.', event.event_id, 'audio')
    const bytes = b64Bytes(audio)
    this.appendedBytes += bytes
    this.bufferBytes += bytes
    this.appendCount++
    if (this.#server.record) this.appended.push(audio)
    this.#server.onAppend?.(this, audio)
    // With turn_detection null the API never ends a turn by itself: only the client's commit does.
    if (this.#server.auto && this.#turnDetection() !== null) this.#autoVad(audio, bytes)
    if (this.#server.echo && this.kind === 'realtime') {
      if (this.#echo === undefined) {
        this.#echo = { responseId: this.#server.nextId('resp'), itemId: this.#server.nextId('item') }
        this.send({ type: 'response.created', response: { id: this.#echo.responseId, object: 'realtime.response', status: 'in_progress', output: [] } })
      }
      const per = this.#server.echoFrames
      let delta = audio
      if (per > 1) {
        this.#echoBuf.push(Buffer.from(audio, 'base64'))
        if (this.#echoBuf.length < per) return
        delta = Buffer.concat(this.#echoBuf).toString('base64')
        this.#echoBuf = []
      }
      this.#server.onEcho?.(this, delta)
      // Built by concatenation (same JSON as send() would make): the benchmark's load generator shares this core.
      if (this.#ws.readyState === this.#ws.OPEN) {
        this.#ws.send(`{"event_id":"${this.#server.nextId('event')}","type":"response.output_audio.delta","response_id":"${this.#echo.responseId}","item_id":"${this.#echo.itemId}","output_index":0,"content_index":0,"delta":"${delta}"}`)
      }
    }
  }

  /**
   * Demo mode (`auto`): a crude energy VAD on the μ-law bytes. Speech starts at the first loud
   * 20 ms, stops after 500 ms of quiet; transcription sessions then transcribe it (a placeholder
   * sentence), realtime sessions answer with a short tone and a transcript.
   */
  #autoVad (audio: string, bytes: number): void {
    const buf = Buffer.from(audio, 'base64')
    let loud = 0
    for (const b of buf) if ((~b & 0x7f) > 0x30) loud++
    const ms = bytes / 8
    const v = this.#vad
    const endMs = Math.floor(this.appendedMs)
    if (loud > buf.length / 10) {
      v.quietMs = 0
      if (!v.speaking) {
        v.speaking = true
        v.startMs = Math.max(0, endMs - ms)
        v.item = this.speechStarted({ audioStartMs: v.startMs })
      }
    } else if (v.speaking && (v.quietMs += ms) >= 500) {
      v.speaking = false
      this.speechStopped(v.item, endMs)
      const seconds = (endMs - v.quietMs - v.startMs) / 1000
      this.transcribe(v.item, this.#server.transcribeAuto?.(this, seconds) ?? `(fake transcript of ${seconds.toFixed(1)} s of speech)`)
    }
  }

  #handle (event: Json): void {
    const id = event.event_id
    switch (event.type) {
      case 'session.update': return this.#sessionUpdate(event)
      case 'input_audio_buffer.commit': return this.#commit(event)
      case 'input_audio_buffer.clear':
        this.bufferBytes = 0
        return this.send({ type: 'input_audio_buffer.cleared' })
      case 'conversation.item.delete':
      case 'conversation.item.retrieve':
        return
      case 'conversation.item.create': return this.#itemCreate(event)
      case 'conversation.item.truncate': return this.#truncate(event)
      case 'response.create':
        if (this.kind !== 'realtime') return this.#error('invalid_request_error', 'Responses are not supported in transcription sessions.', id)
        if (this.active !== undefined) return this.#error('conversation_already_has_active_response', `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`, id)
        if (event.response !== undefined && !isObj(event.response)) return this.#error('invalid_type', "Invalid type for 'response'.", id, 'response')
        return this.#server.onResponseCreate(this, event)
      case 'response.cancel':
        if (this.active === undefined) return this.#error('response_cancel_not_active', 'Cancellation failed: no active response found', id)
        return this.#finish(this.active.id, 'cancelled', 'client_cancelled')
      case 'transcription_session.update':
        return this.#error('beta_api_shape_disabled', 'The beta Realtime API shape is no longer supported. Use session.update with session.type.', id)
      default:
        return this.#error('invalid_value', `Invalid value: '${String(event.type)}'. Supported values are: session.update, input_audio_buffer.append, input_audio_buffer.commit, input_audio_buffer.clear, conversation.item.create, conversation.item.truncate, conversation.item.delete, conversation.item.retrieve, response.create, response.cancel.`, id, 'type')
    }
  }

  /**
   * A client commit. Under 100 ms of audio the API refuses it (observed: code
   * `input_audio_buffer_commit_empty`, "buffer too small. Expected at least 100ms of audio, but
   * buffer only has 0.00ms of audio"; openai/openai-agents-js#748, betalgo/openai#674).
   */
  #commit (event: Json): void {
    const ms = this.bufferBytes / 8
    if (ms < 100) {
      return this.#error('input_audio_buffer_commit_empty', `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`, event.event_id)
    }
    const itemId = this.#server.nextId('item')
    const bytes = this.bufferBytes
    this.commits.push({ itemId, bytes })
    this.#commitItem(itemId, bytes)
    const text = this.#server.transcribeCommit?.(this, itemId, bytes / 8000)
    if (text !== undefined) this.transcribe(itemId, text)
  }

  #sessionUpdate (event: Json): void {
    const id = event.event_id
    const s = event.session
    if (!isObj(s)) return this.#error('missing_required_parameter', "Missing required parameter: 'session'.", id, 'session')
    const beta = ['modalities', 'voice', 'input_audio_format', 'output_audio_format', 'input_audio_transcription', 'turn_detection'].find((k) => k in s)
    if (beta !== undefined) return this.#error('beta_api_shape_disabled', `The beta Realtime API shape is no longer supported (session.${beta}).`, id, `session.${beta}`)
    if (s.type === undefined) return this.#error('missing_required_parameter', "Missing required parameter: 'session.type'.", id, 'session.type')
    if (s.type !== this.kind) return this.#error('invalid_value', `This session was opened as '${this.kind}'; session.type '${String(s.type)}' is not accepted.`, id, 'session.type')
    const audio = s.audio
    if (audio !== undefined && !isObj(audio)) return this.#error('invalid_type', "Invalid type for 'session.audio'.", id, 'session.audio')
    for (const dir of ['input', 'output']) {
      const fmt = isObj(audio) && isObj(audio[dir]) ? (audio[dir] as Json).format : undefined
      if (fmt !== undefined && !validFormat(fmt)) return this.#error('invalid_value', `Invalid 'session.audio.${dir}.format'.`, id, `session.audio.${dir}.format`)
    }
    if (this.kind === 'transcription') {
      const extra = ['model', 'instructions', 'output_modalities', 'tools', 'tool_choice'].find((k) => k in s) ?? (isObj(audio) && 'output' in audio ? 'audio.output' : undefined)
      if (extra !== undefined) return this.#error('unknown_parameter', `Unknown parameter: 'session.${extra}'.`, id, `session.${extra}`)
    }
    const mods = s.output_modalities
    if (mods !== undefined && !(Array.isArray(mods) && mods.length === 1 && (mods[0] === 'audio' || mods[0] === 'text'))) {
      return this.#error('invalid_value', "'output_modalities' must be ['audio'] or ['text'].", id, 'session.output_modalities')
    }
    const td = isObj(audio) && isObj(audio.input) ? (audio.input as Json).turn_detection : undefined
    if (td !== undefined && td !== null && !(isObj(td) && (td.type === 'server_vad' || td.type === 'semantic_vad'))) {
      return this.#error('invalid_value', "Invalid 'session.audio.input.turn_detection.type'.", id, 'session.audio.input.turn_detection.type')
    }
    const next = merge(this.session, s)
    const refused = refusal(this.kind, next)
    if (refused !== undefined) return this.#error('invalid_value', refused.message, id, refused.param)
    this.session = next
    const updated = { type: 'session.updated', session: this.#sessionOut() } as const
    const delay = this.#server.readyDelayMs
    if (delay > 0) setTimeout(() => { if (!this.closed) this.send(updated) }, delay)
    else this.send(updated)
  }

  #itemCreate (event: Json): void {
    const id = event.event_id
    const item = event.item
    if (!isObj(item)) return this.#error('missing_required_parameter', "Missing required parameter: 'item'.", id, 'item')
    const contentTypes: Record<string, string[]> = { user: ['input_text', 'input_audio', 'input_image'], assistant: ['output_text', 'output_audio'], system: ['input_text'] }
    if (item.type === 'message') {
      const allowed = contentTypes[String(item.role)]
      if (allowed === undefined) return this.#error('invalid_value', "Invalid 'item.role'.", id, 'item.role')
      if (!Array.isArray(item.content) || !item.content.every((c) => isObj(c) && allowed.includes(String(c.type)))) {
        return this.#error('invalid_value', `Invalid 'item.content' for role ${String(item.role)}.`, id, 'item.content')
      }
    } else if (item.type === 'function_call_output') {
      if (typeof item.call_id !== 'string' || typeof item.output !== 'string') return this.#error('missing_required_parameter', "function_call_output needs 'call_id' and 'output' strings.", id, 'item')
    } else if (item.type !== 'function_call') {
      return this.#error('invalid_value', `Invalid 'item.type': ${String(item.type)}.`, id, 'item.type')
    }
    const itemId = typeof item.id === 'string' ? item.id : this.#server.nextId('item')
    this.items.set(itemId, { id: itemId, type: String(item.type), ...(typeof item.role === 'string' ? { role: item.role } : {}), audioBytes: 0, status: 'completed' })
    // The client's own item (validated above), echoed back as the API does.
    const full = { ...item, id: itemId, object: 'realtime.item', status: 'completed' } as unknown as ConversationItem
    this.send({ type: 'conversation.item.added', previous_item_id: null, item: full })
    this.send({ type: 'conversation.item.done', previous_item_id: null, item: full })
  }

  #truncate (event: Json): void {
    const id = event.event_id
    const item = typeof event.item_id === 'string' ? this.items.get(event.item_id) : undefined
    if (item === undefined) return this.#error('invalid_value', `Item with item_id not found: ${String(event.item_id)}`, id, 'item_id')
    if (item.role !== 'assistant') return this.#error('invalid_value', 'Only assistant messages can be truncated.', id, 'item_id')
    if (event.content_index !== 0) return this.#error('invalid_value', "Invalid 'content_index'.", id, 'content_index')
    const ms = event.audio_end_ms
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0) return this.#error('invalid_value', "Invalid 'audio_end_ms'.", id, 'audio_end_ms')
    const length = Math.floor(item.audioBytes / 8)
    if (ms > length) return this.#error('invalid_value', `Audio content of ${length}ms is already shorter than ${ms}ms`, id, 'audio_end_ms')
    item.audioBytes = ms * 8
    this.send({ type: 'conversation.item.truncated', item_id: item.id, content_index: 0, audio_end_ms: ms })
  }
}

export interface FakeRealtimeOptions {
  apiKey?: string
  /** Keep every received event and payload (tests); benchmarks turn it off. */
  record?: boolean
  /** Bench: answer each append with an output_audio.delta carrying the same payload. */
  echo?: boolean
  /** With `echo`: appends gathered into one delta (1 = each append echoed at once). */
  echoFrames?: number
  /** How a client's response.create is answered; default: a short spoken reply (the quoted text, if any). */
  onResponseCreate?: (conn: FakeRealtimeConnection, event: Json) => void
  onAppend?: (conn: FakeRealtimeConnection, audio: string) => void
  /** Bench: called right before an echoed delta is sent. */
  onEcho?: (conn: FakeRealtimeConnection, audio: string) => void
  /** Demo: detect speech by energy and answer on its own (see `#autoVad`); `node fakes/realtime-server.ts` turns it on. */
  auto?: boolean
  /** Demo: the text of an auto-detected utterance of `seconds` (default: a placeholder naming its length). */
  transcribe?: (conn: FakeRealtimeConnection, seconds: number) => string
  /** Client commits: the transcript of a committed item (`seconds` of audio), sent as deltas + completed; undefined: the test scripts it. */
  transcribeCommit?: (conn: FakeRealtimeConnection, itemId: string, seconds: number) => string | undefined
  /** Plain HTTP requests (not upgrades), e.g. the Responses fake's listener; default: 404. */
  http?: (req: IncomingMessage, res: ServerResponse) => void
  /** Bench: answer session.update this late (a slow upstream), so audio arrives before the session is ready. */
  readyDelayMs?: number
}

const defaultRespond = (conn: FakeRealtimeConnection, event: Json): void => {
  const instructions = isObj(event.response) ? String(event.response.instructions ?? '') : ''
  // A response with no instructions is VAD's own (create_response) after the caller spoke.
  if (instructions === '' && conn.server.auto) {
    conn.respond({ transcript: 'I heard you. This is the fake Realtime server answering.', chunks: [tone(400), tone(400), tone(400)] })
    return
  }
  const quoted = /"([^"]+)"/.exec(instructions)?.[1]
  conn.respond({ transcript: quoted ?? 'OK.', chunks: [tone(100), tone(100), tone(100)] })
}

export class FakeRealtimeServer {
  readonly connections: FakeRealtimeConnection[] = []
  readonly record: boolean
  readonly echo: boolean
  readonly echoFrames: number
  readonly auto: boolean
  readonly readyDelayMs: number
  readonly transcribeAuto: ((conn: FakeRealtimeConnection, seconds: number) => string) | undefined
  transcribeCommit: ((conn: FakeRealtimeConnection, itemId: string, seconds: number) => string | undefined) | undefined
  /** Upgrade requests seen (accepted or refused), for URL/header assertions. */
  readonly handshakes: Array<{ url: string, status: number }> = []
  onResponseCreate: (conn: FakeRealtimeConnection, event: Json) => void
  onAppend: ((conn: FakeRealtimeConnection, audio: string) => void) | undefined
  onEcho: ((conn: FakeRealtimeConnection, audio: string) => void) | undefined
  url = ''
  #apiKey: string
  #http: Server
  #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  #refuse: number[] = []
  #refuseUntil = 0
  #ids = 0
  #connWaiters: Array<{ test: (c: FakeRealtimeConnection) => boolean, resolve: (c: FakeRealtimeConnection) => void }> = []
  #sockets = new Set<Socket>()

  constructor (opts: FakeRealtimeOptions = {}) {
    this.#apiKey = opts.apiKey ?? FAKE_OPENAI_KEY
    this.record = opts.record ?? true
    this.echo = opts.echo ?? false
    this.echoFrames = opts.echoFrames ?? 1
    this.auto = opts.auto ?? false
    this.readyDelayMs = opts.readyDelayMs ?? 0
    this.transcribeAuto = opts.transcribe
    this.transcribeCommit = opts.transcribeCommit
    this.onResponseCreate = opts.onResponseCreate ?? defaultRespond
    this.onAppend = opts.onAppend
    this.onEcho = opts.onEcho
    this.#http = createServer(opts.http ?? ((_req, res) => { res.writeHead(404).end() }))
    this.#http.on('connection', (s) => {
      this.#sockets.add(s)
      s.on('close', () => this.#sockets.delete(s))
    })
    this.#http.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://fake')
      const refuse = (status: number, why: string): void => {
        this.handshakes.push({ url: req.url ?? '', status })
        socket.end(`HTTP/1.1 ${status} ${why}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
      }
      if (url.pathname !== '/v1/realtime') return refuse(404, 'Not Found')
      if (req.headers.authorization !== `Bearer ${this.#apiKey}`) return refuse(401, 'Unauthorized')
      const hasModel = url.searchParams.has('model')
      const intent = url.searchParams.get('intent')
      if (hasModel === (intent !== null) || (intent !== null && intent !== 'transcription')) return refuse(400, 'Bad Request')
      const status = this.#refuse.shift() ?? (Date.now() < this.#refuseUntil ? 503 : undefined)
      if (status !== undefined) return refuse(status, 'Service Unavailable')
      this.handshakes.push({ url: req.url ?? '', status: 101 })
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = new FakeRealtimeConnection(this, ws, this.connections.length + 1, url, req.headers)
        this.connections.push(conn)
        if (/realtime=v1/.test(String(req.headers['openai-beta'] ?? ''))) {
          conn.send({ type: 'error', error: { type: 'invalid_request_error', code: 'beta_api_shape_disabled', message: 'The Realtime beta interface is no longer available.', param: null, event_id: null } })
          ws.close(1008, 'beta interface')
        }
        for (const w of [...this.#connWaiters]) {
          if (w.test(conn)) {
            this.#connWaiters.splice(this.#connWaiters.indexOf(w), 1)
            w.resolve(conn)
          }
        }
      })
    })
  }

  async listen (listenPort = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#http.listen(listenPort, '127.0.0.1', resolve))
    const { port } = this.#http.address() as AddressInfo
    this.url = `http://127.0.0.1:${port}/v1`
    return this
  }

  nextId (prefix: string): string {
    return `${prefix}_${(++this.#ids).toString(36).padStart(6, '0')}`
  }

  /** Refuses the next `n` upgrades with `status` (e.g. 503), as an overloaded or unreachable API would. */
  refuseNext (n: number, status = 503): void {
    for (let i = 0; i < n; i++) this.#refuse.push(status)
  }

  /** Refuses every upgrade (503) for the next `ms` of wall time: an outage of known length. */
  refuseFor (ms: number): void {
    this.#refuseUntil = Date.now() + ms
  }

  /** The n-th connection (1-based) matching `test`, waiting for it if needed. */
  waitForConnection (test: (c: FakeRealtimeConnection) => boolean = () => true, timeoutMs = 5000): Promise<FakeRealtimeConnection> {
    const hit = this.connections.find(test)
    if (hit !== undefined) return Promise.resolve(hit)
    return new Promise((resolve, reject) => {
      const w = { test, resolve: (c: FakeRealtimeConnection) => { clearTimeout(timer); resolve(c) } }
      const timer = setTimeout(() => {
        this.#connWaiters.splice(this.#connWaiters.indexOf(w), 1)
        reject(new Error(`fake realtime: no matching connection within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#connWaiters.push(w)
    })
  }

  async close (): Promise<void> {
    for (const c of this.#wss.clients) c.terminate()
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#http.close(() => resolve()))
  }
}

/** Starts a fake on an ephemeral loopback port; give `url` to OPENAI_BASE_URL. */
export async function startFakeRealtime (opts: FakeRealtimeOptions = {}): Promise<FakeRealtimeServer> {
  return await new FakeRealtimeServer(opts).listen()
}

function defaultSession (kind: 'realtime' | 'transcription', model: string | undefined, id: string): Json {
  const input = {
    format: { type: 'audio/pcm', rate: 24000 },
    transcription: null,
    noise_reduction: null,
    turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200, idle_timeout_ms: null, create_response: kind === 'realtime', interrupt_response: kind === 'realtime' },
  }
  const expires = Math.floor(Date.now() / 1000) + 3600
  if (kind === 'transcription') return { type: 'transcription', object: 'realtime.transcription_session', id, expires_at: expires, include: null, audio: { input } }
  return {
    type: 'realtime',
    object: 'realtime.session',
    id,
    model,
    expires_at: expires,
    output_modalities: ['audio'],
    instructions: '',
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    tracing: null,
    truncation: 'auto',
    prompt: null,
    audio: { input, output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1 } },
  }
}

/** Transcription models that take no VAD (src/ai/turn-modes.ts has TalkHint's table; the fake keeps its own, as the API would). */
const NO_VAD_MODELS = /^(gpt-realtime-whisper|gpt-live-transcribe)(-|$)/

/**
 * What the API refuses in an otherwise well-formed session (the merged result of an update):
 * an unknown voice, and turn detection on a transcription model that takes none. The API answers
 * with an `error` naming the parameter, sends no session.updated, and keeps the session open.
 * ⚠️ The exact code and wording are ours (`invalid_value`); the shape is the SDK's RealtimeErrorEvent.
 */
function refusal (kind: 'realtime' | 'transcription', session: Json): { message: string, param: string } | undefined {
  const audio = isObj(session.audio) ? session.audio : {}
  const voice = isObj(audio.output) ? (audio.output as Json).voice : undefined
  if (typeof voice === 'string' && !(KNOWN_VOICES as readonly string[]).includes(voice)) {
    return { message: `Invalid value: '${voice}'. Supported values are: ${KNOWN_VOICES.map((v) => `'${v}'`).join(', ')}.`, param: 'session.audio.output.voice' }
  }
  const input = isObj(audio.input) ? audio.input as Json : {}
  const model = isObj(input.transcription) ? String((input.transcription as Json).model ?? '') : ''
  if (kind === 'transcription' && NO_VAD_MODELS.test(model) && input.turn_detection !== null && input.turn_detection !== undefined) {
    return { message: `Turn detection is not supported for model '${model}'. Set 'turn_detection' to null and commit the input audio buffer.`, param: 'session.audio.input.turn_detection' }
  }
  return undefined
}

function validFormat (f: unknown): boolean {
  if (!isObj(f)) return false
  if (f.type === 'audio/pcm') return f.rate === undefined || f.rate === 24000
  return f.type === 'audio/pcmu' || f.type === 'audio/pcma'
}

/** Deep merge for session.update: only the fields present change; null clears. */
function merge (base: Json, patch: Json): Json {
  const out: Json = { ...base }
  for (const [k, v] of Object.entries(patch)) out[k] = isObj(v) && isObj(base[k]) ? merge(base[k] as Json, v) : v
  return out
}

/** Decoded size of a base64 string. */
export function b64Bytes (b64: string): number {
  const n = b64.length
  if (n === 0) return 0
  return (n * 3 >>> 2) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0)
}

/** `ms` of a recognisable μ-law pattern, base64 (not silence, so it survives any "skip silence" logic). */
export function tone (ms: number, seed = 0): string {
  const buf = Buffer.alloc(ms * 8)
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + seed) & 0x7f
  return buf.toString('base64')
}

// `node fakes/realtime-server.ts [port]`: a standalone fake in demo mode, for `npm run call`
// or a dev server (OPENAI_BASE_URL=<printed url> OPENAI_API_KEY=sk-test-fake-realtime-key).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const fake = new FakeRealtimeServer({ auto: true, record: false })
  await fake.listen(Number(process.argv[2] ?? 0))
  process.stdout.write(`fake OpenAI Realtime (GA) listening\nOPENAI_BASE_URL=${fake.url}\nOPENAI_API_KEY=${FAKE_OPENAI_KEY}\n`)
}
