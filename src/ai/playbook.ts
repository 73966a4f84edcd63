/** The hint prompt: the user's playbook (HINTS_PROMPT or HINTS_PROMPT_FILE, re-read when it changes), fixed rules, the transcript window. */
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Speaker } from '../call/events.ts'
import type { Logger } from '../log.ts'

/** The example shipped in the repository root, used when neither HINTS_PROMPT nor HINTS_PROMPT_FILE is set. */
export const DEFAULT_PLAYBOOK_FILE = fileURLToPath(new URL('../../playbook.md', import.meta.url))

/** Longest playbook sent to the model; the rest is cut (and a warning logged) to bound cost and latency. */
export const MAX_PLAYBOOK_CHARS = 12_000

/** Used when no playbook can be read: hints still work, just without product knowledge. */
export const FALLBACK_PLAYBOOK = 'No playbook was configured. Give generally good advice for a friendly, professional phone call.'

export interface Playbook {
  /** The current playbook text (never empty). */
  text (): string
  /** The current text's playbookId: changes when the text does. */
  id (): string
  /** Where it came from: `HINTS_PROMPT`, a file path, or `built-in`. */
  readonly source: string
  /** Re-reads the file if its modification time changed; cheap (one stat). Never throws. */
  refresh (): Promise<void>
}

/**
 * Names one version of a playbook, so feedback on hints can be counted per playbook: where it came from
 * (`HINTS_PROMPT`, the file's name, or `built-in`) and the start of the text's SHA-256, e.g. `playbook.md:3f2a9c1b0d4e`.
 * Editing the playbook gives a new id, so a team can compare versions. Only [A-Za-z0-9_.:-] (a metric label value).
 */
export function playbookId (source: string, text: string): string {
  const name = text === FALLBACK_PLAYBOOK ? 'built-in' : source === 'HINTS_PROMPT' ? source : basename(source)
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'playbook'
  return `${safe}:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`
}

export interface PlaybookOptions {
  /** Inline playbook (HINTS_PROMPT); wins over the file. */
  inline?: string | undefined
  /** Markdown file (HINTS_PROMPT_FILE); default: the repository's playbook.md. */
  file?: string | undefined
  log: Logger
  maxChars?: number
}

/**
 * Loads the playbook once (call at start-up). A missing or unreadable file is logged once
 * with its path and the built-in fallback is used, so hints never stop for that reason.
 */
export async function loadPlaybook (opts: PlaybookOptions): Promise<Playbook> {
  const maxChars = opts.maxChars ?? MAX_PLAYBOOK_CHARS
  const bound = (raw: string, source: string): string => {
    const trimmed = raw.trim()
    if (trimmed.length <= maxChars) return trimmed
    opts.log.warn({ source, chars: trimmed.length, maxChars }, 'playbook is too long; only its beginning is sent to the model')
    return trimmed.slice(0, maxChars)
  }

  if (opts.inline !== undefined && opts.inline.trim() !== '') {
    const text = bound(opts.inline, 'HINTS_PROMPT')
    const id = playbookId('HINTS_PROMPT', text)
    return { text: () => text, id: () => id, source: 'HINTS_PROMPT', refresh: async () => {} }
  }

  const file = opts.file ?? DEFAULT_PLAYBOOK_FILE
  let current = FALLBACK_PLAYBOOK
  let mtimeMs = -1
  let failed = false
  const read = async (): Promise<void> => {
    try {
      const st = await stat(file)
      if (st.mtimeMs === mtimeMs) return
      const raw = await readFile(file, 'utf8')
      mtimeMs = st.mtimeMs
      if (raw.trim() === '') {
        opts.log.warn({ file }, 'playbook file is empty; using the built-in fallback')
        current = FALLBACK_PLAYBOOK
      } else {
        current = bound(raw, file)
      }
      failed = false
    } catch (err) {
      if (!failed) opts.log.error({ err, file }, 'cannot read the playbook file (HINTS_PROMPT_FILE); hints use the built-in fallback')
      failed = true
      mtimeMs = -1
      current = FALLBACK_PLAYBOOK
    }
  }
  await read()
  // Hashed once per text, not per hint.
  let idOf = { text: '', id: '' }
  const id = (): string => {
    if (idOf.text !== current) idOf = { text: current, id: playbookId(file, current) }
    return idOf.id
  }
  return { text: () => current, id, source: file, refresh: read }
}

export interface Turn { readonly speaker: Speaker, readonly text: string }

/** How each speaker is named in prompts. */
export const SPEAKER_LABELS: Record<Speaker, string> = { remote: 'Customer', operator: 'Operator', agent: 'AI agent' }

/** Fixed instructions that come before the playbook in every hint request. */
export const HINT_RULES = `You are a real-time copilot for a human operator on a live phone call. You see the transcript so far.
The customer has just finished speaking. Give the operator ONE short, actionable suggestion for what to say or do next.
Rules:
- One sentence, at most 25 words, no preamble, no quotes, no lists, no markdown.
- Use facts only from the playbook and the transcript; never invent prices, policies or promises.
- Follow the playbook's tone and its answers to objections.
- Write in the language the customer speaks.`

/** Appends a turn and drops the oldest ones beyond the bounds (a single huge turn keeps its end). */
export function pushTurn (turns: Turn[], turn: Turn, maxTurns: number, maxChars: number): number {
  const text = turn.text.length > maxChars ? '…' + turn.text.slice(-(maxChars - 1)) : turn.text
  turns.push({ speaker: turn.speaker, text })
  let chars = 0
  for (const t of turns) chars += t.text.length
  while (turns.length > 1 && (turns.length > maxTurns || chars > maxChars)) chars -= turns.shift()!.text.length
  return chars
}

/** The Responses API request for one hint: rules + playbook as instructions, the transcript as input. */
export function buildHintRequest (turns: readonly Turn[], playbook: string): { instructions: string, input: string } {
  const last = turns[turns.length - 1]
  const transcript = turns.map((t) => `${SPEAKER_LABELS[t.speaker]}: ${t.text}`).join('\n')
  return {
    instructions: `${HINT_RULES}\n\n# Playbook\n\n${playbook}`,
    input: `Transcript so far (oldest first):\n${transcript}\n\nThe customer just said: "${last?.text ?? ''}"\nWhat should the operator say or do next?`,
  }
}
