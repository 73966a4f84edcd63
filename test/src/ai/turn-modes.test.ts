/** The turn-mode table and its settings: which models get client commits, what TRANSCRIBE_TURNS overrides, the bounds. */
import t from 'tap'
import { transcriptionSessionUpdate } from '../../../src/ai/events.ts'
import { needsClientTurns, transcribeTurns } from '../../../src/ai/turn-modes.ts'
import { ConfigError } from '../../../src/config.ts'
import { testConfig } from '../../helpers.ts'

t.test('models without VAD (and their snapshots) get client turns; others follow TURN_DETECTION', async (t) => {
  for (const m of ['gpt-realtime-whisper', 'gpt-live-transcribe', 'gpt-live-transcribe-2026-10-01']) t.ok(needsClientTurns(m), m)
  for (const m of ['gpt-4o-transcribe', 'gpt-transcribe', 'whisper-1', 'gpt-realtime-whisperx']) t.notOk(needsClientTurns(m), m)
  t.equal(transcribeTurns(testConfig({ TRANSCRIBE_MODEL: 'gpt-realtime-whisper' })), 'client')
  t.equal(transcribeTurns(testConfig({ TRANSCRIBE_MODEL: 'gpt-transcribe' })), 'server_vad')
  t.equal(transcribeTurns(testConfig({ TRANSCRIBE_MODEL: 'gpt-transcribe', TURN_DETECTION: 'semantic_vad' })), 'semantic_vad')
  t.equal(transcribeTurns(testConfig({ TRANSCRIBE_MODEL: 'gpt-transcribe', TRANSCRIBE_TURNS: 'client' })), 'client', 'TRANSCRIBE_TURNS wins')
  t.equal(transcribeTurns(testConfig({ TRANSCRIBE_MODEL: 'gpt-realtime-whisper', TRANSCRIBE_TURNS: 'server_vad' })), 'server_vad', 'even against the table')
})

t.test('the transcription session.update carries turn_detection null in client mode, the VAD otherwise', async (t) => {
  const client = transcriptionSessionUpdate(testConfig({ TRANSCRIBE_MODEL: 'gpt-live-transcribe' }))
  t.equal(client.session.audio?.input?.turn_detection, null)
  const semantic = transcriptionSessionUpdate(testConfig({ TRANSCRIBE_MODEL: 'gpt-transcribe', TRANSCRIBE_TURNS: 'semantic_vad' }))
  t.same(semantic.session.audio?.input?.turn_detection, { type: 'semantic_vad', eagerness: 'auto' })
})

t.test('settings: defaults and bounds', async (t) => {
  const c = testConfig()
  t.same([c.transcribeTurns, c.turnSilenceMs, c.turnMinMs, c.turnMaxMs], [undefined, 500, 200, 15_000])
  t.throws(() => testConfig({ TURN_SILENCE_MS: '250' }), ConfigError, 'under 300 ms of quiet would cut words')
  t.throws(() => testConfig({ TURN_SILENCE_MS: '700' }), ConfigError)
  t.throws(() => testConfig({ TURN_MIN_MS: '50' }), ConfigError, 'the API refuses commits under 100 ms')
  t.throws(() => testConfig({ TRANSCRIBE_TURNS: 'vad' }), /TRANSCRIBE_TURNS must be one of server_vad, semantic_vad, client/)
})
