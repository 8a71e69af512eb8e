import { createSocket, type Socket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import { TopoflowError } from '@topoflow/core'
import { LinkType } from '../flow/index.ts'
import { bindInRange, hostPort } from './ports.ts'
import { decodeSFlowDatagram, type SFlowDatagram } from './sflow-decode.ts'
import type { PacketSource, SourceHooks, SourcePacket, SourceStats } from './types.ts'

export interface SFlowOptions {
  /** `agent.flow.sflow.bind_address`. */
  address: string
  minPort: number
  maxPort: number
  /** Socket receive buffer, bytes. */
  receiveBufferSize?: number
}

export interface SFlowCounters {
  datagrams: number
  /** Datagrams that are not well-formed sFlow v5, by reason. */
  malformed: Record<string, number>
  flowSamples: number
  counterSamples: number
  /** Raw header records of a header protocol we do not decode. */
  unsupportedHeaders: number
  /** Samples and records of other formats. */
  skipped: number
}

/** sFlow header_protocol → LINKTYPE_*. */
const headerLinkTypes: Record<number, number> = { 1: LinkType.ETHERNET, 11: LinkType.IPV4, 12: LinkType.IPV6 }

/**
 * Emits the packets of one datagram's flow samples, each with the sample's rate; calls
 * `counters` for each counter sample. Exported for tests and replays.
 */
export function emitDatagram (dg: SFlowDatagram, now: number, onPacket: (p: SourcePacket) => void, hooks: SourceHooks, counters: SFlowCounters): void {
  const sec = Math.floor(now / 1000)
  const pkt: SourcePacket = { linkType: 0, tsSec: sec, tsNsec: (now - sec * 1000) * 1e6, data: Buffer.alloc(0), origLen: 0, samplingRate: 1 }
  for (const s of dg.flowSamples) {
    counters.flowSamples++
    for (const h of s.rawHeaders) {
      const linkType = headerLinkTypes[h.protocol]
      if (linkType === undefined) { counters.unsupportedHeaders++; continue }
      pkt.linkType = linkType
      pkt.data = h.header
      pkt.origLen = Math.max(h.header.length, h.frameLength - h.stripped)
      pkt.samplingRate = Math.max(1, s.samplingRate)
      onPacket(pkt)
    }
  }
  for (const s of dg.counterSamples) {
    counters.counterSamples++
    if (hooks.onInterfaceMetrics === undefined) continue
    const ev: Parameters<NonNullable<SourceHooks['onInterfaceMetrics']>>[0] = {
      Agent: dg.agent, SubAgentID: dg.subAgentId, SourceIDType: s.sourceIdType, SourceIDIndex: s.sourceIdIndex, Time: now
    }
    if (s.generic !== undefined) ev.Counters = s.generic
    if (s.ethernet !== undefined) ev.Ethernet = s.ethernet
    hooks.onInterfaceMetrics(ev)
  }
  counters.skipped += dg.skipped
}

/**
 * sFlow v5 collector (Skydive's `sflow` capture type): a UDP socket on the first free port of
 * the configured range. Sampled packet headers go to the flow table with their sampling rate;
 * counter samples become interface metrics events. Malformed datagrams are counted and skipped.
 */
export class SFlowSource implements PacketSource {
  readonly kind = 'sflow' as const
  readonly counters: SFlowCounters = { datagrams: 0, malformed: {}, flowSamples: 0, counterSamples: 0, unsupportedHeaders: 0, skipped: 0 }
  readonly #opts: SFlowOptions
  #socket: Socket | undefined
  #received = 0
  #endpoint: string | undefined

  constructor (opts: SFlowOptions) {
    this.#opts = opts
  }

  get endpoint (): string | undefined { return this.#endpoint }

  /** Decodes one datagram received now: what the UDP socket does with each message. */
  handleDatagram (msg: Buffer, onPacket: (p: SourcePacket) => void, hooks: SourceHooks, now = Date.now()): void {
    this.counters.datagrams++
    let dg: SFlowDatagram
    try {
      dg = decodeSFlowDatagram(msg)
    } catch (err) {
      const reason = TopoflowError.is(err) && typeof err.context.reason === 'string' ? err.context.reason : 'exception'
      this.counters.malformed[reason] = (this.counters.malformed[reason] ?? 0) + 1
      return
    }
    emitDatagram(dg, now, (p) => { this.#received++; onPacket(p) }, hooks, this.counters)
  }

  async start (onPacket: (packet: SourcePacket) => void, hooks: SourceHooks = {}): Promise<void> {
    const { address, minPort, maxPort } = this.#opts
    const { port, value: socket } = await bindInRange('sflow', address, minPort, maxPort, async (p) => {
      const s = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', recvBufferSize: this.#opts.receiveBufferSize ?? 4 * 1024 * 1024 })
      await new Promise<void>((resolve, reject) => {
        s.once('error', (err) => { s.close(); reject(err) })
        s.bind(p, address, () => resolve())
      })
      return s
    })
    socket.on('error', () => {})
    socket.on('message', (msg) => this.handleDatagram(msg, onPacket, hooks))
    this.#socket = socket
    this.#endpoint = hostPort(address, port)
  }

  async close (): Promise<void> {
    const s = this.#socket
    this.#socket = undefined
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  stats (): SourceStats {
    return { received: this.#received, dropped: 0 }
  }
}
