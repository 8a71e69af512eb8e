import { createHash } from 'node:crypto'

/** RFC 4122 namespace OID, the one Skydive's `graph.GenID(...)` hashes under. */
const namespaceOID = '6ba7b812-9dad-11d1-80b4-00c04fd430c8'
const namespaceBytes = Buffer.from(namespaceOID.replaceAll('-', ''), 'hex')

/**
 * The same few thousand names are hashed on every rebuild of the graph: remember them. Bounded by
 * dropping everything when full, which only costs the hashes again.
 */
const known = new Map<string, string>()
const knownLimit = 200_000

/** UUID version 5 (SHA-1, name-based) of `name` in the OID namespace. */
export function uuidV5 (name: string): string {
  const cached = known.get(name)
  if (cached !== undefined) return cached
  const id = hashName(name)
  if (known.size >= knownLimit) known.clear()
  known.set(name, id)
  return id
}

function hashName (name: string): string {
  const hash = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest()
  const bytes = hash.subarray(0, 16)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Deterministic ID like Skydive's `graph.GenID(parts...)`: UUIDv5 of the parts joined by `/`. */
export function genId (...parts: Array<string | number>): string {
  return uuidV5(parts.map(String).join('/'))
}

// Node IDs derive from the host id, the namespace inode and the ifindex so that a restarted agent
// republishes the same IDs and the graph-builder updates elements in place instead of duplicating them.

export function hostNodeId (hostId: string): string {
  return genId(hostId, 'host')
}

export function netnsNodeId (hostId: string, inode: number): string {
  return genId(hostId, 'netns', inode)
}

export function interfaceNodeId (hostId: string, inode: number, ifIndex: number): string {
  return genId(hostId, 'netns', inode, 'interface', ifIndex)
}

/** Skydive's link ID (`topology.NewLink`): UUIDv5 of parent ID + child ID + relation type. */
export function edgeId (parent: string, child: string, relationType: string): string {
  return uuidV5(parent + child + relationType)
}

// TIDs follow Skydive's topology/tid.go so that flows keep pointing at the same capture node.

export function hostTid (hostId: string): string {
  return uuidV5(hostId)
}

export function netnsTid (hostTidValue: string, path: string): string {
  return uuidV5(hostTidValue + path + 'netns')
}

export function childTid (parentTid: string, name: string, type: string): string {
  return uuidV5(parentTid + name + type)
}
