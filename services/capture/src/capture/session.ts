import { TopoflowError, type Logger } from '@topoflow/core'
import type { CaptureState, CaptureStatusInput, FlowInput } from '@topoflow/schemas'
import { FlowTable, PacketDecoder, type DecodedPacket, type DecoderOptions, type Segment, type Flow, type FlowEmitReason, type FlowTableOptions } from '../flow/index.ts'
import { TCP_SYN, TRANSPORT_TCP } from '../flow/decode/packet.ts'
import { BpfFilter } from '../flow/bpf.ts'
import type { InterfaceMetricsEvent, PacketSource, SourcePacket } from '../sources/index.ts'

export interface CaptureSessionOptions {
  captureId: string
  nodeId: string
  nodeTID: string
  host: string
  /** Probe type reported in status and on flows (afpacket, pcap, pcapsocket, sflow). */
  type: string
  source: PacketSource
  /** Flow table settings (NodeTID, CaptureID and SamplingRate are set here). */
  table: Omit<FlowTableOptions, 'onFlows' | 'nodeTID' | 'captureID' | 'samplingRate'>
  decoder?: DecoderOptions
  /** Receives every flow emission, already stamped and scaled. Must not throw. */
  onFlows: (flows: FlowInput[], reason: FlowEmitReason, session: CaptureSession) => void
  onInterfaceMetrics?: (event: InterfaceMetricsEvent, session: CaptureSession) => void
  /**
   * A packet opened a TCP connection (SYN, or SYN-ACK for when the SYN was missed): the agent scans
   * its socket tables, so that a connection too short for the periodic scan still gets its process.
   * Called per such packet, so it must be cheap; must not throw.
   */
  onConnectionOpened?: (session: CaptureSession) => void
  /** A BPF filter the session applies itself, for sources without a kernel filter (pcapsocket, sFlow). */
  bpf?: string
  logger: Logger
  /** Distinct sampling rates (one flow table each) kept at once; packets of more are dropped. */
  maxTables?: number
}

/**
 * One capture on one interface: a packet source, the decoder and the flow table(s). sFlow
 * samples of different rates go to different tables (a table has one SamplingRate) and their
 * flows' counters are multiplied by the rate, so that they estimate the real traffic.
 */
export class CaptureSession {
  readonly captureId: string
  readonly nodeId: string
  readonly nodeTID: string
  readonly type: string
  state: CaptureState = 'starting'
  error: string | null = null
  /** Packets dropped here: too many sampling rates, or a processing failure. */
  packetsDropped = 0
  /** Packets the session's BPF filter refused. */
  packetsFiltered = 0
  /** Packets whose processing threw (a bug, or a link type the BPF filter cannot be compiled for): also in packetsDropped. */
  #failures = 0
  /** Flows that never reached the bus (queue full or publish failed for good). */
  flowsUnpublished = 0
  readonly #opts: CaptureSessionOptions
  readonly #decoder: PacketDecoder
  readonly #tables = new Map<number, FlowTable>()
  readonly #bpf: BpfFilter | undefined
  #stopped = false

  constructor (opts: CaptureSessionOptions) {
    this.#opts = opts
    this.captureId = opts.captureId
    this.nodeId = opts.nodeId
    this.nodeTID = opts.nodeTID
    this.type = opts.type
    this.#decoder = new PacketDecoder(opts.decoder)
    this.#bpf = opts.bpf === undefined || opts.bpf === '' ? undefined : new BpfFilter(opts.bpf)
  }

  get source (): PacketSource { return this.#opts.source }

  /** Starts the source; a failure is recorded as State error (never thrown). */
  async start (): Promise<void> {
    try {
      // A filter that does not compile stops the capture here, with libpcap's message.
      this.#bpf?.check()
      await this.#opts.source.start((p) => this.#onPacket(p), {
        onError: (err) => this.#fail(err),
        onEnd: () => { for (const t of this.#tables.values()) t.flush() },
        onInterfaceMetrics: (ev) => this.#opts.onInterfaceMetrics?.(ev, this)
      })
      if (this.#stopped) return
      if (this.state === 'starting') this.state = 'active'
    } catch (err) {
      this.#fail(err)
    }
  }

  #fail (err: unknown): void {
    if (this.#stopped) return
    const e = TopoflowError.is(err) ? err : new TopoflowError('TOPOFLOW_ERR_CAPTURE', String((err as Error)?.message ?? err), { cause: err })
    this.state = 'error'
    this.error = e.message
    this.#opts.logger.warn({ captureId: this.captureId, nodeId: this.nodeId, err: e.message }, 'Capture failed')
    // Flows counted so far still go out.
    for (const t of this.#tables.values()) t.flush()
  }

  #table (rate: number): FlowTable | undefined {
    let t = this.#tables.get(rate)
    if (t !== undefined) return t
    if (this.#tables.size >= (this.#opts.maxTables ?? 16)) return undefined
    t = new FlowTable({
      ...this.#opts.table,
      nodeTID: this.nodeTID,
      captureID: this.captureId,
      samplingRate: rate,
      onFlows: (flows, reason) => this.#emit(flows, reason, rate)
    })
    this.#tables.set(rate, t)
    return t
  }

  #onPacket (p: SourcePacket): void {
    const table = this.#table(p.samplingRate ?? 1)
    if (table === undefined) { this.packetsDropped++; return }
    try {
      if (this.#bpf !== undefined && !this.#bpf.accepts(p.linkType, p.data, 0, p.data.length, p.origLen)) { this.packetsFiltered++; return }
      const pkt = this.#decoder.decode(p.linkType, p.data, p.origLen)
      if (pkt === undefined) return
      table.processPacket(pkt, p.tsSec, p.tsNsec)
      if (this.#opts.onConnectionOpened !== undefined && opensConnection(pkt)) this.#opts.onConnectionOpened(this)
    } catch (err) {
      // A bug must not end the capture: count the packet and go on (logged once, whatever else was dropped before).
      this.packetsDropped++
      if (++this.#failures === 1) this.#opts.logger.error({ err, captureId: this.captureId }, 'Packet processing failed')
    }
  }

  #emit (flows: Flow[], reason: FlowEmitReason, rate: number): void {
    const out: FlowInput[] = new Array(flows.length)
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i] as Flow
      if (rate > 1) {
        scale(f.Metric, rate)
        if (f.LastUpdateMetric !== undefined) scale(f.LastUpdateMetric, rate)
      }
      out[i] = { ...f, Host: this.#opts.host, CaptureType: this.type }
    }
    this.#opts.onFlows(out, reason, this)
  }

  /** Runs the tables' update and expiry at wall-clock `now` (ms); sources with their own clock are skipped. */
  tick (now: number): void {
    if (this.#stopped || this.#opts.source.packetClock === true) return
    for (const t of this.#tables.values()) t.tick(now)
  }

  /** Closes the source and emits every remaining flow ('flush'). */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    try {
      await this.#opts.source.close()
    } catch (err) {
      this.#opts.logger.warn({ err, captureId: this.captureId }, 'Closing the capture source failed')
    }
    for (const t of this.#tables.values()) t.flush()
    if (this.state !== 'error') this.state = 'stopped'
  }

  flowCount (): number {
    let n = 0
    for (const t of this.#tables.values()) n += t.size
    return n
  }

  status (host: string, now: number): CaptureStatusInput {
    const s = this.#opts.source.stats()
    let evicted = 0
    for (const t of this.#tables.values()) evicted += t.counters.flowsDropped
    const status: CaptureStatusInput = {
      CaptureID: this.captureId,
      Host: host,
      NodeID: this.nodeId,
      NodeTID: this.nodeTID,
      State: this.state,
      Type: this.type,
      PCAPSocket: this.type === 'pcapsocket' ? this.#opts.source.endpoint ?? '' : '',
      PacketsReceived: s.received,
      PacketsDropped: s.dropped + this.packetsDropped,
      FlowCount: this.flowCount(),
      FlowsDropped: evicted + this.flowsUnpublished,
      Error: this.error,
      Time: now
    }
    return status
  }

  /** Decoder counters (malformed packets by reason). */
  decodeStats (): { packets: number, decoded: number, skipped: number, errors: Record<string, number> } {
    const s = this.#decoder.stats
    return { packets: s.packets, decoded: s.decoded, skipped: s.skipped, errors: Object.fromEntries(s.errors) }
  }
}

/**
 * A SYN (a client opens) or SYN-ACK (a server answers) at any level of the packet: the inner
 * connection of a tunnel captured on the underlay may well be a local container's.
 */
function opensConnection (pkt: DecodedPacket): boolean {
  for (let i = 0; i < pkt.segmentCount; i++) {
    const seg = pkt.segments[i] as Segment
    if (seg.transport === TRANSPORT_TCP && (seg.tcpFlags & TCP_SYN) !== 0) return true
  }
  return false
}

function scale (m: { ABPackets: number, ABBytes: number, BAPackets: number, BABytes: number }, rate: number): void {
  m.ABPackets *= rate
  m.ABBytes *= rate
  m.BAPackets *= rate
  m.BABytes *= rate
}
