import type { EdgeInput, NodeInput, TopologyEventInput, TopologyEventKind } from '@topoflow/schemas'

/**
 * Shapes shared by the topology probe. Node, edge and event JSON are the Avro types of
 * `@topoflow/schemas` (Skydive's graph model, reference/skydive-compat.md §4.1): times in epoch ms,
 * `Revision` bumped on each metadata change, `DeletedAt` only on the last revision of a deleted element.
 */

export type Metadata = Record<string, unknown>

export type GraphNode = NodeInput
export type GraphEdge = EdgeInput

export const topologyEventKinds = ['HostSync', 'NodeUpdated', 'NodeDeleted', 'EdgeUpdated', 'EdgeDeleted'] as const satisfies readonly TopologyEventKind[]
export type { TopologyEventKind }

/** The agent leaves out what an event kind does not carry rather than sending null. */
export type TopologyEvent = Omit<TopologyEventInput, 'Node' | 'Edge'> & { Node?: GraphNode, Edge?: GraphEdge }

/** One socket with its owning process, in Skydive's flat `ConnectionInfo` shape (§4.2 socketinfo). */
export interface SocketInfo {
  Process: string
  Pid: number
  Name: string
  LocalAddress: string
  LocalPort: number
  RemoteAddress: string
  RemotePort: number
  Protocol: 'TCP' | 'UDP'
  State: string
}

export interface SocketsEvent {
  Host: string
  Time: number
  Sockets: SocketInfo[]
}

/** A node or edge as discovery produces it, before times and revisions are attached. */
export interface SnapshotNode {
  ID: string
  Metadata: Metadata
}

export interface SnapshotEdge extends SnapshotNode {
  Parent: string
  Child: string
}

export interface Snapshot {
  nodes: Map<string, SnapshotNode>
  edges: Map<string, SnapshotEdge>
}

/** What the agent has published so far: the base for the next diff. */
export interface PublishedGraph {
  nodes: Map<string, GraphNode>
  edges: Map<string, GraphEdge>
}

/** A network namespace found on the host. `key` is its inode as a string, unique on one host. */
export interface NamespaceInfo {
  key: string
  inode: number
  device: number
  /** Path that can be opened to enter it: `/var/run/netns/<name>` or `/proc/<pid>/ns/net`. */
  path: string
  name: string
  /** Bind-mounted under a netns directory (as `ip netns add` does) rather than only held by processes. */
  named: boolean
  /** The agent's own namespace: its interfaces hang directly off the host node, as in Skydive. */
  root: boolean
}
