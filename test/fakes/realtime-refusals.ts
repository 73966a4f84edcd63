/** Test hook for the fake Realtime API: answer a session.update with the API's `error` (and no `session.updated`) by a rule. */
/*
 * The API refuses a session.update it cannot take (an unknown voice, a turn_detection the model does
 * not take) with an `error` event naming the `param`, sends no `session.updated`, and keeps the session
 * open (PROTOCOL.md E). The fake (realtime-server.ts) validates shapes only; this hook adds value rules
 * per test without changing it: every connection the fake accepts from now on has its `session.updated`
 * replaced by the rule's error. `unknownVoice` is the rule for the voices the installed SDK lists.
 */
import type { FakeRealtimeConnection, FakeRealtimeServer } from './realtime-server.ts'

type Json = Record<string, unknown>
export interface Refusal { readonly code: string, readonly message: string, readonly param: string }
/** Given the session as it would be after the update, the refusal, or undefined to accept. */
export type RefusalRule = (session: Json, conn: FakeRealtimeConnection) => Refusal | undefined

/** `RealtimeAudioConfigOutput.voice` in openai 7.57.0 (resources/realtime/realtime.d.ts). */
export const SDK_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const

export const unknownVoice: RefusalRule = (session) => {
  const audio = session.audio as { output?: { voice?: unknown } } | undefined
  const voice = audio?.output?.voice
  if (voice === undefined || (SDK_VOICES as readonly unknown[]).includes(voice)) return undefined
  return {
    code: 'invalid_value',
    message: `Invalid value: '${String(voice)}'. Supported values are: ${SDK_VOICES.map((v) => `'${v}'`).join(', ')}.`,
    param: 'session.audio.output.voice',
  }
}

/** Applies `rule` to the session.updated answers of every connection accepted after this call. */
export function refuseSessionUpdates (fake: FakeRealtimeServer, rule: RefusalRule): void {
  const connections = fake.connections
  const push = connections.push.bind(connections)
  connections.push = (...added: FakeRealtimeConnection[]): number => {
    for (const conn of added) {
      const send = conn.send.bind(conn)
      conn.send = (event: Json): void => {
        const refusal = event.type === 'session.updated' ? rule(event.session as Json, conn) : undefined
        if (refusal === undefined) return send(event)
        conn.errors.push({ type: 'invalid_request_error', ...refusal, event_id: null })
        send({ type: 'error', error: { type: 'invalid_request_error', ...refusal, event_id: null } })
      }
    }
    return push(...added)
  }
}
