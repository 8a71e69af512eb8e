import { createHash } from 'node:crypto'

/** RFC 4122 namespace for ISO OIDs, the namespace Skydive uses for every name-based ID. */
export const NAMESPACE_OID = '6ba7b812-9dad-11d1-80b4-00c04fd430c8'

/** RFC 4122 version 5 (SHA-1, name-based) UUID. */
export function uuidv5 (name: string, namespace: string = NAMESPACE_OID): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex')
  if (ns.length !== 16) throw new TypeError(`uuidv5: namespace must be a UUID, got "${namespace}"`)
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest()
  const bytes = hash.subarray(0, 16)
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Skydive's `graph.GenID(a, b, ...)`: uuidv5 of the parts joined by `/`. */
export function genID (...parts: string[]): string {
  return uuidv5(parts.join('/'))
}

/** Skydive's link ID (`topology.NewLink`): uuidv5 of parent ID + child ID + relation type, concatenated. */
export function linkID (parent: string, child: string, relationType: string): string {
  return uuidv5(parent + child + relationType)
}
