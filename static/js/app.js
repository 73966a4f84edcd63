/** The live dashboard: hub socket → store → views, redrawn once per animation frame. */
import { byId, setText } from './dom.js'
import { formatPhone } from './format.js'
import { connectHub, hubUrl } from './connection.js'
import { applyMessage, createStore, sortedCalls } from './store.js'
import { listKeyboard, renderCallList } from './views/calls.js'
import { createHeader } from './views/header.js'
import { renderHints } from './views/hints.js'
import { TranscriptView } from './views/transcript.js'
import { setupDial } from './views/dial.js'
import { createNotices } from './views/toast.js'
import { createContext } from './views/context.js'
import { createControls } from './views/controls.js'

const MASK_KEY = 'talkhint.maskNumbers'
const store = createStore()
const ui = {
  conn: byId('conn'),
  banner: byId('banner'),
  bannerText: byId('banner-text'),
  bannerRetry: byId('banner-retry'),
  mask: byId('mask-toggle'),
  live: byId('live-calls'),
  recent: byId('recent-calls'),
  recentH: byId('recent-h'),
  liveCount: byId('live-count'),
  noLive: byId('no-live'),
  noCall: byId('no-call'),
  call: byId('call'),
  hints: { now: byId('hint-now'), list: byId('hint-list'), summary: byId('summary') },
  sidebar: byId('sidebar'),
  switcher: byId('switcher'),
  switcherText: byId('switcher-text'),
}
const header = createHeader()
const transcript = new TranscriptView(byId('transcript'), byId('jump'), byId('no-lines'))

let selected = null
/**
 * Why `selected` is on screen. 'user': picked (or placed from the form); 'live': the first live call, shown
 * because nothing was; 'idle': an ended call shown while nothing is live. Only 'idle' gives way to a new call:
 * a call being watched stays put, even after it ends, until the user picks another.
 */
let hold = 'idle'
/** A call we placed from the form: selected as soon as the hub reports it. */
let pending = null
/** The numbers this page dialled, by CallSid: shown until the hub learns the number (its first leg rings you first). */
const placed = new Map()
let masked = localStorage.getItem(MASK_KEY) === '1'
const dirty = { list: false, call: false, levels: false, tick: false }
let frame = 0

const serverNow = () => Date.now() + store.serverOffset
const toLogin = () => window.location.assign('/login')

function select (sid, why) {
  hold = why
  if (why === 'user') fold(true)
  if (selected === sid) return
  selected = sid
  dirty.list = dirty.call = true
  schedule()
}

/** Phones: the dial form and the call lists fold behind the switcher bar while a call is live. */
function fold (folded) {
  ui.sidebar.classList.toggle('folded', folded)
  ui.switcher.setAttribute('aria-expanded', String(!folded))
}

function autoPick () {
  if (pending !== null && store.calls.has(pending)) {
    select(pending, 'user')
    pending = null
    return
  }
  const current = selected === null ? undefined : store.calls.get(selected)
  if (current !== undefined && hold !== 'idle') return
  const { live, ended } = sortedCalls(store)
  // The oldest live call: the one that was there first is the one the user has been watching.
  const first = live[live.length - 1]
  if (first !== undefined) select(first.callSid, 'live')
  else if (current === undefined && ended[0] !== undefined) select(ended[0].callSid, 'idle')
}

/** A call the user did not place from this page started (or appeared in a resync): tell, never switch. */
function announce (sid) {
  const call = store.calls.get(sid)
  if (call === undefined || call.phase === 'ended' || sid === pending) return
  notices.announce(call, { shown: sid === selected, masked })
}

function onMessage (msg) {
  // Keep the call being read when the hub forgets it (evicted from its recent list, or absent from a resync).
  const keep = (msg.type === 'snapshot' || (msg.type === 'call.removed' && msg.callSid === selected)) && selected !== null ? store.calls.get(selected) : undefined
  const known = msg.type === 'snapshot' && store.synced ? new Set(store.calls.keys()) : null
  const wasLive = msg.type === 'snapshot' ? new Set([...store.calls.values()].filter((c) => c.phase !== 'ended').map((c) => c.callSid)) : null
  const r = applyMessage(store, msg)
  for (const [sid, to] of placed) {
    const c = store.calls.get(sid)
    if (c !== undefined && !c.remote) c.remote = to
    if (c?.phase === 'ended') placed.delete(sid)
  }
  if (keep !== undefined && !store.calls.has(keep.callSid)) store.calls.set(keep.callSid, keep)
  if (r.kind === 'version') return showBanner('The server was updated. Reload the page to continue.', 'Reload', () => window.location.reload())
  if (r.kind === 'snapshot') {
    dirty.list = dirty.call = true
    autoPick()
    for (const sid of wasLive) if (store.calls.get(sid)?.phase === 'ended') dial.ended(sid)
    // Calls that started while we were disconnected are new to the user too (not those of the first load).
    if (known !== null) for (const c of store.calls.values()) if (!known.has(c.callSid)) announce(c.callSid)
  } else if (r.kind === 'event') {
    if (r.type === 'audio.levels') {
      if (r.callSid === selected) dirty.levels = true
    } else {
      if (r.type.startsWith('call.')) dirty.list = true
      if (r.type === 'ai.status') dirty.list = true
      if (r.callSid === selected) dirty.call = true
      if (r.type === 'call.started' || r.type === 'call.removed') autoPick()
      if (r.type === 'call.started') announce(r.callSid)
      if (r.type === 'call.ended') dial.ended(r.callSid)
    }
  } else {
    return
  }
  schedule()
}

function schedule () {
  if (frame === 0) frame = window.requestAnimationFrame(render)
}

function render () {
  frame = 0
  // One clock for the list and the header: the same `now` (server time, skew-corrected) for every duration drawn.
  const now = serverNow()
  const call = selected === null ? undefined : store.calls.get(selected)
  if (dirty.list || dirty.tick) {
    const { live, ended } = sortedCalls(store)
    const ctx = { selected, masked, now, onSelect: (sid) => select(sid, 'user') }
    renderCallList(ui.live, live, ctx)
    renderCallList(ui.recent, ended, ctx)
    if (dirty.list) {
      setText(ui.liveCount, String(live.length))
      ui.noLive.hidden = live.length > 0
      ui.recentH.hidden = ended.length === 0
      document.title = live.length > 0 ? `(${live.length}) TalkHint · Live` : 'TalkHint · Live'
      notices.render(store.calls, selected, masked)
      setText(ui.switcherText, switcherText(call, live.length))
    }
  }
  ui.noCall.hidden = call !== undefined
  ui.call.hidden = call === undefined
  document.body.classList.toggle('has-call', call !== undefined && call.phase !== 'ended')
  if (call !== undefined && dirty.call) {
    header.render(call, { masked, now })
    transcript.render(call)
    renderHints(ui.hints, call)
    context.show(call, masked)
    controls.show(call, masked)
  } else if (call !== undefined) {
    if (dirty.levels) header.levels(call)
    if (dirty.tick) header.tick(call, now)
  }
  dirty.list = dirty.call = dirty.levels = dirty.tick = false
}

/** The folded switcher's one line: the call on screen and how many are live. */
function switcherText (call, liveCount) {
  const others = call !== undefined && call.phase !== 'ended' ? liveCount - 1 : liveCount
  const on = call === undefined ? 'Calls' : `On ${formatPhone(call.remote, masked)}`
  return `${on} · ${others === 0 ? 'no other live calls' : others === 1 ? '1 other live call' : `${others} other live calls`} · Call a number`
}

// Durations tick once a second without waiting for events, drawn in the next frame from one clock.
setInterval(() => {
  dirty.tick = true
  schedule()
}, 1000)

function showBanner (text, action, onAction) {
  ui.banner.hidden = false
  ui.bannerText.textContent = text
  ui.bannerRetry.textContent = action
  ui.bannerRetry.hidden = action === null
  ui.bannerRetry.onclick = onAction
}

let countdown = 0
function onState (s) {
  clearInterval(countdown)
  document.body.classList.toggle('offline', s.state !== 'open')
  ui.conn.dataset.state = s.state === 'open' ? 'live' : s.attempt === 0 ? 'connecting' : 'down'
  if (s.state === 'open') {
    setText(ui.conn, 'Live')
    if (!ui.banner.hidden) {
      showBanner('Reconnected. Everything is back in sync.', null, null)
      ui.banner.dataset.kind = 'ok'
      setTimeout(() => { if (ui.conn.dataset.state === 'live') ui.banner.hidden = true }, 2500)
    }
    return
  }
  if (s.state === 'connecting') {
    setText(ui.conn, s.attempt === 0 ? 'Connecting…' : 'Reconnecting…')
    if (s.attempt > 0) {
      ui.banner.dataset.kind = 'down'
      showBanner('Connection lost. Reconnecting now…', null, null)
    }
    return
  }
  setText(ui.conn, 'Offline')
  ui.banner.dataset.kind = 'down'
  const why = s.lastClose === 1013 ? 'The dashboard fell behind and is resyncing.' : 'Connection lost; what you see may be out of date.'
  const update = () => {
    const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000))
    showBanner(`${why} Reconnecting in ${secs} s…`, 'Retry now', () => hub.retryNow())
  }
  update()
  countdown = setInterval(update, 1000)
}

ui.mask.setAttribute('aria-pressed', String(masked))
ui.mask.addEventListener('click', () => {
  masked = !masked
  localStorage.setItem(MASK_KEY, masked ? '1' : '0')
  ui.mask.setAttribute('aria-pressed', String(masked))
  dirty.list = dirty.call = true
  schedule()
})
listKeyboard(byId('live-calls').parentElement)

const dial = setupDial({
  onUnauthorized: toLogin,
  onStarted: (sid, to) => {
    pending = sid
    if (typeof to === 'string' && to !== '') placed.set(sid, to)
    autoPick()
  },
})

const context = createContext({ onUnauthorized: toLogin })
const controls = createControls({ onUnauthorized: toLogin })
ui.switcher.addEventListener('click', () => fold(!ui.sidebar.classList.contains('folded')))

const notices = createNotices({
  container: byId('toasts'),
  sound: byId('sound-toggle'),
  notify: byId('notify-toggle'),
  focusCall: () => byId('call-view').focus(),
  onView: (sid) => {
    select(sid, 'user')
    byId('call-view').focus()
  },
})

const hub = connectHub({ url: hubUrl(), onMessage, onState, onUnauthorized: toLogin })
// For tests and debugging in the console: read-only views of the state.
Object.defineProperty(window, 'talkhint', { value: Object.freeze({ store, get selected () { return selected }, get hold () { return hold } }) })
