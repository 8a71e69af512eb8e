import type { GraphEdge } from '../types.ts'
import type { GraphStore, StoreEvent } from '../graph/store.ts'
import { matchesMetadata } from '../graph/metadata.ts'
import { linkID } from '../uuid.ts'
import type { FabricSpec } from './parser.ts'

/**
 * Puts the static fabric into the graph and keeps its wildcard links: whenever an edge appears whose
 * parent matches a wildcard's filter and whose child is the named interface, the fabric port gets a
 * layer2 link to that interface (Skydive's fabric probe `OnEdgeAdded`).
 */
export class FabricLinker {
  readonly #spec: FabricSpec
  readonly #origin: string

  constructor (spec: FabricSpec, opts: { origin: string }) {
    this.#spec = spec
    this.#origin = opts.origin
  }

  get spec (): FabricSpec { return this.#spec }

  /** Upserts the fabric's nodes and links (idempotent), and links wildcards to what is already there. */
  install (store: GraphStore): void {
    for (const n of this.#spec.nodes) {
      store.putNode({ ID: n.id, Metadata: { ...n.metadata }, Host: '', Origin: this.#origin, owner: null })
    }
    for (const l of this.#spec.links) {
      if (l.ownership) {
        store.putEdge({ ID: linkID(l.parent, l.child, 'ownership'), Parent: l.parent, Child: l.child, Metadata: { RelationType: 'ownership' }, Host: '', Origin: this.#origin, owner: null })
      }
      store.putEdge({ ID: linkID(l.parent, l.child, 'layer2'), Parent: l.parent, Child: l.child, Metadata: { RelationType: 'layer2', ...l.linkMetadata }, Host: '', Origin: this.#origin, owner: null })
    }
    if (this.#spec.wildcards.length === 0) return
    for (const e of [...store.edges()]) this.#checkEdge(e, store)
  }

  onStoreEvent (ev: StoreEvent, store: GraphStore): void {
    if (this.#spec.wildcards.length === 0) return
    if (ev.type === 'edgeUpserted') {
      const e = store.getEdge(ev.id)
      if (e !== undefined) this.#checkEdge(e, store)
    } else if (ev.type === 'nodeUpserted') {
      // A host renamed into a wildcard's filter, or an interface renamed to its name, links too.
      for (const e of store.edgesOf(ev.id)) this.#checkEdge(e, store)
    }
  }

  #checkEdge (e: GraphEdge, store: GraphStore): void {
    const parent = store.getNode(e.Parent)
    const child = store.getNode(e.Child)
    if (parent === undefined || child === undefined) return
    for (const w of this.#spec.wildcards) {
      if (w.fabricNode === child.ID || !store.hasNode(w.fabricNode)) continue
      if (!matchesMetadata(parent.Metadata, w.parentFilter) || !matchesMetadata(child.Metadata, w.childFilter)) continue
      const id = linkID(w.fabricNode, child.ID, 'layer2')
      if (store.getEdge(id) !== undefined) continue
      store.putEdge({ ID: id, Parent: w.fabricNode, Child: child.ID, Metadata: { RelationType: 'layer2', ...w.linkMetadata }, Host: '', Origin: this.#origin, owner: null })
    }
  }
}
