/** Any common WAV → what Twilio carries (8 kHz mono μ-law), and Twilio audio → a playable WAV. */
import { decodeMulaw, linearToMulaw } from './mulaw.ts'
import { downmix, resample } from './resample.ts'
import { parseWav, wrapWav, type DecodedWav } from './wav.ts'

export const TWILIO_SAMPLE_RATE = 8000

export interface ConvertedAudio {
  /** 8 kHz mono μ-law bytes. */
  readonly mulaw: Buffer
  /** What the file was, for logs ("44100 Hz stereo 16-bit pcm"). */
  readonly source: Pick<DecodedWav, 'encoding' | 'sampleRate' | 'channels' | 'bitsPerSample' | 'durationMs'>
}

/** Converts a WAV file to 8 kHz mono μ-law. An 8 kHz mono μ-law file passes through byte for byte. */
export function wavToMulaw8k (file: Uint8Array): ConvertedAudio {
  const wav = parseWav(file)
  const source = { encoding: wav.encoding, sampleRate: wav.sampleRate, channels: wav.channels, bitsPerSample: wav.bitsPerSample, durationMs: wav.durationMs }
  if (wav.encoding === 'mulaw' && wav.channels === 1 && wav.sampleRate === TWILIO_SAMPLE_RATE) {
    return { mulaw: Buffer.from(wav.data), source }
  }
  const mono = resample(downmix(wav.channelData), wav.sampleRate, TWILIO_SAMPLE_RATE)
  const out = Buffer.allocUnsafe(mono.length)
  for (let i = 0; i < mono.length; i++) {
    const x = mono[i]
    out[i] = linearToMulaw((x > 1 ? 1 : x < -1 ? -1 : x) * 32767)
  }
  return { mulaw: out, source }
}

/** 8 kHz μ-law bytes → a 16-bit PCM WAV (plays everywhere, unlike μ-law WAVs in some players). */
export function mulawToPcm16Wav (mulaw: Uint8Array): Buffer {
  const pcm = decodeMulaw(mulaw)
  const bytes = Buffer.alloc(pcm.length * 2)
  for (let i = 0; i < pcm.length; i++) bytes.writeInt16LE(pcm[i], i * 2)
  return wrapWav('pcm', 16, TWILIO_SAMPLE_RATE, 1, bytes)
}
