/**
 * Call history and contacts (hash routes): #/ the call list with search and pages, #/call/<sid>
 * one call (transcript, hints, summary), #/contact/<phone> a contact's timeline, notes and WhatsApp.
 * Every caller-controlled string goes into the page through textContent only (strict CSP, Trusted Types).
 */
import { byId, h } from './js/dom.js'
import { callKind, endLabel, formatDuration, formatPhone, speakerLabel, AI_LABELS } from './js/format.js'

const views = { list: byId('list-view'), call: byId('call-view'), contact: byId('contact-view') }
const banner = byId('banner')
let generation = 0

/** fetch + JSON; a lost session goes back to the login page. */
async function api (path, init = {}) {
  const res = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
  })
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

/** Shows a failed answer: the server's own message when it has one. */
function failure (res, what) {
  return res.body?.message ?? `Could not load ${what} (HTTP ${res.status}).`
}

function show (name) {
  for (const [k, el] of Object.entries(views)) el.hidden = k !== name
  showBanner('')
}

const when = (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const who = (call) => call.contactName || formatPhone(call.contactPhone ?? (call.direction === 'outbound' ? call.to : call.from))
const contactHref = (phone) => `#/contact/${encodeURIComponent(phone)}`
const callHref = (sid) => `#/call/${encodeURIComponent(sid)}`
const lengthText = (call) => call.durationS === null || call.durationS === undefined ? '—' : formatDuration(call.durationS * 1000)
const statusText = (call) => call.status === null ? (call.endedAt ? 'Ended' : 'In progress') : call.status === 'completed' ? 'Completed' : endLabel(call.status)

// ---- list -------------------------------------------------------------------------------------

const form = byId('search')
form.addEventListener('submit', (ev) => {
  ev.preventDefault()
  const params = new URLSearchParams()
  for (const name of ['q', 'phone', 'since', 'until']) {
    const v = form.elements.namedItem(name).value.trim()
    if (v !== '') params.set(name, v)
  }
  window.location.hash = `#/?${params}`
})

async function showList (params) {
  show('list')
  const gen = generation
  for (const name of ['q', 'phone', 'since', 'until']) form.elements.namedItem(name).value = params.get(name) ?? ''
  const msg = byId('search-msg')
  msg.textContent = ''
  delete msg.dataset.kind
  const res = await api(`/api/calls?${params}&limit=25`)
  if (gen !== generation) return
  const tbody = byId('calls')
  tbody.replaceChildren()
  if (!res.ok) {
    msg.textContent = failure(res, 'calls')
    msg.dataset.kind = 'error'
    return
  }
  for (const call of res.body.calls) tbody.append(callRow(call))
  byId('no-calls').hidden = res.body.calls.length > 0
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

function callRow (call) {
  const said = call.match !== undefined
    ? h('span', {}, [h('span', { className: 'meta', text: `${speakerLabel(call.match.speaker, call.direction)} at ${formatDuration(call.match.startMs)}: ` }), call.match.text])
    : h('span', { text: call.summary ?? `${call.utteranceCount} line${call.utteranceCount === 1 ? '' : 's'}` })
  const phone = call.contactPhone
  return h('tr', {}, [
    h('td', {}, [h('a', { text: when(call.createdAt), attrs: { href: callHref(call.callSid) } })]),
    h('td', {}, [phone ? h('a', { text: who(call), attrs: { href: contactHref(phone) } }) : who(call)]),
    h('td', {}, [callKind(call), h('br'), h('span', { className: 'meta', text: statusText(call) }), ...(call.outcome ? [' ', h('span', { className: 'pill', text: OUTCOMES[call.outcome] ?? call.outcome })] : [])]),
    h('td', { text: lengthText(call) }),
    h('td', {}, [said]),
  ])
}

// ---- one call ---------------------------------------------------------------------------------

async function showCall (sid) {
  show('call')
  const gen = generation
  const res = await api(`/api/calls/${encodeURIComponent(sid)}`)
  if (gen !== generation) return
  if (!res.ok) return showBanner(failure(res, 'this call'))
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
    if (r.ok) return showCall(sid)
    summarize.disabled = false
    showBanner(failure(r, 'a summary'))
  }
  byId('call-summary').hidden = summary === null
  if (summary !== null) {
    byId('summary-text').textContent = summary.summary
    byId('summary-intent').textContent = summary.intent ? `Intent: ${summary.intent}` : ''
    byId('summary-items').replaceChildren(...summary.actionItems.map((item) => h('li', { text: item })))
  }
  byId('call-hints').replaceChildren(...hints.map((hint) => h('li', { className: hint.superseded ? 'hint superseded' : 'hint' }, [
    h('p', { className: 'hint-text', text: hint.text }),
    h('p', { className: 'hint-meta', text: new Date(hint.at).toLocaleTimeString() + (hint.superseded ? ' · superseded' : '') }),
  ])))
  byId('no-hints').hidden = hints.length > 0
  byId('call-transcript').replaceChildren(...utterances.map((u) => h('li', { className: `line ${u.speaker} final` }, [
    h('div', { className: 'line-head' }, [
      h('span', { className: 'who', text: speakerLabel(u.speaker, call.direction) }),
      h('time', { className: 'at', text: formatDuration(u.startMs) }),
    ]),
    h('p', { className: 'text', text: u.text }),
  ])))
  byId('no-lines').hidden = utterances.length > 0
}

// ---- one contact ------------------------------------------------------------------------------

let contactPhone = ''

async function showContact (phone) {
  show('contact')
  const gen = generation
  contactPhone = phone
  byId('contact-msg').textContent = ''
  byId('contact-calls').setAttribute('href', `#/?${new URLSearchParams({ phone })}`)
  const res = await api(`/api/contacts/${encodeURIComponent(phone)}`)
  if (gen !== generation) return
  if (res.status === 404) return renderContact({ phone, name: null, notes: null }, [])
  if (!res.ok) return showBanner(failure(res, 'this contact'))
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
      h('a', { text: call.summary ?? `${lengthText(call)} · ${call.utteranceCount} lines · ${statusText(call)}`, attrs: { href: callHref(call.callSid) } }),
    ]),
  ])
}

function messageEntry (m) {
  const mine = m.direction === 'outbound'
  const media = m.numMedia > 0 ? ` [${m.numMedia} attachment${m.numMedia === 1 ? '' : 's'}]` : ''
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
  const msg = byId('contact-msg')
  const res = await api(`/api/contacts/${encodeURIComponent(contactPhone)}`, {
    method: 'PATCH',
    body: JSON.stringify({ name: byId('contact-name').value, notes: byId('contact-notes').value }),
  })
  msg.dataset.kind = res.ok ? 'ok' : 'error'
  msg.textContent = res.ok ? 'Saved.' : failure(res, 'the contact')
  if (res.ok) byId('contact-h').textContent = res.body.contact.name || formatPhone(res.body.contact.phone)
})

byId('wa-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const input = byId('wa-body')
  const msg = byId('wa-msg')
  if (input.value.trim() === '') return
  const res = await api('/api/whatsapp/send', { method: 'POST', body: JSON.stringify({ to: contactPhone, body: input.value }) })
  msg.dataset.kind = res.ok ? 'ok' : 'error'
  msg.textContent = res.ok ? 'Sent.' : failure(res, 'the message')
  if (res.ok) input.value = ''
  // The attempt (sent, or refused and marked failed) shows in the timeline once it is stored.
  setTimeout(() => { if (contactPhone !== '') showContact(contactPhone) }, 300)
})

// ---- router -----------------------------------------------------------------------------------

function route () {
  generation++
  const hash = window.location.hash.slice(1) || '/'
  const q = hash.indexOf('?')
  const path = q === -1 ? hash : hash.slice(0, q)
  const params = new URLSearchParams(q === -1 ? '' : hash.slice(q + 1))
  const task = path.startsWith('/call/')
    ? showCall(decodeURIComponent(path.slice('/call/'.length)))
    : path.startsWith('/contact/')
      ? showContact(decodeURIComponent(path.slice('/contact/'.length)))
      : showList(params)
  task.catch((err) => showBanner(`Something went wrong: ${err.message}`))
  byId('main').focus({ preventScroll: true })
}

window.addEventListener('hashchange', route)
route()
