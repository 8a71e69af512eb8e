import { jsonEqual, type Bus, type BusMessage, type Logger, type Subscription } from '@topoflow/core'
import type { GraphEdge, GraphNode, MemoryGraph } from '@topoflow/gremlin'
import type { TopologyChangeInput } from '@topoflow/schemas'
import { apiTopics, asObject } from '../topics.ts'

/** A value of `topoflow.topology.changes.v1`; in process it may come without the fields the schema defaults. */
export type TopologyChange = TopologyChangeInput

/** One partial-update operation, as Skydive's `NodePartiallyUpdated` carries them (1 = set, 2 = delete). */
export interface PartialOp {
  Type: 1 | 2
  Key: string
  Value?: unknown
}

export type GraphEventType = 'NodeAdded' | 'NodeUpdated' | 'NodeDeleted' | 'EdgeAdded' | 'EdgeUpdated' | 'EdgeDeleted'

export interface GraphEvent {
  type: GraphEventType
  element: GraphNode | GraphEdge
  /** for updates: what changed in Metadata */
  ops?: PartialOp[]
}

export type GraphListener = (event: GraphEvent) => void

/** Top-level metadata differences as Skydive's partial-update ops. */
export function metadataOps (before: Record<string, unknown>, after: Record<string, unknown>): PartialOp[] {
  const ops: PartialOp[] = []
  for (const [k, v] of Object.entries(after)) if (!jsonEqual(before[k], v)) ops.push({ Type: 1, Key: `Metadata.${k}`, Value: v })
  for (const k of Object.keys(before)) if (!(k in after)) ops.push({ Type: 2, Key: `Metadata.${k}` })
  return ops
}

function toNode (raw: unknown): GraphNode | undefined {
  const n = asObject(raw)
  if (n === undefined || typeof n.ID !== 'string' || n.ID === '') return undefined
  const node: GraphNode = {
    ID: n.ID,
    Metadata: asObject(n.Metadata) ?? {},
    Host: typeof n.Host === 'string' ? n.Host : '',
    Origin: typeof n.Origin === 'string' ? n.Origin : '',
    CreatedAt: Number(n.CreatedAt ?? 0),
    UpdatedAt: Number(n.UpdatedAt ?? n.CreatedAt ?? 0),
    Revision: Number(n.Revision ?? 1)
  }
  if (typeof n.DeletedAt === 'number') node.DeletedAt = n.DeletedAt
  return node
}

function toEdge (raw: unknown): GraphEdge | undefined {
  const node = toNode(raw)
  const e = asObject(raw)
  if (node === undefined || e === undefined || typeof e.Parent !== 'string' || typeof e.Child !== 'string') return undefined
  return { ...node, Parent: e.Parent, Child: e.Child }
}

/**
 * The API's live replica of the graph: the graph-builder's compacted changes topic applied to a
 * MemoryGraph (which also keeps recent history for `At()`), with events for websocket subscribers
 * and alerts. Elements created through the API are applied here at once as well, so a client reads
 * its own writes before the graph-builder's revision comes back.
 */
export class LiveGraph {
  readonly graph: MemoryGraph
  readonly #bus: Bus
  readonly #group: string
  readonly #logger: Logger
  readonly #listeners = new Set<GraphListener>()
  #sub: Subscription | undefined
  #applied = 0

  constructor (opts: { graph: MemoryGraph, bus: Bus, group: string, logger: Logger }) {
    this.graph = opts.graph
    this.#bus = opts.bus
    this.#group = opts.group
    this.#logger = opts.logger
  }

  /** Changes applied since start, for tests and metrics. */
  get applied (): number { return this.#applied }

  /** Resolves once the topic was read to where it ended at start (see `Subscription.caughtUp`). */
  get caughtUp (): Promise<void> { return this.#sub?.caughtUp ?? Promise.resolve() }

  async start (): Promise<void> {
    this.#sub = await this.#bus.subscribe<TopologyChange>({
      topics: [apiTopics.topologyChanges],
      group: this.#group,
      fromBeginning: true,
      handler: async (batch) => { for (const m of batch) this.#onMessage(m) }
    })
  }

  async close (): Promise<void> {
    await this.#sub?.close()
    this.#sub = undefined
  }

  onEvent (listener: GraphListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  nodes (): readonly GraphNode[] { return this.graph.snapshot().nodes() }
  edges (): readonly GraphEdge[] { return this.graph.snapshot().edges() }

  #onMessage (m: BusMessage<TopologyChange>): void {
    try {
      if (m.value === null) {
        // tombstone of a compacted key: the element ID
        const id = m.key ?? ''
        if (this.graph.getEdge(id) !== undefined) this.deleteEdge(id, Date.now())
        else if (this.graph.getNode(id) !== undefined) this.deleteNode(id, Date.now())
        return
      }
      this.apply(m.value)
    } catch (err) {
      this.#logger.warn({ err, key: m.key, offset: m.offset }, 'Could not apply a topology change')
    }
  }

  /** Applies one change; malformed changes are logged and skipped. */
  apply (change: TopologyChange): void {
    this.#applied++
    if (change.ElementType === 'node') {
      const node = toNode(change.Node)
      if (node === undefined) { this.#logger.warn({ change }, 'Topology change without a valid Node'); return }
      if (change.Op === 'delete') this.deleteNode(node.ID, node.DeletedAt ?? change.Time)
      else this.upsertNode(node)
      return
    }
    const edge = toEdge(change.Edge)
    if (edge === undefined) { this.#logger.warn({ change }, 'Topology change without a valid Edge'); return }
    if (change.Op === 'delete') this.deleteEdge(edge.ID, edge.DeletedAt ?? change.Time)
    else this.upsertEdge(edge)
  }

  upsertNode (node: GraphNode): GraphNode {
    const before = this.graph.getNode(node.ID)
    if (before !== undefined) {
      // an older revision arriving late must not undo a newer one
      if (node.Revision < before.Revision) return before
      if (node.Revision === before.Revision && jsonEqual(node.Metadata, before.Metadata) && node.Host === before.Host) return before
    }
    const input = { ID: node.ID, Metadata: node.Metadata, Host: node.Host, Origin: node.Origin, CreatedAt: node.CreatedAt, UpdatedAt: node.UpdatedAt, Revision: node.Revision }
    const after = this.graph.upsertNode(input)
    this.#emit(before === undefined
      ? { type: 'NodeAdded', element: after }
      : { type: 'NodeUpdated', element: after, ops: metadataOps(before.Metadata, after.Metadata) })
    return after
  }

  upsertEdge (edge: GraphEdge): GraphEdge {
    const before = this.graph.getEdge(edge.ID)
    if (before !== undefined) {
      if (edge.Revision < before.Revision) return before
      if (edge.Revision === before.Revision && jsonEqual(edge.Metadata, before.Metadata) && edge.Parent === before.Parent && edge.Child === before.Child) return before
    }
    const input = { ID: edge.ID, Metadata: edge.Metadata, Host: edge.Host, Origin: edge.Origin, CreatedAt: edge.CreatedAt, UpdatedAt: edge.UpdatedAt, Revision: edge.Revision, Parent: edge.Parent, Child: edge.Child }
    const after = this.graph.upsertEdge(input)
    this.#emit(before === undefined
      ? { type: 'EdgeAdded', element: after }
      : { type: 'EdgeUpdated', element: after, ops: metadataOps(before.Metadata, after.Metadata) })
    return after
  }

  /** Deletes a node and its edges (edges first, as Skydive notifies them). */
  deleteNode (id: string, at: number): boolean {
    const node = this.graph.getNode(id)
    if (node === undefined) return false
    for (const e of [...this.graph.snapshot().nodeEdges(id)]) this.deleteEdge(e.ID, at)
    this.graph.deleteNode(id, at)
    this.#emit({ type: 'NodeDeleted', element: { ...node, DeletedAt: at } })
    return true
  }

  deleteEdge (id: string, at: number): boolean {
    const edge = this.graph.getEdge(id)
    if (edge === undefined) return false
    this.graph.deleteEdge(id, at)
    this.#emit({ type: 'EdgeDeleted', element: { ...edge, DeletedAt: at } })
    return true
  }

  #emit (event: GraphEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event)
      } catch (err) {
        this.#logger.error({ err, type: event.type }, 'Graph listener failed')
      }
    }
  }
}
