/** Caller context on the live call: who it is, how often they called, the last call's summary, notes you can edit. */
import { byId, setText } from '../dom.js'
import { formatPhone } from '../format.js'

const E164 = /^\+\d{7,15}$/

/**
 * Fetched with GET /api/contacts/:phone whenever a different call (or number) is shown; saved with
 * PATCH /api/contacts/:phone (JSON). Everything goes in as text (a contact's notes are typed by people).
 * @param {{ onUnauthorized: () => void }} opts
 */
export function createContext (opts) {
  const el = {
    box: byId('context'),
    name: byId('ctx-name'),
    count: byId('ctx-count'),
    link: byId('ctx-link'),
    last: byId('ctx-last'),
    notesBox: byId('ctx-notes-box'),
    preview: byId('ctx-notes-preview'),
    form: byId('ctx-form'),
    nameInput: byId('ctx-name-input'),
    notes: byId('ctx-notes'),
    save: byId('ctx-save'),
    msg: byId('ctx-msg'),
  }
  /** The call and number on screen; `contact` once loaded (null: nothing stored yet). */
  const state = { callSid: null, phone: null, contact: null, masked: false, loading: 0 }

  const showName = () => {
    const name = state.contact?.name
    setText(el.name, name || (state.phone === null ? 'Unknown caller' : formatPhone(state.phone, state.masked)))
    setText(el.preview, state.contact?.notes ? state.contact.notes : '')
  }

  const say = (text, kind) => {
    el.msg.textContent = text
    el.msg.dataset.kind = kind
  }

  async function load (token) {
    const phone = state.phone
    if (phone === null) return
    let res
    try {
      res = await fetch(`/api/contacts/${encodeURIComponent(phone)}`, { headers: { accept: 'application/json' } })
    } catch {
      if (token === state.loading) setText(el.count, 'History unavailable (no connection)')
      return
    }
    if (token !== state.loading) return // another call was shown meanwhile
    if (res.status === 401) return opts.onUnauthorized()
    const body = await res.json().catch(() => ({}))
    if (token !== state.loading) return
    if (res.status === 404) return fill({ phone, name: null, notes: null }, [])
    if (!res.ok) return setText(el.count, body.message ?? 'History unavailable right now')
    fill(body.contact, Array.isArray(body.timeline) ? body.timeline : [])
  }

  function fill (contact, timeline) {
    state.contact = contact
    // The timeline includes the call on screen once storage has it: past calls are the others.
    const past = timeline.filter((e) => e.kind === 'call' && e.call?.callSid !== state.callSid).map((e) => e.call)
    setText(el.count, past.length === 0 ? 'First call' : past.length === 1 ? '1 earlier call' : `${past.length} earlier calls`)
    const last = past[0]
    el.last.hidden = last === undefined
    if (last !== undefined) setText(el.last, `Last call: ${last.summary ? last.summary : 'no summary was written.'}`)
    el.nameInput.value = contact.name ?? ''
    el.notes.value = contact.notes ?? ''
    showName()
  }

  el.form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const phone = state.phone
    if (phone === null) return
    el.save.disabled = true
    say('Saving…', 'info')
    try {
      const res = await fetch(`/api/contacts/${encodeURIComponent(phone)}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ name: el.nameInput.value, notes: el.notes.value }),
      })
      if (res.status === 401) return opts.onUnauthorized()
      const body = await res.json().catch(() => ({}))
      if (!res.ok) return say(body.message ?? `Could not save (HTTP ${res.status}).`, 'error')
      if (phone !== state.phone) return
      state.contact = body.contact
      showName()
      say('Saved.', 'ok')
    } catch {
      say('Could not reach the server. Your text is still here; try again.', 'error')
    } finally {
      el.save.disabled = false
    }
  })

  return {
    /** Shows `call`'s contact; fetches only when the call or its number changed. */
    show (call, masked) {
      const phone = E164.test(call.remote ?? '') ? call.remote : null
      state.masked = masked
      if (call.callSid === state.callSid && phone === state.phone) return showName()
      Object.assign(state, { callSid: call.callSid, phone, contact: null, loading: state.loading + 1 })
      el.box.dataset.known = String(phone !== null)
      setText(el.count, phone === null ? 'No number to look up' : 'Looking up…')
      el.last.hidden = true
      el.notesBox.hidden = phone === null
      el.notesBox.open = false
      el.link.hidden = phone === null
      if (phone !== null) el.link.setAttribute('href', `/history.html#/contact/${encodeURIComponent(phone)}`)
      el.nameInput.value = ''
      el.notes.value = ''
      say('', 'info')
      showName()
      load(state.loading)
    },
  }
}
