import type {
  Flow as SchemaFlow,
  FlowLayer as SchemaFlowLayer,
  FlowLayerInput,
  FlowMetric as SchemaFlowMetric,
  FlowProtocol,
  ICMPLayerInput,
  ICMPType,
  TCPMetric as SchemaTCPMetric,
  TransportLayer
} from '@topoflow/schemas'

/**
 * The flow record as Skydive serializes it (flow/flow.proto with its JSON tags), plus Topoflow's
 * `CommunityID` and `SamplingRate`. Field names are Skydive's exactly; enums are strings except
 * `FinishType`, which Skydive writes as an integer. Times are epoch milliseconds, `RTT` is nanoseconds.
 */

export const flowProtocols = ['ETHERNET', 'IPV4', 'TCP', 'UDP', 'SCTP', 'IPV6', 'ICMPV4', 'ICMPV6'] as const satisfies readonly FlowProtocol[]
export type { FlowProtocol }

export const icmpTypes = [
  'UNKNOWN', 'DESTINATION_UNREACHABLE', 'ECHO', 'NEIGHBOR', 'ADDRESS_MASK', 'INFO', 'PARAMETER_PROBLEM',
  'REDIRECT', 'ROUTER', 'SOURCE_QUENCH', 'TIME_EXCEEDED', 'TIMESTAMP', 'PACKET_TOO_BIG'
] as const satisfies readonly ICMPType[]
export type { ICMPType }

/** Numeric values of `ICMPType`, as in flow.proto (they go into the flow key). */
export const icmpTypeValue: Readonly<Record<ICMPType, number>> = {
  UNKNOWN: 0,
  DESTINATION_UNREACHABLE: 1,
  ECHO: 2,
  NEIGHBOR: 3,
  ADDRESS_MASK: 4,
  INFO: 5,
  PARAMETER_PROBLEM: 6,
  REDIRECT: 7,
  ROUTER: 8,
  SOURCE_QUENCH: 9,
  TIME_EXCEEDED: 10,
  TIMESTAMP: 11,
  PACKET_TOO_BIG: 12
}

/** `FlowFinishType` of flow.proto; serialized as the integer. */
export const FinishType = {
  NOT_FINISHED: 0,
  TIMEOUT: 1,
  TCP_FIN: 2,
  TCP_RST: 3
} as const
export type FinishTypeValue = (typeof FinishType)[keyof typeof FinishType]

/** `L2`: MAC addresses are part of the flow key (Skydive's default); `L3`: only when there is no IP layer. */
export type LayerKeyMode = 'L2' | 'L3'

/** `ID` is always set here (0 when there is none); the ends are left out when unknown. */
export type FlowLayer = Omit<FlowLayerInput, 'ID'> & Pick<SchemaFlowLayer, 'ID'>

export type { TransportLayer }

export type ICMPLayer = ICMPLayerInput

/** `RTT` is left out until a round trip was measured. */
export type FlowMetric = Omit<SchemaFlowMetric, 'RTT'> & Partial<Pick<SchemaFlowMetric, 'RTT'>>

/** The part of Skydive's TCP metric the flow table keeps; the SYN TTLs are left out until seen. */
export type TCPMetric = Pick<SchemaTCPMetric, 'ABSynStart' | 'BASynStart' | 'ABFinStart' | 'BAFinStart' | 'ABRstStart' | 'BARstStart'> &
  Partial<Pick<SchemaTCPMetric, 'ABSynTTL' | 'BASynTTL'>>

/**
 * A flow as the flow table holds it: the schema's flow without `Host` (the publisher adds it), with
 * absent layers and metrics left out rather than null.
 */
export type Flow = Pick<SchemaFlow, 'UUID' | 'LayersPath' | 'Application' | 'Start' | 'Last' | 'TrackingID' | 'L3TrackingID' |
'ParentUUID' | 'RawPacketsCaptured' | 'SamplingRate'> & Partial<Pick<SchemaFlow, 'NodeTID' | 'CaptureID'>> & {
  Link?: FlowLayer
  Network?: FlowLayer
  Transport?: TransportLayer
  ICMP?: ICMPLayer
  LastUpdateMetric?: FlowMetric
  Metric: FlowMetric
  TCPMetric?: TCPMetric
  FinishType?: FinishTypeValue
  /** Community ID v1 (`1:<base64>`), absent when the flow has no IP layer. */
  CommunityID?: string
}

/** Why a flow left the table or was sent. */
export type FlowEmitReason = 'update' | 'expire' | 'flush'

/** Counters of a flow table and its decoder, in the shape of Skydive's `flow.Stats` plus decode reasons. */
export interface FlowTableStats {
  CaptureID: string
  FlowCount: number
  FlowDropped: number
  PacketsReceived: number
  PacketsDecoded: number
  PacketsSkipped: number
  /** Malformed or undecodable packets (or parts of packets) by reason. */
  DecodeErrors: Record<string, number>
}
