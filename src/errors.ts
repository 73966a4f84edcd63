/** Domain refusals as codes: what went wrong (`code`) and what kind of problem it is (`kind`), never an HTTP status. */

/**
 * The kinds of refusal domain code reports. Each plugin maps the kinds its domain calls can return to HTTP
 * statuses in one small table (`satisfies Record<…['kind'], number>`, so a new kind without a status fails tsc).
 */
export type FailureKind =
  /** The caller's input cannot be used (a number that is not one, an empty message). */
  | 'invalid_input'
  /** Understood, and refused by policy (toll-fraud protection). */
  | 'forbidden'
  | 'not_found'
  /** Understood, and the thing asked for cannot be done with what there is (no transcript, outside WhatsApp's window). */
  | 'unprocessable'
  | 'rate_limited'
  /** A setting the feature needs is not set. */
  | 'not_configured'
  /** Twilio or OpenAI refused or could not be reached. */
  | 'upstream_failed'

/** A refusal: `code` is the stable name clients see (the API's `error`), `message` a sentence a person can act on. */
export interface Failure<K extends FailureKind = FailureKind, C extends string = string> {
  readonly ok: false
  readonly kind: K
  readonly code: C
  readonly message: string
}
