/** The one polling helper of the tests: waits for a state (never for a fixed time) and says what it waited for. */

type Found<T> = Exclude<T, false | null | undefined>

/**
 * Polls `probe` every `everyMs` until it returns something other than false/null/undefined, and resolves with that
 * value (so `until('conn 2', () => conns.find(...))` hands back the connection). Rejects after `timeoutMs` with
 * "timed out after N ms waiting for <what>"; `what` may be a function, called only then, to describe the state seen.
 */
export async function until<T> (
  what: string | (() => string),
  probe: () => T | Promise<T>,
  timeoutMs = 5000,
  everyMs = 5
): Promise<Found<T>> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const got = await probe()
    if (got !== false && got !== null && got !== undefined) return got as Found<T>
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
