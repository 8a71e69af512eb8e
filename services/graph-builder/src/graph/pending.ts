import type { PutEdge } from './store.ts'

interface Waiting {
  edge: PutEdge
  since: number
}

/**
 * Edges that arrived before one of their ends. Bounded: past `max` the oldest is dropped, and `expire`
 * drops those that waited longer than allowed. Insertion order of the map is arrival order.
 */
export class PendingEdges {
  readonly #max: number
  readonly #byId = new Map<string, Waiting>()
  readonly #byNode = new Map<string, Set<string>>()

  constructor (max: number) {
    this.#max = max
  }

  get size (): number { return this.#byId.size }

  has (id: string): boolean { return this.#byId.has(id) }

  /** Queues an edge (replacing an older version of it); returns how many old ones the bound pushed out. */
  add (edge: PutEdge, since: number): number {
    const previous = this.#byId.get(edge.ID)
    this.remove(edge.ID)
    this.#byId.set(edge.ID, { edge, since: previous?.since ?? since })
    this.#link(edge.Parent, edge.ID)
    this.#link(edge.Child, edge.ID)
    let dropped = 0
    while (this.#byId.size > this.#max) {
      const oldest = this.#byId.keys().next().value as string
      this.remove(oldest)
      dropped++
    }
    return dropped
  }

  remove (id: string): void {
    const w = this.#byId.get(id)
    if (w === undefined) return
    this.#byId.delete(id)
    this.#unlink(w.edge.Parent, id)
    this.#unlink(w.edge.Child, id)
  }

  /** The edges waiting for this node. */
  waitingOn (nodeId: string): PutEdge[] {
    const ids = this.#byNode.get(nodeId)
    if (ids === undefined) return []
    return [...ids].map((id) => this.#byId.get(id)?.edge).filter((e): e is PutEdge => e !== undefined)
  }

  /** Drops edges that waited more than `maxAgeMs`; returns how many. */
  expire (now: number, maxAgeMs: number): number {
    let dropped = 0
    for (const [id, w] of this.#byId) {
      if (now - w.since <= maxAgeMs) continue
      this.remove(id)
      dropped++
    }
    return dropped
  }

  /** IDs of the edges a host's agent sent that are still waiting. */
  ownedBy (host: string): string[] {
    const out: string[] = []
    for (const [id, w] of this.#byId) if (w.edge.owner === host) out.push(id)
    return out
  }

  #link (nodeId: string, edgeId: string): void {
    let set = this.#byNode.get(nodeId)
    if (set === undefined) this.#byNode.set(nodeId, set = new Set())
    set.add(edgeId)
  }

  #unlink (nodeId: string, edgeId: string): void {
    const set = this.#byNode.get(nodeId)
    if (set === undefined) return
    set.delete(edgeId)
    if (set.size === 0) this.#byNode.delete(nodeId)
  }
}
