import t from 'tap'
import { readFileSync } from 'node:fs'
import { mulawToPcm16Wav, wavToMulaw8k } from '../../../src/audio/convert.ts'
import { MULAW_TO_LINEAR, decodeMulaw, encodeMulaw } from '../../../src/audio/mulaw.ts'
import { encodeWav, mulawWav, parseWav, WavError, type WavEncoding } from '../../../src/audio/wav.ts'
import { FIXTURES } from '../../../tools/sim/audio.ts'

const sine = (rate: number, hz: number, seconds: number, amp = 0.5, sign = 1): Float32Array => {
  const out = new Float32Array(Math.round(rate * seconds))
  for (let i = 0; i < out.length; i++) out[i] = sign * amp * Math.sin(2 * Math.PI * hz * i / rate)
  return out
}

/** Largest deviation of decoded 8 kHz μ-law from the expected sine, away from the edges. */
const sineError = (mulaw: Uint8Array, hz: number, amp: number): number => {
  const pcm = decodeMulaw(mulaw)
  let worst = 0
  for (let i = 50; i < pcm.length - 50; i++) {
    worst = Math.max(worst, Math.abs(pcm[i] / 32768 - amp * Math.sin(2 * Math.PI * hz * i / 8000)))
  }
  return worst
}
const rms = (mulaw: Uint8Array): number => {
  const pcm = decodeMulaw(mulaw)
  let s = 0
  for (let i = 50; i < pcm.length - 50; i++) s += (pcm[i] / 32768) ** 2
  return Math.sqrt(s / (pcm.length - 100))
}

t.test('converts common WAV formats to 8 kHz mono μ-law, keeping duration and waveform', async (t) => {
  const cases: Array<{ name: string, encoding: WavEncoding, bits?: number, rate: number, stereo?: boolean }> = [
    { name: '16-bit 44.1 kHz stereo', encoding: 'pcm', bits: 16, rate: 44100, stereo: true },
    { name: '8-bit 8 kHz mono', encoding: 'pcm', bits: 8, rate: 8000 },
    { name: '24-bit 48 kHz mono', encoding: 'pcm', bits: 24, rate: 48000 },
    { name: '32-bit int 16 kHz stereo', encoding: 'pcm', bits: 32, rate: 16000, stereo: true },
    { name: 'float32 22.05 kHz mono', encoding: 'float', bits: 32, rate: 22050 },
    { name: 'float64 8 kHz mono', encoding: 'float', bits: 64, rate: 8000 },
    { name: 'μ-law 16 kHz mono', encoding: 'mulaw', rate: 16000 },
    { name: 'A-law 8 kHz mono', encoding: 'alaw', rate: 8000 },
    { name: '16-bit 6 kHz mono (upsampled)', encoding: 'pcm', bits: 16, rate: 6000 },
  ]
  for (const c of cases) {
    const tone = sine(c.rate, 440, 0.5)
    const wav = encodeWav({ encoding: c.encoding, bitsPerSample: c.bits, sampleRate: c.rate, channelData: c.stereo === true ? [tone, tone] : [tone] })
    const { mulaw, source } = wavToMulaw8k(wav)
    t.equal(source.sampleRate, c.rate, `${c.name}: rate read`)
    t.equal(source.channels, c.stereo === true ? 2 : 1, `${c.name}: channels read`)
    t.ok(Math.abs(mulaw.length - 4000) <= 2, `${c.name}: 0.5 s → ~4000 samples (got ${mulaw.length})`)
    // μ-law is ~2 % at this level; 8-bit PCM and A-law add their own quantisation.
    const err = sineError(mulaw, 440, 0.5)
    t.ok(err < 0.035, `${c.name}: waveform within tolerance (max error ${err.toFixed(4)})`)
  }
})

t.test('low-passes before downsampling, so content above 4 kHz does not alias', async (t) => {
  // 6 kHz at 44.1 kHz would fold to 2 kHz at 8 kHz if decimated without a filter.
  const { mulaw } = wavToMulaw8k(encodeWav({ encoding: 'pcm', sampleRate: 44100, channelData: [sine(44100, 6000, 0.5)] }))
  t.ok(rms(mulaw) < 0.01, `6 kHz tone is filtered out (rms ${rms(mulaw).toFixed(4)})`)
  // A 3 kHz tone (inside the telephone band) survives at about full level.
  const { mulaw: kept } = wavToMulaw8k(encodeWav({ encoding: 'pcm', sampleRate: 44100, channelData: [sine(44100, 3000, 0.5)] }))
  t.ok(Math.abs(rms(kept) - 0.5 / Math.SQRT2) < 0.02, `3 kHz tone passes (rms ${rms(kept).toFixed(4)})`)
})

t.test('down-mixes stereo by averaging the channels', async (t) => {
  const left = sine(8000, 440, 0.25)
  const silentRight = new Float32Array(left.length)
  t.ok(sineError(wavToMulaw8k(encodeWav({ encoding: 'pcm', sampleRate: 8000, channelData: [left, silentRight] })).mulaw, 440, 0.25) < 0.02, 'L + silence → half level')
  const inverted = sine(8000, 440, 0.25, 0.5, -1)
  t.ok(rms(wavToMulaw8k(encodeWav({ encoding: 'pcm', sampleRate: 8000, channelData: [left, inverted] })).mulaw) < 0.002, 'L + −L → silence')
})

t.test('an 8 kHz mono μ-law WAV passes through byte for byte', async (t) => {
  const bytes = encodeMulaw(Int16Array.from({ length: 800 }, (_, i) => Math.round(8000 * Math.sin(i / 5))))
  const { mulaw } = wavToMulaw8k(mulawWav(bytes))
  t.same([...mulaw], [...bytes])
})

t.test('reads what real tools write: extra chunks, pad bytes, streamed sizes, WAVE_FORMAT_EXTENSIBLE', async (t) => {
  const base = encodeWav({ encoding: 'pcm', sampleRate: 8000, channelData: [sine(8000, 440, 0.1)] })
  const fmt = base.subarray(12, 36)
  const data = base.subarray(36)
  const chunk = (id: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8)
    head.write(id, 0, 'latin1')
    head.writeUInt32LE(body.length, 4)
    return Buffer.concat([head, body, Buffer.alloc(body.length & 1)])
  }
  const riff = (...parts: Buffer[]): Buffer => {
    const body = Buffer.concat([Buffer.from('WAVE'), ...parts])
    const head = Buffer.alloc(8)
    head.write('RIFF', 0, 'latin1')
    head.writeUInt32LE(body.length, 4)
    return Buffer.concat([head, body])
  }
  const withList = riff(chunk('LIST', Buffer.from('INFOabc')), fmt, chunk('fact', Buffer.alloc(4)), data)
  t.equal(parseWav(withList).frames, 800, 'LIST (odd size, padded) and fact chunks skipped')
  const streamed = Buffer.from(riff(fmt, data))
  streamed.writeUInt32LE(0xffffffff, streamed.length - data.length + 4)
  t.equal(parseWav(streamed).frames, 800, 'data size 0xFFFFFFFF means to the end of the file')

  // WAVE_FORMAT_EXTENSIBLE: tag 0xFFFE, the real tag (3 = float) in the SubFormat GUID.
  const ext = Buffer.alloc(8 + 40)
  ext.write('fmt ', 0, 'latin1')
  ext.writeUInt32LE(40, 4)
  ext.writeUInt16LE(0xfffe, 8)
  ext.writeUInt16LE(1, 10)
  ext.writeUInt32LE(8000, 12)
  ext.writeUInt32LE(32000, 16)
  ext.writeUInt16LE(4, 20)
  ext.writeUInt16LE(32, 22)
  ext.writeUInt16LE(22, 24)
  ext.writeUInt16LE(32, 26)
  ext.writeUInt16LE(3, 32)
  const floats = Buffer.alloc(16)
  for (let i = 0; i < 4; i++) floats.writeFloatLE([0, 0.5, -0.5, 0.25][i], i * 4)
  const parsed = parseWav(riff(ext, chunk('data', floats)))
  t.equal(parsed.encoding, 'float')
  t.same([...parsed.channelData[0]], [0, 0.5, -0.5, 0.25])
})

t.test('rejects what it cannot read, saying why', async (t) => {
  t.throws(() => parseWav(Buffer.from('ID3 this is an mp3')), WavError)
  t.throws(() => parseWav(Buffer.from('RIFF\x04\x00\x00\x00WAVE')), { message: /no fmt chunk/ })
  const adpcm = encodeWav({ encoding: 'pcm', sampleRate: 8000, channelData: [new Float32Array(10)] })
  adpcm.writeUInt16LE(2, 20)
  t.throws(() => parseWav(adpcm), { message: /unsupported WAV encoding \(format tag 0x2\)/ })
  const noData = encodeWav({ encoding: 'pcm', sampleRate: 8000, channelData: [new Float32Array(0)] }).subarray(0, 36)
  t.throws(() => parseWav(noData), { message: /no data chunk/ })
})

t.test('server audio → 16-bit PCM WAV decodes each μ-law byte exactly', async (t) => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
  const wav = parseWav(mulawToPcm16Wav(bytes))
  t.match(wav, { encoding: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16, frames: 256 })
  t.same([...wav.channelData[0]].map((x) => Math.round(x * 32768)), [...MULAW_TO_LINEAR])
})

t.test('the shipped fixtures are short, small, spoken 8 kHz mono 16-bit WAVs', async (t) => {
  for (const path of [FIXTURES.caller, FIXTURES.operator]) {
    const file = readFileSync(path)
    const wav = parseWav(file)
    t.match(wav, { encoding: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16 }, path)
    t.ok(file.length < 100_000, `${path} is under 100 KB`)
    t.ok(wav.durationMs > 2000 && wav.durationMs < 10_000, `${path} lasts a few seconds`)
    t.ok(rms(wavToMulaw8k(file).mulaw) > 0.02, `${path} is not silence`)
  }
})
