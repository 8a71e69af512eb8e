import type { Bus } from '@topoflow/core'
import type { GraphEdge, GraphNode } from '@topoflow/gremlin'
import { apiTopics } from '../topics.ts'
import type { LiveGraph } from './live-graph.ts'

/** A value of `topoflow.topology.events.v1`. */
export interface TopologyEvent {
  Kind: 'NodeUpdated' | 'NodeDeleted' | 'EdgeUpdated' | 'EdgeDeleted' | 'HostSync'
  Host: string
  Origin: string
  Time: number
  Node: GraphNode | null
  Edge: GraphEdge | null
  Nodes: GraphNode[]
  Edges: GraphEdge[]
}

function wire<T extends GraphNode> (el: T): T {
  return { ...el, DeletedAt: el.DeletedAt ?? null }
}

/**
 * Writes graph elements created through the API or a websocket publisher as topology events for the
 * graph-builder, and applies them to the live replica at once (read-your-writes).
 */
export class TopologyWriter {
  readonly #bus: Bus
  readonly #live: LiveGraph
  readonly #now: () => number

  constructor (opts: { bus: Bus, live: LiveGraph, now: () => number }) {
    this.#bus = opts.bus
    this.#live = opts.live
    this.#now = opts.now
  }

  async #publish (key: string, event: Omit<TopologyEvent, 'Time' | 'Node' | 'Edge' | 'Nodes' | 'Edges'> & Partial<TopologyEvent>): Promise<void> {
    const value: TopologyEvent = { Node: null, Edge: null, Nodes: [], Edges: [], Time: this.#now(), ...event }
    await this.#bus.publish<TopologyEvent>(apiTopics.topologyEvents, [{ key, value }])
  }

  async upsertNode (node: GraphNode): Promise<GraphNode> {
    await this.#publish(node.ID, { Kind: 'NodeUpdated', Host: node.Host, Origin: node.Origin, Node: wire(node) })
    return this.#live.upsertNode(node)
  }

  async deleteNode (node: GraphNode): Promise<void> {
    const at = this.#now()
    await this.#publish(node.ID, { Kind: 'NodeDeleted', Host: node.Host, Origin: node.Origin, Node: wire({ ...node, DeletedAt: at }) })
    this.#live.deleteNode(node.ID, at)
  }

  async upsertEdge (edge: GraphEdge): Promise<GraphEdge> {
    await this.#publish(edge.ID, { Kind: 'EdgeUpdated', Host: edge.Host, Origin: edge.Origin, Edge: wire(edge) })
    return this.#live.upsertEdge(edge)
  }

  async deleteEdge (edge: GraphEdge): Promise<void> {
    const at = this.#now()
    await this.#publish(edge.ID, { Kind: 'EdgeDeleted', Host: edge.Host, Origin: edge.Origin, Edge: wire({ ...edge, DeletedAt: at }) })
    this.#live.deleteEdge(edge.ID, at)
  }

  /** Replaces everything a publisher owns (Skydive's `Sync` from a publisher): a HostSync event. */
  async sync (host: string, origin: string, nodes: GraphNode[], edges: GraphEdge[]): Promise<void> {
    await this.#publish(host, { Kind: 'HostSync', Host: host, Origin: origin, Nodes: nodes.map(wire), Edges: edges.map(wire) })
    const at = this.#now()
    const keepNodes = new Set(nodes.map((n) => n.ID))
    const keepEdges = new Set(edges.map((e) => e.ID))
    for (const e of this.#live.edges()) if (e.Origin === origin && !keepEdges.has(e.ID)) this.#live.deleteEdge(e.ID, at)
    for (const n of this.#live.nodes()) if (n.Origin === origin && !keepNodes.has(n.ID)) this.#live.deleteNode(n.ID, at)
    for (const n of nodes) this.#live.upsertNode(n)
    for (const e of edges) this.#live.upsertEdge(e)
  }
}
