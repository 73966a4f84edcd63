/** Model retirements: the installed SDK's shutdown notes, the guard on our defaults, the warning lines. */
import t from 'tap'
import { Writable } from 'node:stream'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { loadConfig } from '../../../src/config.ts'
import {
  daysUntil, formatRetirement, loadRetirements, modelRetirements, parseRetirements, REPLACEMENTS, retirementWarnings,
  type RetirementTable,
} from '../../../src/ai/model-retirements.ts'
import { buildTestApp } from '../../helpers.ts'

const REQUIRED = { PUBLIC_BASE_URL: 'https://talkhint.example.com', TWILIO_AUTH_TOKEN: 'x' }
const sdk = loadRetirements()

t.test('the installed SDK is read: known retirements are found, so the guard cannot pass on an empty table', async (t) => {
  t.equal(sdk.problem, undefined)
  t.match(sdk.sdkVersion, /^\d+\.\d+\.\d+/)
  t.ok(sdk.entries.size >= 30, `${sdk.entries.size} retiring models listed`)
  // Dates announced in openai 7.57.0; a later SDK may move them, never drop them without shutting the model down.
  t.equal(sdk.entries.get('gpt-4.1-mini')?.shutdown, '2027-01-14')
  t.equal(sdk.entries.get('gpt-realtime')?.shutdown, '2027-01-20')
  t.equal(sdk.entries.get('gpt-realtime-mini')?.shutdown, '2027-01-20')
  t.equal(sdk.entries.get('gpt-4o-transcribe')?.shutdown, '2027-02-26')
  t.equal(sdk.entries.get('whisper-1')?.shutdown, '2027-02-26')
  t.match(sdk.entries.get('gpt-4.1-mini')?.source, /^openai@\d+\.\d+\.\d+ resources\/shared\.d\.ts$/, 'the main file is named, not its beta copy')
  t.equal(sdk.entries.get('gpt-5.1-mini'), undefined, 'a remark without a date ("Not a supported model ID") is not a retirement')
})

t.test('no default model has an announced shutdown date in the installed SDK', async (t) => {
  const config = loadConfig(REQUIRED)
  for (const model of [config.realtimeModel, config.transcribeModel, config.hintModel, config.summaryModel]) {
    const r = sdk.entries.get(model)
    t.equal(r, undefined, r === undefined ? `${model} is not retiring` : `${model} shuts down on ${r.shutdown} (${r.source}): pick a current model in src/config.ts and docs/configuration.md "Models"`)
  }
  t.same(retirementWarnings(config, new Date()), [], 'so start-up and the doctor warn about nothing')
})

t.test('the suggested replacements are the defaults, and are not retiring either', async (t) => {
  const config = loadConfig(REQUIRED)
  t.same(REPLACEMENTS, { realtimeModel: config.realtimeModel, transcribeModel: config.transcribeModel, hintModel: config.hintModel, summaryModel: config.summaryModel })
  t.equal(sdk.entries.get('gpt-realtime-2.1-mini'), undefined, 'the mini suggestion too')
})

t.test('the parser joins notes wrapped anywhere and keeps the earliest date', async (t) => {
  const text = `/**
   * Deprecated values:
   *
   * - "model-a", "model-b-2025-01-01": Announced
   *   shutdown date: 2027-03-01. See https://example.test/deprecations for details.
   * - "model-c": Not a supported model ID. Retained for SDK compatibility.
   * - "model-d",
   *   "model-e": Announced shutdown date:
   *   2026-10-23. See https://example.test/deprecations.
   */
  model?: 'model-a' | 'model-c'
  /** - "model-a": Announced shutdown date: 2027-02-01. */`
  const map = parseRetirements(text, 'x.d.ts')
  t.same([...map].sort(), [
    ['model-a', { shutdown: '2027-02-01', source: 'x.d.ts' }],
    ['model-b-2025-01-01', { shutdown: '2027-03-01', source: 'x.d.ts' }],
    ['model-d', { shutdown: '2026-10-23', source: 'x.d.ts' }],
    ['model-e', { shutdown: '2026-10-23', source: 'x.d.ts' }],
  ])
})

t.test('days left count whole days to 00:00 UTC of the shutdown day', async (t) => {
  t.equal(daysUntil('2027-01-14', new Date('2026-12-02T14:27:00Z')), 42)
  t.equal(daysUntil('2027-01-14', new Date('2027-01-13T00:00:00Z')), 1)
  t.equal(daysUntil('2027-01-14', new Date('2027-01-13T23:59:59Z')), 0)
  t.equal(daysUntil('2027-01-14', new Date('2027-01-14T00:00:00Z')), 0)
  t.equal(daysUntil('2027-01-14', new Date('2027-01-14T00:00:01Z')), -1)
})

const TABLE: RetirementTable = {
  sdkVersion: '9.9.9',
  entries: new Map([
    ['old-text', { shutdown: '2027-01-14', source: 'openai@9.9.9 resources/shared.d.ts' }],
    ['old-voice-mini', { shutdown: '2027-01-20', source: 'openai@9.9.9 resources/realtime/realtime.d.ts' }],
    ['old-ear', { shutdown: '2026-12-01', source: 'openai@9.9.9 resources/audio/audio.d.ts' }],
  ]),
}

t.test('one warning line per configured model: model, settings, date, days left, replacement, source', async (t) => {
  const config = { realtimeModel: 'old-voice-mini', transcribeModel: 'old-ear', hintModel: 'old-text', summaryModel: 'old-text' }
  t.same(retirementWarnings(config, new Date('2026-12-02T12:00:00Z'), TABLE), [
    'old-voice-mini (REALTIME_MODEL) shuts down on 2027-01-20, 48 days left: use gpt-realtime-2.1-mini [openai@9.9.9 resources/realtime/realtime.d.ts]',
    'old-ear (TRANSCRIBE_MODEL) shuts down on 2026-12-01, already past: use gpt-transcribe [openai@9.9.9 resources/audio/audio.d.ts]',
    'old-text (HINT_MODEL, SUMMARY_MODEL) shuts down on 2027-01-14, 42 days left: use gpt-5.4-mini [openai@9.9.9 resources/shared.d.ts]',
  ])
  const [w] = modelRetirements({ ...config, realtimeModel: 'current', transcribeModel: 'current', summaryModel: 'other' }, new Date('2027-01-13T01:00:00Z'), TABLE)
  t.same(w, { model: 'old-text', settings: ['HINT_MODEL'], shutdown: '2027-01-14', daysLeft: 0, replacement: 'gpt-5.4-mini', source: 'openai@9.9.9 resources/shared.d.ts' })
  t.match(formatRetirement(w!), /, less than a day left:/)
  t.match(formatRetirement({ ...w!, daysLeft: 1 }), /, 1 day left:/)
})

t.test('without the SDK\'s type files the table is empty and says why (never throws)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'talkhint-sdk-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const none = loadRetirements(join(dir, 'missing'))
  t.equal(none.entries.size, 0)
  t.match(none.problem, /cannot read the openai package's type declarations/)
  await mkdir(join(dir, 'resources'))
  await writeFile(join(dir, 'package.json'), '{"version":"1.2.3"}')
  await writeFile(join(dir, 'resources', 'x.d.ts'), 'export type A = string\n')
  const empty = loadRetirements(dir)
  t.same({ size: empty.entries.size, version: empty.sdkVersion }, { size: 0, version: '1.2.3' })
  t.match(empty.problem, /no "Announced shutdown date" notes found in openai@1\.2\.3/)
  t.same(retirementWarnings({ realtimeModel: 'gpt-realtime', transcribeModel: 'x', hintModel: 'x', summaryModel: 'x' }, new Date(), none), [])
})

t.test('start-up logs one warning per retiring configured model', async (t) => {
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  await buildTestApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', REALTIME_MODEL: 'gpt-realtime', HINT_MODEL: 'gpt-4.1-mini', SUMMARY_MODEL: 'gpt-4.1-mini', LOG_LEVEL: 'info' }, { loggerInstance: pino({ level: 'info' }, stream), now: () => Date.parse('2026-12-02T12:00:00Z') })
  const warnings = lines.filter((l) => l.level === 40 && l.msg.startsWith('model retirement:')).map((l) => l.msg)
  t.same(warnings, [
    `model retirement: gpt-realtime (REALTIME_MODEL) shuts down on 2027-01-20, 48 days left: use gpt-realtime-2.1 [${sdk.entries.get('gpt-realtime')?.source}]`,
    `model retirement: gpt-4.1-mini (HINT_MODEL, SUMMARY_MODEL) shuts down on 2027-01-14, 42 days left: use gpt-5.4-mini [${sdk.entries.get('gpt-4.1-mini')?.source}]`,
  ])
})
