import type {
  CaptureStatus as CaptureStatusValue,
  EdgeInput as SchemaEdgeInput,
  K8sObjectEvent,
  NodeInput as SchemaNodeInput,
  Resource,
  ResourceType as SchemaResourceType,
  SocketSnapshot,
  TopologyChangeInput,
  TopologyEvent as TopologyEventValue
} from '@topoflow/schemas'

/**
 * Shapes of what the graph-builder reads and writes, taken from the Avro types of `@topoflow/schemas`
 * (Skydive's JSON, reference/skydive-compat.md §4.1). Where the graph-builder accepts more than the
 * schema (fields a producer may leave out or send as null), the type says so on top of the schema's.
 */
export type Metadata = Record<string, unknown>

/** A node of the materialized graph; `DeletedAt` is only set on the last revision of a deleted node. */
export type GraphNode = SchemaNodeInput
export type GraphEdge = SchemaEdgeInput

export type { TopologyEventKind } from '@topoflow/schemas'

/** What a node or edge looks like when a producer sends it: times and revision are the graph's business. */
export type NodeInput = Pick<GraphNode, 'ID' | 'Metadata'> & Partial<Pick<GraphNode, 'Host' | 'Origin' | 'CreatedAt' | 'UpdatedAt' | 'Revision'>>
export type EdgeInput = NodeInput & Pick<GraphEdge, 'Parent' | 'Child'>

export type TopologyEvent = Pick<TopologyEventValue, 'Kind' | 'Host' | 'Origin' | 'Time'> & {
  Node?: NodeInput | null
  Edge?: EdgeInput | null
  Nodes?: NodeInput[] | null
  Edges?: EdgeInput[] | null
}

/** Sockets are only counted per host here, so their entries are not typed further. */
export type SocketsSnapshot = Omit<SocketSnapshot, 'Sockets'> & { Sockets: Array<Record<string, unknown>> }

export type { K8sEventKind } from '@topoflow/schemas'

/** `ObjectKind` is the k8s kind, e.g. `Pod`, `Deployment` (any case). */
export type K8sEvent = Pick<K8sObjectEvent, 'Kind' | 'ObjectKind' | 'UID' | 'Name' | 'Time'> & {
  Namespace?: string | null
  ResourceVersion?: string | null
  Object: Record<string, unknown> | null
}

export type CaptureStatus = Pick<CaptureStatusValue, 'CaptureID' | 'Host' | 'Time'> & Partial<Pick<CaptureStatusValue, 'Error'>> & {
  NodeID?: string | null
  NodeTID?: string | null
  State: string
  PacketsReceived?: number | null
  PacketsDropped?: number | null
  FlowsDropped?: number | null
}

/** The resource types the graph-builder acts on. */
export type ResourceType = Extract<SchemaResourceType, 'capture' | 'alert' | 'noderule' | 'edgerule'>

export type ResourceEvent = Pick<Resource, 'UUID' | 'Deleted' | 'Time'> & {
  ResourceType: ResourceType
  Resource: Record<string, unknown> | null
}

/** What the graph-builder publishes on `topoflow.topology.changes.v1`, keyed by element ID. */
export type TopologyChange = TopologyChangeInput

/** One input of the graph-builder, tagged by the topic it came from. */
export type GraphInput =
  | { kind: 'topology', event: TopologyEvent }
  | { kind: 'sockets', snapshot: SocketsSnapshot }
  | { kind: 'k8s', event: K8sEvent }
  | { kind: 'capture', status: CaptureStatus }
  | { kind: 'resource', resource: ResourceEvent }
