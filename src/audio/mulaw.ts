/** G.711 μ-law: decode/encode tables, silence, and a cheap loudness measure for level meters. */

/** μ-law byte for digital silence (what OpenAI's Twilio transport pads gaps with). */
export const MULAW_SILENCE = 0xff
/** Twilio media is 8 kHz μ-law: 8 bytes per millisecond. */
export const MULAW_BYTES_PER_MS = 8

/** μ-law byte → 16-bit linear sample. */
export const MULAW_TO_LINEAR: Int16Array = (() => {
  const table = new Int16Array(256)
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff
    const sign = u & 0x80
    const exponent = (u >> 4) & 0x07
    const mantissa = u & 0x0f
    let sample = ((mantissa << 3) + 0x84) << exponent
    sample -= 0x84
    table[i] = sign !== 0 ? -sample : sample
  }
  return table
})()

const BIAS = 0x84
const CLIP = 32635

/** 16-bit linear sample → μ-law byte. */
export function linearToMulaw (sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)))
  const sign = s < 0 ? 0x80 : 0
  if (s < 0) s = -s
  if (s > CLIP) s = CLIP
  s += BIAS
  let exponent = 7
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  const mantissa = (s >> (exponent + 3)) & 0x0f
  return ~(sign | (exponent << 4) | mantissa) & 0xff
}

/** Encodes linear samples as μ-law bytes. */
export function encodeMulaw (samples: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(samples.length)
  for (let i = 0; i < samples.length; i++) out[i] = linearToMulaw(samples[i])
  return out
}

/** Decodes μ-law bytes to linear samples. */
export function decodeMulaw (bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) out[i] = MULAW_TO_LINEAR[bytes[i]]
  return out
}

/** `ms` milliseconds of μ-law silence. */
export function mulawSilence (ms: number): Buffer {
  return Buffer.alloc(Math.max(0, Math.round(ms)) * MULAW_BYTES_PER_MS, MULAW_SILENCE)
}

/** Mean square of the first `n` μ-law bytes as linear samples (no allocation: for per-frame checks). */
export function mulawMeanSquare (bytes: Uint8Array, n: number = bytes.length): number {
  if (n <= 0) return 0
  let sum = 0
  for (let i = 0; i < n; i++) {
    const v = MULAW_TO_LINEAR[bytes[i] as number] as number
    sum += v * v
  }
  return sum / n
}

/** RMS loudness of a base64 μ-law frame, 0..1 on a rough log scale (for meters, ~5 Hz). */
export function mulawLevel (payloadB64: string): number {
  const bytes = Buffer.from(payloadB64, 'base64')
  if (bytes.length === 0) return 0
  let sum = 0
  for (let i = 0; i < bytes.length; i++) {
    const v = MULAW_TO_LINEAR[bytes[i]]
    sum += v * v
  }
  const rms = Math.sqrt(sum / bytes.length)
  if (rms < 1) return 0
  // Map 20·log10(rms/32768) from [-60 dB, 0 dB] to [0, 1].
  const db = 20 * Math.log10(rms / 32768)
  return Math.max(0, Math.min(1, (db + 60) / 60))
}
