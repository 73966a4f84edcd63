/** The hints panel: the newest hint large and streaming; earlier ones below, newest first. */
import { h, setText } from '../dom.js'
import { formatDuration } from '../format.js'

/**
 * @param {{ now: HTMLElement, list: HTMLOListElement, summary: HTMLElement }} els
 * @param {any} call
 */
export function renderHints (els, call) {
  const hints = call.hints
  const newest = hints[hints.length - 1]
  if (newest === undefined) {
    if (els.now.dataset.hintId !== '') {
      els.now.dataset.hintId = ''
      els.now.replaceChildren(h('p', { className: 'empty', text: call.phase === 'ended' ? 'No hints for this call.' : 'Hints appear here while the other person talks.' }))
    }
  } else {
    if (els.now.dataset.hintId !== newest.hintId) {
      els.now.dataset.hintId = newest.hintId
      els.now.replaceChildren(h('p', { className: 'hint-text' }), h('p', { className: 'hint-meta' }))
    }
    els.now.classList.toggle('streaming', !newest.done)
    els.now.classList.toggle('superseded', newest.superseded)
    setText(els.now.querySelector('.hint-text'), newest.text || '…')
    setText(els.now.querySelector('.hint-meta'), hintMeta(newest, call))
  }
  renderOlder(els.list, hints.slice(0, -1).reverse(), call)
  renderSummary(els.summary, call.summary)
}

function renderOlder (ol, hints, call) {
  const existing = new Map([...ol.children].map((li) => [li.dataset.hintId, li]))
  hints.forEach((hint, i) => {
    let li = existing.get(hint.hintId)
    if (li === undefined) li = h('li', { dataset: { hintId: hint.hintId } }, [h('p', { className: 'hint-text' }), h('p', { className: 'hint-meta' })])
    existing.delete(hint.hintId)
    li.className = hint.superseded ? 'hint superseded' : 'hint'
    setText(li.querySelector('.hint-text'), hint.text || '…')
    setText(li.querySelector('.hint-meta'), hintMeta(hint, call))
    if (ol.children[i] !== li) ol.insertBefore(li, ol.children[i] ?? null)
  })
  for (const li of existing.values()) li.remove()
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
