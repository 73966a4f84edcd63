/** Twilio's terminal call statuses: the one list the hub, the engines, the drain and storage all read. */

/** Twilio CallStatus values after which the call is over and nothing changes; late callbacks never overwrite them. */
export const TERMINAL_CALL_STATUSES = ['completed', 'busy', 'failed', 'no-answer', 'canceled'] as const
export type TerminalCallStatus = typeof TERMINAL_CALL_STATUSES[number]

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_CALL_STATUSES)

/** Whether this Twilio CallStatus ends the call. */
export function isTerminalCallStatus (status: string): status is TerminalCallStatus {
  return TERMINAL.has(status)
}
