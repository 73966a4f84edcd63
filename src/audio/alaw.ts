/** G.711 A-law: decode table and encoder (A-law WAVs are common in telephony recordings). */

/** A-law byte → 16-bit linear sample (ITU-T G.711). */
export const ALAW_TO_LINEAR: Int16Array = (() => {
  const table = new Int16Array(256)
  for (let i = 0; i < 256; i++) {
    const a = i ^ 0x55
    const exponent = (a >> 4) & 0x07
    const mantissa = a & 0x0f
    let sample = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1)
    if ((a & 0x80) === 0) sample = -sample
    table[i] = sample
  }
  return table
})()

/** 16-bit linear sample → A-law byte. */
export function linearToAlaw (sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)))
  const sign = s >= 0 ? 0x80 : 0
  if (s < 0) s = -s - 1
  let exponent = 7
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  const mantissa = exponent === 0 ? (s >> 4) & 0x0f : (s >> (exponent + 3)) & 0x0f
  return (sign | (exponent << 4) | mantissa) ^ 0x55
}
