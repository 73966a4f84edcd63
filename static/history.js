/**
 * Call history and contacts (hash routes): #/ the call list with search and pages, #/call/<sid>
 * one call (transcript, hints, summary; ?q=… highlights the search), #/contact/<phone> a contact's
 * timeline, notes, WhatsApp and "Call back".
 * Every caller-controlled string goes into the page through textContent only (strict CSP, Trusted Types).
 */
import { byId, h } from './js/dom.js'
import { callKind, endLabel, formatDuration, formatPhone, speakerLabel, AI_LABELS } from './js/format.js'

const views = { list: byId('list-view'), call: byId('call-view'), contact: byId('contact-view') }
const headings = { list: byId('list-h'), call: byId('call-h'), contact: byId('contact-h') }
const banner = byId('banner')
let generation = 0

/** fetch + JSON; a lost session goes back to the login page; no answer at all is status 0. */
async function api (path, init = {}) {
  let res
  try {
    res = await fetch(path, {
      credentials: 'same-origin',
      ...init,
      headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    })
  } catch {
    return { status: 0, ok: false, body: null }
  }
  if (res.status === 401) {
    window.location.assign('/login')
    throw new Error('login needed')
  }
  let body = null
  try { body = await res.json() } catch {}
  return { status: res.status, ok: res.ok, body }
}

function showBanner (text) {
  byId('banner-text').textContent = text
  banner.hidden = text === ''
}

/**
 * A failed answer in plain words: what could not be done, then the server's own message (written for people;
 * never its error code), or what to do when there is none.
 */
function failure (res, action) {
  if (res.status === 0) return `Could not ${action}: TalkHint did not answer. Check your connection, then try again.`
  const said = typeof res.body?.message === 'string' ? res.body.message : ''
  if (said !== '') return `Could not ${action}. ${said}`
  if (res.status >= 500) return `Could not ${action}: the server had a problem. Try again in a moment.`
  return `Could not ${action}. Reload the page and try again.`
}

function say (el, text, kind) {
  el.textContent = text
  if (kind === undefined) delete el.dataset.kind
  else el.dataset.kind = kind
}

function show (name) {
  for (const [k, el] of Object.entries(views)) el.hidden = k !== name
  showBanner('')
}

const when = (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const clock = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const who = (call) => call.contactName || formatPhone(call.contactPhone ?? (call.direction === 'outbound' ? call.to : call.from))
const contactHref = (phone) => `#/contact/${encodeURIComponent(phone)}`
const callHref = (sid, q) => `#/call/${encodeURIComponent(sid)}${q ? `?${new URLSearchParams({ q })}` : ''}`
const lengthText = (call) => call.durationS === null || call.durationS === undefined ? '—' : formatDuration(call.durationS * 1000)
const statusText = (call) => call.status === null ? (call.endedAt ? 'Ended' : 'In progress') : call.status === 'completed' ? 'Completed' : endLabel(call.status)
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** The words of a search as the server splits them (letters and digits, lowercase; each matches as a prefix). */
const searchWords = (q) => [...new Set((q ?? '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].slice(0, 8)

/** `text` as nodes, each word that starts with one of `words` in a <mark>: text nodes only, never HTML. */
function marked (text, words) {
  if (words.length === 0) return [text]
  const out = []
  let last = 0
  for (const m of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = m[0].toLowerCase()
    if (!words.some((w) => word.startsWith(w))) continue
    if (m.index > last) out.push(text.slice(last, m.index))
    out.push(h('mark', { text: m[0] }))
    last = m.index + m[0].length
  }
  if (last < text.length) out.push(text.slice(last))
  return out
}

/** A moment in a call: its offset (m:ss from the start of the call) on the page, the clock time on hover. */
function offsetTime (offsetMs, atMs, verb) {
  const offset = Math.max(0, offsetMs)
  return h('time', {
    className: 'at',
    text: formatDuration(offset),
    attrs: { datetime: `PT${Math.floor(offset / 1000)}S`, title: `${verb} at ${clock(atMs)}` },
  })
}

// ---- list -------------------------------------------------------------------------------------

const form = byId('search')
/** Where "← All calls" goes back to: the list as it was last shown (search, filters, page). */
let listHash = '#/'

form.addEventListener('submit', (ev) => {
  ev.preventDefault()
  const params = new URLSearchParams()
  for (const name of ['q', 'phone', 'since', 'until']) {
    const v = form.elements.namedItem(name).value.trim()
    if (v !== '') params.set(name, v)
  }
  const since = params.get('since')
  const until = params.get('until')
  if (since !== null && until !== null && since > until) {
    byId('until').setAttribute('aria-invalid', 'true')
    say(byId('search-msg'), 'Pick a "To" date on or after the "From" date.', 'error')
    return
  }
  const next = `#/?${params}`
  // The same search again: no hashchange, so load it here (a fresh answer, and the focus stays put).
  if (next === window.location.hash) route()
  else window.location.hash = next
})

async function showList (params) {
  show('list')
  const gen = generation
  for (const name of ['q', 'phone', 'since', 'until']) {
    const field = form.elements.namedItem(name)
    field.value = params.get(name) ?? ''
    field.removeAttribute('aria-invalid')
  }
  listHash = `#/${params.size > 0 ? `?${params}` : ''}`
  const msg = byId('search-msg')
  say(msg, '')
  const res = await api(`/api/calls?${params}&limit=25`)
  if (gen !== generation) return
  const tbody = byId('calls')
  tbody.replaceChildren()
  byId('no-calls').hidden = true
  if (!res.ok) {
    say(msg, failure(res, 'load the calls'), 'error')
    if (res.status === 400 && /phone number/i.test(res.body?.message ?? '')) byId('phone').setAttribute('aria-invalid', 'true')
    return
  }
  const words = searchWords(params.get('q'))
  for (const call of res.body.calls) tbody.append(callRow(call, words, params.get('q')))
  byId('no-calls').hidden = res.body.calls.length > 0
  const filtered = ['q', 'phone', 'since', 'until'].some((k) => params.has(k))
  if (filtered && !params.has('cursor')) {
    const more = res.body.nextCursor === null ? '' : ' (more with "Older calls")'
    say(msg, res.body.calls.length === 0 ? 'No calls match. Try fewer words, or fewer digits of the number.' : `${plural(res.body.calls.length, 'call')} found${more}.`, 'info')
  }
  const older = byId('older')
  older.hidden = res.body.nextCursor === null
  older.onclick = () => {
    const next = new URLSearchParams(params)
    next.set('cursor', res.body.nextCursor)
    window.location.hash = `#/?${next}`
  }
  const newest = byId('newest')
  newest.hidden = !params.has('cursor')
  newest.onclick = () => {
    const first = new URLSearchParams(params)
    first.delete('cursor')
    window.location.hash = `#/?${first}`
  }
}

/** An outbound agent call's outcome (GET /api/calls `outcome`), as a short label. */
const OUTCOMES = { human: 'Person answered', machine: 'Voicemail left', 'no-answer': 'No answer', busy: 'Busy', failed: 'Failed' }

function callRow (call, words, q) {
  const said = call.match !== undefined
    ? h('span', {}, [h('span', { className: 'meta', text: `${speakerLabel(call.match.speaker, call.direction)} at ${formatDuration(call.match.startMs)}: ` }), ...marked(call.match.text, words)])
    : h('span', { text: call.summary ?? plural(call.utteranceCount, 'line') })
  const phone = call.contactPhone
  const cell = (className, children) => h('td', { className, attrs: { role: 'cell' } }, children)
  return h('tr', { attrs: { role: 'row' } }, [
    cell('c-when', [h('a', { text: when(call.createdAt), attrs: { href: callHref(call.callSid, q) } })]),
    cell('c-who', [phone ? h('a', { text: who(call), attrs: { href: contactHref(phone) } }) : who(call)]),
    cell('c-kind', [callKind(call), h('br'), h('span', { className: 'meta', text: statusText(call) }), ...(call.outcome ? [' ', h('span', { className: 'pill', text: OUTCOMES[call.outcome] ?? call.outcome })] : [])]),
    cell('c-len', [lengthText(call)]),
    cell('c-said', [said]),
  ])
}

// ---- one call ---------------------------------------------------------------------------------

async function showCall (sid, params) {
  show('call')
  byId('back-list').setAttribute('href', listHash)
  const gen = generation
  const res = await api(`/api/calls/${encodeURIComponent(sid)}`)
  if (gen !== generation) return
  if (res.status === 404) return showBanner('This call is not in the history: it may have been deleted after the retention period. Go back to all calls to find another.')
  if (!res.ok) return showBanner(failure(res, 'open this call'))
  const { call, utterances, hints, summary } = res.body
  const link = byId('call-contact')
  link.textContent = who(call)
  if (call.contactPhone) link.setAttribute('href', contactHref(call.contactPhone))
  else link.removeAttribute('href')
  byId('call-meta').textContent = `${callKind(call)} · ${when(call.createdAt)} · ${lengthText(call)}`
  byId('call-status').textContent = statusText(call) + (call.outcome ? ` · ${OUTCOMES[call.outcome] ?? call.outcome}` : '') + (call.purpose ? ` · Purpose: ${call.purpose}` : '')
  byId('call-ai').textContent = call.aiStatus ? (AI_LABELS[call.aiStatus] ?? `AI ${call.aiStatus}`) : 'AI —'
  byId('call-ai').dataset.ai = call.aiStatus ?? ''

  const summarize = byId('summarize')
  summarize.hidden = summary !== null || utterances.length === 0
  summarize.disabled = false
  summarize.onclick = async () => {
    summarize.disabled = true
    const r = await api(`/api/calls/${encodeURIComponent(sid)}/summary`, { method: 'POST' })
    if (r.ok) return showCall(sid, params)
    summarize.disabled = false
    showBanner(failure(r, 'write a summary'))
  }
  byId('call-summary').hidden = summary === null
  if (summary !== null) {
    byId('summary-text').textContent = summary.summary
    byId('summary-intent').textContent = summary.intent ? `Intent: ${summary.intent}` : ''
    byId('summary-items').replaceChildren(...summary.actionItems.map((item) => h('li', { text: item })))
  }
  // Offsets from the start of the media stream (utterance times count from there), else from the webhook.
  const origin = call.startedAt ?? call.createdAt
  byId('call-hints').replaceChildren(...hints.map((hint) => h('li', { className: hint.superseded ? 'hint superseded' : 'hint' }, [
    h('p', { className: 'hint-text', text: hint.text }),
    h('p', { className: 'hint-meta' }, [offsetTime(hint.at - origin, hint.at, 'Given'), hint.superseded ? ' · superseded' : '']),
    hint.feedback ? h('p', { className: 'hint-feedback', text: hint.feedback === 'up' ? '👍 Marked helpful' : '👎 Marked not helpful' }) : null,
  ])))
  byId('no-hints').hidden = hints.length > 0
  const words = searchWords(params.get('q'))
  byId('call-transcript').replaceChildren(...utterances.map((u) => transcriptLine(u, call.direction, origin, words)))
  byId('no-lines').hidden = utterances.length > 0
  showMatches(params.get('q'), words)
}

function transcriptLine (u, direction, origin, words) {
  const text = marked(u.text, words)
  const match = text.some((n) => typeof n !== 'string')
  return h('li', { className: `line ${u.speaker} final${match ? ' match' : ''}`, attrs: match ? { tabindex: '-1' } : {} }, [
    h('div', { className: 'line-head' }, [
      h('span', { className: 'who', text: speakerLabel(u.speaker, direction) }),
      offsetTime(u.startMs, origin + u.startMs, 'Said'),
    ]),
    h('p', { className: 'text' }, text),
  ])
}

/** "N lines match …" and a button that scrolls to each matching line in turn and focuses it. */
function showMatches (q, words) {
  const bar = byId('match-bar')
  const jump = byId('jump-match')
  bar.hidden = words.length === 0
  if (words.length === 0) return
  const lines = [...byId('call-transcript').querySelectorAll('li.match')]
  byId('match-count').textContent = lines.length === 0
    ? `No line of the transcript matches "${q}".`
    : `${plural(lines.length, 'line')} ${lines.length === 1 ? 'matches' : 'match'} "${q}".`
  jump.hidden = lines.length === 0
  jump.textContent = 'Jump to the matching line'
  let next = 0
  jump.onclick = () => {
    const line = lines[next]
    line.scrollIntoView({ block: 'center' })
    line.focus({ preventScroll: true })
    next = (next + 1) % lines.length
    if (lines.length > 1) jump.textContent = `Next match (${next + 1} of ${lines.length})`
  }
}

// ---- one contact ------------------------------------------------------------------------------

let contactPhone = ''

async function showContact (phone) {
  show('contact')
  contactPhone = phone
  say(byId('contact-msg'), '')
  resetCallback()
  byId('contact-calls').setAttribute('href', `#/?${new URLSearchParams({ phone })}`)
  await loadContact(phone)
}

async function loadContact (phone) {
  const gen = generation
  const res = await api(`/api/contacts/${encodeURIComponent(phone)}`)
  if (gen !== generation) return
  if (res.status === 404) return renderContact({ phone, name: null, notes: null }, [])
  if (!res.ok) return showBanner(failure(res, 'open this contact'))
  renderContact(res.body.contact, res.body.timeline)
}

function renderContact (contact, timeline) {
  byId('contact-h').textContent = contact.name || formatPhone(contact.phone)
  byId('contact-phone').textContent = formatPhone(contact.phone)
  byId('contact-name').value = contact.name ?? ''
  byId('contact-notes').value = contact.notes ?? ''
  byId('timeline').replaceChildren(...timeline.map((e) => e.kind === 'call' ? callEntry(e.call) : messageEntry(e.message)))
  byId('no-timeline').hidden = timeline.length > 0
}

function callEntry (call) {
  return h('li', { className: 'line remote final' }, [
    h('div', { className: 'line-head' }, [
      h('span', { className: 'who', text: `Call · ${callKind(call)}` }),
      h('time', { className: 'at', text: when(call.createdAt) }),
    ]),
    h('p', { className: 'text' }, [
      h('a', { text: call.summary ?? `${lengthText(call)} · ${plural(call.utteranceCount, 'line')} · ${statusText(call)}`, attrs: { href: callHref(call.callSid) } }),
    ]),
  ])
}

function messageEntry (m) {
  const mine = m.direction === 'outbound'
  const media = m.numMedia > 0 ? ` [${plural(m.numMedia, 'attachment')}]` : ''
  return h('li', { className: `line ${mine ? 'operator' : 'remote'} final` }, [
    h('div', { className: 'line-head' }, [
      h('span', { className: 'who', text: mine ? 'You · WhatsApp' : 'WhatsApp' }),
      h('time', { className: 'at', text: when(m.createdAt) }),
    ]),
    h('p', { className: 'text', text: (m.body ?? '') + media }),
    h('p', { className: 'meta', text: m.errorMessage ?? m.status }),
  ])
}

byId('contact-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const res = await api(`/api/contacts/${encodeURIComponent(contactPhone)}`, {
    method: 'PATCH',
    body: JSON.stringify({ name: byId('contact-name').value, notes: byId('contact-notes').value }),
  })
  say(byId('contact-msg'), res.ok ? 'Saved.' : failure(res, 'save the contact'), res.ok ? 'ok' : 'error')
  if (res.ok) byId('contact-h').textContent = res.body.contact.name || formatPhone(res.body.contact.phone)
})

byId('wa-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const input = byId('wa-body')
  if (input.value.trim() === '') return
  const res = await api('/api/whatsapp/send', { method: 'POST', body: JSON.stringify({ to: contactPhone, body: input.value }) })
  say(byId('wa-msg'), res.ok ? 'Sent.' : failure(res, 'send the message'), res.ok ? 'ok' : 'error')
  if (res.ok) input.value = ''
  // The attempt (sent, or refused and marked failed) shows in the timeline once it is stored.
  const phone = contactPhone
  setTimeout(() => { if (contactPhone === phone) loadContact(phone) }, 300)
})

// ---- call back --------------------------------------------------------------------------------

const callback = { open: byId('callback'), confirm: byId('callback-confirm'), go: byId('callback-go'), cancel: byId('callback-cancel'), msg: byId('callback-msg') }

/** What each refusal of POST /api/calls means for the person clicking; the API's own message follows. */
const CALLBACK_REFUSED = {
  400: 'This number cannot be dialled.',
  403: 'TalkHint is not allowed to call this number.',
  429: 'Too many calls were placed just now; wait a little and try again.',
  502: 'Twilio did not place the call; try again in a moment.',
  503: 'TalkHint cannot place calls yet: whoever runs it needs to finish the Twilio setup.',
}

function resetCallback () {
  callback.confirm.hidden = true
  callback.open.hidden = false
  callback.go.disabled = false
  say(callback.msg, '')
}

function closeConfirm () {
  callback.confirm.hidden = true
  callback.open.hidden = false
  callback.open.focus()
}

callback.open.addEventListener('click', () => {
  const name = byId('contact-name').value.trim()
  byId('callback-q').textContent = `Call ${name || formatPhone(contactPhone)} (${formatPhone(contactPhone)})? Your phone rings first; when you answer, TalkHint dials them.`
  say(callback.msg, '')
  callback.open.hidden = true
  callback.confirm.hidden = false
  callback.go.focus()
})
callback.cancel.addEventListener('click', closeConfirm)
callback.confirm.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') closeConfirm()
})
callback.go.addEventListener('click', async () => {
  const phone = contactPhone
  callback.go.disabled = true
  say(callback.msg, 'Placing the call…', 'info')
  const res = await api('/api/calls', { method: 'POST', body: JSON.stringify({ to: phone }) })
  if (contactPhone !== phone) return
  callback.go.disabled = false
  closeConfirm()
  if (res.ok) return say(callback.msg, 'Calling: your phone rings first. Answer it and TalkHint connects you; the call shows on the Live page.', 'ok')
  const said = typeof res.body?.message === 'string' ? ` The server said: "${res.body.message}"` : ''
  say(callback.msg, res.status === 0 ? failure(res, 'place the call') : `${CALLBACK_REFUSED[res.status] ?? 'The call could not be placed.'}${said}`, 'error')
})

// ---- router -----------------------------------------------------------------------------------

/** The view on screen and its subject (a call or a contact); null before the first route. */
let shown = null

const visible = (el) => el !== null && el.isConnected && el.getClientRects().length > 0

function route () {
  generation++
  const gen = generation
  const hash = window.location.hash.slice(1) || '/'
  const q = hash.indexOf('?')
  const path = q === -1 ? hash : hash.slice(0, q)
  const params = new URLSearchParams(q === -1 ? '' : hash.slice(q + 1))
  const view = path.startsWith('/call/') ? 'call' : path.startsWith('/contact/') ? 'contact' : 'list'
  const subject = view === 'list' ? '' : decodeURIComponent(path.slice(view.length + 2))
  // Real navigation (another view, another call or contact) moves focus to the new view's heading; a search,
  // a filter or a page of the list does not, so the search box keeps the focus while you type and submit.
  const navigated = shown !== null && (shown.view !== view || shown.subject !== subject)
  shown = { view, subject }
  const focusedBefore = document.activeElement
  const task = view === 'call' ? showCall(subject, params) : view === 'contact' ? showContact(subject) : showList(params)
  task
    .catch((err) => { if (err.message !== 'login needed') showBanner('Something went wrong on this page. Reload it and try again.') })
    .finally(() => {
      if (gen !== generation) return
      const active = document.activeElement
      // Navigation: only if nothing else took the focus meanwhile. Within the list: only when what had the
      // focus is gone (the "Older calls" or "Newest" button hides on the last or first page).
      const untouched = active === focusedBefore || active === document.body || !visible(active)
      const lost = (active === document.body && focusedBefore !== document.body) || (active !== document.body && !visible(active))
      if (navigated ? untouched : lost) {
        headings[view].focus({ preventScroll: true })
        window.scrollTo(0, 0)
      }
    })
}

window.addEventListener('hashchange', route)
route()
