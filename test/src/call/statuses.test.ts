import t from 'tap'
import { isTerminalCallStatus, TERMINAL_CALL_STATUSES } from '../../../src/call/statuses.ts'

t.test('the terminal call statuses are Twilio\'s five final CallStatus values', async (t) => {
  t.same([...TERMINAL_CALL_STATUSES].sort(), ['busy', 'canceled', 'completed', 'failed', 'no-answer'])
  for (const s of TERMINAL_CALL_STATUSES) t.ok(isTerminalCallStatus(s), s)
  for (const s of ['queued', 'initiated', 'ringing', 'in-progress', '', 'Completed']) t.notOk(isTerminalCallStatus(s), `"${s}" is not terminal`)
})
