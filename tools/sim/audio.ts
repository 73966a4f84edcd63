/** Audio for a simulated call: WAV files → 20 ms base64 μ-law frames, ready to send. */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { wavToMulaw8k } from '../../src/audio/convert.ts'
import { MULAW_BYTES_PER_MS, MULAW_SILENCE } from '../../src/audio/mulaw.ts'
import { SimError } from './types.ts'

/** Twilio sends about 20 ms per media message (160 μ-law bytes); docs/protocol.md A2 notes it is observed, not documented. */
export const FRAME_MS = 20
export const FRAME_BYTES = FRAME_MS * MULAW_BYTES_PER_MS
/** One frame of μ-law silence (0xFF), base64: what a quiet line sounds like. */
export const SILENCE_FRAME_B64 = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE).toString('base64')

/** The spoken fixtures shipped with the repo (made by tools/make-fixtures.sh). */
export const FIXTURES = {
  caller: fileURLToPath(new URL('./fixtures/caller.wav', import.meta.url)),
  operator: fileURLToPath(new URL('./fixtures/operator.wav', import.meta.url)),
} as const

/** A WAV file path, the bytes of a WAV file, or raw 8 kHz μ-law. */
export type AudioInput = string | Uint8Array | { readonly mulaw: Uint8Array }

export interface TrackAudio {
  /** Base64 payloads, one per 20 ms; the last frame is padded with silence. */
  readonly frames: readonly string[]
  readonly ms: number
  /** Where it came from and what it was, for the log. */
  readonly label: string
}

/** Splits 8 kHz μ-law into base64 frames once, so the sender does no work per frame. */
export function framesFromMulaw (mulaw: Uint8Array): string[] {
  const frames: string[] = []
  for (let off = 0; off < mulaw.length; off += FRAME_BYTES) {
    const chunk = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE)
    chunk.set(mulaw.subarray(off, off + FRAME_BYTES))
    frames.push(chunk.toString('base64'))
  }
  return frames
}

/** Loads and converts one track's audio; throws `SimError('BAD_AUDIO')` naming the file and the fault. */
export async function loadTrackAudio (input: AudioInput): Promise<TrackAudio> {
  if (typeof input === 'object' && 'mulaw' in input) {
    return { frames: framesFromMulaw(input.mulaw), ms: input.mulaw.length / MULAW_BYTES_PER_MS, label: 'raw μ-law' }
  }
  const name = typeof input === 'string' ? input : 'WAV bytes'
  let bytes: Uint8Array
  try {
    bytes = typeof input === 'string' ? await readFile(input) : input
  } catch (err) {
    throw new SimError('BAD_AUDIO', `cannot read audio file ${name}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const { mulaw, source } = wavToMulaw8k(bytes)
    const s = source
    return {
      frames: framesFromMulaw(mulaw),
      ms: mulaw.length / MULAW_BYTES_PER_MS,
      label: `${name} (${s.sampleRate} Hz ${s.channels === 1 ? 'mono' : s.channels === 2 ? 'stereo' : `${s.channels} ch`} ${s.bitsPerSample}-bit ${s.encoding}, ${(s.durationMs / 1000).toFixed(1)} s)`,
    }
  } catch (err) {
    throw new SimError('BAD_AUDIO', `cannot use ${name} as call audio: ${(err as Error).message}`, { cause: err })
  }
}
