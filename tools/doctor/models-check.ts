/** Doctor check: configured models with an announced shutdown date (from the installed openai SDK's notes). */
import type { Config } from '../../src/config.ts'
import { loadRetirements, retirementWarnings, type RetirementTable } from '../../src/ai/model-retirements.ts'
import type { CheckResult } from './types.ts'

const base = { id: 'models', title: 'Model retirements' } as const

/** Warns (never fails): a retiring model still works until its date. */
export function checkModels (config: Config, now: Date, table: RetirementTable = loadRetirements()): CheckResult {
  const models = [...new Set([config.realtimeModel, config.transcribeModel, config.hintModel, config.summaryModel])]
  if (table.problem !== undefined) {
    return { ...base, status: 'warn', message: `cannot check: ${table.problem}`, fix: 'Run the doctor from a checkout with node_modules installed (npm ci).' }
  }
  const lines = retirementWarnings(config, now, table)
  const data = { sdkVersion: table.sdkVersion, models, retiring: lines }
  if (lines.length === 0) {
    return { ...base, status: 'pass', message: `no configured model has an announced shutdown date (${models.join(', ')}; openai@${table.sdkVersion ?? '?'})`, data }
  }
  return {
    ...base,
    status: 'warn',
    message: `${lines.length} configured model${lines.length === 1 ? ' has' : 's have'} an announced shutdown date`,
    details: lines,
    fix: 'Set each named setting to the model suggested (docs/configuration.md "Models" says why), then run npm run doctor -- --live to check it is accepted.',
    data,
  }
}
