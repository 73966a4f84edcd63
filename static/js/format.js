/** Formatting for people: phone numbers (optionally masked), durations, labels. Pure; no DOM. */

// Country calling codes with 1 or 2 digits; everything else in E.164 uses 3.
const CC1 = new Set(['1', '7'])
const CC2 = new Set(['20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49',
  '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86',
  '90', '91', '92', '93', '94', '95', '98'])

/**
 * +14155550123 → "+1 415 555 0123"; masked → "+1 ••• ••• 0123". Anything that isn't E.164
 * (a SIP or client identity) is returned as it is; an empty value reads "Unknown number".
 * @param {string|null|undefined} value
 * @param {boolean} [masked]
 */
export function formatPhone (value, masked = false) {
  if (!value) return 'Unknown number'
  if (!/^\+\d{7,15}$/.test(value)) return value
  const digits = value.slice(1)
  const ccLen = CC1.has(digits[0]) ? 1 : CC2.has(digits.slice(0, 2)) ? 2 : 3
  const cc = digits.slice(0, ccLen)
  const rest = digits.slice(ccLen)
  const groups = cc === '1' && rest.length === 10
    ? [rest.slice(0, 3), rest.slice(3, 6), rest.slice(6)]
    : groupDigits(rest)
  const shown = masked ? groups.map((g, i) => i === groups.length - 1 ? g : '•'.repeat(g.length)) : groups
  return `+${cc} ${shown.join(' ')}`
}

function groupDigits (rest) {
  const groups = []
  let i = 0
  while (rest.length - i > 4) {
    groups.push(rest.slice(i, i + 3))
    i += 3
  }
  groups.push(rest.slice(i))
  return groups
}

/** 75_000 → "1:15"; 3_725_000 → "1:02:05". */
export function formatDuration (ms) {
  const total = Math.max(0, Math.floor((ms ?? 0) / 1000))
  const s = total % 60
  const m = Math.floor(total / 60) % 60
  const hr = Math.floor(total / 3600)
  const ss = String(s).padStart(2, '0')
  return hr > 0 ? `${hr}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** Who a speaker is, from the dashboard user's point of view. */
export function speakerLabel (speaker, direction) {
  if (speaker === 'operator') return 'You'
  if (speaker === 'agent') return 'Agent'
  return direction === 'outbound' ? 'Contact' : 'Caller'
}

export const AI_LABELS = { ready: 'AI ready', connecting: 'AI connecting', degraded: 'AI degraded', off: 'AI off', refused: 'AI: config refused' }

/** The AI status pill text for a call. */
export function aiLabel (call) {
  if (call.aiStatus === 'refused') return `AI: config refused — ${call.aiDetail ?? 'see the server log'}`
  if (call.aiStatus) return AI_LABELS[call.aiStatus] ?? `AI ${call.aiStatus}`
  if (call.aiEnabled === false) return 'AI off'
  return 'AI pending'
}

export const AGENT_LABELS = { listening: 'Listening', thinking: 'Thinking', speaking: 'Speaking' }

/** "Inbound · Assist" */
export function callKind (call) {
  const dir = call.direction === 'outbound' ? 'Outbound' : call.direction === 'inbound' ? 'Inbound' : 'Call'
  const mode = call.mode === 'agent' ? 'Agent' : call.mode === 'assist' ? 'Assist' : null
  return mode === null ? dir : `${dir} · ${mode}`
}

/** Why a call ended, in words. */
export function endLabel (reason) {
  const words = {
    stop: 'Ended',
    closed: 'Ended',
    completed: 'Ended',
    shutdown: 'Server restarted',
    rejected: 'Stream rejected',
    busy: 'Busy',
    failed: 'Failed',
    'no-answer': 'No answer',
    canceled: 'Canceled',
    stale: 'Lost contact',
    lost: 'Ended (server restarted)',
    interrupted: 'Interrupted (server restarted)',
  }
  return words[reason] ?? 'Ended'
}
