/**
 * Watches one call on the dashboard socket (`GET /ui`, docs/ui-events.md) and turns what a person would see
 * into log lines: final transcript lines with their speaker, finished hints, AI status and the post-call
 * summary. The simulator and `npm run demo` print these next to the call's own log.
 */
import WebSocket from 'ws'
import { UI_PATH } from '../../src/routes.ts'

export interface DashboardWatchOptions {
  /** The running TalkHint, e.g. http://127.0.0.1:8080 */
  readonly serverUrl: string
  /** DASHBOARD_TOKEN, sent as a Bearer header (never in the URL). */
  readonly token: string
  readonly callSid: string
  readonly onLine: (line: string) => void
}

export interface DashboardWatch {
  /** Resolves once the first snapshot arrived (the watch is live); rejects when /ui refuses. */
  readonly ready: Promise<void>
  /** Resolves when the post-call summary arrived (or `timeoutMs` passed: false). */
  summary (timeoutMs: number): Promise<boolean>
  /**
   * After hang-up: waits up to `timeoutMs` for the post-call summary when there was something to summarize
   * (final lines, AI not off), says so when none came, then closes the watch.
   */
  finish (timeoutMs: number): Promise<void>
  /** What was seen so far. */
  readonly seen: { finals: number, hints: number, summary: boolean, aiStatus: string | null }
  close (): void
}

interface Line { itemId: string, speaker: string, text: string, startMs: number, final: boolean }
interface Hint { hintId: string, text: string, done: boolean, superseded: boolean, error?: string }
interface CallLike { callSid: string, lines?: Line[], hints?: Hint[], aiStatus?: string | null, aiDetail?: string | null, summary?: Summary | null }
interface Summary { summary: string, intent: string, actionItems: string[] }

const SPEAKER: Record<string, string> = { remote: 'caller  ', operator: 'operator', agent: 'agent   ' }
const at = (ms: number): string => `[${(ms / 1000).toFixed(1).padStart(5)}s]`

export function watchDashboard (opts: DashboardWatchOptions): DashboardWatch {
  const url = new URL(UI_PATH, opts.serverUrl)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  url.searchParams.set('callSid', opts.callSid)
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${opts.token}` }, perMessageDeflate: false })
  ws.on('error', () => {}) // reported through `ready`; later errors just end the watch
  const printedLines = new Set<string>()
  const printedHints = new Set<string>()
  const seen = { finals: 0, hints: 0, summary: false, aiStatus: null as string | null }
  let summaryWaiters: Array<(ok: boolean) => void> = []

  const line = (l: Line): void => {
    if (!l.final || printedLines.has(l.itemId)) return
    printedLines.add(l.itemId)
    seen.finals++
    opts.onLine(`${at(l.startMs)} ${SPEAKER[l.speaker] ?? l.speaker} "${l.text}"`)
  }
  const hint = (h: Hint): void => {
    if (!h.done || h.superseded || printedHints.has(h.hintId) || h.text.trim() === '') return
    printedHints.add(h.hintId)
    seen.hints++
    opts.onLine(`hint     💡 ${h.text.trim()}${h.error !== undefined ? `… (cut off: ${h.error})` : ''}`)
  }
  const ai = (status: string | null | undefined, detail: string | null | undefined): void => {
    if (status === undefined || status === null || status === seen.aiStatus) return
    seen.aiStatus = status
    opts.onLine(`ai       ${status}${detail !== null && detail !== undefined && detail !== '' ? ` (${detail})` : ''}`)
  }
  const summary = (s: Summary | null | undefined): void => {
    if (s === null || s === undefined || seen.summary) return
    seen.summary = true
    opts.onLine(`summary  ${s.summary}`)
    if (s.intent !== '') opts.onLine(`         intent: ${s.intent}`)
    for (const item of s.actionItems) opts.onLine(`         • ${item}`)
    for (const w of summaryWaiters) w(true)
    summaryWaiters = []
  }

  const ready = new Promise<void>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`the dashboard socket was refused: HTTP ${res.statusCode ?? '?'}${res.statusCode === 401 ? ' (wrong DASHBOARD_TOKEN?)' : ''}`))
      ws.terminate()
    })
    ws.once('error', reject)
    ws.on('message', (data, isBinary) => {
      if (isBinary) return
      let msg: Record<string, unknown>
      try { msg = JSON.parse(data.toString()) as Record<string, unknown> } catch { return }
      switch (msg.type) {
        case 'snapshot': {
          resolve()
          const call = (msg.calls as CallLike[] | undefined)?.find((c) => c.callSid === opts.callSid)
          if (call === undefined) return
          ai(call.aiStatus, call.aiDetail)
          for (const l of call.lines ?? []) line(l)
          for (const h of call.hints ?? []) hint(h)
          summary(call.summary)
          return
        }
        case 'call.started': {
          const call = msg.call as CallLike
          ai(call.aiStatus, call.aiDetail)
          return
        }
        case 'call.updated': {
          const changes = msg.changes as Partial<CallLike>
          if ('aiStatus' in changes) ai(changes.aiStatus, changes.aiDetail)
          return
        }
        case 'ai.status': return ai(msg.status as string, msg.detail as string | null)
        case 'transcript.final': return line(msg.line as Line)
        case 'hint.done': return hint(msg.hint as Hint)
        case 'call.summary': return summary(msg.summary as Summary)
        case 'call.error': {
          const e = msg.error as { code: string, message: string }
          opts.onLine(`!  call error ${e.code}: ${e.message}`)
        }
      }
    })
  })
  ready.catch(() => {})

  return {
    ready,
    seen,
    summary (timeoutMs) {
      if (seen.summary) return Promise.resolve(true)
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          summaryWaiters = summaryWaiters.filter((w) => w !== done)
          resolve(false)
        }, timeoutMs)
        const done = (ok: boolean): void => { clearTimeout(timer); resolve(ok) }
        summaryWaiters.push(done)
      })
    },
    async finish (timeoutMs) {
      if (seen.finals > 0 && seen.aiStatus !== 'off' && !(await this.summary(timeoutMs))) {
        opts.onLine(`summary  (none arrived within ${Math.round(timeoutMs / 1000)} s)`)
      }
      this.close()
    },
    close () {
      for (const w of summaryWaiters) w(false)
      summaryWaiters = []
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000)
    },
  }
}
