/**
 * The flow record as Skydive serializes it (flow/flow.proto with its JSON tags), plus Topoflow's
 * `CommunityID` and `SamplingRate`. Field names are Skydive's exactly; enums are strings except
 * `FinishType`, which Skydive writes as an integer. Times are epoch milliseconds, `RTT` is nanoseconds.
 */

export const flowProtocols = ['ETHERNET', 'IPV4', 'TCP', 'UDP', 'SCTP', 'IPV6', 'ICMPV4', 'ICMPV6'] as const
export type FlowProtocol = (typeof flowProtocols)[number]

export const icmpTypes = [
  'UNKNOWN', 'DESTINATION_UNREACHABLE', 'ECHO', 'NEIGHBOR', 'ADDRESS_MASK', 'INFO', 'PARAMETER_PROBLEM',
  'REDIRECT', 'ROUTER', 'SOURCE_QUENCH', 'TIME_EXCEEDED', 'TIMESTAMP', 'PACKET_TOO_BIG'
] as const
export type ICMPType = (typeof icmpTypes)[number]

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

export interface FlowLayer {
  Protocol: FlowProtocol
  A?: string
  B?: string
  ID: number
}

export interface TransportLayer {
  Protocol: FlowProtocol
  A: number
  B: number
  ID: number
}

export interface ICMPLayer {
  Type: ICMPType
  Code?: number
  ID?: number
}

export interface FlowMetric {
  ABPackets: number
  ABBytes: number
  BAPackets: number
  BABytes: number
  Start: number
  Last: number
  RTT?: number
}

export interface TCPMetric {
  ABSynStart: number
  BASynStart: number
  ABSynTTL?: number
  BASynTTL?: number
  ABFinStart: number
  BAFinStart: number
  ABRstStart: number
  BARstStart: number
}

export interface Flow {
  UUID: string
  LayersPath: string
  Application: string
  Link?: FlowLayer
  Network?: FlowLayer
  Transport?: TransportLayer
  ICMP?: ICMPLayer
  LastUpdateMetric?: FlowMetric
  Metric: FlowMetric
  TCPMetric?: TCPMetric
  Start: number
  Last: number
  TrackingID: string
  L3TrackingID: string
  ParentUUID: string
  NodeTID?: string
  CaptureID?: string
  RawPacketsCaptured: number
  FinishType?: FinishTypeValue
  /** Community ID v1 (`1:<base64>`), absent when the flow has no IP layer. */
  CommunityID?: string
  /** 1 for full capture; N when one packet in N was sampled (sFlow). Counters are not scaled here. */
  SamplingRate: number
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
