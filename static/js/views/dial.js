/** "Call a number": POST /api/calls (a copilot call, or an AI agent call with a purpose), with the API's own error message shown. */
import { byId } from '../dom.js'

/**
 * @param {{ onStarted: (callSid: string, to: string) => void, onUnauthorized: () => void }} opts
 * @returns {{ ended: (callSid: string) => void }}
 */
export function setupDial (opts) {
  const form = byId('dial')
  const input = byId('dial-to')
  const button = byId('dial-go')
  const msg = byId('dial-msg')
  const mode = byId('dial-mode')
  const purpose = byId('dial-purpose')
  const idleCopilot = msg.textContent
  const idleAgent = 'The AI calls the number; a person gets the agent, an answering machine a short voicemail.'
  let idle = idleCopilot
  mode.addEventListener('change', () => {
    const agent = mode.value === 'agent'
    byId('dial-purpose-row').hidden = !agent
    idle = agent ? idleAgent : idleCopilot
    say(idle, 'info')
  })
  /** The call this form placed while its "Ringing…" message is up. */
  let ringing = null
  const say = (text, kind) => {
    ringing = null
    msg.textContent = text
    msg.dataset.kind = kind
    input.setAttribute('aria-invalid', kind === 'error' ? 'true' : 'false')
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const to = input.value.trim()
    if (to === '') {
      say('Enter a number in international form, like +14155550100.', 'error')
      input.focus()
      return
    }
    const agent = mode.value === 'agent'
    if (agent && purpose.value.trim() === '') {
      say('Say what the AI should do on this call (the purpose).', 'error')
      purpose.focus()
      return
    }
    button.disabled = true
    say('Placing the call…', 'info')
    try {
      const res = await fetch('/api/calls', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(agent ? { to, mode: 'agent', purpose: purpose.value.trim() } : { to }),
      })
      if (res.status === 401) return opts.onUnauthorized()
      const body = await res.json().catch(() => ({}))
      if (!res.ok) {
        say(body.message ?? `The call could not be placed (HTTP ${res.status}).`, 'error')
        input.focus()
        return
      }
      say(agent ? 'The AI is calling now. Follow it in the live list.' : 'Ringing your phone now. Answer it and we connect you.', 'ok')
      input.value = ''
      if (agent) purpose.value = ''
      if (typeof body.callSid === 'string') {
        ringing = body.callSid
        opts.onStarted(body.callSid, to)
      }
    } catch {
      say('Could not reach the server. Check your connection and try again.', 'error')
    } finally {
      button.disabled = false
    }
  })
  return {
    /** A call ended: if it is the one we said was ringing, the message goes back to the form's hint. */
    ended (callSid) {
      if (ringing !== callSid) return
      say(idle, 'info')
    },
  }
}
