/**
 * The dashboard socket: connects to /ui (the session cookie authenticates it), reconnects by itself
 * with capped, jittered backoff, and treats silence longer than a few heartbeats as a dead link.
 */

const MIN_DELAY_MS = 500
const MAX_DELAY_MS = 15_000
/** The hub sends a heartbeat every 15 s; three missed ones mean the link is dead. */
const SILENCE_MS = 45_000
/** A connection that stayed up this long counts as healthy: the next outage starts the backoff over. */
const STABLE_MS = 10_000

/**
 * @param {{
 *   url: string,
 *   onMessage: (msg: any) => void,
 *   onState: (s: { state: 'connecting'|'open'|'waiting', attempt: number, retryAt?: number, lastClose?: number }) => void,
 *   onUnauthorized: () => void,
 * }} opts
 */
export function connectHub (opts) {
  let ws = null
  let attempt = 0
  let retryTimer = null
  let silenceTimer = null
  let stopped = false
  let lastClose

  let openedAt = 0
  const armSilence = () => {
    clearTimeout(silenceTimer)
    silenceTimer = setTimeout(abandon, SILENCE_MS)
  }
  // A dead link may never deliver 'close' (no FIN, no close frame): stop waiting for it and reconnect.
  const abandon = () => {
    const sock = ws
    if (sock === null) return
    ws = null
    lastClose = 4000
    try {
      sock.close(4000, 'silent')
    } catch {}
    schedule()
  }

  const open = () => {
    clearTimeout(retryTimer)
    retryTimer = null
    opts.onState({ state: 'connecting', attempt, lastClose })
    let opened = false
    const sock = new WebSocket(opts.url)
    ws = sock
    sock.addEventListener('open', () => {
      opened = true
      openedAt = Date.now()
      armSilence()
      opts.onState({ state: 'open', attempt: 0 })
    })
    sock.addEventListener('message', (e) => {
      armSilence()
      let msg
      try {
        msg = JSON.parse(e.data)
      } catch {
        return
      }
      opts.onMessage(msg)
    })
    sock.addEventListener('close', (e) => {
      clearTimeout(silenceTimer)
      if (ws !== sock || stopped) return
      ws = null
      lastClose = e.code
      // Only a connection that held for a while resets the backoff (no tight loop against a failing server).
      if (opened && Date.now() - openedAt > STABLE_MS) attempt = 0
      if (!opened) {
        // The upgrade was refused or never happened: a 401 looks like any other failure here.
        checkSession().then((ok) => (ok ? schedule() : opts.onUnauthorized()))
        return
      }
      schedule()
    })
  }

  const schedule = () => {
    if (stopped) return
    attempt++
    // 1013 = the hub dropped us for falling behind: come straight back and resync.
    const base = lastClose === 1013 && attempt === 1 ? 100 : Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** (attempt - 1))
    const delay = Math.round(base * (0.8 + Math.random() * 0.4))
    opts.onState({ state: 'waiting', attempt, retryAt: Date.now() + delay, lastClose })
    retryTimer = setTimeout(open, delay)
  }

  open()
  return {
    /** Skips the wait and reconnects now. */
    retryNow () {
      if (ws === null && !stopped) open()
    },
    send (obj) {
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj))
    },
    close () {
      stopped = true
      clearTimeout(retryTimer)
      clearTimeout(silenceTimer)
      ws?.close(1000, 'bye')
    },
  }
}

/** true when the session is still good (or the server is unreachable: keep trying, don't log out). */
async function checkSession () {
  try {
    const res = await fetch('/api/session', { headers: { accept: 'application/json' } })
    return res.status !== 401
  } catch {
    return true
  }
}

/** The /ui URL on this origin (ws: or wss: to match the page). */
export function hubUrl (loc = window.location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ui`
}
