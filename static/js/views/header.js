/** The selected call's header: who, kind, ticking duration, phase, AI and agent state, meters, talk ratio. */
import { byId, setText } from '../dom.js'
import { AGENT_LABELS, aiLabel, callKind, endLabel, formatPhone, speakerLabel } from '../format.js'
import { durationText } from './calls.js'

export function createHeader () {
  const el = {
    remote: byId('c-remote'),
    kind: byId('c-kind'),
    duration: byId('c-duration'),
    phase: byId('c-phase'),
    ai: byId('c-ai'),
    agent: byId('c-agent'),
    mRemote: byId('m-remote'),
    mLocal: byId('m-local'),
    mRemoteLabel: byId('m-remote-label'),
    mLocalLabel: byId('m-local-label'),
    tRemote: byId('t-remote'),
    tLocal: byId('t-local'),
    tLabel: byId('t-label'),
    error: byId('c-error'),
  }
  return {
    /** Everything but the meters (which change at 5 Hz). */
    render (call, ctx) {
      setText(el.remote, formatPhone(call.remote, ctx.masked))
      setText(el.kind, callKind(call))
      this.tick(call, ctx.now)
      el.phase.dataset.phase = call.phase
      setText(el.phase, call.phase === 'ended' ? endLabel(call.endReason) : call.phase === 'ringing' ? 'Ringing' : 'Live')
      el.ai.dataset.ai = call.aiStatus ?? (call.aiEnabled === false ? 'off' : 'pending')
      setText(el.ai, aiLabel(call))
      el.ai.title = call.aiDetail ?? ''
      const agent = call.mode === 'agent' && call.phase !== 'ended' && call.agentState !== null
      el.agent.hidden = !agent
      if (agent) {
        el.agent.dataset.state = call.agentState
        setText(el.agent, `Agent ${AGENT_LABELS[call.agentState]?.toLowerCase() ?? call.agentState}`)
      }
      const local = call.mode === 'agent' ? 'agent' : 'operator'
      setText(el.mRemoteLabel, speakerLabel('remote', call.direction))
      setText(el.mLocalLabel, speakerLabel(local, call.direction))
      this.talk(call)
      const err = call.errors[call.errors.length - 1]
      el.error.hidden = err === undefined
      if (err !== undefined) setText(el.error, err.message)
      this.levels(call)
    },
    tick (call, now) {
      setText(el.duration, durationText(call, now))
    },
    levels (call) {
      // CSSOM custom properties are allowed under the CSP (no inline style attributes).
      el.mRemote.style.setProperty('--level', String(call.levels.remote))
      el.mLocal.style.setProperty('--level', String(call.levels.local))
      // Agent mode streams only the caller's track; the agent's meter follows its speaking state instead.
      el.mLocal.dataset.speaking = String(call.mode === 'agent' && call.agentState === 'speaking')
    },
    talk (call) {
      const t = call.talkMs
      const local = call.mode === 'agent' ? t.agent + t.operator : t.operator + t.agent
      const total = t.remote + local
      const share = total === 0 ? 0.5 : t.remote / total
      el.tRemote.style.setProperty('--share', String(share))
      el.tLocal.style.setProperty('--share', String(1 - share))
      const who = speakerLabel('remote', call.direction)
      setText(el.tLabel, total === 0 ? 'No speech yet' : `${who} ${Math.round(share * 100)}% · ${speakerLabel(call.mode === 'agent' ? 'agent' : 'operator', call.direction)} ${Math.round((1 - share) * 100)}%`)
    },
  }
}
