import { TopoflowError } from '@topoflow/core'
import { evalError } from './errors.ts'
import { dottedKeys, getPath, notFound } from './fields.ts'
import type { FieldReader } from './fields.ts'
import type { TimeContext } from './time.ts'
import { timeWindow } from './time.ts'

export type Metadata = Record<string, unknown>

/** A node as Skydive's API shows it; times in epoch ms. */
export interface GraphNode {
  ID: string
  Metadata: Metadata
  Host: string
  Origin: string
  CreatedAt: number
  UpdatedAt: number
  DeletedAt?: number | null
  Revision: number
}

/** An edge: a node-like element plus `Parent` → `Child` (ownership goes container → contained). */
export interface GraphEdge extends GraphNode {
  Parent: string
  Child: string
}

export type GraphElement = GraphNode | GraphEdge

/**
 * The graph as the evaluator sees it, at one time: the live graph, a point in time, or (with a
 * duration) every revision alive in a window, in which case one ID may appear several times.
 * Reads are synchronous: a store loads what the query needs before handing out a snapshot.
 */
export interface GraphSnapshot {
  /** The time context this snapshot answers for; undefined for the live graph. */
  readonly time?: TimeContext
  nodes(): readonly GraphNode[]
  edges(): readonly GraphEdge[]
  node(id: string): GraphNode | undefined
  edge(id: string): GraphEdge | undefined
  /** Edges where the node is parent or child. */
  nodeEdges(nodeId: string): readonly GraphEdge[]
  /**
   * Nodes for which the term filter `key == value` (a string, matched as `Has` does) may hold, in
   * `nodes()` order; undefined when the store keeps no index on `key`. Lets `V().Has(...)` skip the
   * scan of every node. Callers still apply the filter.
   */
  nodesWithValue?(key: string, value: string): readonly GraphNode[] | undefined
}

/** Something that can hand out the graph at a time: the live in-memory graph, OpenSearch history. */
export interface GraphSource {
  /** Without `time`, the live graph. Stores without history reject a time. */
  at(time?: TimeContext): Promise<GraphSnapshot>
}

/** The error Skydive returns when a backend has no history. */
export function historyNotSupported (): TopoflowError {
  return evalError('Backend does not support history')
}

export function isEdge (el: GraphElement): el is GraphEdge {
  return typeof (el as GraphEdge).Parent === 'string' && typeof (el as GraphEdge).Child === 'string'
}

/** The element's field `key`: `@ID`, `@Host`, …, `Parent`/`Child` of edges, or (dotted) metadata. */
export function elementField (el: GraphElement, key: string): unknown {
  switch (key) {
    case '@ID': return el.ID
    case '@Host': return el.Host
    case '@Origin': return el.Origin
    case '@CreatedAt': return el.CreatedAt
    case '@UpdatedAt': return el.UpdatedAt
    case '@DeletedAt': return el.DeletedAt ?? notFound
    case '@Revision': return el.Revision
  }
  if (isEdge(el) && (key === 'Parent' || key === 'Child')) return el[key]
  return getPath(el.Metadata, key.startsWith('Metadata.') ? key.slice(9) : key)
}

export function elementReader (el: GraphElement): FieldReader {
  return (key) => elementField(el, key)
}

export const elementSpecialKeys = ['@ID', '@Host', '@Origin', '@CreatedAt', '@UpdatedAt', '@DeletedAt', '@Revision']

/** Keys of an element as `Keys()` lists them: the special `@` keys, then dotted metadata keys. */
export function elementKeys (el: GraphElement): string[] {
  return [...elementSpecialKeys, ...dottedKeys(el.Metadata)]
}

/** JSON of a node or edge exactly as Skydive writes it (`DeletedAt` is null when not deleted). */
export function elementJson (el: GraphElement): Record<string, unknown> {
  const json: Record<string, unknown> = {
    ID: el.ID,
    Metadata: el.Metadata,
    Host: el.Host,
    Origin: el.Origin,
    CreatedAt: el.CreatedAt,
    UpdatedAt: el.UpdatedAt,
    DeletedAt: el.DeletedAt ?? null,
    Revision: el.Revision
  }
  if (isEdge(el)) {
    json.Parent = el.Parent
    json.Child = el.Child
  }
  return json
}

/**
 * `JSON.stringify(elementJson(el))` per element object. Elements are never changed in place (an
 * update makes a new object), so the text stays right for as long as the object lives.
 */
const elementTexts = new WeakMap<GraphElement, string>()

/** `elementJson` as JSON text, serialized once per element object. */
export function elementJsonText (el: GraphElement): string {
  let text = elementTexts.get(el)
  if (text === undefined) {
    text = JSON.stringify(elementJson(el))
    elementTexts.set(el, text)
  }
  return text
}

/** Keeps, per ID, the latest revision (range snapshots hold several). */
function latestById<T extends GraphElement> (elements: readonly T[]): Map<string, T> {
  const byId = new Map<string, T>()
  for (const el of elements) {
    const seen = byId.get(el.ID)
    if (seen === undefined || el.Revision >= seen.Revision) byId.set(el.ID, el)
  }
  return byId
}

/**
 * A snapshot over fixed arrays of nodes and edges, with lookups and adjacency built on first use.
 * Stores that fetch elements (e.g. from OpenSearch) can hand their results to this.
 */
export function createSnapshot (nodes: readonly GraphNode[], edges: readonly GraphEdge[], time?: TimeContext): GraphSnapshot {
  let nodeIndex: Map<string, GraphNode> | undefined
  let edgeIndex: Map<string, GraphEdge> | undefined
  let adjacency: Map<string, GraphEdge[]> | undefined
  const buildAdjacency = (): Map<string, GraphEdge[]> => {
    const adj = new Map<string, GraphEdge[]>()
    const add = (id: string, e: GraphEdge): void => {
      const list = adj.get(id)
      if (list === undefined) adj.set(id, [e])
      else list.push(e)
    }
    for (const e of edges) {
      add(e.Parent, e)
      if (e.Child !== e.Parent) add(e.Child, e)
    }
    return adj
  }
  const snapshot: GraphSnapshot = {
    nodes: () => nodes,
    edges: () => edges,
    node: (id) => (nodeIndex ??= latestById(nodes)).get(id),
    edge: (id) => (edgeIndex ??= latestById(edges)).get(id),
    nodeEdges: (id) => (adjacency ??= buildAdjacency()).get(id) ?? []
  }
  return time === undefined ? snapshot : { ...snapshot, time }
}

/** What callers give to add or update an element; missing times and revision are filled in. */
export interface NodeInput {
  ID: string
  Metadata?: Metadata
  Host?: string
  Origin?: string
  CreatedAt?: number
  UpdatedAt?: number
  Revision?: number
}

export interface EdgeInput extends NodeInput {
  Parent: string
  Child: string
}

export interface MemoryGraphOptions {
  /** Clock for defaults and for the history window; epoch ms. */
  now?: () => number
  /**
   * How long past revisions are kept for `At()` (ms). 0 keeps none, and then a time context is
   * rejected with Skydive's "Backend does not support history". Default one hour.
   */
  historyWindowMs?: number
  /** Upper bound on kept past revisions, whatever their age. Default 1,000,000. */
  maxHistoryRevisions?: number
  /**
   * Node fields indexed by their string values, for `V().Has(key, 'value')` on the live graph: any
   * key `Has` takes (`Type`, `Metadata.Name`, `@Host`...). Default `defaultIndexedKeys`.
   */
  indexedKeys?: readonly string[]
}

/** The keys Skydive's clients and our UI filter nodes on most. */
export const defaultIndexedKeys: readonly string[] = ['Type', 'Name', 'TID', 'MAC', '@Host']

/** One revision of an element and the time span it was the current one: `[from, to)`. */
interface Revision<T> {
  element: T
  from: number
  to?: number
}

interface ClosedRevision {
  history: Map<string, Array<Revision<GraphElement>>>
  id: string
  revision: Revision<GraphElement>
}

function requireId (id: unknown, what: string): string {
  if (typeof id !== 'string' || id === '') {
    throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `${what} ID must be a non-empty string`)
  }
  return id
}

/** The fields every new element starts with; times default to `now`, Revision to 1. */
function firstRevision (id: string, input: NodeInput, now: number): GraphNode {
  const createdAt = input.CreatedAt ?? now
  return {
    ID: id,
    Metadata: structuredClone(input.Metadata ?? {}),
    Host: input.Host ?? '',
    Origin: input.Origin ?? '',
    CreatedAt: createdAt,
    UpdatedAt: input.UpdatedAt ?? createdAt,
    Revision: input.Revision ?? 1
  }
}

/** An element's next revision: what the input gives replaces, the rest is kept; Revision goes up by one unless given. */
function nextRevision (prev: GraphNode, input: Partial<NodeInput>, now: number): GraphNode {
  return {
    ID: prev.ID,
    Metadata: structuredClone(input.Metadata ?? prev.Metadata),
    Host: input.Host ?? prev.Host,
    Origin: input.Origin ?? prev.Origin,
    CreatedAt: input.CreatedAt ?? prev.CreatedAt,
    UpdatedAt: input.UpdatedAt ?? now,
    Revision: input.Revision ?? prev.Revision + 1
  }
}

function aliveAt (rev: Revision<GraphElement>, at: number): boolean {
  return rev.from <= at && (rev.to === undefined || rev.to > at)
}

function aliveIn (rev: Revision<GraphElement>, from: number, to: number): boolean {
  return rev.from <= to && (rev.to === undefined || rev.to > from)
}

/** IDs of the nodes holding one value of an indexed key; kept in graph order, re-sorted lazily. */
interface IndexBucket {
  ids: Set<string>
  /** highest insertion rank in `ids`: a lower one appended breaks the order */
  maxRank: number
  sorted: boolean
}

/** Strings a term filter on this value can match: the value itself, or any string nested in arrays. */
function termStrings (value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value)
  else if (Array.isArray(value)) for (const v of value) termStrings(v, out)
  return out
}

function sameStrings (a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i])
}

/** `Metadata.Type` and `Type` read the same field of a node. */
function indexKey (key: string): string {
  return key.startsWith('Metadata.') ? key.slice(9) : key
}

/**
 * The graph in memory: the live replica of the API and the all-in-one store. Keeps past revisions
 * for a bounded window, so that `G.At(...)` works without OpenSearch. The elements it hands out are
 * shared (by snapshots, history, its index and the JSON text cache) and must not be changed in
 * place: change them through `updateNode`/`updateEdge`.
 */
export class MemoryGraph implements GraphSource {
  private readonly now: () => number
  private readonly historyWindowMs: number
  private readonly maxHistoryRevisions: number
  private readonly nodesById = new Map<string, GraphNode>()
  private readonly edgesById = new Map<string, GraphEdge>()
  private readonly adjacency = new Map<string, Set<string>>()
  private readonly nodeHistory = new Map<string, Array<Revision<GraphElement>>>()
  private readonly edgeHistory = new Map<string, Array<Revision<GraphElement>>>()
  private closed: ClosedRevision[] = []
  private closedHead = 0
  /** indexed key → string value → nodes holding it */
  private readonly index = new Map<string, Map<string, IndexBucket>>()
  /** insertion rank of each live node: the order of `nodesById`, which index answers follow */
  private readonly rank = new Map<string, number>()
  private nextRank = 0
  /** `nodes()`/`edges()` of the live graph, shared by reads until the next change; never mutated */
  private nodeList: GraphNode[] | undefined
  private edgeList: GraphEdge[] | undefined

  constructor (options: MemoryGraphOptions = {}) {
    this.now = options.now ?? Date.now
    this.historyWindowMs = Math.max(0, options.historyWindowMs ?? 3_600_000)
    this.maxHistoryRevisions = Math.max(0, options.maxHistoryRevisions ?? 1_000_000)
    for (const key of options.indexedKeys ?? defaultIndexedKeys) this.index.set(indexKey(key), new Map())
  }

  get historySupported (): boolean {
    return this.historyWindowMs > 0
  }

  get nodeCount (): number {
    return this.nodesById.size
  }

  get edgeCount (): number {
    return this.edgesById.size
  }

  getNode (id: string): GraphNode | undefined {
    return this.nodesById.get(id)
  }

  getEdge (id: string): GraphEdge | undefined {
    return this.edgesById.get(id)
  }

  addNode (input: NodeInput): GraphNode {
    const id = requireId(input?.ID, 'Node')
    if (this.nodesById.has(id)) throw new TopoflowError('TOPOFLOW_ERR_CONFLICT', `Node '${id}' already exists`)
    const node = firstRevision(id, input, this.now())
    this.nodesById.set(id, node)
    this.rank.set(id, this.nextRank++)
    this.nodeList = undefined
    for (const key of this.index.keys()) this.indexValues(key, id, termStrings(elementField(node, key)))
    this.open(this.nodeHistory, node, node.UpdatedAt)
    return node
  }

  /** Replaces a node's metadata (and Host/Origin if given); Revision goes up by one unless given. */
  updateNode (input: NodeInput): GraphNode {
    const id = requireId(input?.ID, 'Node')
    const prev = this.nodesById.get(id)
    if (prev === undefined) throw new TopoflowError('TOPOFLOW_ERR_NOT_FOUND', `Node '${id}' does not exist`)
    const node = nextRevision(prev, input, this.now())
    this.nodesById.set(id, node)
    this.nodeList = undefined
    for (const key of this.index.keys()) {
      const before = termStrings(elementField(prev, key))
      const after = termStrings(elementField(node, key))
      // an unchanged value keeps its place in the bucket
      if (sameStrings(before, after)) continue
      this.unindexValues(key, id, before)
      this.indexValues(key, id, after)
    }
    this.replace(this.nodeHistory, node, node.UpdatedAt)
    return node
  }

  upsertNode (input: NodeInput): GraphNode {
    return this.nodesById.has(input?.ID) ? this.updateNode(input) : this.addNode(input)
  }

  /** Deletes a node and, first, its edges (as Skydive does). Returns false if it did not exist. */
  deleteNode (id: string, at: number = this.now()): boolean {
    const node = this.nodesById.get(id)
    if (node === undefined) return false
    for (const edgeId of [...(this.adjacency.get(id) ?? [])]) this.deleteEdge(edgeId, at)
    this.nodesById.delete(id)
    this.adjacency.delete(id)
    this.nodeList = undefined
    for (const key of this.index.keys()) this.unindexValues(key, id, termStrings(elementField(node, key)))
    this.rank.delete(id)
    this.close(this.nodeHistory, id, at)
    return true
  }

  /** Adds an edge. Its nodes may arrive later (events travel on different partitions). */
  addEdge (input: EdgeInput): GraphEdge {
    const id = requireId(input?.ID, 'Edge')
    requireId(input.Parent, 'Edge parent')
    requireId(input.Child, 'Edge child')
    if (this.edgesById.has(id)) throw new TopoflowError('TOPOFLOW_ERR_CONFLICT', `Edge '${id}' already exists`)
    const edge: GraphEdge = { ...firstRevision(id, input, this.now()), Parent: input.Parent, Child: input.Child }
    this.edgesById.set(id, edge)
    this.edgeList = undefined
    this.link(edge)
    this.open(this.edgeHistory, edge, edge.UpdatedAt)
    return edge
  }

  updateEdge (input: Partial<EdgeInput> & { ID: string }): GraphEdge {
    const id = requireId(input?.ID, 'Edge')
    const prev = this.edgesById.get(id)
    if (prev === undefined) throw new TopoflowError('TOPOFLOW_ERR_NOT_FOUND', `Edge '${id}' does not exist`)
    const edge: GraphEdge = { ...nextRevision(prev, input, this.now()), Parent: input.Parent ?? prev.Parent, Child: input.Child ?? prev.Child }
    this.unlink(prev)
    this.edgesById.set(id, edge)
    this.edgeList = undefined
    this.link(edge)
    this.replace(this.edgeHistory, edge, edge.UpdatedAt)
    return edge
  }

  upsertEdge (input: EdgeInput): GraphEdge {
    return this.edgesById.has(input?.ID) ? this.updateEdge(input) : this.addEdge(input)
  }

  deleteEdge (id: string, at: number = this.now()): boolean {
    const edge = this.edgesById.get(id)
    if (edge === undefined) return false
    this.unlink(edge)
    this.edgesById.delete(id)
    this.edgeList = undefined
    this.close(this.edgeHistory, id, at)
    return true
  }

  /** The graph now (no time), at a point in time, or every revision alive in a window. */
  snapshot (time?: TimeContext): GraphSnapshot {
    if (time === undefined) return this.liveSnapshot()
    if (!this.historySupported) throw historyNotSupported()
    this.prune()
    const pick = (history: Map<string, Array<Revision<GraphElement>>>): GraphElement[] => {
      const out: GraphElement[] = []
      if (time.duration === undefined) {
        for (const revisions of history.values()) {
          // newest first: most queries look at the recent past
          for (let i = revisions.length - 1; i >= 0; i--) {
            const rev = revisions[i] as Revision<GraphElement>
            if (aliveAt(rev, time.at)) {
              out.push(rev.element)
              break
            }
            if (rev.from <= time.at) break
          }
        }
      } else {
        const { from, to } = timeWindow(time)
        for (const revisions of history.values()) {
          for (const r of revisions) if (aliveIn(r, from, to)) out.push(r.element)
        }
      }
      return out
    }
    return createSnapshot(pick(this.nodeHistory) as GraphNode[], pick(this.edgeHistory) as GraphEdge[], time)
  }

  async at (time?: TimeContext): Promise<GraphSnapshot> {
    return this.snapshot(time)
  }

  /**
   * Live nodes whose `key` holds `value` (see `GraphSnapshot.nodesWithValue`), in graph order;
   * undefined when `key` is not indexed.
   */
  nodesWithValue (key: string, value: string): readonly GraphNode[] | undefined {
    const values = this.index.get(indexKey(key))
    if (values === undefined) return undefined
    const bucket = values.get(value)
    if (bucket === undefined) return []
    if (!bucket.sorted) {
      bucket.ids = new Set([...bucket.ids].sort((a, b) => (this.rank.get(a) ?? 0) - (this.rank.get(b) ?? 0)))
      bucket.sorted = true
    }
    const out: GraphNode[] = []
    for (const id of bucket.ids) {
      const node = this.nodesById.get(id)
      if (node !== undefined) out.push(node)
    }
    return out
  }

  private indexValues (key: string, id: string, strings: string[]): void {
    const values = this.index.get(key)
    if (values === undefined) return
    const rank = this.rank.get(id) ?? 0
    for (const value of strings) {
      let bucket = values.get(value)
      if (bucket === undefined) values.set(value, bucket = { ids: new Set(), maxRank: -1, sorted: true })
      if (bucket.ids.has(id)) continue
      bucket.ids.add(id)
      if (rank < bucket.maxRank) bucket.sorted = false
      else bucket.maxRank = rank
    }
  }

  private unindexValues (key: string, id: string, strings: string[]): void {
    const values = this.index.get(key)
    if (values === undefined) return
    for (const value of strings) {
      const bucket = values.get(value)
      if (bucket === undefined) continue
      bucket.ids.delete(id)
      if (bucket.ids.size === 0) values.delete(value)
    }
  }

  private liveSnapshot (): GraphSnapshot {
    return {
      nodes: () => (this.nodeList ??= [...this.nodesById.values()]),
      edges: () => (this.edgeList ??= [...this.edgesById.values()]),
      nodesWithValue: (key, value) => this.nodesWithValue(key, value),
      node: (id) => this.nodesById.get(id),
      edge: (id) => this.edgesById.get(id),
      nodeEdges: (id) => {
        const ids = this.adjacency.get(id)
        if (ids === undefined) return []
        const out: GraphEdge[] = []
        for (const edgeId of ids) {
          const e = this.edgesById.get(edgeId)
          if (e !== undefined) out.push(e)
        }
        return out
      }
    }
  }

  private link (edge: GraphEdge): void {
    for (const nodeId of [edge.Parent, edge.Child]) {
      let set = this.adjacency.get(nodeId)
      if (set === undefined) this.adjacency.set(nodeId, set = new Set())
      set.add(edge.ID)
    }
  }

  private unlink (edge: GraphEdge): void {
    for (const nodeId of [edge.Parent, edge.Child]) {
      const set = this.adjacency.get(nodeId)
      if (set === undefined) continue
      set.delete(edge.ID)
      if (set.size === 0 && !this.nodesById.has(nodeId)) this.adjacency.delete(nodeId)
    }
  }

  private open (history: Map<string, Array<Revision<GraphElement>>>, element: GraphElement, from: number): void {
    if (!this.historySupported) return
    const revisions = history.get(element.ID)
    const last = revisions?.[revisions.length - 1]
    // a re-created element starts after its previous life ended
    const start = last?.to !== undefined ? Math.max(from, last.to) : from
    if (revisions === undefined) history.set(element.ID, [{ element, from: start }])
    else revisions.push({ element, from: start })
    this.prune()
  }

  private replace (history: Map<string, Array<Revision<GraphElement>>>, element: GraphElement, at: number): void {
    if (!this.historySupported) return
    const revisions = history.get(element.ID)
    const current = revisions?.[revisions.length - 1]
    if (revisions === undefined || current === undefined || current.to !== undefined) {
      this.open(history, element, at)
      return
    }
    // out-of-order timestamps must not make a revision end before it started
    const t = Math.max(at, current.from)
    current.to = t
    this.closed.push({ history, id: element.ID, revision: current })
    revisions.push({ element, from: t })
    this.prune()
  }

  private close (history: Map<string, Array<Revision<GraphElement>>>, id: string, at: number): void {
    if (!this.historySupported) return
    const revisions = history.get(id)
    const current = revisions?.[revisions.length - 1]
    if (current === undefined || current.to !== undefined) return
    current.to = Math.max(at, current.from)
    // the archived revision says when the element was deleted, as Skydive's archive does
    current.element = { ...current.element, DeletedAt: current.to }
    this.closed.push({ history, id, revision: current })
    this.prune()
  }

  /** Drops revisions that ended before the window, and the oldest ones beyond the cap. */
  private prune (): void {
    const horizon = this.now() - this.historyWindowMs
    while (this.closedHead < this.closed.length) {
      const c = this.closed[this.closedHead] as ClosedRevision
      const overCap = this.closed.length - this.closedHead > this.maxHistoryRevisions
      if (!overCap && (c.revision.to ?? Infinity) >= horizon) break
      const revisions = c.history.get(c.id)
      if (revisions !== undefined) {
        const i = revisions.indexOf(c.revision)
        if (i !== -1) revisions.splice(i, 1)
        if (revisions.length === 0) c.history.delete(c.id)
      }
      this.closedHead++
    }
    if (this.closedHead > 1024 && this.closedHead * 2 > this.closed.length) {
      this.closed = this.closed.slice(this.closedHead)
      this.closedHead = 0
    }
  }
}
