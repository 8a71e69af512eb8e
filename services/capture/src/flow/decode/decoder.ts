import { DecodedPacket } from './packet.ts'
import { decodeEthernet, decodePpp, decodeLinuxSll, decodeLinuxSll2, decodeLoopback, decodeRawIp } from './link.ts'

/** LINKTYPE_* values (tcpdump.org/linktypes.html) the decoder understands. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  RAW_DLT12: 12,
  RAW_DLT14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276
} as const

export interface DecoderOptions {
  /** UDP ports decoded as VXLAN (default 4789 and Linux's 8472). */
  vxlanPorts?: number[]
  /** UDP ports decoded as Geneve (default 6081). */
  genevePorts?: number[]
  /** UDP ports decoded as MPLS (OpenContrail's 51234); none by default. */
  mplsUdpPorts?: number[]
}

export interface DecoderStats {
  packets: number
  decoded: number
  skipped: number
  /** Malformed or undecodable packets, or parts of packets, by reason. */
  errors: Map<string, number>
}

/**
 * Decodes captured frames into the reusable DecodedPacket. Never throws on packet content: a
 * packet without any usable link or network layer is skipped, a partly decoded one keeps the
 * layers that decoded; both are counted by reason.
 */
export class PacketDecoder {
  readonly packet = new DecodedPacket()
  readonly stats: DecoderStats = { packets: 0, decoded: 0, skipped: 0, errors: new Map() }

  constructor (opts: DecoderOptions = {}) {
    if (opts.vxlanPorts !== undefined) this.packet.vxlanPorts = new Set(opts.vxlanPorts)
    if (opts.genevePorts !== undefined) this.packet.genevePorts = new Set(opts.genevePorts)
    if (opts.mplsUdpPorts !== undefined) this.packet.mplsPorts = new Set(opts.mplsUdpPorts)
  }

  /** A packet for decodeAt's `into`, with the decoder's tunnel ports: to hold several decoded packets at once. */
  newPacket (): DecodedPacket {
    const pkt = new DecodedPacket()
    pkt.vxlanPorts = this.packet.vxlanPorts
    pkt.genevePorts = this.packet.genevePorts
    pkt.mplsPorts = this.packet.mplsPorts
    return pkt
  }

  /** The decoded packet, or undefined when it was skipped. `origLen` is the length on the wire. */
  decode (linkType: number, data: Buffer, origLen: number): DecodedPacket | undefined {
    return this.decodeAt(linkType, data, 0, data.length, origLen)
  }

  /**
   * Decodes the packet at `data[start, end)`, a record inside a larger buffer (a pcap chunk),
   * without making a view of it; offsets in the decoded packet are offsets into `data`. Decodes
   * into `into` (one of newPacket()'s) when given, else into the decoder's own packet.
   */
  decodeAt (linkType: number, data: Buffer, start: number, end: number, origLen: number, into?: DecodedPacket): DecodedPacket | undefined {
    this.stats.packets++
    const pkt = into ?? this.packet
    const wireLen = origLen > 0 ? origLen : end - start
    const top = pkt.begin(data, start, end, wireLen, linkType === LinkType.ETHERNET ? wireLen : 0)
    try {
      switch (linkType) {
        case LinkType.ETHERNET: decodeEthernet(pkt, top, start, end); break
        case LinkType.RAW:
        case LinkType.RAW_DLT12:
        case LinkType.RAW_DLT14:
        case LinkType.IPV4:
        case LinkType.IPV6: decodeRawIp(pkt, top, start, end); break
        case LinkType.LINUX_SLL: decodeLinuxSll(pkt, top, start, end); break
        case LinkType.LINUX_SLL2: decodeLinuxSll2(pkt, top, start, end); break
        case LinkType.PPP: decodePpp(pkt, top, start, end); break
        case LinkType.NULL: decodeLoopback(pkt, top, start, end, false); break
        case LinkType.LOOP: decodeLoopback(pkt, top, start, end, true); break
        default: pkt.fail('unsupported-link-type')
      }
    } catch (err) {
      // A decoder bug must not stop a capture: count it like malformed input.
      pkt.fail(err instanceof RangeError ? 'decoder-range-error' : 'decoder-exception')
    }
    // Levels with neither a link nor a network layer cannot make a flow (Skydive skips such packets).
    let usable = 0
    while (usable < pkt.segmentCount) {
      const s = pkt.segments[usable]
      if (s === undefined || (!s.hasEthernet && s.ipVersion === 0)) break
      usable++
    }
    if (usable < pkt.segmentCount && usable > 0) pkt.fail('inner-packet-undecodable')
    pkt.segmentCount = usable
    if (pkt.error !== '') this.#count(pkt.error)
    if (usable === 0) {
      if (pkt.error === '') this.#count('no-link-or-network-layer')
      this.stats.skipped++
      return undefined
    }
    this.stats.decoded++
    return pkt
  }

  #count (reason: string): void {
    this.stats.errors.set(reason, (this.stats.errors.get(reason) ?? 0) + 1)
  }
}
