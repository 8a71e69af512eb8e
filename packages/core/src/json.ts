/**
 * Equality of JSON-like values as their JSON texts would compare once parsed: object keys in any
 * order, a key whose value is undefined the same as no key (JSON.stringify drops both), arrays in order.
 */
export function jsonEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  let keysA = 0
  for (const k in ra) {
    if (!Object.hasOwn(ra, k) || ra[k] === undefined) continue
    keysA++
    if (!Object.hasOwn(rb, k) || !jsonEqual(ra[k], rb[k])) return false
  }
  let keysB = 0
  for (const k in rb) if (Object.hasOwn(rb, k) && rb[k] !== undefined) keysB++
  return keysA === keysB
}

/**
 * Sets `key` as an own enumerable property of `target`, whatever the key. Plain assignment of a
 * key from outside is not safe: `o['__proto__'] = v` replaces o's prototype, and walking into
 * `o['__proto__']` reaches Object.prototype itself.
 */
export function setOwn (target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
}

/** `target[key]` when it is an own property, else undefined (never an inherited member such as `constructor`). */
export function getOwn (target: object, key: string): unknown {
  return Object.hasOwn(target, key) ? (target as Record<string, unknown>)[key] : undefined
}

/**
 * Sets `value` at `keys`, a path of member names, inside `target`: the objects on the way are
 * copied (a value `target` shares with others is never changed in place), and made where missing
 * or not a plain object. Own properties only, read and written (see setOwn): paths may come from
 * outside.
 */
export function setIn (target: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let cur = target
  for (const key of keys.slice(0, -1)) {
    const next = getOwn(cur, key)
    const copy = typeof next === 'object' && next !== null && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {}
    setOwn(cur, key, copy)
    cur = copy
  }
  setOwn(cur, keys[keys.length - 1] as string, value)
}
