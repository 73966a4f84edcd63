/** What the server may send on a media stream, checked the way Twilio checks it (docs/protocol.md A3). */
import type { Problem } from './types.ts'

export type ServerMessage =
  | { readonly event: 'media', readonly audio: Buffer }
  | { readonly event: 'mark', readonly name: string }
  | { readonly event: 'clear' }

export type Finding = Pick<Problem, 'code' | 'severity' | 'message'>

export interface ReadResult {
  /** The usable message, if any. */
  readonly message: ServerMessage | undefined
  /** What Twilio would warn about or reject (31950, 31951, 31924), even when the message is usable. */
  readonly findings: readonly Finding[]
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/
const none: readonly Finding[] = []

/**
 * Reads one frame from the server. Binary frames are 31950; a non-JSON or unknown message, a
 * wrong streamSid or missing/extra fields are 31951 warnings; any message at all on a
 * unidirectional `<Start><Stream>` is 31924, a server bug.
 */
export function readServerMessage (data: Buffer, isBinary: boolean, streamSid: string, bidirectional: boolean): ReadResult {
  const reject = (code: string, severity: Problem['severity'], message: string): ReadResult => ({ message: undefined, findings: [{ code, severity, message }] })
  if (isBinary) return reject('31950', 'error', 'server sent a binary frame; Twilio only accepts JSON text messages')
  if (!bidirectional) {
    return reject('31924', 'error', 'SERVER BUG: server sent a message on a unidirectional <Start><Stream>; Twilio accepts nothing on a forked stream (error 31924)')
  }
  let msg: Record<string, unknown>
  try {
    msg = JSON.parse(data.toString())
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('not an object')
  } catch {
    return reject('31951', 'warning', 'server sent a message that is not a JSON object')
  }
  const event = msg.event
  if (event !== 'media' && event !== 'mark' && event !== 'clear') {
    return reject('31951', 'warning', `server sent an unknown event ${JSON.stringify(event)}; Twilio accepts media, mark and clear`)
  }
  if (msg.streamSid !== streamSid) return reject('31951', 'warning', `server sent ${event} with the wrong streamSid (${String(msg.streamSid)}); Twilio ignores it`)
  const extra = Object.keys(msg).filter((k) => k !== 'event' && k !== 'streamSid' && k !== event)
  const findings: Finding[] = extra.length === 0 ? [] : [{ code: '31951', severity: 'warning', message: `server sent ${event} with extra fields: ${extra.join(', ')}` }]
  if (event === 'clear') return { message: { event }, findings }
  const body = msg[event] as Record<string, unknown> | undefined
  if (event === 'mark') {
    const name = body?.name
    if (typeof name !== 'string') return reject('31951', 'warning', 'server sent a mark without a name')
    return { message: { event, name }, findings }
  }
  const payload = body?.payload
  if (typeof payload !== 'string' || !B64.test(payload)) return reject('31951', 'warning', 'server sent media without a base64 payload')
  const audio = Buffer.from(payload, 'base64')
  if (audio.length >= 4 && audio.toString('latin1', 0, 4) === 'RIFF') {
    findings.push({ code: 'payload', severity: 'warning', message: 'server media payload starts with a WAV header; Twilio plays raw μ-law, so the header is heard as noise' })
  }
  return { message: { event, audio }, findings: findings.length === 0 ? none : findings }
}
