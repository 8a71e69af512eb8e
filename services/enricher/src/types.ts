import type {
  EndpointEnrichment,
  Flow,
  FlowEnd,
  FlowLayerInput,
  FlowMetric as SchemaFlowMetric,
  K8sObjectEventInput,
  Socket,
  SocketSnapshot,
  TransportLayerInput
} from '@topoflow/schemas'

/**
 * The shapes the enricher reads and writes, from the Avro types of `@topoflow/schemas` (Skydive's
 * flow JSON). Input shapes are looser than the schema where producers may leave fields out or send
 * null; only the fields the enricher uses are spelled out.
 */
export type FlowLayer = Omit<FlowLayerInput, 'Protocol'> & { Protocol: string }
export type TransportLayer = Partial<Omit<TransportLayerInput, 'Protocol'>> & { Protocol: string }
export type FlowMetric = Omit<SchemaFlowMetric, 'RTT'> & { RTT?: number | null }

export type RawFlow = Pick<Flow, 'UUID' | 'Start' | 'Last'> &
  Partial<Pick<Flow, 'LayersPath' | 'Application' | 'TrackingID' | 'L3TrackingID' | 'ParentUUID' | 'NodeTID' | 'CaptureID' | 'CommunityID'>> & {
    Link?: FlowLayer | null
    Network?: FlowLayer | null
    Transport?: TransportLayer | null
    Metric?: FlowMetric | null
    LastUpdateMetric?: FlowMetric | null
    FinishType?: number | null
    SamplingRate?: number | null
    Host?: string | null
    [key: string]: unknown
  }

/** What the enricher learned about one end of a flow; every field is optional because lookups can miss. */
export type EndpointInfo = EndpointEnrichment

export type ServerEnd = FlowEnd | null

export interface EnrichedFlow extends RawFlow {
  AEnrich: EndpointInfo
  BEnrich: EndpointInfo
  ServerEnd: ServerEnd
}

/** One socket of a host's table, Skydive's flat shape; `Pid`/`Name`/`Process` are null for orphan sockets. */
export type SocketEntry = Socket

export type SocketsSnapshot = SocketSnapshot

export type K8sEvent = Pick<K8sObjectEventInput, 'Kind' | 'ObjectKind' | 'UID' | 'Namespace' | 'Name' | 'Time' | 'Object'>

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
