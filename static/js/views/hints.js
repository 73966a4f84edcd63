/** The hints panel: the newest hint pinned on top (announced once, complete); earlier ones scroll beneath it, repeats merged. */
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
    fillHint(els.now, newest, call)
  }
  renderOlder(els.list, groups.slice(0, -1).reverse(), call)
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

function fillHint (el, group, call) {
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
}

function renderOlder (ol, groups, call) {
  // Keyed by the first hint of a run: a repeat arriving later grows the same entry instead of replacing it.
  const existing = new Map([...ol.children].map((li) => [li.dataset.hintId, li]))
  groups.forEach((group, i) => {
    let li = existing.get(group.firstId)
    if (li === undefined) li = h('li', { dataset: { hintId: group.firstId } }, [hintText(), h('p', { className: 'hint-meta' })])
    existing.delete(group.firstId)
    li.className = group.hint.superseded ? 'hint superseded' : 'hint'
    fillHint(li, group, call)
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
