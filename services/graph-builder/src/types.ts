/**
 * Shapes of what the graph-builder reads and writes. Field names follow the Avro schemas of
 * `@topoflow/schemas` and Skydive's JSON (reference/skydive-compat.md §4.1); they are declared here
 * structurally so the pure core does not depend on how the codecs are generated.
 */
export type Metadata = Record<string, unknown>

export interface GraphNode {
  ID: string
  Metadata: Metadata
  Host: string
  Origin: string
  /** epoch ms */
  CreatedAt: number
  UpdatedAt: number
  DeletedAt?: number | null
  Revision: number
}

export interface GraphEdge extends GraphNode {
  Parent: string
  Child: string
}

export type TopologyEventKind = 'HostSync' | 'NodeUpdated' | 'NodeDeleted' | 'EdgeUpdated' | 'EdgeDeleted'

/** What a node or edge looks like when a producer sends it: times and revision are the graph's business. */
export type NodeInput = Pick<GraphNode, 'ID' | 'Metadata'> & Partial<Pick<GraphNode, 'Host' | 'Origin' | 'CreatedAt' | 'UpdatedAt' | 'Revision'>>
export type EdgeInput = NodeInput & Pick<GraphEdge, 'Parent' | 'Child'>

export interface TopologyEvent {
  Kind: TopologyEventKind
  Host: string
  Origin: string
  Time: number
  Node?: NodeInput | null
  Edge?: EdgeInput | null
  Nodes?: NodeInput[] | null
  Edges?: EdgeInput[] | null
}

export interface SocketsSnapshot {
  Host: string
  Time: number
  Sockets: Array<Record<string, unknown>>
}

export type K8sEventKind = 'Added' | 'Modified' | 'Deleted'

export interface K8sEvent {
  Kind: K8sEventKind
  /** the k8s kind, e.g. `Pod`, `Deployment` (any case) */
  ObjectKind: string
  UID: string
  Namespace?: string | null
  Name: string
  ResourceVersion?: string | null
  Time: number
  Object: Record<string, unknown> | null
}

export interface CaptureStatus {
  CaptureID: string
  Host: string
  NodeID?: string | null
  NodeTID?: string | null
  State: string
  PacketsReceived?: number | null
  PacketsDropped?: number | null
  FlowsDropped?: number | null
  Error?: string | null
  Time: number
}

export type ResourceType = 'capture' | 'alert' | 'noderule' | 'edgerule'

export interface ResourceEvent {
  ResourceType: ResourceType
  UUID: string
  Resource: Record<string, unknown> | null
  Deleted: boolean
  Time: number
}

/** What the graph-builder publishes on `topoflow.topology.changes.v1`, keyed by element ID. */
export interface TopologyChange {
  ElementType: 'node' | 'edge'
  Op: 'upsert' | 'delete'
  Node?: GraphNode | null
  Edge?: GraphEdge | null
  Time: number
}

/** One input of the graph-builder, tagged by the topic it came from. */
export type GraphInput =
  | { kind: 'topology', event: TopologyEvent }
  | { kind: 'sockets', snapshot: SocketsSnapshot }
  | { kind: 'k8s', event: K8sEvent }
  | { kind: 'capture', status: CaptureStatus }
  | { kind: 'resource', resource: ResourceEvent }
