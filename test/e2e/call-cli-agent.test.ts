/** `npm run call` against an agent-mode server on the fake Realtime API: the WAV it writes is what the agent said. */
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MULAW_TO_LINEAR } from '../../src/audio/mulaw.ts'
import { parseWav } from '../../src/audio/wav.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime } from '../../fakes/realtime-server.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL } from '../helpers.ts'

const CLI = fileURLToPath(new URL('../../tools/call.ts', import.meta.url))

/** `ms` of μ-law that is never silent: no 0x7f or 0xff (both decode to 0), a different pattern per seed. */
function voice (ms: number, seed: number): Buffer {
  const buf = Buffer.alloc(ms * 8)
  for (let i = 0; i < buf.length; i++) {
    const v = (i * 37 + seed * 101) % 254
    buf[i] = v < 0x7f ? v : v + 1
  }
  return buf
}

/** μ-law bytes as the 16-bit little-endian PCM a decoder must give (G.711 table). */
function pcm16 (mulaw: Uint8Array): Buffer {
  const out = Buffer.alloc(mulaw.length * 2)
  for (let i = 0; i < mulaw.length; i++) out.writeInt16LE(MULAW_TO_LINEAR[mulaw[i]!]!, i * 2)
  return out
}

t.test('npm run call, agent mode on the fake Realtime API: the reply WAV holds the agent\'s audio exactly as the API sent it, silence elsewhere', async (t) => {
  const reply = [voice(200, 1), voice(200, 2), voice(160, 3)]
  const creates: unknown[] = []
  const fake = await startFakeRealtime({
    onResponseCreate: (conn, event) => {
      creates.push(event)
      conn.respond({ chunks: reply.map((b) => b.toString('base64')), transcript: 'Hello! Thanks for calling.' })
    },
  })
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { MODE: 'agent', OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url })
  const serverUrl = await listen(app)
  // An empty working directory and only PATH, so a developer's .env cannot leak into the test.
  const cwd = mkdtempSync(join(tmpdir(), 'talkhint-call-agent-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  const out = join(cwd, 'heard.wav')
  // Speed 4 and a 6 s tail: the 6 s caller file plus the tail leave the bridge 3 s of wall time to greet.
  const args = [CLI, '--server', serverUrl, '--public-base-url', TEST_BASE_URL, '--auth-token', TEST_AUTH_TOKEN, '--speed', '4', '--tail', '6', '--no-dashboard', '--out', out]
  const run = await new Promise<{ code: number, stdout: string, stderr: string }>((resolve) => {
    execFile(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr }))
  })
  if (run.code !== 0) t.comment(run.stdout + run.stderr)
  t.equal(run.code, 0, 'the CLI exits 0')
  t.match(run.stdout, /── summary: OK/)
  t.match(run.stdout, /out +wrote \S+heard\.wav \(\d+\.\d s, 0\.6 s of server audio\)/, 'the CLI says it wrote 0.56 s of server audio')
  t.equal(creates.length, 1, 'the fake was asked for one response: the greeting')
  t.equal(fake.connections[0]?.kind, 'realtime', 'the agent spoke through a realtime (speech-to-speech) session')

  const wav = parseWav(readFileSync(out))
  t.match(wav, { encoding: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16 })
  const data = Buffer.from(wav.data)
  let first = -1
  let last = -1
  for (let i = 0; i < wav.frames; i++) {
    if (data.readInt16LE(i * 2) === 0) continue
    if (first < 0) first = i
    last = i
  }
  t.ok(first >= 0, 'the WAV is not silence')
  const heard = data.subarray(first * 2, (last + 1) * 2)
  const sent = pcm16(Buffer.concat(reply))
  t.equal(heard.length, sent.length, 'the only sound in the WAV is as long as the reply (560 ms)')
  t.ok(heard.equals(sent), 'and sample for sample the μ-law the fake sent, decoded')
})
