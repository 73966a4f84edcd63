/** Which way a transcription session's turns end: the server's VAD, or TalkHint committing each one (the model decides). */

export const TRANSCRIBE_TURNS = ['server_vad', 'semantic_vad', 'client'] as const
export type TranscribeTurns = typeof TRANSCRIBE_TURNS[number]

/**
 * Transcription models that take no turn detection: the session must have `turn_detection: null`
 * and the client commits each turn. The SDK's JSDoc says so for `gpt-realtime-whisper`; OpenAI's
 * VAD guide (developers.openai.com/api/docs/guides/realtime-vad, English page) also names
 * `gpt-live-transcribe` ⚠️ (its Markdown copy names only whisper). Both read as client here: a
 * model that does take VAD works with client commits too, the other way round is refused.
 * Dated snapshots (`…-2026-…`) follow their family.
 */
const CLIENT_COMMIT_MODELS: readonly string[] = ['gpt-realtime-whisper', 'gpt-live-transcribe']

/** True when `model` needs `turn_detection: null` and client commits. */
export function needsClientTurns (model: string): boolean {
  return CLIENT_COMMIT_MODELS.some((m) => model === m || model.startsWith(`${m}-`))
}

/**
 * The turn mode of an assist transcription session: `TRANSCRIBE_TURNS` when set, else the model's
 * (client for the models above, else the VAD type of `TURN_DETECTION`).
 */
export function transcribeTurns (config: { readonly transcribeModel: string, readonly transcribeTurns?: TranscribeTurns | undefined, readonly turnDetection: 'server_vad' | 'semantic_vad' }): TranscribeTurns {
  if (config.transcribeTurns !== undefined) return config.transcribeTurns
  return needsClientTurns(config.transcribeModel) ? 'client' : config.turnDetection
}

/** How TalkHint ends utterances itself in client mode (all in ms of audio). */
export interface ClientTurnConfig {
  /** Quiet after speech that ends the utterance (TURN_SILENCE_MS). */
  readonly turnSilenceMs: number
  /** Shorter speech is cleared from the buffer, never committed (TURN_MIN_MS; the API refuses a commit under 100 ms). */
  readonly turnMinMs: number
  /** Longer speech is committed here and the rest becomes the next utterance (TURN_MAX_MS). */
  readonly turnMaxMs: number
}
