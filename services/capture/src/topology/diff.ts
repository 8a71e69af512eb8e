import type { GraphEdge, GraphNode, PublishedGraph, Snapshot, TopologyEvent } from './types.ts'
import { jsonEqual } from '@topoflow/core'

export interface EventContext {
  host: string
  origin: string
  now: number
}

export function emptyGraph (): PublishedGraph {
  return { nodes: new Map(), edges: new Map() }
}

/**
 * Compares what was published with a new snapshot. Returns the next published graph (unchanged
 * elements keep their object, times and revision) and the delta events, ordered so that a consumer
 * applying them one by one never sees an edge whose ends are missing: node upserts, edge upserts,
 * edge deletions, node deletions.
 */
export function diffSnapshot (prev: PublishedGraph, next: Snapshot, ctx: EventContext): { graph: PublishedGraph, events: TopologyEvent[] } {
  const graph = emptyGraph()
  const nodeUpserts: TopologyEvent[] = []
  const edgeUpserts: TopologyEvent[] = []
  const edgeDeletes: TopologyEvent[] = []
  const nodeDeletes: TopologyEvent[] = []
  const base = { Host: ctx.host, Origin: ctx.origin, Time: ctx.now }
  let addedNodes = 0
  let addedEdges = 0

  for (const [id, n] of next.nodes) {
    const old = prev.nodes.get(id)
    // The same metadata object (a snapshot built with a cache) needs no comparing.
    if (old !== undefined && (old.Metadata === n.Metadata || jsonEqual(old.Metadata, n.Metadata))) {
      graph.nodes.set(id, old)
      continue
    }
    if (old === undefined) addedNodes++
    const node: GraphNode = old === undefined
      ? { ID: id, Metadata: n.Metadata, Host: ctx.host, Origin: ctx.origin, CreatedAt: ctx.now, UpdatedAt: ctx.now, Revision: 1 }
      : { ...old, Metadata: n.Metadata, UpdatedAt: ctx.now, Revision: old.Revision + 1 }
    graph.nodes.set(id, node)
    nodeUpserts.push({ Kind: 'NodeUpdated', ...base, Node: node })
  }

  for (const [id, e] of next.edges) {
    const old = prev.edges.get(id)
    if (old !== undefined && old.Parent === e.Parent && old.Child === e.Child && (old.Metadata === e.Metadata || jsonEqual(old.Metadata, e.Metadata))) {
      graph.edges.set(id, old)
      continue
    }
    if (old === undefined) addedEdges++
    const edge: GraphEdge = old === undefined
      ? { ID: id, Parent: e.Parent, Child: e.Child, Metadata: e.Metadata, Host: ctx.host, Origin: ctx.origin, CreatedAt: ctx.now, UpdatedAt: ctx.now, Revision: 1 }
      : { ...old, Parent: e.Parent, Child: e.Child, Metadata: e.Metadata, UpdatedAt: ctx.now, Revision: old.Revision + 1 }
    graph.edges.set(id, edge)
    edgeUpserts.push({ Kind: 'EdgeUpdated', ...base, Edge: edge })
  }

  // Nothing new and as many as before: every element before is still there, nothing deleted.
  if (graph.edges.size !== prev.edges.size || addedEdges > 0) {
    for (const [id, old] of prev.edges) {
      if (!next.edges.has(id)) edgeDeletes.push({ Kind: 'EdgeDeleted', ...base, Edge: { ...old, DeletedAt: ctx.now } })
    }
  }
  if (graph.nodes.size !== prev.nodes.size || addedNodes > 0) {
    for (const [id, old] of prev.nodes) {
      if (!next.nodes.has(id)) nodeDeletes.push({ Kind: 'NodeDeleted', ...base, Node: { ...old, DeletedAt: ctx.now } })
    }
  }

  return { graph, events: [...nodeUpserts, ...edgeUpserts, ...edgeDeletes, ...nodeDeletes] }
}

/** The full picture of this host, sent on start and whenever deltas may have been lost. */
export function hostSyncEvent (graph: PublishedGraph, ctx: EventContext): TopologyEvent {
  return {
    Kind: 'HostSync',
    Host: ctx.host,
    Origin: ctx.origin,
    Time: ctx.now,
    Nodes: [...graph.nodes.values()],
    Edges: [...graph.edges.values()]
  }
}
