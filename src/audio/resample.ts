/** Down-mixing and sample-rate conversion: windowed-sinc low-pass, then linear interpolation. */

/** Averages the channels into one. */
export function downmix (channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]
  const n = channels[0]?.length ?? 0
  const out = new Float32Array(n)
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i]
  const k = 1 / channels.length
  for (let i = 0; i < n; i++) out[i] *= k
  return out
}

/**
 * Blackman-windowed sinc low-pass taps (odd length, unity DC gain). `cutoff` is a fraction of
 * the input sample rate; `transition` the width of the roll-off, also as a fraction.
 */
export function lowPassTaps (cutoff: number, transition: number): Float32Array {
  // Blackman's transition width is about 5.5 / N (normalised); cap N so huge ratios stay cheap.
  let n = Math.min(1023, Math.ceil(5.5 / transition))
  if ((n & 1) === 0) n++
  const taps = new Float32Array(n)
  const mid = (n - 1) / 2
  let sum = 0
  for (let i = 0; i < n; i++) {
    const x = i - mid
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x)
    const w = 0.42 - 0.5 * Math.cos(2 * Math.PI * i / (n - 1)) + 0.08 * Math.cos(4 * Math.PI * i / (n - 1))
    taps[i] = sinc * w
    sum += taps[i]
  }
  for (let i = 0; i < n; i++) taps[i] /= sum
  return taps
}

/**
 * Converts `input` from `fromRate` to `toRate`. Downsampling first low-passes at 0.45·toRate
 * (3.6 kHz for telephone audio) so content above the new Nyquist does not alias; the filter is
 * zero-phase and evaluated only where the interpolation needs it, so the output stays
 * time-aligned with the input and costs O(output × taps).
 */
export function resample (input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input
  const ratio = fromRate / toRate
  const outLength = Math.floor(input.length / ratio)
  const out = new Float32Array(outLength)
  const n = input.length
  const at = (i: number): number => input[i < 0 ? 0 : i >= n ? n - 1 : i]
  let sample: (i: number) => number = at
  if (ratio > 1) {
    const taps = lowPassTaps(0.45 / ratio, 0.1 / ratio)
    const half = (taps.length - 1) / 2
    sample = (i) => {
      let acc = 0
      if (i - half >= 0 && i + half < n) {
        for (let k = 0, j = i - half; k < taps.length; k++, j++) acc += taps[k] * input[j]
      } else {
        for (let k = 0; k < taps.length; k++) acc += taps[k] * at(i - half + k)
      }
      return acc
    }
  }
  for (let i = 0; i < outLength; i++) {
    const pos = i * ratio
    const i0 = Math.floor(pos)
    const frac = pos - i0
    const a = sample(i0)
    out[i] = frac === 0 ? a : a + (sample(i0 + 1) - a) * frac
  }
  return out
}
