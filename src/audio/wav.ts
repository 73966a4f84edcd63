/** WAV (RIFF) files: parse any common encoding to float samples; write PCM, float, μ-law and A-law WAVs. */
import { ALAW_TO_LINEAR, linearToAlaw } from './alaw.ts'
import { MULAW_TO_LINEAR, linearToMulaw } from './mulaw.ts'

export type WavEncoding = 'pcm' | 'float' | 'mulaw' | 'alaw'

export interface DecodedWav {
  readonly encoding: WavEncoding
  readonly sampleRate: number
  readonly channels: number
  readonly bitsPerSample: number
  /** Samples per channel. */
  readonly frames: number
  readonly durationMs: number
  /** One array per channel, samples in -1..1. */
  readonly channelData: Float32Array[]
  /** The raw bytes of the data chunk (lets 8 kHz mono μ-law files pass through untouched). */
  readonly data: Uint8Array
}

/** A file that is not a WAV we can read; `message` says what is wrong in plain words. */
export class WavError extends Error {
  readonly code = 'WAV_INVALID'
  constructor (message: string) {
    super(message)
    this.name = 'WavError'
  }
}

// WAVE format tags (mmreg.h); 0xFFFE (WAVE_FORMAT_EXTENSIBLE) carries the real tag in its SubFormat GUID.
const FORMAT_TAGS: Record<number, WavEncoding> = { 1: 'pcm', 3: 'float', 6: 'alaw', 7: 'mulaw' }
const EXTENSIBLE = 0xfffe

interface Fmt { encoding: WavEncoding, channels: number, sampleRate: number, bits: number }

function readFmt (view: DataView, off: number, size: number): Fmt {
  if (size < 16) throw new WavError('fmt chunk is too short')
  let tag = view.getUint16(off, true)
  const channels = view.getUint16(off + 2, true)
  const sampleRate = view.getUint32(off + 4, true)
  const bits = view.getUint16(off + 14, true)
  if (tag === EXTENSIBLE && size >= 40) tag = view.getUint16(off + 24, true)
  const encoding = FORMAT_TAGS[tag]
  if (encoding === undefined) throw new WavError(`unsupported WAV encoding (format tag 0x${tag.toString(16)}); use PCM, float, μ-law or A-law`)
  if (channels < 1 || channels > 32) throw new WavError(`unsupported channel count ${channels}`)
  if (sampleRate < 1000 || sampleRate > 768000) throw new WavError(`unsupported sample rate ${sampleRate} Hz`)
  const ok = encoding === 'pcm'
    ? [8, 16, 24, 32].includes(bits)
    : encoding === 'float' ? bits === 32 || bits === 64 : bits === 8
  if (!ok) throw new WavError(`unsupported ${bits}-bit ${encoding} WAV`)
  return { encoding, channels, sampleRate, bits }
}

/** Reads one sample at byte offset `o` as -1..1. */
function sampleReader (view: DataView, fmt: Fmt): (o: number) => number {
  switch (fmt.encoding) {
    case 'mulaw': return (o) => MULAW_TO_LINEAR[view.getUint8(o)] / 32768
    case 'alaw': return (o) => ALAW_TO_LINEAR[view.getUint8(o)] / 32768
    case 'float': return fmt.bits === 32 ? (o) => view.getFloat32(o, true) : (o) => view.getFloat64(o, true)
    default:
      switch (fmt.bits) {
        case 8: return (o) => (view.getUint8(o) - 128) / 128
        case 16: return (o) => view.getInt16(o, true) / 32768
        case 24: return (o) => ((view.getInt8(o + 2) << 16) | view.getUint16(o, true)) / 8388608
        default: return (o) => view.getInt32(o, true) / 2147483648
      }
  }
}

/**
 * Parses a RIFF/WAVE file. Tolerates what real tools write: extra chunks (LIST, fact, …),
 * WAVE_FORMAT_EXTENSIBLE, odd-sized chunks with a pad byte, and a data size of 0 or 0xFFFFFFFF
 * (streamed output from sox/ffmpeg), which means "to the end of the file".
 */
export function parseWav (file: Uint8Array): DecodedWav {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const tag = (o: number): string => String.fromCharCode(file[o], file[o + 1], file[o + 2], file[o + 3])
  if (file.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    throw new WavError(file.byteLength >= 4 && tag(0) === 'RIFX' ? 'big-endian (RIFX) WAV files are not supported' : 'not a WAV file (no RIFF/WAVE header)')
  }
  let fmt: Fmt | undefined
  let data: Uint8Array | undefined
  for (let off = 12; off + 8 <= file.byteLength;) {
    const id = tag(off)
    let size = view.getUint32(off + 4, true)
    const body = off + 8
    if (id === 'data') {
      if (size === 0 || size === 0xffffffff || body + size > file.byteLength) size = file.byteLength - body
      data = file.subarray(body, body + size)
      if (fmt !== undefined) break
    } else if (id === 'fmt ') {
      fmt = readFmt(view, body, size)
      if (data !== undefined) break
    }
    off = body + size + (size & 1)
  }
  if (fmt === undefined) throw new WavError('WAV file has no fmt chunk')
  if (data === undefined) throw new WavError('WAV file has no data chunk')
  const bytesPerSample = fmt.bits >> 3
  const frameBytes = bytesPerSample * fmt.channels
  const frames = Math.floor(data.byteLength / frameBytes)
  const read = sampleReader(view, fmt)
  const start = data.byteOffset - file.byteOffset
  const channelData: Float32Array[] = []
  for (let c = 0; c < fmt.channels; c++) {
    const ch = new Float32Array(frames)
    for (let i = 0, o = start + c * bytesPerSample; i < frames; i++, o += frameBytes) ch[i] = read(o)
    channelData.push(ch)
  }
  return {
    encoding: fmt.encoding,
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    bitsPerSample: fmt.bits,
    frames,
    durationMs: frames * 1000 / fmt.sampleRate,
    channelData,
    data,
  }
}

export interface EncodeWavOptions {
  readonly encoding: WavEncoding
  readonly sampleRate: number
  /** PCM: 8, 16, 24 or 32; float: 32 or 64; μ-law/A-law: 8 (the default for each is 16, 32, 8). */
  readonly bitsPerSample?: number
  /** One array per channel, samples in -1..1 (clipped). */
  readonly channelData: readonly Float32Array[]
}

/** Writes a canonical 44-byte-header WAV (plus the `cbSize` field for non-PCM formats, as the spec asks). */
export function encodeWav (opts: EncodeWavOptions): Buffer {
  const { encoding, sampleRate, channelData } = opts
  const bits = opts.bitsPerSample ?? (encoding === 'pcm' ? 16 : encoding === 'float' ? 32 : 8)
  const channels = channelData.length
  const frames = channels === 0 ? 0 : channelData[0].length
  const bytesPerSample = bits >> 3
  const fmtSize = encoding === 'pcm' ? 16 : 18
  const dataSize = frames * channels * bytesPerSample
  const header = 12 + 8 + fmtSize + 8
  const out = Buffer.alloc(header + dataSize + (dataSize & 1))
  out.write('RIFF', 0, 'latin1')
  out.writeUInt32LE(out.length - 8, 4)
  out.write('WAVEfmt ', 8, 'latin1')
  out.writeUInt32LE(fmtSize, 16)
  out.writeUInt16LE({ pcm: 1, float: 3, alaw: 6, mulaw: 7 }[encoding], 20)
  out.writeUInt16LE(channels, 22)
  out.writeUInt32LE(sampleRate, 24)
  out.writeUInt32LE(sampleRate * channels * bytesPerSample, 28)
  out.writeUInt16LE(channels * bytesPerSample, 32)
  out.writeUInt16LE(bits, 34)
  if (fmtSize === 18) out.writeUInt16LE(0, 36)
  out.write('data', header - 8, 'latin1')
  out.writeUInt32LE(dataSize, header - 4)
  const clip = (x: number): number => x > 1 ? 1 : x < -1 ? -1 : x
  let o = header
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, o += bytesPerSample) {
      const x = clip(channelData[c][i])
      if (encoding === 'float') {
        if (bits === 64) out.writeDoubleLE(x, o)
        else out.writeFloatLE(x, o)
      } else if (encoding === 'mulaw') out[o] = linearToMulaw(x * 32767)
      else if (encoding === 'alaw') out[o] = linearToAlaw(x * 32767)
      else if (bits === 8) out[o] = Math.round(x * 127) + 128
      else if (bits === 16) out.writeInt16LE(Math.round(x * 32767), o)
      else if (bits === 24) out.writeIntLE(Math.round(x * 8388607), o, 3)
      else out.writeInt32LE(Math.round(x * 2147483647), o)
    }
  }
  return out
}

/** Wraps already-encoded sample bytes (interleaved, little-endian) in a WAV header, without re-encoding. */
export function wrapWav (encoding: WavEncoding, bitsPerSample: number, sampleRate: number, channels: number, bytes: Uint8Array): Buffer {
  const head = encodeWav({ encoding, sampleRate, bitsPerSample, channelData: Array.from({ length: channels }, () => new Float32Array(0)) })
  const out = Buffer.alloc(head.length + bytes.length + (bytes.length & 1))
  head.copy(out)
  out.set(bytes, head.length)
  out.writeUInt32LE(out.length - 8, 4)
  out.writeUInt32LE(bytes.length, head.length - 4)
  return out
}

/** Wraps raw 8 kHz μ-law bytes (what Twilio carries) in a WAV header. */
export function mulawWav (bytes: Uint8Array, sampleRate = 8000): Buffer {
  return wrapWav('mulaw', 8, sampleRate, 1, bytes)
}
