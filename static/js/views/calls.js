/** The call list: live calls and recently ended ones, as keyboard-friendly buttons. */
import { h, setText } from '../dom.js'
import { aiLabel, callKind, endLabel, formatDuration, formatPhone } from '../format.js'

/**
 * Reconciles a <ul> with `calls` (keyed by CallSid, so focus and hover survive updates).
 * @param {HTMLUListElement} ul
 * @param {any[]} calls
 * @param {{ selected: string|null, masked: boolean, now: number, onSelect: (sid: string) => void }} ctx
 */
export function renderCallList (ul, calls, ctx) {
  const existing = new Map([...ul.children].map((li) => [li.dataset.sid, li]))
  calls.forEach((call, i) => {
    let li = existing.get(call.callSid)
    if (li === undefined) li = createItem(call.callSid, ctx.onSelect)
    existing.delete(call.callSid)
    updateItem(li, call, ctx)
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] ?? null)
  })
  for (const li of existing.values()) li.remove()
}

function createItem (sid, onSelect) {
  const button = h('button', { className: 'call-item', attrs: { type: 'button' }, on: { click: () => onSelect(sid) } }, [
    h('span', { className: 'ci-dir', attrs: { 'aria-hidden': 'true' } }),
    h('span', { className: 'ci-main' }, [h('span', { className: 'ci-number' }), h('span', { className: 'ci-meta' })]),
    h('span', { className: 'ci-side' }, [h('span', { className: 'ci-duration' }), h('span', { className: 'ci-ai' })]),
  ])
  return h('li', { dataset: { sid } }, [button])
}

function updateItem (li, call, ctx) {
  const button = li.firstElementChild
  const current = call.callSid === ctx.selected
  button.setAttribute('aria-current', current ? 'true' : 'false')
  button.dataset.phase = call.phase
  setText(button.querySelector('.ci-dir'), call.direction === 'outbound' ? '↗' : '↙')
  setText(button.querySelector('.ci-number'), formatPhone(call.remote, ctx.masked))
  setText(button.querySelector('.ci-meta'), callKind(call))
  setText(button.querySelector('.ci-duration'), durationText(call, ctx.now))
  const ai = button.querySelector('.ci-ai')
  ai.dataset.ai = call.aiStatus ?? (call.aiEnabled === false ? 'off' : 'pending')
  const status = phaseOf(call)
  ai.dataset.phase = status
  setText(ai, status === 'live' ? aiLabel(call) : statusLabel(call, { masked: ctx.masked, short: true }))
}

/**
 * The one duration of a call, for the list and the header alike: live, `now` (the server's clock, skew-corrected by
 * the caller) − startedAt; ended, the hub's figure (endedAt − startedAt on the same clock). null before media.
 * @param {any} call
 * @param {number} now
 * @returns {number|null}
 */
export function callDurationMs (call, now) {
  if (call.phase === 'ended') return call.durationMs ?? (call.startedAt == null || call.endedAt == null ? null : Math.max(0, call.endedAt - call.startedAt))
  if (call.startedAt == null) return null
  return Math.max(0, now - call.startedAt)
}

/** The ticking duration of a live call, or the final one. */
export function durationText (call, now) {
  const ms = callDurationMs(call, now)
  return ms === null ? '–:––' : formatDuration(ms)
}

/** What the status pill shows: `ringing` while anyone's phone rings (the ringing sub-state included), else the phase. */
export function phaseOf (call) {
  if (call.phase === 'ended') return 'ended'
  return call.phase === 'ringing' || call.ringing ? 'ringing' : 'live'
}

/** Dialled-leg outcomes worth saying instead of a plain "Ended". */
const DIAL_ENDS = new Set(['busy', 'no-answer', 'failed', 'canceled'])

/**
 * The call's status in words: "Ringing your phone", "Calling +1 415 555 0123…", "Live", or why it ended (a
 * click-to-call whose number was busy says "Busy", not "Ended"). `short` (the call list) leaves the number out.
 * @param {any} call
 * @param {{ masked: boolean, short?: boolean }} opts
 */
export function statusLabel (call, opts) {
  if (call.phase === 'ended') {
    const plain = ['stop', 'closed', 'completed'].includes(call.endReason)
    return endLabel(plain && DIAL_ENDS.has(call.dialStatus) ? call.dialStatus : call.endReason)
  }
  if (call.ringing === 'operator') return 'Ringing your phone'
  if (call.ringing === 'remote') return opts.short === true || !call.remote ? 'Calling…' : `Calling ${formatPhone(call.remote, opts.masked)}…`
  return call.phase === 'ringing' ? 'Ringing' : 'Live'
}

/** Up/Down (and Home/End) move between calls in a list, like a menu. */
export function listKeyboard (container) {
  container.addEventListener('keydown', (e) => {
    if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) return
    const items = [...container.querySelectorAll('.call-item')]
    const i = items.indexOf(document.activeElement)
    if (i < 0) return
    e.preventDefault()
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? items.length - 1 : i + (e.key === 'ArrowDown' ? 1 : -1)
    items[Math.max(0, Math.min(items.length - 1, next))]?.focus()
  })
}
