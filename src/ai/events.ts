/** Typed OpenAI Realtime (GA) events in and out, and the exact session.update each mode sends. */
import type {
  ConversationItem,
  InputAudioBufferAppendEvent,
  RealtimeClientEvent,
  RealtimeFunctionTool,
  RealtimeServerEvent,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime'
import type { Config } from '../config.ts'
import { transcribeTurns } from './turn-modes.ts'

export type { ConversationItem, RealtimeClientEvent, RealtimeServerEvent }

// GA shapes only (docs/protocol.md C): `audio.input/output.format` objects, `output_modalities`,
// `session.type`. The beta names (input_audio_format, top-level voice, modalities) are refused
// by the GA API.

/** Where a connection goes: a model session (agent) or a transcription-only session (assist). */
export type RealtimeTarget = { readonly model: string } | { readonly intent: 'transcription' }

export type SessionConfig = Pick<Config, 'realtimeModel' | 'transcribeModel' | 'voice' | 'agentInstructions' | 'turnDetection' | 'language'> &
  Partial<Pick<Config, 'transcribeTurns'>>

const PCMU = { type: 'audio/pcmu' } as const

/** The append event's type and audio field, checked against the SDK's type (tsc fails if either is renamed). */
const APPEND_TYPE = 'input_audio_buffer.append' satisfies InputAudioBufferAppendEvent['type']
const APPEND_AUDIO: keyof InputAudioBufferAppendEvent & 'audio' = 'audio'
/** μ-law passes through untouched: the append event is built by concatenation (base64 needs no JSON escaping). */
export const APPEND_PREFIX = `{"type":"${APPEND_TYPE}","${APPEND_AUDIO}":"`
export const APPEND_SUFFIX = '"}'

function transcription (config: SessionConfig): { model: string, language?: string } {
  return { model: config.transcribeModel, ...(config.language !== undefined ? { language: config.language } : {}) }
}

/**
 * Server VAD defaults from OpenAI's Twilio example; semantic VAD picks its own timing. A
 * transcription session never answers, so it gets no create/interrupt flags at all (as in
 * OpenAI's transcription guide) rather than `false` ones the API might not expect there.
 */
function turnDetection (config: SessionConfig, respond: boolean, type: 'server_vad' | 'semantic_vad' = config.turnDetection) {
  const flags = respond ? { create_response: true, interrupt_response: true } : {}
  return type === 'semantic_vad'
    ? { type: 'semantic_vad' as const, eagerness: 'auto' as const, ...flags }
    : { type: 'server_vad' as const, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, ...flags }
}

/**
 * Assist: one transcription-only session per track (`?intent=transcription`, no model in the URL).
 * In client mode (src/ai/turn-modes.ts) `turn_detection` is `null`: TalkHint commits each turn.
 */
export function transcriptionSessionUpdate (config: SessionConfig): SessionUpdateEvent {
  const turns = transcribeTurns(config)
  return {
    type: 'session.update',
    session: {
      type: 'transcription',
      audio: {
        input: {
          format: PCMU,
          noise_reduction: { type: 'near_field' },
          transcription: transcription(config),
          turn_detection: turns === 'client' ? null : turnDetection(config, false, turns),
        },
      },
    },
  }
}

/** What the voice agent may do besides talking: hang up, hand over to a person, take a message for a callback. */
export const AGENT_TOOLS: RealtimeFunctionTool[] = [
  {
    type: 'function',
    name: 'end_call',
    description: 'Ends the phone call. Call it when the caller is done or asks to hang up. Do not say goodbye first: ' +
      'after you call it you will be asked to say a short goodbye, then the line is hung up.',
    parameters: { type: 'object', properties: { reason: { type: 'string', description: 'Why the call ends, in a few words.' } }, additionalProperties: false },
  },
  {
    type: 'function',
    name: 'transfer_to_operator',
    description: 'Transfers the caller to a human operator. Call it when the caller asks for a person or you cannot help. ' +
      'Say one short sentence that you are transferring them before calling it.',
    parameters: { type: 'object', properties: { reason: { type: 'string', description: 'Why the caller needs a person.' } }, additionalProperties: false },
  },
  {
    type: 'function',
    name: 'take_message',
    description: 'Records a message so that a person calls the caller back. Call it when nobody is free to take the call, ' +
      'or the caller asks to be called back, once you know their name, the number to call back and what it is about.',
    parameters: {
      type: 'object',
      properties: {
        name: { type: 'string', description: "The caller's name, as they said it." },
        callback_number: { type: 'string', description: 'The number to call back, as the caller gave it; empty to use the number they are calling from.' },
        reason: { type: 'string', description: 'What the callback is about, in one sentence.' },
      },
      required: ['name', 'reason'],
      additionalProperties: false,
    },
  },
]

/** A note the agent keeps in the conversation (why it is speaking now, what to do next): a system message item. */
export function systemNoteEvent (text: string): RealtimeClientEvent {
  return { type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text }] } }
}

/** Agent: one model session, μ-law both ways, VAD that answers and can be interrupted. */
export function agentSessionUpdate (config: SessionConfig): SessionUpdateEvent {
  return {
    type: 'session.update',
    session: {
      type: 'realtime',
      model: config.realtimeModel,
      instructions: config.agentInstructions,
      output_modalities: ['audio'],
      audio: {
        input: {
          format: PCMU,
          noise_reduction: { type: 'near_field' },
          transcription: transcription(config),
          turn_detection: turnDetection(config, true),
        },
        output: { format: PCMU, voice: config.voice },
      },
      tools: AGENT_TOOLS,
      tool_choice: 'auto',
    },
  }
}

/** Asks the model to speak the configured greeting (once per call, never again after a reconnect). */
export function greetingEvent (greeting: string): RealtimeClientEvent {
  return {
    type: 'response.create',
    response: { instructions: `Greet the caller now. Say exactly this and nothing else: "${greeting}"` },
  }
}

/** One turn of the conversation so far, as re-injected into a fresh session. */
export interface Turn { readonly role: 'user' | 'assistant', readonly text: string }

/** conversation.item.create events that rebuild the transcript in a new session (reconnect, roll-over). */
export function historyEvents (turns: readonly Turn[]): RealtimeClientEvent[] {
  return turns.map((turn): RealtimeClientEvent => ({
    type: 'conversation.item.create',
    item: turn.role === 'user'
      ? { type: 'message', role: 'user', content: [{ type: 'input_text', text: turn.text }] }
      : { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: turn.text }] },
  }))
}

/** The result of a tool call, then (optionally) a request to speak about it. */
export function toolOutputEvent (callId: string, output: Record<string, unknown>): RealtimeClientEvent {
  return { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: JSON.stringify(output) } }
}

export function speakEvent (instructions: string): RealtimeClientEvent {
  return { type: 'response.create', response: { instructions, tool_choice: 'none' } }
}

/** Error codes after which this session cannot go on and a new one is needed. */
export const SESSION_ENDING_ERRORS: ReadonlySet<string> = new Set(['session_expired'])
