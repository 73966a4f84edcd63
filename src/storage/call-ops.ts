/** Which write each call event implies (pure): the recorder's mapping from the bus to the store. */
import { isE164 } from '../config.ts'
import type { CallEvent, Direction } from '../call/events.ts'
import { isTerminalCallStatus } from '../call/statuses.ts'
import type { WriteOp } from './store.ts'

/** The remote party of a call, when it is a phone number. */
export function contactOf (direction: Direction, from: string, to: string): string | undefined {
  const phone = direction === 'inbound' ? from : to
  return isE164(phone) ? phone : undefined
}

const nonEmpty = (v: string): string | undefined => v === '' ? undefined : v

/** The write a call event implies, if any (pure). */
export function opForEvent (e: CallEvent): WriteOp | undefined {
  const base = { callSid: e.callSid, at: e.at }
  switch (e.type) {
    case 'call.webhook':
    case 'call.started':
      return {
        op: 'call',
        ...base,
        patch: {
          direction: e.direction,
          from: nonEmpty(e.from),
          to: nonEmpty(e.to),
          contactPhone: contactOf(e.direction, e.from, e.to),
          mode: e.mode,
          ...(e.type === 'call.webhook' ? (e.ai ? {} : { aiStatus: 'off' }) : { startedAt: e.startedAt }),
          ...(e.type === 'call.webhook' && e.purpose !== undefined ? { purpose: e.purpose } : {}),
        },
      }
    case 'call.placed':
      return {
        op: 'call',
        ...base,
        patch: { direction: e.direction, from: nonEmpty(e.from), to: nonEmpty(e.to), contactPhone: contactOf(e.direction, e.from, e.to), mode: e.mode, purpose: e.purpose },
      }
    case 'call.outcome':
      return { op: 'call', ...base, patch: { outcome: e.outcome } }
    case 'call.status':
      return { op: 'call', ...base, patch: { status: e.status, durationS: e.duration, endedAt: isTerminalCallStatus(e.status) ? e.at : undefined } }
    case 'ai.status':
      return { op: 'call', ...base, patch: { aiStatus: e.status } }
    case 'call.stopped':
      return { op: 'call', ...base, patch: { endedAt: e.at, streamMs: e.durationMs } }
    case 'transcript.final':
      if (e.text.trim() === '') return undefined
      return { op: 'utterance', ...base, itemId: e.itemId, speaker: e.speaker, text: e.text, startMs: e.startMs, endMs: e.endMs }
    case 'hint.done':
      if (e.text.trim() === '') return undefined
      return { op: 'hint', ...base, hintId: e.hintId, itemId: e.itemId, text: e.text, superseded: e.superseded, ...(e.playbookId !== undefined ? { playbookId: e.playbookId } : {}) }
    case 'callback.requested':
      return { op: 'callback', ...base, taskId: e.taskId, contactPhone: isE164(e.caller) ? e.caller : isE164(e.callbackNumber) ? e.callbackNumber : null, name: e.name, callbackNumber: e.callbackNumber, reason: e.reason }
    case 'call.summary':
      return { op: 'summary', ...base, summary: e.summary, intent: e.intent, actionItems: e.actionItems }
    default:
      return undefined
  }
}
