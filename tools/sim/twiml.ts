/** Reads TwiML as Twilio would: the verbs in order, the `<Stream>` to open, and what Twilio rejects. */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { Track } from '../../src/call/events.ts'
import { SimError } from './types.ts'

export interface TwimlStream {
  /** `<Start><Stream>` forks audio (unidirectional); `<Connect><Stream>` is bidirectional. */
  readonly kind: 'start' | 'connect'
  readonly bidirectional: boolean
  /** The `url` attribute as written (what Twilio signs on the upgrade). */
  readonly url: string
  readonly track: string
  /** The tracks Twilio would send. */
  readonly tracks: readonly Track[]
  readonly name: string | undefined
  readonly statusCallback: string | undefined
  readonly parameters: Readonly<Record<string, string>>
}

export type TwimlVerb =
  | { readonly verb: 'Say', readonly text: string }
  | { readonly verb: 'Play', readonly url: string }
  | { readonly verb: 'Pause', readonly seconds: number }
  | { readonly verb: 'Dial', readonly target: string, readonly answerOnBridge: boolean, readonly callerId: string | undefined } & DialAttributes
  | { readonly verb: 'Stop', readonly streamName: string | undefined }
  | { readonly verb: 'Start' | 'Connect', readonly stream: TwimlStream | undefined, readonly action?: string }
  | { readonly verb: 'Hangup' | 'Reject' }
  | { readonly verb: 'Redirect', readonly url: string }
  | { readonly verb: 'Other', readonly name: string }

/** What a warm transfer's `<Dial>` asks of Twilio: where to report, how long to ring, the called `<Number>`'s URLs. */
export interface DialAttributes {
  /** `<Dial action>`: requested when the dialled leg ends, with DialCallStatus; its TwiML replaces what follows. */
  readonly action?: string
  /** Seconds to ring before no-answer (Twilio's default 30). */
  readonly timeout?: number
  readonly number?: {
    /** `<Number url>`: TwiML played to the called party before the bridge (the whisper). */
    readonly url: string | undefined
    readonly statusCallback: string | undefined
    /** `statusCallbackEvent`, space separated (Twilio's default: completed only). */
    readonly statusCallbackEvents: readonly string[]
  }
}

export interface ParsedTwiml {
  readonly verbs: readonly TwimlVerb[]
  /** The first `<Stream>` in a `<Start>` or `<Connect>`. */
  readonly stream: TwimlStream | undefined
  /** Index in `verbs` of the verb holding the stream. */
  readonly streamIndex: number
  /** Twilio errors this TwiML would cause (code + message), e.g. 31941 for a bad track. */
  readonly issues: ReadonlyArray<{ code: string, severity: 'error' | 'warning', message: string }>
}

type Node = Record<string, unknown> & { ':@'?: Record<string, string> }

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  trimValues: true,
  parseTagValue: false,
  parseAttributeValue: false,
})

const tagOf = (n: Node): string => Object.keys(n).find((k) => k !== ':@') ?? ''
const children = (n: Node): Node[] => (n[tagOf(n)] as Node[] | undefined) ?? []
const attrs = (n: Node): Record<string, string> => n[':@'] ?? {}
const text = (n: Node): string => children(n).map((c) => typeof c['#text'] === 'string' ? c['#text'] : text(c)).join(' ').trim()

/** Parses a TwiML document; throws `SimError('BAD_TWIML')` if it is not XML with a `<Response>` root. */
export function parseTwiml (xml: string): ParsedTwiml {
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw new SimError('BAD_TWIML', `the webhook answered with invalid XML (${valid.err.msg}, line ${valid.err.line}); Twilio would fail the call with error 12100`)
  const root = (parser.parse(xml) as Node[]).find((n) => tagOf(n) === 'Response')
  if (root === undefined) throw new SimError('BAD_TWIML', 'the webhook answered without a <Response> root element; Twilio would fail the call with error 12100')
  const issues: Array<{ code: string, severity: 'error' | 'warning', message: string }> = []
  const verbs: TwimlVerb[] = []
  let stream: TwimlStream | undefined
  let streamIndex = -1
  for (const node of children(root)) {
    const tag = tagOf(node)
    const a = attrs(node)
    if (tag === '#text' || tag === '') continue
    if (tag === 'Start' || tag === 'Connect') {
      const s = children(node).find((c) => tagOf(c) === 'Stream')
      const parsed = s === undefined ? undefined : readStream(tag === 'Start' ? 'start' : 'connect', s, issues)
      if (stream === undefined && parsed !== undefined) {
        stream = parsed
        streamIndex = verbs.length
      }
      // <Connect action>: requested when <Connect> ends; its TwiML replaces the verbs after it.
      verbs.push({ verb: tag, stream: parsed, ...(tag === 'Connect' && a.action !== undefined ? { action: a.action } : {}) })
    } else if (tag === 'Say') verbs.push({ verb: 'Say', text: text(node) })
    else if (tag === 'Play') verbs.push({ verb: 'Play', url: text(node) })
    else if (tag === 'Pause') verbs.push({ verb: 'Pause', seconds: Number(a.length ?? 1) })
    else if (tag === 'Dial') {
      verbs.push({ verb: 'Dial', target: text(node), answerOnBridge: a.answerOnBridge === 'true', callerId: a.callerId, ...readDial(node) })
    } else if (tag === 'Stop') verbs.push({ verb: 'Stop', streamName: readStop(node) })
    else if (tag === 'Hangup' || tag === 'Reject') verbs.push({ verb: tag })
    else if (tag === 'Redirect') verbs.push({ verb: 'Redirect', url: text(node) })
    else verbs.push({ verb: 'Other', name: tag })
  }
  if (stream?.kind === 'start' && streamIndex === verbs.length - 1) {
    issues.push({ code: 'hangup', severity: 'error', message: '<Start><Stream> is the last verb: Twilio goes straight on and, with nothing after it, hangs up at once' })
  }
  return { verbs, stream, streamIndex, issues }
}

/** `<Dial action timeout>` and its `<Number url statusCallback statusCallbackEvent>`, when written. */
function readDial (node: Node): DialAttributes {
  const a = attrs(node)
  const n = children(node).find((c) => tagOf(c) === 'Number')
  const na = n === undefined ? undefined : attrs(n)
  const timeout = a.timeout === undefined ? undefined : Number(a.timeout)
  return {
    ...(a.action !== undefined ? { action: a.action } : {}),
    ...(timeout !== undefined && Number.isFinite(timeout) ? { timeout } : {}),
    ...(na !== undefined
      ? { number: { url: na.url, statusCallback: na.statusCallback, statusCallbackEvents: (na.statusCallbackEvent ?? 'completed').split(/[\s,]+/).filter((e) => e !== '') } }
      : {}),
  }
}

/** `<Stop><Stream name>`: which fork to stop (undefined: a `<Stop>` without a named stream). */
function readStop (node: Node): string | undefined {
  const s = children(node).find((c) => tagOf(c) === 'Stream')
  return s === undefined ? undefined : attrs(s).name
}

function readStream (kind: 'start' | 'connect', node: Node, issues: Array<{ code: string, severity: 'error' | 'warning', message: string }>): TwimlStream | undefined {
  const a = attrs(node)
  const url = a.url ?? ''
  if (url === '') {
    issues.push({ code: '31920', severity: 'error', message: `<${kind === 'start' ? 'Start' : 'Connect'}><Stream> has no url` })
    return undefined
  }
  if (/^[a-z]+:/i.test(url) && !url.startsWith('wss://')) {
    issues.push({ code: '31920', severity: 'error', message: `stream url must be wss:// (got ${url.split(':')[0]}://)` })
  }
  if (url.includes('?')) {
    // ⚠️ docs/protocol.md A1: Twilio either fails (31920) or silently drops the query; we keep it and warn loudly.
    issues.push({ code: '31920', severity: 'error', message: 'stream url has a query string: Twilio rejects or drops it; pass values as <Parameter>s' })
  }
  const track = a.track ?? 'inbound_track'
  let tracks: Track[] = ['inbound']
  if (kind === 'connect' && track !== 'inbound_track') {
    issues.push({ code: '31941', severity: 'error', message: `<Connect><Stream> only supports track="inbound_track" (got "${track}")` })
  } else if (kind === 'start') {
    const map: Record<string, Track[]> = { inbound_track: ['inbound'], outbound_track: ['outbound'], both_tracks: ['inbound', 'outbound'] }
    if (map[track] === undefined) issues.push({ code: '31941', severity: 'error', message: `invalid <Stream track="${track}">` })
    else tracks = map[track]
  }
  const parameters: Record<string, string> = {}
  for (const p of children(node)) {
    if (tagOf(p) !== 'Parameter') continue
    const { name = '', value = '' } = attrs(p)
    if (name === '') continue
    if (name.length + value.length >= 500) {
      issues.push({ code: 'parameter', severity: 'warning', message: `<Parameter name="${name.slice(0, 40)}"> is ${name.length + value.length} characters; Twilio allows under 500` })
    }
    parameters[name] = value
  }
  return { kind, bidirectional: kind === 'connect', url, track, tracks, name: a.name, statusCallback: a.statusCallback, parameters }
}

/** One line per verb: what the caller would hear and what happens, e.g. `Say "…" → Dial +1…`. */
export function describeVerbs (verbs: readonly TwimlVerb[]): string {
  if (verbs.length === 0) return 'nothing (Twilio hangs up)'
  return verbs.map((v) => {
    switch (v.verb) {
      case 'Say': return `Say "${v.text}"`
      case 'Play': return `Play ${v.url}`
      case 'Pause': return `Pause ${v.seconds}s`
      case 'Dial': return `Dial ${v.target}${v.answerOnBridge ? ' (answerOnBridge)' : ''}`
      case 'Start':
      case 'Connect':
        return v.stream === undefined
          ? `<${v.verb}> without a usable <Stream>`
          : `<${v.verb}><Stream${v.stream.kind === 'start' ? ` track=${v.stream.track}` : ''}> ${v.stream.url} (${Object.keys(v.stream.parameters).length} parameters${v.action !== undefined ? `; then asks ${v.action}` : ''})`
      case 'Stop': return `Stop <Stream${v.streamName !== undefined ? ` name=${v.streamName}` : ''}>`
      case 'Redirect': return `Redirect ${v.url}`
      case 'Other': return `<${v.name}>`
      default: return v.verb
    }
  }).join(' → ')
}
