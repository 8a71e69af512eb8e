import type { EndpointEnrichment, Socket } from '@topoflow/schemas'

/**
 * The shapes the enricher reads and writes. Field names follow Skydive's flow JSON and the Avro
 * schemas in `@topoflow/schemas`; only the fields the enricher uses are spelled out.
 */
export interface FlowLayer { Protocol: string, A?: string, B?: string, ID?: number }
export interface TransportLayer { Protocol: string, A?: number, B?: number, ID?: number }
export interface FlowMetric {
  ABPackets: number
  ABBytes: number
  BAPackets: number
  BABytes: number
  Start: number
  Last: number
  RTT?: number | null
}

export interface RawFlow {
  UUID: string
  LayersPath?: string
  Application?: string
  Link?: FlowLayer | null
  Network?: FlowLayer | null
  Transport?: TransportLayer | null
  Metric?: FlowMetric | null
  LastUpdateMetric?: FlowMetric | null
  Start: number
  Last: number
  TrackingID?: string
  L3TrackingID?: string
  ParentUUID?: string
  NodeTID?: string
  CaptureID?: string
  FinishType?: number | null
  CommunityID?: string | null
  SamplingRate?: number | null
  Host?: string | null
  [key: string]: unknown
}

/** What the enricher learned about one end of a flow; every field is optional because lookups can miss. */
export type EndpointInfo = EndpointEnrichment

export type ServerEnd = 'A' | 'B' | null

export interface EnrichedFlow extends RawFlow {
  AEnrich: EndpointInfo
  BEnrich: EndpointInfo
  ServerEnd: ServerEnd
}

/** One socket of a host's table, Skydive's flat shape; `Pid`/`Name`/`Process` are null for orphan sockets. */
export type SocketEntry = Socket

export interface SocketsSnapshot { Host: string, Time: number, Sockets: SocketEntry[] }

export interface GraphElement {
  ID: string
  Metadata: Record<string, unknown>
  Host: string
  Parent?: string
  Child?: string
}

export interface TopologyEvent {
  Kind: 'HostSync' | 'NodeUpdated' | 'NodeDeleted' | 'EdgeUpdated' | 'EdgeDeleted'
  Host: string
  Time: number
  Node?: GraphElement | null
  Edge?: GraphElement | null
  Nodes?: GraphElement[] | null
  Edges?: GraphElement[] | null
}

export interface K8sEvent {
  Kind: 'Added' | 'Modified' | 'Deleted'
  ObjectKind: string
  UID: string
  Namespace?: string | null
  Name: string
  Time: number
  Object: Record<string, unknown>
}

export function emptyEndpoint (): EndpointInfo {
  return {
    HostName: null,
    Interface: null,
    Pid: null,
    ProcessName: null,
    Process: null,
    Container: null,
    Pod: null,
    Namespace: null,
    Node: null,
    Service: null,
    Workload: null,
    WorkloadKind: null,
    Labels: {}
  }
}
