/** Bounded, insertion-ordered memories: the oldest entry goes first once full, so no event stream grows them without bound. */

/**
 * A set of at most `max` keys. `add` moves a key to the newest end, so the one dropped when full is the one
 * added (or re-added) longest ago. Used for "recently ended" calls whose late events are ignored.
 */
export class BoundedSet<K> {
  readonly max: number
  #keys = new Set<K>()

  constructor (max: number) {
    if (!(Number.isInteger(max) && max > 0)) throw new RangeError(`BoundedSet max must be a positive integer, got ${max}`)
    this.max = max
  }

  add (key: K): this {
    this.#keys.delete(key)
    this.#keys.add(key)
    if (this.#keys.size > this.max) this.#keys.delete(this.#keys.values().next().value as K)
    return this
  }

  delete (key: K): boolean { return this.#keys.delete(key) }
  clear (): void { this.#keys.clear() }
  has (key: K): boolean { return this.#keys.has(key) }
  get size (): number { return this.#keys.size }
}

/**
 * `map.set(key, value)` as the newest entry (re-inserted when present), then drops the oldest entry while the map
 * holds more than `max`. For maps whose order means "least recently touched first".
 */
export function setBounded<K, V> (map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) map.delete(map.keys().next().value as K)
}
