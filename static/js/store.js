/**
 * The dashboard's copy of the hub state (UI schema v1, docs/ui-events.md). Pure: no DOM, so the
 * same rules run in Node tests against the server's HubState. A snapshot replaces everything;
 * events at or below the last seq are duplicates and ignored.
 */

export const SCHEMA_VERSION = 1

/** @returns {{ calls: Map<string, any>, seq: number, scope: string, serverOffset: number, synced: boolean }} */
export function createStore () {
  return { calls: new Map(), seq: 0, scope: '*', serverOffset: 0, synced: false }
}

/** Same ordering rule as the server (src/hub/state.ts insertLine): by startMs, then arrival. */
export function insertLine (lines, line) {
  let i = lines.length
  while (i > 0 && lines[i - 1].startMs > line.startMs) i--
  lines.splice(i, 0, line)
}

/**
 * Applies one server message. Returns what changed so the views redraw only that:
 * `{ kind: 'snapshot' }`, `{ kind: 'event', type, callSid }`, `{ kind: 'heartbeat' }`, or
 * `{ kind: 'ignored' }` (duplicate, unknown, or an error report).
 */
export function applyMessage (store, msg, clientNow = Date.now()) {
  if (msg === null || typeof msg !== 'object') return { kind: 'ignored' }
  if (msg.type === 'snapshot') {
    if (msg.v !== SCHEMA_VERSION) return { kind: 'version', v: msg.v }
    const before = store.calls
    store.calls = new Map(msg.calls.map((c) => [c.callSid, structuredClone(c)]))
    // A call we showed live that the server no longer knows (it restarted, or another instance
    // answers now) ended while we were away: keep it, marked lost, rather than live forever or gone.
    for (const c of before.values()) {
      if (c.phase === 'ended' || store.calls.has(c.callSid) || (msg.scope !== '*' && msg.scope !== c.callSid)) continue
      store.calls.set(c.callSid, { ...c, phase: 'ended', endedAt: msg.serverTime, durationMs: c.startedAt == null ? null : Math.max(0, msg.serverTime - c.startedAt), endReason: 'lost', agentState: null, ringing: null, levels: { remote: 0, local: 0 } })
    }
    store.seq = msg.seq
    store.scope = msg.scope
    store.serverOffset = msg.serverTime - clientNow
    store.synced = true
    return { kind: 'snapshot' }
  }
  if (msg.type === 'heartbeat') {
    store.serverOffset = msg.serverTime - clientNow
    return { kind: 'heartbeat' }
  }
  if (typeof msg.seq !== 'number' || !store.synced || msg.seq <= store.seq) return { kind: 'ignored' }
  store.seq = msg.seq
  const ok = applyEvent(store, msg)
  return ok ? { kind: 'event', type: msg.type, callSid: msg.callSid } : { kind: 'ignored' }
}

function applyEvent (store, ev) {
  if (ev.type === 'call.started') {
    store.calls.set(ev.callSid, structuredClone(ev.call))
    return true
  }
  const c = store.calls.get(ev.callSid)
  if (c === undefined) return false
  switch (ev.type) {
    case 'call.updated':
      Object.assign(c, ev.changes)
      return true
    case 'call.ended':
      Object.assign(c, { phase: 'ended', endedAt: ev.endedAt, durationMs: ev.durationMs, endReason: ev.reason, agentState: null, ringing: null, levels: { remote: 0, local: 0 } })
      return true
    case 'call.removed':
      store.calls.delete(ev.callSid)
      return true
    case 'transcript.partial':
    case 'transcript.final': {
      const i = c.lines.findIndex((l) => l.itemId === ev.line.itemId)
      if (i >= 0 && c.lines[i].final) return false
      if (i >= 0) c.lines.splice(i, 1)
      insertLine(c.lines, { ...ev.line })
      c.talkMs = { ...ev.talkMs }
      return true
    }
    case 'hint.delta': {
      let hint = c.hints.find((x) => x.hintId === ev.hintId)
      if (hint === undefined) {
        hint = { hintId: ev.hintId, itemId: null, text: '', done: false, superseded: false, at: ev.at }
        c.hints.push(hint)
      }
      if (!hint.done) hint.text += ev.delta
      return true
    }
    case 'hint.done': {
      const i = c.hints.findIndex((x) => x.hintId === ev.hint.hintId)
      if (i >= 0) c.hints[i] = { ...ev.hint }
      else c.hints.push({ ...ev.hint })
      return true
    }
    case 'agent.state':
      c.agentState = ev.state
      return true
    case 'ai.status':
      c.aiStatus = ev.status
      c.aiDetail = ev.detail
      return true
    case 'audio.levels':
      c.levels = { remote: ev.remote, local: ev.local }
      // The agent's talk time grows with the audio sent for it, which only audio.levels carries between transcripts.
      if (ev.talkMs !== undefined) c.talkMs = { ...ev.talkMs }
      return true
    case 'call.error':
      c.errors.push(ev.error)
      if (c.errors.length > 10) c.errors.shift()
      return true
    case 'call.summary':
      c.summary = ev.summary
      return true
    default:
      return false
  }
}

/** Live calls first (newest first), then ended ones (most recently ended first). */
export function sortedCalls (store) {
  const all = [...store.calls.values()]
  const live = all.filter((c) => c.phase !== 'ended').sort((a, b) => b.createdAt - a.createdAt)
  const ended = all.filter((c) => c.phase === 'ended').sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))
  return { live, ended }
}
