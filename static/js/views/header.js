/** The selected call's header: who, kind, ticking duration, phase, AI and agent state, meters, talk ratio. */
import { byId, setText } from '../dom.js'
import { AGENT_LABELS, aiLabel, callKind, formatPhone, speakerLabel } from '../format.js'
import { durationText, phaseOf, statusLabel } from './calls.js'

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
    mRemoteMeter: byId('m-remote-meter'),
    mLocalMeter: byId('m-local-meter'),
    tBar: byId('t-bar'),
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
      el.phase.dataset.phase = phaseOf(call)
      setText(el.phase, statusLabel(call, { masked: ctx.masked }))
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
      setAttr(el.mRemoteMeter, 'aria-label', levelLabel('remote', call.direction))
      setAttr(el.mLocalMeter, 'aria-label', levelLabel(local, call.direction))
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
      setAttr(el.mRemoteMeter, 'aria-valuenow', String(percent(call.levels.remote)))
      setAttr(el.mLocalMeter, 'aria-valuenow', String(percent(call.levels.local)))
      // The agent's meter is measured too (on the audio sent for it, src/call/sent-level.ts); only its color differs.
      el.mLocal.dataset.party = call.mode === 'agent' ? 'agent' : 'operator'
      // The agent's talk time grows with the audio sent for it, which audio.levels carries.
      this.talk(call)
    },
    talk (call) {
      const t = call.talkMs
      const total = t.remote + t.agent + t.operator
      // Nothing to compare until someone has spoken: no bar, just the empty state.
      el.tBar.hidden = total === 0
      // Once the bar shows, its aria-valuetext says the same as this text: read it once.
      setAttr(el.tLabel, 'aria-hidden', String(total > 0))
      if (total === 0) return setText(el.tLabel, 'No speech yet')
      const share = t.remote / total
      const remotePct = Math.round(share * 100)
      el.tRemote.style.setProperty('--share', String(share))
      el.tLocal.style.setProperty('--share', String(1 - share))
      const text = `${speakerLabel('remote', call.direction)} ${remotePct}% · ${speakerLabel(call.mode === 'agent' ? 'agent' : 'operator', call.direction)} ${100 - remotePct}%`
      setText(el.tLabel, text)
      setAttr(el.tBar, 'aria-valuenow', String(remotePct))
      setAttr(el.tBar, 'aria-valuetext', text)
    },
  }
}

/** "Caller level", "Your level", "Agent level": what a level meter is called for assistive tech. */
function levelLabel (speaker, direction) {
  return speaker === 'operator' ? 'Your level' : `${speakerLabel(speaker, direction)} level`
}

/** 0..1 → 0..100, for aria-valuenow. */
function percent (level) {
  return Math.round(Math.min(1, Math.max(0, Number(level) || 0)) * 100)
}

/** Sets an attribute only when it changed (the meters update at 5 Hz). */
function setAttr (el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value)
}
