/** Model retirements: the installed `openai` SDK's "Announced shutdown date" notes, and one warning per configured model. */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Config } from '../config.ts'

/** One retiring model: its shutdown day (UTC, YYYY-MM-DD) and where the SDK says so. */
export interface Retirement {
  readonly shutdown: string
  /** `openai@<version> <file>` of the note, e.g. `openai@7.57.0 resources/shared.d.ts`. */
  readonly source: string
}

export interface RetirementTable {
  /** Version of the `openai` package read, undefined when it could not be read. */
  readonly sdkVersion: string | undefined
  readonly entries: ReadonlyMap<string, Retirement>
  /** Why the table is empty when it could not be read (a stripped image, no node_modules). */
  readonly problem?: string
}

/**
 * The SDK writes its notes in JSDoc as bullets, wrapped anywhere:
 *   - "gpt-4.1", "gpt-4.1-mini", …: Announced shutdown date: 2027-01-14. See https://…
 * Bullets with another remark ("Not a supported model ID") carry no date and are skipped.
 */
const BULLET = /-\s+((?:"[^"]+"\s*,?\s*)+):\s*Announced\s+shutdown\s+date:\s*(\d{4}-\d{2}-\d{2})/g
const NAME = /"([^"]+)"/g

/** Parses one `.d.ts` text; the earliest date wins when a model is listed twice. */
export function parseRetirements (text: string, source: string, into = new Map<string, Retirement>()): Map<string, Retirement> {
  if (!text.includes('shutdown')) return into
  // Join JSDoc lines ("\n   *   ") into one, so a note wrapped mid-phrase still matches.
  const flat = text.replace(/\r?\n\s*\*?[ \t]*/g, ' ')
  for (const bullet of flat.matchAll(BULLET)) {
    const shutdown = bullet[2] as string
    for (const name of (bullet[1] as string).matchAll(NAME)) {
      const model = name[1] as string
      const seen = into.get(model)
      if (seen === undefined || shutdown < seen.shutdown) into.set(model, { shutdown, source })
    }
  }
  return into
}

/** The directory of the installed `openai` package (its main entry sits at the package root). */
function openaiDir (): string {
  return dirname(createRequire(import.meta.url).resolve('openai'))
}

/**
 * Reads every `resources/**\/*.d.ts` of the installed SDK (about 250 files, read once per process).
 * Never throws: without the files (a production image that strips type declarations) the
 * table is empty and `problem` says why, so start-up and the doctor can say so.
 */
export function loadRetirements (dir?: string): RetirementTable {
  if (dir === undefined && cached !== undefined) return cached
  let table: RetirementTable
  try {
    const root = dir ?? openaiDir()
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }
    const files = readdirSync(join(root, 'resources'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.d.ts'))
      // Beta copies repeat the notes; name the main file as the source.
      .sort((a, b) => Number(a.includes('beta')) - Number(b.includes('beta')) || a.localeCompare(b))
    const entries = new Map<string, Retirement>()
    for (const f of files) {
      const rel = `resources/${f.split('\\').join('/')}`
      parseRetirements(readFileSync(join(root, rel), 'utf8'), `openai@${version ?? '?'} ${rel}`, entries)
    }
    table = entries.size > 0
      ? { sdkVersion: version, entries }
      : { sdkVersion: version, entries, problem: `no "Announced shutdown date" notes found in openai@${version ?? '?'} type declarations` }
  } catch (err) {
    table = { sdkVersion: undefined, entries: new Map(), problem: `cannot read the openai package's type declarations (${(err as Error).message.split('\n')[0]})` }
  }
  if (dir === undefined) cached = table
  return table
}
let cached: RetirementTable | undefined

type ModelRole = 'realtimeModel' | 'transcribeModel' | 'hintModel' | 'summaryModel'
const ROLES: ReadonlyArray<{ role: ModelRole, env: string }> = [
  { role: 'realtimeModel', env: 'REALTIME_MODEL' },
  { role: 'transcribeModel', env: 'TRANSCRIBE_MODEL' },
  { role: 'hintModel', env: 'HINT_MODEL' },
  { role: 'summaryModel', env: 'SUMMARY_MODEL' },
]

/**
 * What to move to, per role (the defaults in config.ts; a test keeps them equal). A retiring
 * mini realtime model gets the current mini, the cheaper like-for-like.
 */
export const REPLACEMENTS: Readonly<Record<ModelRole, string>> = {
  realtimeModel: 'gpt-realtime-2.1',
  transcribeModel: 'gpt-transcribe',
  hintModel: 'gpt-5.4-mini',
  summaryModel: 'gpt-5.4-mini',
}
const REALTIME_MINI = 'gpt-realtime-2.1-mini'

export function suggestedReplacement (role: ModelRole, model: string): string {
  if (role === 'realtimeModel' && /mini/.test(model)) return REALTIME_MINI
  return REPLACEMENTS[role]
}

export interface RetirementWarning {
  readonly model: string
  /** The settings that name it, e.g. ['HINT_MODEL', 'SUMMARY_MODEL']. */
  readonly settings: readonly string[]
  readonly shutdown: string
  /** Whole days from `now` to the start of the shutdown day (UTC); negative once it began. */
  readonly daysLeft: number
  readonly replacement: string
  readonly source: string
}

const DAY_MS = 86_400_000

/** Whole days from `now` until 00:00 UTC of `day` (YYYY-MM-DD); negative once that day has begun. */
export function daysUntil (day: string, now: Date): number {
  return Math.floor((Date.parse(`${day}T00:00:00Z`) - now.getTime()) / DAY_MS)
}

/** Every configured model with an announced shutdown date, one entry per model (settings sharing it are merged). */
export function modelRetirements (config: Pick<Config, ModelRole>, now: Date, table: RetirementTable = loadRetirements()): RetirementWarning[] {
  const byModel = new Map<string, { role: ModelRole, settings: string[] }>()
  for (const { role, env } of ROLES) {
    const seen = byModel.get(config[role])
    if (seen === undefined) byModel.set(config[role], { role, settings: [env] })
    else seen.settings.push(env)
  }
  const out: RetirementWarning[] = []
  for (const [model, { role, settings }] of byModel) {
    const r = table.entries.get(model)
    if (r === undefined) continue
    out.push({ model, settings, shutdown: r.shutdown, daysLeft: daysUntil(r.shutdown, now), replacement: suggestedReplacement(role, model), source: r.source })
  }
  return out
}

/** `gpt-4.1-mini (HINT_MODEL, SUMMARY_MODEL) shuts down on 2027-01-14, 43 days left: use gpt-5.4-mini [openai@7.57.0 resources/shared.d.ts]` */
export function formatRetirement (w: RetirementWarning): string {
  const left = w.daysLeft < 0
    ? 'already past'
    : w.daysLeft === 0 ? 'less than a day left' : `${w.daysLeft} day${w.daysLeft === 1 ? '' : 's'} left`
  return `${w.model} (${w.settings.join(', ')}) shuts down on ${w.shutdown}, ${left}: use ${w.replacement} [${w.source}]`
}

/** One line per configured model with an announced shutdown date (start-up log, doctor). */
export function retirementWarnings (config: Pick<Config, ModelRole>, now: Date, table?: RetirementTable): string[] {
  return modelRetirements(config, now, table).map(formatRetirement)
}
