import { jsonEqual, TopoflowError } from '@topoflow/core'
import type { GraphEdge, GraphNode, Metadata, TopologyChange } from '../types.ts'
import { setField } from './metadata.ts'

export type ElementType = 'node' | 'edge'
export type Element = GraphNode | GraphEdge

/**
 * One change of one element plus the revision it replaced, which the history writer archives.
 * `previous` is absent for a brand-new element.
 */
export interface ChangeRecord {
  change: TopologyChange
  previous?: Element
}

/** What reactors (k8s, fabric, rules, pending edges) hear about while a transaction runs. */
export type StoreEvent =
  | { type: 'nodeUpserted', id: string }
  | { type: 'edgeUpserted', id: string }
  | { type: 'nodeDeleted', node: GraphNode }
  | { type: 'edgeDeleted', edge: GraphEdge }

interface Entry<T extends Element> {
  el: T
  /** metadata as its producer sent it */
  base: Metadata
  /** metadata the graph-builder attaches on top (Sockets, Captures, node rule updates), in insertion order */
  overlays: Map<string, Metadata>
  /** the host whose agent owns it (HostSync, host timeout), or null when the graph-builder made it */
  owner: string | null
}

interface Touched {
  type: ElementType
  /** the last published state, cloned at first touch; undefined when new in this transaction */
  before: Element | undefined
}

/** The metadata keys that are overlays when read back from a published revision. */
const overlayKeys = { Sockets: 'sockets', Captures: 'captures' } as const

export interface PutNode {
  ID: string
  Metadata: Metadata
  Host: string
  Origin: string
  CreatedAt?: number | undefined
  owner: string | null
}

export interface PutEdge extends PutNode {
  Parent: string
  Child: string
}

/**
 * The graph's state and its only mutator. Every mutation runs inside a transaction (`begin`/`commit`):
 * the first change to an element in a transaction bumps its Revision once, a change that ends where it
 * started publishes nothing, and `commit` returns one record per element that really changed.
 */
export class GraphStore {
  readonly #nodes = new Map<string, Entry<GraphNode>>()
  readonly #edges = new Map<string, Entry<GraphEdge>>()
  readonly #edgesByNode = new Map<string, Set<string>>()
  readonly #nodesByOwner = new Map<string, Set<string>>()
  readonly #edgesByOwner = new Map<string, Set<string>>()
  readonly #nodesByType = new Map<string, Set<string>>()
  readonly #nodeByTID = new Map<string, string>()
  #touched = new Map<string, Touched>()
  #events: StoreEvent[] = []
  #time: number | null = null

  // ---- reads ----

  get nodeCount (): number { return this.#nodes.size }
  get edgeCount (): number { return this.#edges.size }

  getNode (id: string): GraphNode | undefined { return this.#nodes.get(id)?.el }
  getEdge (id: string): GraphEdge | undefined { return this.#edges.get(id)?.el }
  hasNode (id: string): boolean { return this.#nodes.has(id) }
  nodeBase (id: string): Metadata | undefined { return this.#nodes.get(id)?.base }
  nodeOwner (id: string): string | null | undefined { return this.#nodes.get(id)?.owner }
  edgeOwner (id: string): string | null | undefined { return this.#edges.get(id)?.owner }
  nodeOverlay (id: string, key: string): Metadata | undefined { return this.#nodes.get(id)?.overlays.get(key) }

  * nodes (): IterableIterator<GraphNode> { for (const e of this.#nodes.values()) yield e.el }
  * edges (): IterableIterator<GraphEdge> { for (const e of this.#edges.values()) yield e.el }

  edgesOf (nodeId: string): GraphEdge[] {
    const ids = this.#edgesByNode.get(nodeId)
    if (ids === undefined) return []
    const out: GraphEdge[] = []
    for (const id of ids) { const e = this.#edges.get(id); if (e !== undefined) out.push(e.el) }
    return out
  }

  nodesOfType (type: string): GraphNode[] {
    const ids = this.#nodesByType.get(type)
    if (ids === undefined) return []
    return [...ids].map((id) => this.#nodes.get(id)?.el).filter((n): n is GraphNode => n !== undefined)
  }

  nodeByTID (tid: string): GraphNode | undefined {
    const id = this.#nodeByTID.get(tid)
    return id === undefined ? undefined : this.#nodes.get(id)?.el
  }

  nodeIdsOwnedBy (host: string): string[] { return [...(this.#nodesByOwner.get(host) ?? [])] }
  edgeIdsOwnedBy (host: string): string[] { return [...(this.#edgesByOwner.get(host) ?? [])] }
  owners (): string[] { return [...new Set([...this.#nodesByOwner.keys(), ...this.#edgesByOwner.keys()])] }

  // ---- transactions ----

  get inTransaction (): boolean { return this.#time !== null }

  begin (time: number): void {
    if (this.#time !== null) throw new TopoflowError('TOPOFLOW_ERR_INTERNAL', 'GraphStore.begin: a transaction is already open')
    this.#time = time
  }

  /** Events recorded since the last call; reactors consume them until none are left. */
  takeEvents (): StoreEvent[] {
    const out = this.#events
    this.#events = []
    return out
  }

  commit (): ChangeRecord[] {
    const time = this.#requireTx()
    const nodeUpserts: ChangeRecord[] = []
    const edgeUpserts: ChangeRecord[] = []
    const edgeDeletes: ChangeRecord[] = []
    const nodeDeletes: ChangeRecord[] = []
    for (const [id, t] of this.#touched) {
      const entry = t.type === 'node' ? this.#nodes.get(id) : this.#edges.get(id)
      if (entry === undefined) {
        if (t.before === undefined) continue
        const deleted = { ...t.before, DeletedAt: time }
        const rec: ChangeRecord = { change: changeOf(t.type, 'delete', deleted, time), previous: t.before }
        ;(t.type === 'node' ? nodeDeletes : edgeDeletes).push(rec)
        continue
      }
      if (t.before !== undefined && sameContent(t.before, entry.el)) {
        // Changed and changed back inside one transaction: keep the published revision.
        entry.el = t.before as never
        continue
      }
      const rec: ChangeRecord = { change: changeOf(t.type, 'upsert', entry.el, time) }
      if (t.before !== undefined) rec.previous = t.before
      ;(t.type === 'node' ? nodeUpserts : edgeUpserts).push(rec)
    }
    this.#touched = new Map()
    this.#events = []
    this.#time = null
    return [...nodeUpserts, ...edgeUpserts, ...edgeDeletes, ...nodeDeletes]
  }

  // ---- mutations (inside a transaction) ----

  putNode (input: PutNode): void {
    const entry = this.#nodes.get(input.ID)
    if (entry === undefined) {
      const time = this.#requireTx()
      const el: GraphNode = {
        ID: input.ID,
        Metadata: {},
        Host: input.Host,
        Origin: input.Origin,
        CreatedAt: Math.min(input.CreatedAt ?? time, time),
        UpdatedAt: time,
        Revision: 0
      }
      const created: Entry<GraphNode> = { el, base: input.Metadata, overlays: new Map(), owner: input.owner }
      el.Metadata = compose(created)
      this.#touch('node', input.ID, undefined)
      el.Revision = this.#revisionFor(input.ID, 0)
      this.#nodes.set(input.ID, created)
      this.#indexNode(created)
      this.#events.push({ type: 'nodeUpserted', id: input.ID })
      return
    }
    const next = { ...entry.el, Host: input.Host, Origin: input.Origin }
    this.#replace('node', entry, input.Metadata, entry.overlays, next, input.owner)
  }

  putEdge (input: PutEdge): void {
    const existing = this.#edges.get(input.ID)
    if (existing !== undefined && (existing.el.Parent !== input.Parent || existing.el.Child !== input.Child)) {
      // An edge cannot move: re-create it so indexes and consumers see the new ends.
      this.deleteEdge(input.ID)
    }
    const entry = this.#edges.get(input.ID)
    if (entry === undefined) {
      const time = this.#requireTx()
      const el: GraphEdge = {
        ID: input.ID,
        Metadata: input.Metadata,
        Parent: input.Parent,
        Child: input.Child,
        Host: input.Host,
        Origin: input.Origin,
        CreatedAt: Math.min(input.CreatedAt ?? time, time),
        UpdatedAt: time,
        Revision: 0
      }
      this.#touch('edge', input.ID, undefined)
      el.Revision = this.#revisionFor(input.ID, 0)
      const created: Entry<GraphEdge> = { el, base: input.Metadata, overlays: new Map(), owner: input.owner }
      this.#edges.set(input.ID, created)
      this.#indexEdge(created)
      this.#events.push({ type: 'edgeUpserted', id: input.ID })
      return
    }
    const next = { ...entry.el, Host: input.Host, Origin: input.Origin }
    this.#replace('edge', entry, input.Metadata, entry.overlays, next, input.owner)
  }

  /** Sets (or with `value` undefined removes) one overlay of a node; a no-op when the node is absent. */
  setNodeOverlay (id: string, key: string, value: Metadata | undefined): void {
    const entry = this.#nodes.get(id)
    if (entry === undefined) return
    const current = entry.overlays.get(key)
    if (value === undefined ? current === undefined : jsonEqual(current, value)) return
    const overlays = new Map(entry.overlays)
    if (value === undefined) overlays.delete(key)
    else overlays.set(key, value)
    this.#replace('node', entry, entry.base, overlays, { ...entry.el }, entry.owner)
  }

  deleteNode (id: string): void {
    const entry = this.#nodes.get(id)
    if (entry === undefined) return
    for (const edgeId of [...(this.#edgesByNode.get(id) ?? [])]) this.deleteEdge(edgeId)
    this.#touch('node', id, entry.el)
    this.#nodes.delete(id)
    this.#unindexNode(entry)
    this.#events.push({ type: 'nodeDeleted', node: entry.el })
  }

  deleteEdge (id: string): void {
    const entry = this.#edges.get(id)
    if (entry === undefined) return
    this.#touch('edge', id, entry.el)
    this.#edges.delete(id)
    this.#unindexEdge(entry)
    this.#events.push({ type: 'edgeDeleted', edge: entry.el })
  }

  // ---- recovery (outside transactions) ----

  /**
   * Puts back an element read from the compacted changes topic, as it was published (same Revision and
   * times). `Sockets` and `Captures` become overlays again so the next producer update keeps them.
   */
  restore (type: ElementType, el: Element, owner: string | null): void {
    if (this.#time !== null) throw new TopoflowError('TOPOFLOW_ERR_INTERNAL', 'GraphStore.restore inside a transaction')
    const base: Metadata = { ...el.Metadata }
    const overlays = new Map<string, Metadata>()
    if (type === 'node') {
      for (const [key, name] of Object.entries(overlayKeys)) {
        if (key in base) { overlays.set(name, { [key]: base[key] }); delete base[key] }
      }
    }
    const clean = { ...el }
    delete clean.DeletedAt
    if (type === 'node') {
      this.forget('node', el.ID)
      const entry: Entry<GraphNode> = { el: clean, base, overlays, owner }
      this.#nodes.set(el.ID, entry)
      this.#indexNode(entry)
    } else {
      this.forget('edge', el.ID)
      const entry: Entry<GraphEdge> = { el: clean as GraphEdge, base, overlays, owner }
      this.#edges.set(el.ID, entry)
      this.#indexEdge(entry)
    }
  }

  /** Drops an element without publishing anything (recovery of a delete). */
  forget (type: ElementType, id: string): void {
    if (type === 'node') {
      const entry = this.#nodes.get(id)
      if (entry === undefined) return
      this.#nodes.delete(id)
      this.#unindexNode(entry)
    } else {
      const entry = this.#edges.get(id)
      if (entry === undefined) return
      this.#edges.delete(id)
      this.#unindexEdge(entry)
    }
  }

  // ---- internals ----

  #requireTx (): number {
    if (this.#time === null) throw new TopoflowError('TOPOFLOW_ERR_INTERNAL', 'GraphStore mutation outside a transaction')
    return this.#time
  }

  #touch (type: ElementType, id: string, before: Element | undefined): void {
    if (!this.#touched.has(id)) this.#touched.set(id, { type, before })
  }

  /** The revision an element gets when changed in this transaction: one more than the published one. */
  #revisionFor (id: string, fallback: number): number {
    const touched = this.#touched.get(id)
    if (touched === undefined) return fallback + 1
    // New in this transaction: it stays at revision 1 however often it changes before commit.
    return touched.before === undefined ? 1 : touched.before.Revision + 1
  }

  #replace<T extends Element>(type: ElementType, entry: Entry<T>, base: Metadata, overlays: Map<string, Metadata>, next: T, owner: string | null): void {
    const time = this.#requireTx()
    const metadata = compose({ base, overlays })
    const unchanged = jsonEqual(metadata, entry.el.Metadata) && next.Host === entry.el.Host && next.Origin === entry.el.Origin
    if (entry.owner !== owner) this.#reown(type, entry, owner)
    entry.base = base
    entry.overlays = overlays
    if (unchanged) return
    this.#touch(type, entry.el.ID, entry.el)
    const previousType = type === 'node' ? entry.el.Metadata.Type : undefined
    const previousTID = type === 'node' ? entry.el.Metadata.TID : undefined
    entry.el = { ...next, Metadata: metadata, UpdatedAt: Math.max(time, entry.el.CreatedAt), Revision: this.#revisionFor(entry.el.ID, entry.el.Revision) }
    if (type === 'node') {
      if (previousType !== metadata.Type || previousTID !== metadata.TID) {
        this.#unindexNodeAttrs(entry.el.ID, previousType, previousTID)
        this.#indexNode(entry as unknown as Entry<GraphNode>)
      }
      this.#events.push({ type: 'nodeUpserted', id: entry.el.ID })
    } else {
      this.#events.push({ type: 'edgeUpserted', id: entry.el.ID })
    }
  }

  #reown (type: ElementType, entry: Entry<Element>, owner: string | null): void {
    const index = type === 'node' ? this.#nodesByOwner : this.#edgesByOwner
    if (entry.owner !== null) removeFrom(index, entry.owner, entry.el.ID)
    entry.owner = owner
    if (owner !== null) addTo(index, owner, entry.el.ID)
  }

  #indexNode (entry: Entry<GraphNode>): void {
    const { el } = entry
    if (entry.owner !== null) addTo(this.#nodesByOwner, entry.owner, el.ID)
    if (typeof el.Metadata.Type === 'string') addTo(this.#nodesByType, el.Metadata.Type, el.ID)
    if (typeof el.Metadata.TID === 'string') this.#nodeByTID.set(el.Metadata.TID, el.ID)
  }

  #unindexNodeAttrs (id: string, type: unknown, tid: unknown): void {
    if (typeof type === 'string') removeFrom(this.#nodesByType, type, id)
    if (typeof tid === 'string' && this.#nodeByTID.get(tid) === id) this.#nodeByTID.delete(tid)
  }

  #unindexNode (entry: Entry<GraphNode>): void {
    const { el } = entry
    if (entry.owner !== null) removeFrom(this.#nodesByOwner, entry.owner, el.ID)
    this.#unindexNodeAttrs(el.ID, el.Metadata.Type, el.Metadata.TID)
  }

  #indexEdge (entry: Entry<GraphEdge>): void {
    const { el } = entry
    addTo(this.#edgesByNode, el.Parent, el.ID)
    addTo(this.#edgesByNode, el.Child, el.ID)
    if (entry.owner !== null) addTo(this.#edgesByOwner, entry.owner, el.ID)
  }

  #unindexEdge (entry: Entry<GraphEdge>): void {
    const { el } = entry
    removeFrom(this.#edgesByNode, el.Parent, el.ID)
    removeFrom(this.#edgesByNode, el.Child, el.ID)
    if (entry.owner !== null) removeFrom(this.#edgesByOwner, entry.owner, el.ID)
  }
}

function compose (entry: { base: Metadata, overlays: Map<string, Metadata> }): Metadata {
  if (entry.overlays.size === 0) return entry.base
  const out: Metadata = { ...entry.base }
  for (const overlay of entry.overlays.values()) {
    for (const [k, v] of Object.entries(overlay)) setField(out, k, v)
  }
  return out
}

function sameContent (a: Element, b: Element): boolean {
  return a.Host === b.Host && a.Origin === b.Origin &&
    (a as GraphEdge).Parent === (b as GraphEdge).Parent && (a as GraphEdge).Child === (b as GraphEdge).Child &&
    jsonEqual(a.Metadata, b.Metadata)
}

function changeOf (type: ElementType, op: 'upsert' | 'delete', el: Element, time: number): TopologyChange {
  return type === 'node'
    ? { ElementType: 'node', Op: op, Node: el, Time: time }
    : { ElementType: 'edge', Op: op, Edge: el as GraphEdge, Time: time }
}

function addTo (index: Map<string, Set<string>>, key: string, id: string): void {
  let set = index.get(key)
  if (set === undefined) index.set(key, set = new Set())
  set.add(id)
}

function removeFrom (index: Map<string, Set<string>>, key: string, id: string): void {
  const set = index.get(key)
  if (set === undefined) return
  set.delete(id)
  if (set.size === 0) index.delete(key)
}
