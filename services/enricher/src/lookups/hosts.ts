import { topologyChangesMarkerPrefix } from '@topoflow/schemas'

export interface AddressOwner { host: string, interface: string }

/** What applying one message of the changes topic did; the caller counts `invalid` ones. */
export type ChangeOutcome = 'applied' | 'ignored' | 'invalid'


/** What the index keeps of a node that carries addresses; the rest of its metadata is not needed. */
interface NodeClaim { host: string, name: string, addresses: string[] }

interface Claim { id: string, owner: AddressOwner }

/**
 * IP address → the host and interface that carry it, from the `IPV4`/`IPV6` CIDR lists of the nodes
 * of the materialized graph, fed by `topoflow.topology.changes.v1` (compacted, keyed by element ID):
 * one message per node revision, a delete revision or a tombstone when it goes. Nodes the graph-builder
 * makes itself (Kubernetes, fabric, rules) have no host and own no address.
 *
 * Maintained incrementally: a change costs the addresses of one node, and a revision that leaves a
 * node's name and addresses alone (interface metrics, the bulk of the changes) costs a comparison.
 */
export class HostIndex {
  /** node ID → its claim, only for nodes that claim at least one address */
  readonly #nodes = new Map<string, NodeClaim>()
  /** address → the claim lookups answer with */
  readonly #byAddress = new Map<string, Claim>()
  /** address → node ID → owner, only for addresses more than one node claims (rare: kept apart) */
  readonly #contested = new Map<string, Map<string, AddressOwner>>()
  readonly #nodesPerHost = new Map<string, number>()

  /**
   * Applies one message of the changes topic: `key` is the element ID, `value` the decoded
   * `TopologyChange` or null for a tombstone. Edges and markers are ignored; what does not look like a
   * change is `invalid` and changes nothing. Never throws.
   */
  applyChange (key: string | null, value: unknown): ChangeOutcome {
    if (value === null || value === undefined) {
      if (key === null || key === '') return 'invalid'
      if (key.startsWith(topologyChangesMarkerPrefix)) return 'ignored'
      // The key may be an edge's: deleting an unknown node ID is a no-op.
      this.#remove(key)
      return 'applied'
    }
    if (typeof value !== 'object') return 'invalid'
    const change = value as Record<string, unknown>
    if (change.ElementType === 'edge') return 'ignored'
    if (change.ElementType !== 'node' || (change.Op !== 'upsert' && change.Op !== 'delete')) return 'invalid'
    const node = change.Node
    if (typeof node !== 'object' || node === null) return 'invalid'
    const { ID: id, Host: host, Metadata: metadata, DeletedAt: deletedAt } = node as Record<string, unknown>
    if (typeof id !== 'string' || id === '') return 'invalid'
    if (change.Op === 'delete' || (typeof deletedAt === 'number' && deletedAt > 0)) {
      this.#remove(id)
      return 'applied'
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || typeof host !== 'string') return 'invalid'
    this.#put(id, host, metadata as Record<string, unknown>)
    return 'applied'
  }

  lookup (address: string): AddressOwner | undefined {
    return this.#byAddress.get(address)?.owner
  }

  /** Hosts owning at least one address in the index. */
  get hostCount (): number { return this.#nodesPerHost.size }

  /** Addresses the index answers for. */
  get addressCount (): number { return this.#byAddress.size }

  #put (id: string, host: string, metadata: Record<string, unknown>): void {
    const name = typeof metadata.Name === 'string' ? metadata.Name : ''
    const addresses = host === '' ? [] : addressesOf(metadata)
    const previous = this.#nodes.get(id)
    if (addresses.length === 0) { this.#remove(id); return }
    const claim: Claim = { id, owner: { host, interface: name } }
    if (previous === undefined) {
      this.#nodes.set(id, { host, name, addresses })
      this.#countHost(host, 1)
      for (const address of addresses) this.#claim(address, claim)
      return
    }
    const sameOwner = previous.host === host && previous.name === name
    if (sameOwner && sameList(previous.addresses, addresses)) return
    // Updated in place, not deleted and added again: V8 maps that lose and regain the same key over
    // and over get slow once they are big (measured: 18 µs instead of 1 µs a change at 50k entries).
    if (previous.host !== host) { this.#countHost(previous.host, -1); this.#countHost(host, 1) }
    const now = new Set(addresses)
    const before = new Set(previous.addresses)
    for (const address of previous.addresses) if (!now.has(address)) this.#release(address, id)
    for (const address of addresses) {
      if (!before.has(address)) this.#claim(address, claim)
      else if (!sameOwner) this.#reclaim(address, claim)
    }
    this.#nodes.set(id, { host, name, addresses })
  }

  #remove (id: string): void {
    const node = this.#nodes.get(id)
    if (node === undefined) return
    this.#nodes.delete(id)
    this.#countHost(node.host, -1)
    for (const address of node.addresses) this.#release(address, id)
  }

  #countHost (host: string, delta: number): void {
    const count = (this.#nodesPerHost.get(host) ?? 0) + delta
    if (count > 0) this.#nodesPerHost.set(host, count)
    else this.#nodesPerHost.delete(host)
  }

  #claim (address: string, claim: Claim): void {
    const current = this.#byAddress.get(address)
    if (current === undefined) { this.#byAddress.set(address, claim); return }
    let claims = this.#contested.get(address)
    if (claims === undefined) this.#contested.set(address, claims = new Map([[current.id, current.owner]]))
    claims.set(claim.id, claim.owner)
    if (precedes(claim, current)) this.#byAddress.set(address, claim)
  }

  /** The same node claims an address again under another host or interface name. */
  #reclaim (address: string, claim: Claim): void {
    const claims = this.#contested.get(address)
    if (claims === undefined) { this.#byAddress.set(address, claim); return }
    claims.set(claim.id, claim.owner)
    this.#elect(address, claims)
  }

  #release (address: string, id: string): void {
    const claims = this.#contested.get(address)
    if (claims === undefined) {
      if (this.#byAddress.get(address)?.id === id) this.#byAddress.delete(address)
      return
    }
    claims.delete(id)
    if (claims.size <= 1) this.#contested.delete(address)
    if (this.#byAddress.get(address)?.id === id) this.#elect(address, claims)
  }

  #elect (address: string, claims: Map<string, AddressOwner>): void {
    let winner: Claim | undefined
    for (const [id, owner] of claims) {
      const claim = { id, owner }
      if (winner === undefined || precedes(claim, winner)) winner = claim
    }
    if (winner === undefined) this.#byAddress.delete(address)
    else this.#byAddress.set(address, winner)
  }
}

/**
 * One address on several nodes (docker0's 172.17.0.1 on every host, IPVS service addresses): the
 * answer must not depend on the order changes arrived in, which differs between a live stream and a
 * replay of the compacted topic, so the first claim by host, then node ID, wins.
 */
function precedes (a: Claim, b: Claim): boolean {
  return a.owner.host < b.owner.host || (a.owner.host === b.owner.host && a.id < b.id)
}

/** The addresses of a node's `IPV4`/`IPV6` CIDR lists, without prefix length, duplicates or loopback. */
function addressesOf (metadata: Record<string, unknown>): string[] {
  const out = new Set<string>()
  for (const key of ['IPV4', 'IPV6']) {
    const cidrs = metadata[key]
    if (!Array.isArray(cidrs)) continue
    for (const cidr of cidrs) {
      if (typeof cidr !== 'string') continue
      const ip = cidr.split('/')[0] ?? ''
      // Loopback addresses exist on every host and say nothing about which one is meant.
      if (ip === '' || ip.startsWith('127.') || ip === '::1') continue
      out.add(ip)
    }
  }
  return [...out]
}

function sameList (a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
