import { getOwn, setIn } from '@topoflow/core'
import type { Metadata } from '../types.ts'

/** Reads `a.b.c` from metadata (own properties only); a key that itself contains dots wins over the nested path. */
export function getField (metadata: Metadata, path: string): unknown {
  if (Object.hasOwn(metadata, path)) return metadata[path]
  let cur: unknown = metadata
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined
    cur = getOwn(cur, key)
  }
  return cur
}

/** Sets `a.b.c` in metadata (see core setIn: shared values stay untouched, keys may come from producers and rules). */
export function setField (metadata: Metadata, path: string, value: unknown): void {
  setIn(metadata, path.split('.'), value)
}

/** Skydive's metadata filter: every key of `filter` equals the node's field, compared as strings. */
export function matchesMetadata (metadata: Metadata, filter: Record<string, string>): boolean {
  for (const [key, want] of Object.entries(filter)) {
    const have = getField(metadata, key)
    if (have === undefined || have === null) return false
    if (typeof have === 'object') return false
    if (String(have) !== want) return false
  }
  return true
}

/** Drops keys whose value is undefined, so optional fields never show up as `null` noise. */
export function compact (m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(m)) if (v !== undefined) out[k] = v
  return out
}

/** Producers may send Metadata as a JSON string (Avro has no free-form map of any); accept both. */
export function asMetadata (value: unknown): Metadata | null {
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value)
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Metadata : null
    } catch {
      return null
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Metadata
  return null
}
