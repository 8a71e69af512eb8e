import type { TopoflowError } from '@topoflow/core'

/**
 * What every packet source emits, in the shape of the flow/ pcap reader's packets so that the
 * flow table consumes all sources alike. The object and its `data` are only valid during the
 * callback: sources reuse their buffers.
 */
export interface SourcePacket {
  /** LINKTYPE_* of the captured frame. */
  linkType: number
  /** Seconds since the epoch. */
  tsSec: number
  /** Nanoseconds within the second. */
  tsNsec: number
  /** Captured bytes (at most the snap length). */
  data: Buffer
  /** Length of the packet on the wire. */
  origLen: number
  /** One packet in N was sampled (sFlow); 1 or absent for full captures. */
  samplingRate?: number
}

export interface SourceStats {
  /** Packets the source saw (the kernel's count when the backend reports it). */
  received: number
  /** Packets lost before they reached the flow table: kernel drops plus our own bounded queues. */
  dropped: number
}

/** sFlow generic interface counters (counter record 1), with Skydive's `IfXxx` names. */
export interface InterfaceCounters {
  IfIndex: number
  IfType: number
  IfSpeed: number
  IfDirection: number
  IfStatus: number
  IfInOctets: number
  IfInUcastPkts: number
  IfInMulticastPkts: number
  IfInBroadcastPkts: number
  IfInDiscards: number
  IfInErrors: number
  IfInUnknownProtos: number
  IfOutOctets: number
  IfOutUcastPkts: number
  IfOutMulticastPkts: number
  IfOutBroadcastPkts: number
  IfOutDiscards: number
  IfOutErrors: number
  IfPromiscuousMode: number
}

/** One counter sample of an sFlow agent: interface metrics of the exporter's interface `SourceIDIndex`. */
export interface InterfaceMetricsEvent {
  /** Address of the sFlow agent (the exporter). */
  Agent: string
  SubAgentID: number
  SourceIDType: number
  SourceIDIndex: number
  /** Receive time, epoch ms. */
  Time: number
  Counters?: InterfaceCounters
  /** Ethernet counters (counter record 2), dot3Stats names without the prefix. */
  Ethernet?: Record<string, number>
}

export interface SourceHooks {
  /** The source stopped for good (device gone, worker died, bad stream...). Never called after close(). */
  onError?: (err: TopoflowError) => void
  /** A finite source (a file) read its last packet. */
  onEnd?: () => void
  /** sFlow counter samples. */
  onInterfaceMetrics?: (event: InterfaceMetricsEvent) => void
}

export type SourceKind = 'cap' | 'pcap' | 'worker' | 'pcapfile' | 'pcapsocket' | 'sflow'

/**
 * One capture interface for every way packets come in. `start` resolves once packets can flow
 * and rejects with a TopoflowError (TOPOFLOW_ERR_CAPTURE) when the source cannot start (unknown
 * interface, bad BPF filter, no free port...). `close` is idempotent.
 */
export interface PacketSource {
  readonly kind: SourceKind
  start (onPacket: (packet: SourcePacket) => void, hooks?: SourceHooks): Promise<void>
  close (): Promise<void>
  stats (): SourceStats
  /** `host:port` the source listens on (pcapsocket, sFlow), once started. */
  readonly endpoint?: string
  /** Packets come with their own clock (a file): the flow table must not be ticked by the wall clock. */
  readonly packetClock?: boolean
}

/** Live capture backends (`agent.capture.backend`). */
export type LiveBackend = 'cap' | 'pcap'
