/**
 * The hints panel: the newest hint pinned on top (announced once, complete); earlier ones scroll beneath it, repeats
 * merged. Hint actions: Copy (Alt+C copies the current hint), 👍/👎 (stored with the hint), Pin (kept in this browser).
 */
import { h, setText } from '../dom.js'
import { formatDuration } from '../format.js'

/**
 * What the screen-reader region already said, per call: a hint is announced once, when it is complete. Opening a
 * call (or reloading) does not read out its backlog; only hints that finish while you watch are announced.
 */
const spoken = { callSid: null, hintIds: new Set() }

/**
 * @param {{ now: HTMLElement, list: HTMLOListElement, summary: HTMLElement, announce?: HTMLElement }} els
 * @param {any} call
 */
export function renderHints (els, call) {
  const parts = setUp(els)
  actions.parts = parts
  actions.call = call
  loadFeedback(call)
  const groups = mergeRepeats(call.hints)
  const newest = groups[groups.length - 1]
  if (newest === undefined) {
    const empty = call.phase === 'ended' ? 'No hints for this call.' : 'Hints appear here while the other person talks.'
    if (els.now.dataset.hintId !== '' || els.now.textContent !== empty) {
      els.now.dataset.hintId = ''
      els.now.replaceChildren(h('p', { className: 'empty', text: empty }))
    }
    els.now.classList.remove('streaming', 'superseded')
    els.now.removeAttribute('aria-busy')
  } else {
    const hint = newest.hint
    if (els.now.dataset.hintId !== hint.hintId) {
      els.now.dataset.hintId = hint.hintId
      els.now.replaceChildren(hintText(), h('p', { className: 'hint-meta' }))
    }
    els.now.classList.toggle('streaming', !hint.done)
    els.now.classList.toggle('superseded', hint.superseded)
    // Busy while it streams: assistive tech waits for the finished text (announced once, below).
    if (hint.done) els.now.removeAttribute('aria-busy')
    else els.now.setAttribute('aria-busy', 'true')
    fillHint(els.now, newest, call, 'current')
  }
  const older = groups.slice(0, -1).reverse()
  const pinned = older.filter((g) => actions.pins.has(pinKey(call.callSid, g.firstId)))
  renderOlder(parts.pinned, pinned, call, 'pinned')
  parts.pinnedBox.hidden = pinned.length === 0
  renderOlder(els.list, older.filter((g) => !pinned.includes(g)), call, 'older')
  renderSummary(els.summary, call.summary)
  // An empty history is no scroll stop for the keyboard.
  const history = els.list.closest('.hint-history')
  if (history !== null) history.hidden = els.list.childElementCount === 0 && els.summary.hidden
  announce(els.announce ?? document.getElementById('hint-announce'), call)
}

/**
 * Consecutive hints with the same finished text become one entry `{ hint, count }` (the latest of the run, so its
 * time is the last time it was given). A hint still streaming is never merged: its text is not final yet.
 */
export function mergeRepeats (hints) {
  const groups = []
  for (const hint of hints) {
    const last = groups[groups.length - 1]
    if (last !== undefined && sameAdvice(last.hint, hint)) {
      groups[groups.length - 1] = { hint, count: last.count + 1, firstId: last.firstId }
    } else {
      groups.push({ hint, count: 1, firstId: hint.hintId })
    }
  }
  return groups
}

function sameAdvice (a, b) {
  return a.done && b.done && !a.superseded && !b.superseded && !a.error && !b.error &&
    a.text.trim() !== '' && a.text.trim() === b.text.trim()
}

/** The text paragraph: the words, then a caret that shows only while streaming and is never read out. */
function hintText () {
  return h('p', { className: 'hint-para' }, [
    h('span', { className: 'hint-text' }),
    h('span', { className: 'hint-caret', text: '▍', attrs: { 'aria-hidden': 'true' } }),
  ])
}

function fillHint (el, group, call, place) {
  setText(el.querySelector('.hint-text'), group.hint.text || '…')
  let times = el.querySelector('.hint-count')
  if (group.count > 1) {
    if (times === null) {
      // "×3" for the eye, words for the ear (a reader says "multiplication three" for the glyph).
      times = h('p', { className: 'hint-count' }, [h('span', { className: 'hint-times', attrs: { 'aria-hidden': 'true' } }), h('span', { className: 'visually-hidden' })])
      el.querySelector('.hint-meta').before(times)
    }
    setText(times.querySelector('.hint-times'), `×${group.count}`)
    setText(times.querySelector('.visually-hidden'), `Given ${group.count} times in a row.`)
  } else if (times !== null) {
    times.remove()
  }
  setText(el.querySelector('.hint-meta'), hintMeta(group.hint, call))
  fillActions(el, group, call, place)
}

function renderOlder (ol, groups, call, place) {
  // Keyed by the first hint of a run: a repeat arriving later grows the same entry instead of replacing it.
  const existing = new Map([...ol.children].map((li) => [li.dataset.hintId, li]))
  groups.forEach((group, i) => {
    let li = existing.get(group.firstId)
    if (li === undefined) li = h('li', { dataset: { hintId: group.firstId } }, [hintText(), h('p', { className: 'hint-meta' })])
    existing.delete(group.firstId)
    li.className = group.hint.superseded ? 'hint superseded' : 'hint'
    fillHint(li, group, call, place)
    if (ol.children[i] !== li) ol.insertBefore(li, ol.children[i] ?? null)
  })
  for (const li of existing.values()) li.remove()
}

/** How many announced hints stay in the (visually hidden) live region; older ones are dropped. */
const ANNOUNCED_KEPT = 3

/**
 * Appends each newly finished hint to the polite live region, whole and once (one node per hint, so two that
 * finish within one frame are both read); the streaming card itself stays quiet. Superseded or cut-off hints and
 * a repeat of the hint just before it are not read out.
 */
function announce (region, call) {
  if (region === null) return
  if (spoken.callSid !== call.callSid) {
    spoken.callSid = call.callSid
    spoken.hintIds = new Set(call.hints.filter((x) => x.done).map((x) => x.hintId))
    region.replaceChildren()
    return
  }
  call.hints.forEach((hint, i) => {
    if (!hint.done || spoken.hintIds.has(hint.hintId)) return
    spoken.hintIds.add(hint.hintId)
    const prev = call.hints[i - 1]
    if (hint.superseded || hint.error || hint.text.trim() === '' || (prev !== undefined && sameAdvice(prev, hint))) return
    region.append(h('p', { text: `Hint: ${hint.text.trim()}` }))
    while (region.childElementCount > ANNOUNCED_KEPT) region.firstElementChild?.remove()
  })
}

function hintMeta (hint, call) {
  const when = call.startedAt === null ? '' : `${formatDuration(hint.at - call.startedAt)} into the call`
  const state = hint.superseded ? 'superseded by a newer hint' : hint.error ? `cut off: ${hint.error}` : hint.done ? '' : 'writing…'
  return [when, state].filter(Boolean).join(' · ')
}

function renderSummary (section, summary) {
  section.hidden = summary === null || summary === undefined
  if (section.hidden) return
  setText(section.querySelector('#summary-text'), summary.summary)
  setText(section.querySelector('#summary-intent'), summary.intent ? `Intent: ${summary.intent}` : '')
  section.querySelector('#summary-items').replaceChildren(...summary.actionItems.map((a) => h('li', { text: a })))
}

// ---------- hint actions: copy, 👍/👎, pin ----------

const PIN_KEY = 'talkhint.pinnedHints'
/** Pins kept in this browser (the newest; older ones are forgotten). */
const MAX_PINS = 200
/** Feedback on a hint the server does not know yet (the fan-out between instances lags a moment) is tried again. */
const FEEDBACK_RETRIES = 2
const FEEDBACK_RETRY_MS = 1000
const STATUS_MS = 4000
/** The copy shortcut, where focus is not in a text field (WCAG 2.1.4: not a single printable key). */
export const COPY_SHORTCUT = 'Alt+C'

const actions = {
  /** The panel's own elements, made once (see setUp). */
  parts: null,
  /** The call last rendered: what the buttons and the shortcut act on. */
  call: null,
  /** `${callSid}/${hintId}` → 'up' | 'down', as stored (or being stored). */
  feedback: new Map(),
  /** Calls whose stored feedback was read (once per page). */
  loaded: new Set(),
  pins: readPins(),
  statusTimer: 0,
}

const pinKey = (callSid, hintId) => `${callSid}/${hintId}`

function readPins () {
  try {
    const list = JSON.parse(localStorage.getItem(PIN_KEY) ?? '[]')
    return new Set(Array.isArray(list) ? list.filter((x) => typeof x === 'string') : [])
  } catch {
    return new Set()
  }
}

function savePins () {
  const list = [...actions.pins].slice(-MAX_PINS)
  actions.pins = new Set(list)
  try { localStorage.setItem(PIN_KEY, JSON.stringify(list)) } catch {}
}

/**
 * Adds what the page's markup does not have, once: the pinned area under the current hint, a polite status line
 * ("Copied."), one click handler for every hint button, and the copy shortcut.
 */
function setUp (els) {
  if (actions.parts !== null && actions.parts.now === els.now) return actions.parts
  const pinned = h('ol', { className: 'hint-list hint-pin-list' })
  const pinnedBox = h('section', { className: 'hint-pinned', attrs: { 'aria-label': 'Pinned hints' } }, [
    h('h3', { className: 'hint-pinned-title', text: 'Pinned' }), pinned,
  ])
  pinnedBox.hidden = true
  const status = h('p', { className: 'hint-status', attrs: { role: 'status', 'aria-live': 'polite' } })
  els.now.after(status, pinnedBox)
  const panel = els.now.closest('.hints-panel') ?? els.now.parentElement
  panel.addEventListener('click', onClick)
  document.addEventListener('keydown', onKey)
  return { els, now: els.now, pinned, pinnedBox, status }
}

/** The buttons under a finished hint: Copy, 👍, 👎, and Pin/Unpin on earlier hints. */
function fillActions (el, group, call, place) {
  const hint = group.hint
  const usable = hint.done && !hint.superseded && !hint.error && hint.text.trim() !== ''
  let bar = el.querySelector(':scope > .hint-actions')
  if (!usable) {
    bar?.remove()
    return
  }
  if (bar === null || bar.dataset.place !== place) {
    bar?.remove()
    bar = h('div', { className: 'hint-actions', dataset: { place }, attrs: { role: 'group', 'aria-label': 'Hint actions' } }, [
      button('copy', 'Copy', place === 'current' ? `Copy this hint (${COPY_SHORTCUT})` : 'Copy this hint'),
      button('up', '👍', 'Helpful'),
      button('down', '👎', 'Not helpful'),
      place === 'current' ? null : button('pin', place === 'pinned' ? 'Unpin' : 'Pin', place === 'pinned' ? 'Unpin this hint' : 'Pin this hint: it stays under the current one'),
    ])
    if (place === 'current') bar.querySelector('[data-action="copy"]').setAttribute('aria-keyshortcuts', COPY_SHORTCUT)
    el.append(bar)
  }
  bar.dataset.hintId = group.firstId
  const value = actions.feedback.get(pinKey(call.callSid, group.firstId))
  bar.querySelector('[data-action="up"]').setAttribute('aria-pressed', String(value === 'up'))
  bar.querySelector('[data-action="down"]').setAttribute('aria-pressed', String(value === 'down'))
}

function button (action, text, label) {
  const attrs = { type: 'button', title: label }
  // The emoji buttons are named in words; Copy and Pin/Unpin say what they do in their text (and title).
  if (action === 'up' || action === 'down') attrs['aria-label'] = label
  return h('button', { className: `btn btn-quiet btn-small hint-btn hint-${action}`, text, dataset: { action }, attrs })
}

function onClick (ev) {
  const btn = typeof ev.target?.closest === 'function' ? ev.target.closest('button[data-action]') : null
  const bar = btn?.closest('.hint-actions')
  const call = actions.call
  if (!btn || !bar || call === null) return
  const hintId = bar.dataset.hintId
  const action = btn.dataset.action
  if (action === 'copy') copyHint(hintTextOf(call, hintId))
  else if (action === 'pin') togglePin(call, hintId, bar.dataset.place !== 'pinned')
  else if (action === 'up' || action === 'down') sendFeedback(call.callSid, hintId, action)
}

function onKey (ev) {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.code !== 'KeyC') return
  const t = ev.target
  if (typeof t?.closest === 'function' && (t.isContentEditable || t.closest('input, textarea, select') !== null)) return
  const call = actions.call
  if (call === null || actions.parts.now.closest('[hidden]') !== null) return
  ev.preventDefault()
  const newest = call.hints[call.hints.length - 1]
  if (newest === undefined || newest.text.trim() === '') status('No hint to copy yet.')
  else copyHint(newest.text)
}

function hintTextOf (call, hintId) {
  return call.hints.find((x) => x.hintId === hintId)?.text ?? ''
}

/** The text goes to the clipboard as it is (never parsed as HTML). */
async function copyHint (text) {
  const words = text.trim()
  if (words === '') return
  let ok = false
  try {
    await navigator.clipboard.writeText(words)
    ok = true
  } catch {
    ok = copyByCommand(words)
  }
  status(ok ? 'Copied.' : 'Could not copy: select the hint text and copy it yourself.')
}

/** The fallback where the Clipboard API is missing or refused (plain http, an older browser). */
function copyByCommand (text) {
  const back = document.activeElement
  const area = h('textarea', { className: 'visually-hidden', attrs: { readonly: '', 'aria-hidden': 'true', tabindex: '-1' } })
  area.value = text
  document.body.append(area)
  area.select()
  let ok = false
  try { ok = document.execCommand('copy') } catch {}
  area.remove()
  if (typeof back?.focus === 'function') back.focus()
  return ok
}

function togglePin (call, hintId, pin) {
  const key = pinKey(call.callSid, hintId)
  if (pin) actions.pins.add(key)
  else actions.pins.delete(key)
  savePins()
  rerender()
  // The hint moved between the lists: focus follows it, to the button that undoes what was just done.
  const box = pin ? actions.parts.pinned : actions.parts.els.list
  const li = [...box.children].find((x) => x.dataset.hintId === hintId)
  li?.querySelector('[data-action="pin"]')?.focus()
  status(pin ? 'Pinned: it stays under the current hint until you unpin it.' : 'Unpinned.')
}

/** 👍 or 👎; the same button again clears it. Shown at once, undone if the server refuses. */
async function sendFeedback (callSid, hintId, clicked) {
  const key = pinKey(callSid, hintId)
  const before = actions.feedback.get(key)
  const value = before === clicked ? null : clicked
  setFeedback(key, value)
  for (let attempt = 0; ; attempt++) {
    let res
    try {
      res = await fetch(`/api/hints/${encodeURIComponent(callSid)}/${encodeURIComponent(hintId)}/feedback`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }), credentials: 'same-origin',
      })
    } catch {
      res = null
    }
    if (res?.ok) {
      status(value === null ? 'Feedback cleared.' : value === 'up' ? 'Saved: helpful.' : 'Saved: not helpful.')
      return
    }
    if (res?.status === 404 && attempt < FEEDBACK_RETRIES) {
      await new Promise((resolve) => setTimeout(resolve, FEEDBACK_RETRY_MS))
      continue
    }
    setFeedback(key, before)
    const body = res === null ? null : await res.json().catch(() => null)
    status(`Feedback not saved: ${body?.message ?? 'the server could not be reached.'}`)
    return
  }
}

function setFeedback (key, value) {
  if (value === null || value === undefined) actions.feedback.delete(key)
  else actions.feedback.set(key, value)
  rerender()
}

function rerender () {
  if (actions.call !== null) renderHints(actions.parts.els, actions.call)
}

/** The feedback already stored for a call's hints (given before a reload, or by a colleague), read once per call. */
async function loadFeedback (call) {
  if (actions.loaded.has(call.callSid) || !call.hints.some((x) => x.done)) return
  actions.loaded.add(call.callSid)
  try {
    const res = await fetch(`/api/hints/${encodeURIComponent(call.callSid)}/feedback`, { credentials: 'same-origin' })
    if (!res.ok) return
    const body = await res.json()
    let changed = false
    for (const [hintId, value] of Object.entries(body.feedback ?? {})) {
      const key = pinKey(call.callSid, hintId)
      // A click made while this was on its way wins.
      if (!actions.feedback.has(key) && (value === 'up' || value === 'down')) {
        actions.feedback.set(key, value)
        changed = true
      }
    }
    if (changed && actions.call?.callSid === call.callSid) rerender()
  } catch {}
}

/** Says what just happened, politely, and clears it after a while (the next message replaces it). */
function status (text) {
  const el = actions.parts.status
  clearTimeout(actions.statusTimer)
  el.textContent = text
  actions.statusTimer = setTimeout(() => { el.textContent = '' }, STATUS_MS)
}
