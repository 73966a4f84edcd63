/** Call controls (hang up, take over from the agent, AI off), the handoff's progress and briefing, and callbacks taken. */
import { byId, h, setText } from '../dom.js'
import { formatPhone } from '../format.js'

const STAGES = {
  started: 'Handing the call to a person…',
  briefed: 'Handing the call to a person: the briefing is ready.',
  ringing: 'Ringing the operator…',
  joined: 'The operator is on the call.',
  returned: 'Nobody answered: the caller is back with the AI agent.',
  completed: 'The operator finished the call.',
}
const DIAL = { 'no-answer': 'no answer', busy: 'busy', failed: 'the call failed', canceled: 'cancelled' }

const ACTIONS = {
  hangup: { confirm: 'Hang up this call for everyone on it?', done: 'Hanging up…' },
  'take-over': { confirm: 'Take over from the AI agent? It stops now and the call is put through to the operator phone with a briefing.', done: 'Putting the call through to the operator…' },
  'ai-off': { confirm: 'Turn the AI off for the rest of this call? Transcripts and hints stop; the call goes on.', done: 'AI turned off for this call.' },
}

/**
 * Renders into the #controls card of the selected call. Every action asks to confirm, posts to
 * /api/calls/:sid/<action>, and shows the server's answer in plain words (e.g. no Twilio credentials).
 * @param {{ onUnauthorized: () => void }} opts
 */
export function createControls (opts) {
  const el = {
    box: byId('controls'),
    hangup: byId('ctl-hangup'),
    takeOver: byId('ctl-take-over'),
    aiOff: byId('ctl-ai-off'),
    msg: byId('ctl-msg'),
    handoff: byId('handoff'),
    stage: byId('handoff-stage'),
    briefing: byId('handoff-briefing'),
    callbacks: byId('callbacks'),
  }
  const state = { call: null, busy: false, masked: false, shownFor: null }

  const say = (text, kind = 'info') => {
    el.msg.textContent = text
    el.msg.dataset.kind = kind
  }

  const act = async (action) => {
    const call = state.call
    if (call === null || state.busy) return
    if (!window.confirm(ACTIONS[action].confirm)) return
    state.busy = true
    say('…')
    try {
      const res = await fetch(`/api/calls/${encodeURIComponent(call.callSid)}/${action}`, { method: 'POST', headers: { accept: 'application/json' } })
      if (res.status === 401) return opts.onUnauthorized()
      const body = await res.json().catch(() => ({}))
      if (res.ok) say(ACTIONS[action].done)
      else say(body.message ?? `That did not work (HTTP ${res.status}).`, 'error')
    } catch {
      say('The server could not be reached. Check your connection and try again.', 'error')
    } finally {
      state.busy = false
    }
  }
  el.hangup.addEventListener('click', () => { act('hangup') })
  el.takeOver.addEventListener('click', () => { act('take-over') })
  el.aiOff.addEventListener('click', () => { act('ai-off') })

  return {
    /** @param {any} call @param {boolean} masked */
    show (call, masked) {
      state.call = call
      state.masked = masked
      if (call === null) { el.box.hidden = true; return }
      if (state.shownFor !== call.callSid) { say(''); state.shownFor = call.callSid }
      const live = call.phase !== 'ended'
      el.box.hidden = false
      el.hangup.hidden = !live
      const handingOff = call.handoff !== null && call.handoff !== undefined && !['returned', 'completed'].includes(call.handoff.stage)
      el.takeOver.hidden = !live || call.mode !== 'agent' || handingOff
      el.aiOff.hidden = !live || call.mode !== 'assist' || call.streamSid === null || call.aiStatus === 'off'
      const hf = call.handoff ?? null
      el.handoff.hidden = hf === null
      if (hf !== null) {
        const dial = hf.dialStatus && DIAL[hf.dialStatus] ? ` (${DIAL[hf.dialStatus]})` : ''
        setText(el.stage, (STAGES[hf.stage] ?? hf.stage) + dial)
        setText(el.briefing, hf.briefing ? `Briefing: ${hf.briefing}` : '')
        el.briefing.hidden = !hf.briefing
      }
      const tasks = call.callbacks ?? []
      el.callbacks.hidden = tasks.length === 0
      el.callbacks.replaceChildren(...tasks.map((t) => h('li', { className: 'callback' }, [
        h('strong', { text: 'Call back ' }),
        `${t.name || 'the caller'} on ${formatPhone(t.callbackNumber, state.masked) || 'their number'}: ${t.reason}`,
      ])))
      el.box.hidden = !live && hf === null && tasks.length === 0
    },
  }
}
