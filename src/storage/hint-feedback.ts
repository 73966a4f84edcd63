/** Hint feedback: which hints the live feed has shown (so feedback on one not stored yet is kept), and giving it. */
import type { CallEvent } from '../call/events.ts'
import { setBounded } from '../util/bounded.ts'
import type { FeedbackResult, FeedbackValue, Store } from './store.ts'

/** Completed hints remembered per instance (about a day of busy calls); older ones are stored by then. */
export const RECENT_HINTS = 20_000

/**
 * Completed hints seen on the call feed (every instance's, with REDIS_URL), with their playbook. The recorder stores a
 * hint shortly after hint.done, on the instance that ran the call; feedback can beat it (to another instance, even).
 * A hint remembered here may take feedback before its row exists; one that is neither here nor stored is unknown.
 */
export class RecentHints {
  readonly #hints = new Map<string, string | null>()
  readonly #max: number

  constructor (max = RECENT_HINTS) { this.#max = max }

  /** Feed it every call event (`eventFeed.subscribe`); O(1). */
  readonly onEvent = (e: CallEvent): void => {
    // The recorder stores only hints with text (src/storage/call-ops.ts); the dashboard offers feedback on those.
    if (e.type === 'hint.done' && e.text.trim() !== '') setBounded(this.#hints, key(e.callSid, e.hintId), e.playbookId ?? null, this.#max)
  }

  get (callSid: string, hintId: string): { readonly playbookId: string | null } | undefined {
    const k = key(callSid, hintId)
    return this.#hints.has(k) ? { playbookId: this.#hints.get(k) ?? null } : undefined
  }

  get size (): number { return this.#hints.size }
}

const key = (callSid: string, hintId: string): string => `${callSid}\u0000${hintId}`

export interface GiveFeedback {
  readonly callSid: string
  readonly hintId: string
  readonly value: FeedbackValue | null
  /** `session:<id>` or `bearer`. */
  readonly by: string
  readonly at: number
}

/** Stores feedback in the shared database: on the stored hint, or on a placeholder when the feed knows the hint. */
export async function giveFeedback (store: Pick<Store, 'setHintFeedback'>, recent: RecentHints, f: GiveFeedback): Promise<FeedbackResult> {
  const known = recent.get(f.callSid, f.hintId)
  return await store.setHintFeedback(known === undefined ? f : { ...f, pending: known })
}
