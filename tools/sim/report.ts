/** Human-readable lines for a simulated call: one per notable event, and the end-of-call summary. */
import type { SimResult } from './outcome.ts'
import { formatAfterConnect } from './transfer.ts'
import type { SimEvent } from './types.ts'

const sec = (ms: number): string => `${(ms / 1000).toFixed(1)}s`
const at = (ms: number): string => `[${sec(ms).padStart(6)}]`

/** One log line for an event, or undefined for events not worth a line. Times are call time. */
export function formatEvent (e: SimEvent): string | undefined {
  switch (e.type) {
    case 'audio': return `audio    ${e.role}: ${e.label}`
    case 'webhook': return `webhook  POST ${e.url} → ${e.status} in ${Math.round(e.ms)} ms`
    case 'twiml': return `twiml    ${e.summary}`
    case 'say': return `caller hears: "${e.text}"`
    case 'dial': return formatDial(e)
    case 'whisper': return `operator hears (whisper, before the bridge): "${e.text}"`
    case 'stream.open': return `stream   connected to ${e.url}${e.protocol !== '' ? ` (subprotocol ${e.protocol})` : ' (no subprotocol)'}`
    case 'stream.start': {
      const params = Object.entries(e.parameters).map(([k, v]) => `${k}=${v}`).join(' ')
      return `${at(0)} start ${e.streamSid} ${e.bidirectional ? 'bidirectional <Connect>' : 'unidirectional <Start>'} tracks=${e.tracks.join('+')} ${params}`
    }
    case 'audio.ended': return `${at(e.atMs)} ${e.track} track audio ended (silence follows)`
    case 'dtmf': return `${at(e.atMs)} dtmf ${e.digit} sent`
    case 'dtmf.skipped': return `dtmf ${e.digit} not sent: ${e.reason}`
    case 'reply.start': return `${at(e.atMs)} ◀ server audio starts playing`
    case 'reply.end': return `${at(e.atMs)} ◀ server audio finished (${sec(e.ms)})`
    case 'mark': return `${at(e.atMs)} ◀ mark "${e.name}" echoed${e.cause === 'clear' ? ' (cleared)' : ''}`
    case 'clear': return `${at(e.atMs)} ◀ clear: dropped ${Math.round(e.droppedMs)} ms of unplayed audio, ${e.marks} mark(s) echoed`
    case 'problem': return `${e.problem.severity === 'error' ? '!! ERROR' : '!  warning'} ${e.problem.code}: ${e.problem.message}`
    case 'stream.stop': return `${at(e.atMs)} stop sent (call hung up)`
    case 'stream.closed': return `${at(e.atMs)} socket closed by ${e.close.by}: ${e.close.code}${e.close.reason !== '' ? ` ${e.close.reason}` : ''}`
    case 'status.callback': return e.status >= 300 ? `callback ${e.event} → ${e.status}` : undefined
    case 'next': return `next     ${e.summary}`
    default: return undefined
  }
}

/** A `<Dial>` step: ringing, picked up, or over (with how long the person talked). */
function formatDial (e: Extract<SimEvent, { type: 'dial' }>): string {
  if (e.stage === 'ringing') return `dial     ringing ${e.to} (leg ${e.legSid})`
  if (e.stage === 'answered') return `dial     ${e.to} answered`
  return `dial     ended: ${e.status}${e.status === 'completed' ? ` after ${sec(e.durationMs)} with the caller` : ''}`
}

/** The end-of-call summary, a few aligned lines. */
export function formatSummary (r: SimResult): string[] {
  const lines: string[] = []
  const verdict = r.aborted ? 'ABORTED' : r.ok ? 'OK' : 'PROBLEMS'
  lines.push(`── summary: ${verdict} ── call ${r.callSid}`)
  if (r.stream === undefined) {
    lines.push('  no media stream was opened')
  } else {
    const s = r.sent
    const track = (t: 'inbound' | 'outbound'): string => `${s[t].frames} frames (${sec(s.ms[t])})`
    lines.push(`  stream     ${r.stream.streamSid} ${r.stream.bidirectional ? 'bidirectional' : 'unidirectional'}, ${sec(r.durationMs)} of call time`)
    lines.push(`  sent       inbound ${track('inbound')}${r.stream.tracks.includes('outbound') ? `, outbound ${track('outbound')}` : ''}, dtmf ${s.dtmf}`)
    if (r.stream.bidirectional) {
      const rc = r.received
      lines.push(`  received   ${rc.media} media messages, ${sec(rc.audioMs)} of audio (${sec(rc.droppedMs)} dropped by clear), ${rc.marks} marks, ${rc.marksEchoed} echoed, ${rc.clears} clears`)
    }
    if (r.close !== undefined) lines.push(`  closed     by ${r.close.by}, code ${r.close.code}${r.close.reason !== '' ? ` (${r.close.reason})` : ''}`)
  }
  if (r.afterConnect !== undefined) lines.push(...formatAfterConnect(r.afterConnect))
  if (r.problems.length === 0) lines.push('  problems   none')
  for (const p of r.problems) lines.push(`  ${p.severity === 'error' ? 'ERROR  ' : 'warning'}    ${p.code}: ${p.message}${p.count > 1 ? ` (×${p.count})` : ''}`)
  return lines
}
