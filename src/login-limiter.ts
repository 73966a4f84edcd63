/** Wrong-token backoff per client address and per guessed token: bounded memory, no shared ceiling. */
import { setBounded } from './util/bounded.ts'

export interface LoginLimiterOptions {
  /** Wrong tokens an address (or a guess) may send before backoff starts. Default 5. */
  freeFailures?: number
  /** The first backoff; each further failure doubles it. Default 1 s. */
  baseDelayMs?: number
  /** The longest backoff. Default 15 min. */
  maxDelayMs?: number
  /** An entry with no failure for this long is forgotten (its count starts again). Default 15 min. */
  forgetAfterMs?: number
  /** Most entries kept per key kind; the least recently failed go first. Default 10,000. */
  maxEntries?: number
}

interface Entry { failures: number, lastFailure: number, until: number }

export type LimitCheck = { ok: true } | { ok: false, by: 'address' | 'guess', retryAfterMs: number }

/** What one failure changed, so the caller can log once per address per window and count. */
export interface FailureNote {
  /** The first failure from this address in this window. */
  firstFromAddress: boolean
  /** This failure started (or restarted) the address's backoff. */
  startedBackoff: boolean
  failures: number
}

/**
 * Why no global ceiling: a shared limit lets anyone with wrong tokens lock the owner out. Instead each
 * address backs off exponentially after `freeFailures`, and so does each wrong guess (the same wrong token
 * sprayed from many addresses). A right token is never a counted guess, so from any address that is not
 * itself guessing it always works. Requests refused during backoff are not checked at all, so backoff
 * gives an attacker no oracle; they are not counted either (backoff does not grow while waiting).
 */
export class LoginLimiter {
  readonly #free: number
  readonly #base: number
  readonly #max: number
  readonly #forget: number
  readonly #maxEntries: number
  readonly #byAddress = new Map<string, Entry>()
  readonly #byGuess = new Map<string, Entry>()

  constructor (opts: LoginLimiterOptions = {}) {
    this.#free = opts.freeFailures ?? 5
    this.#base = opts.baseDelayMs ?? 1000
    this.#max = opts.maxDelayMs ?? 15 * 60_000
    this.#forget = opts.forgetAfterMs ?? 15 * 60_000
    this.#maxEntries = opts.maxEntries ?? 10_000
  }

  /** Whether a request from `address` (guessing `guessKey`, if any) may be checked now. */
  check (address: string, guessKey: string | undefined, now: number): LimitCheck {
    const a = this.#live(this.#byAddress, address, now)
    if (a !== undefined && a.until > now) return { ok: false, by: 'address', retryAfterMs: a.until - now }
    const g = guessKey === undefined ? undefined : this.#live(this.#byGuess, guessKey, now)
    if (g !== undefined && g.until > now) return { ok: false, by: 'guess', retryAfterMs: g.until - now }
    return { ok: true }
  }

  /** Records a wrong token (or forged cookie) from `address`. */
  fail (address: string, guessKey: string | undefined, now: number): FailureNote {
    const a = this.#bump(this.#byAddress, address, now)
    if (guessKey !== undefined) this.#bump(this.#byGuess, guessKey, now)
    return { firstFromAddress: a.failures === 1, startedBackoff: a.failures === this.#free, failures: a.failures }
  }

  /** Entries held now (addresses, guesses): bounded by `maxEntries` each. */
  get size (): { addresses: number, guesses: number } {
    return { addresses: this.#byAddress.size, guesses: this.#byGuess.size }
  }

  #live (map: Map<string, Entry>, key: string, now: number): Entry | undefined {
    const e = map.get(key)
    if (e === undefined) return undefined
    if (now - e.lastFailure > Math.max(this.#forget, e.until - e.lastFailure)) {
      map.delete(key)
      return undefined
    }
    return e
  }

  #bump (map: Map<string, Entry>, key: string, now: number): Entry {
    const e = this.#live(map, key, now) ?? { failures: 0, lastFailure: now, until: 0 }
    e.failures++
    e.lastFailure = now
    e.until = e.failures < this.#free ? 0 : now + Math.min(this.#max, this.#base * 2 ** (e.failures - this.#free))
    // Re-inserted so the map's order is least recently failed first; the oldest goes when it is full.
    setBounded(map, key, e, this.#maxEntries)
    return e
  }
}
