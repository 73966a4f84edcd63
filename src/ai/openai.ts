/** The one place an `openai` SDK client is built: key and base URL from config (a local fake in tests). */
import OpenAI from 'openai'
import type { Config } from '../config.ts'

/** Returns the client, or undefined when OPENAI_API_KEY is not set (the AI features are then off). */
export function createOpenAIClient (config: Pick<Config, 'openaiApiKey' | 'openaiBaseUrl'>): OpenAI | undefined {
  if (config.openaiApiKey === undefined) return undefined
  return new OpenAI({ apiKey: config.openaiApiKey, baseURL: config.openaiBaseUrl, maxRetries: 2, timeout: 30_000 })
}
