/**
 * Field access the way Skydive's getters do it: dotted keys walk nested maps, and a map array on
 * the way gathers the field of every element (`Sockets.LocalPort` → `[22, 80]`), so that a filter
 * matches when any element matches.
 */

/** Returned when a key does not exist (a stored `null` is a value, not a missing key). */
export const notFound: unique symbol = Symbol('notFound')
export type NotFound = typeof notFound

/** Reads a field by key; the evaluator works on anything that has one. */
export type FieldReader = (key: string) => unknown

export function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function walk (value: unknown, parts: string[], i: number): unknown {
  if (i === parts.length) return value
  if (Array.isArray(value)) {
    const gathered: unknown[] = []
    for (const item of value) {
      if (!isRecord(item)) continue
      const r = walk(item, parts, i)
      if (r === notFound) continue
      if (Array.isArray(r)) gathered.push(...r)
      else gathered.push(r)
    }
    return gathered.length > 0 ? gathered : notFound
  }
  if (!isRecord(value)) return notFound
  // a key that itself contains dots (k8s labels such as app.kubernetes.io/name)
  if (i < parts.length - 1) {
    const rest = parts.slice(i).join('.')
    if (Object.hasOwn(value, rest)) return value[rest]
  }
  const part = parts[i] as string
  if (!Object.hasOwn(value, part)) return notFound
  return walk(value[part], parts, i + 1)
}

/** Value at a dotted path of a JSON-like object, or `notFound`. */
export function getPath (root: unknown, key: string): unknown {
  if (key === '') return notFound
  if (!key.includes('.') && isRecord(root)) return Object.hasOwn(root, key) ? root[key] : notFound
  return walk(root, key.split('.'), 0)
}

/** Dotted keys of every nested map (arrays are not entered), parents before children. */
export function dottedKeys (obj: Record<string, unknown>, prefix = '', out: string[] = []): string[] {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`
    out.push(key)
    if (isRecord(v)) dottedKeys(v, key, out)
  }
  return out
}

/**
 * Skydive casts with spf13/cast: integers stay, floats are truncated, booleans are 0/1, decimal
 * strings are parsed. Anything else is not a number.
 */
export function toInteger (v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : undefined
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return Number(v.trim())
  return undefined
}

function anyOf (value: unknown, test: (v: unknown) => boolean): boolean {
  if (Array.isArray(value)) return value.some((v) => anyOf(v, test))
  return test(value)
}

export function matchString (value: unknown, predicate: (s: string) => boolean): boolean {
  return anyOf(value, (v) => typeof v === 'string' && predicate(v))
}

export function matchInteger (value: unknown, predicate: (n: number) => boolean): boolean {
  return anyOf(value, (v) => {
    const n = toInteger(v)
    return n !== undefined && predicate(n)
  })
}

export function matchBoolean (value: unknown, predicate: (b: boolean) => boolean): boolean {
  return anyOf(value, (v) => typeof v === 'boolean' && predicate(v))
}

/** Deterministic JSON (sorted object keys) used to compare values for Dedup. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (isRecord(value)) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
