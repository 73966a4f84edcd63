/** TurnHistory: turns kept in conversation order (previous_item_id), whatever order their transcripts finish in. */
import t from 'tap'
import type { ConversationItem, RealtimeServerEvent } from '../../../src/ai/events.ts'
import { TurnHistory } from '../../../src/ai/turn-history.ts'

let seq = 0
const eid = (): string => `event_${++seq}`

/** Server events as the SDK types them (tsc checks every field). */
const ev = {
  committed: (itemId: string, previous: string | null): RealtimeServerEvent =>
    ({ type: 'input_audio_buffer.committed', event_id: eid(), item_id: itemId, previous_item_id: previous }),
  added: (item: ConversationItem, previous: string | null): RealtimeServerEvent =>
    ({ type: 'conversation.item.added', event_id: eid(), item, previous_item_id: previous }),
  heard: (itemId: string, transcript: string): RealtimeServerEvent =>
    ({ type: 'conversation.item.input_audio_transcription.completed', event_id: eid(), item_id: itemId, content_index: 0, transcript, usage: { type: 'duration', seconds: 1 } }),
  unheard: (itemId: string): RealtimeServerEvent =>
    ({ type: 'conversation.item.input_audio_transcription.failed', event_id: eid(), item_id: itemId, content_index: 0, error: { type: 'transcription_error', code: 'audio_unintelligible', message: 'no' } }),
  said: (itemId: string, transcript: string): RealtimeServerEvent =>
    ({ type: 'response.output_audio_transcript.done', event_id: eid(), response_id: 'resp_1', item_id: itemId, output_index: 0, content_index: 0, transcript }),
  responseDone: (status: 'completed' | 'cancelled', ...itemIds: string[]): RealtimeServerEvent =>
    ({ type: 'response.done', event_id: eid(), response: { id: 'resp_1', object: 'realtime.response', status, output: itemIds.map((id) => assistant(id)) } }),
}

const assistant = (id: string): ConversationItem => ({ id, object: 'realtime.item', type: 'message', role: 'assistant', status: 'in_progress', content: [] })
const userAudio = (id: string): ConversationItem => ({ id, object: 'realtime.item', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio' }] })

/** One exchange as the API sends it by default: VAD commits the caller's item, then answers at once. */
function exchange (h: TurnHistory, user: string, answer: string, previous: string | null, active = true): void {
  h.observe(ev.committed(user, previous), active)
  h.observe(ev.added(userAudio(user), previous), active)
  h.observe(ev.added(assistant(answer), user), active)
}

const render = (h: TurnHistory): string[] => h.turns().map((turn) => `${turn.role}: ${turn.text}`)

t.test('the answer\'s transcript finishing first does not put it before the question', async (t) => {
  const h = new TurnHistory(50)
  h.observe(ev.added(assistant('g'), null), true)
  h.observe(ev.said('g', 'Hello!'), true)
  exchange(h, 'u1', 'a1', 'g')
  h.observe(ev.said('a1', 'Sure, what is the new address?'), true)
  t.same(render(h), ['assistant: Hello!', 'assistant: Sure, what is the new address?'], 'the pending question is not a turn yet')
  t.equal(h.pending, 1)
  h.observe(ev.heard('u1', ' I need to change my address. '), true)
  t.same(render(h), ['assistant: Hello!', 'user: I need to change my address.', 'assistant: Sure, what is the new address?'])
  t.equal(h.pending, 0)
})

t.test('an item goes after its previous_item_id, even when it is announced later', async (t) => {
  const h = new TurnHistory(50)
  h.observe(ev.committed('u1', null), true)
  h.observe(ev.committed('u2', 'u1'), true)
  h.observe(ev.added(assistant('a1'), 'u1'), true) // inserted between u1 and u2
  h.observe(ev.heard('u2', 'two'), true)
  h.observe(ev.said('a1', 'one-answer'), true)
  h.observe(ev.heard('u1', 'one'), true)
  t.same(render(h), ['user: one', 'assistant: one-answer', 'user: two'])
})

t.test('null or an untracked previous_item_id appends (re-injected text, tool items, the fake\'s null)', async (t) => {
  const h = new TurnHistory(50)
  h.observe(ev.committed('u1', 'item_reinjected'), true)
  h.observe(ev.added(assistant('a1'), null), true)
  h.observe(ev.committed('u2', 'call_output'), true)
  h.observe(ev.heard('u2', 'c'), true)
  h.observe(ev.said('a1', 'b'), true)
  h.observe(ev.heard('u1', 'a'), true)
  t.same(render(h), ['user: a', 'assistant: b', 'user: c'])
})

t.test('re-injected text items echoed back by the new session are not recorded again', async (t) => {
  const h = new TurnHistory(50)
  h.observe(ev.added({ id: 'x1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello!' }] }, null), true)
  h.observe(ev.added({ id: 'x2', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }, 'x1'), true)
  h.observe(ev.added({ id: 'x3', type: 'function_call', call_id: 'c', name: 'end_call', arguments: '{}' }, 'x2'), true)
  t.equal(h.pending, 0)
  t.same(h.turns(), [])
})

t.test('a failed, empty or never-finished transcript leaves no turn and no slot', async (t) => {
  const h = new TurnHistory(50)
  exchange(h, 'u1', 'a1', null)
  h.observe(ev.unheard('u1'), true)
  h.observe(ev.said('a1', 'Sorry, could you repeat that?'), true)
  exchange(h, 'u2', 'a2', 'a1')
  h.observe(ev.heard('u2', '   '), true)
  // a2 was cancelled before any transcript came; response.done closes it
  h.observe(ev.responseDone('cancelled', 'a2'), true)
  t.equal(h.pending, 0)
  t.same(render(h), ['assistant: Sorry, could you repeat that?'])
  h.observe(ev.heard('u1', 'late'), true) // a completion after a failure is a transcript with no slot: appended
  t.same(render(h), ['assistant: Sorry, could you repeat that?', 'user: late'])
})

t.test('a repeated completion does not overwrite the turn; response.done keeps filled turns', async (t) => {
  const h = new TurnHistory(50)
  exchange(h, 'u1', 'a1', null)
  h.observe(ev.heard('u1', 'first'), true)
  h.observe(ev.heard('u1', 'second'), true)
  h.observe(ev.said('a1', 'answer'), true)
  h.observe(ev.responseDone('completed', 'a1'), true)
  t.same(render(h), ['user: first', 'assistant: answer'])
})

t.test('a retired session: its responses are not recorded, the caller\'s speech still is', async (t) => {
  const h = new TurnHistory(50)
  exchange(h, 'u1', 'a1', null, false)
  h.observe(ev.said('a1', 'from the old session'), false)
  h.observe(ev.heard('u1', 'still heard'), false)
  t.same(render(h), ['user: still heard'])
})

t.test('sessionReplaced: a reconnect drops every pending slot, a roll-over keeps the caller\'s', async (t) => {
  const rollover = new TurnHistory(50)
  exchange(rollover, 'u1', 'a1', null)
  rollover.sessionReplaced(false)
  t.equal(rollover.pending, 1, 'the caller\'s transcription may still arrive on the old session')
  rollover.observe(ev.said('a1', 'too late'), false)
  rollover.observe(ev.heard('u1', 'question'), false)
  t.same(render(rollover), ['user: question'])

  const reconnect = new TurnHistory(50)
  reconnect.observe(ev.committed('u0', null), true)
  reconnect.observe(ev.heard('u0', 'kept'), true)
  exchange(reconnect, 'u1', 'a1', 'u0')
  reconnect.sessionReplaced(true)
  t.equal(reconnect.pending, 0, 'the dead session sends nothing more')
  t.same(render(reconnect), ['user: kept'])
})

t.test('bounded: the oldest slots go first', async (t) => {
  const h = new TurnHistory(3)
  let previous: string | null = null
  for (let i = 1; i <= 5; i++) {
    h.observe(ev.committed(`u${i}`, previous), true)
    h.observe(ev.heard(`u${i}`, `turn ${i}`), true)
    previous = `u${i}`
  }
  t.same(render(h), ['user: turn 3', 'user: turn 4', 'user: turn 5'])
  for (let i = 6; i <= 9; i++) h.observe(ev.heard(`x${i}`, `unannounced ${i}`), true)
  t.equal(h.turns().length, 3)
  t.same(render(h).at(-1), 'user: unannounced 9')
})
