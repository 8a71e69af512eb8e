/**
 * The decoded form of one captured packet: a short sequence of segments, one per encapsulation
 * level (Skydive's PacketSequence), each with the offsets and header fields the flow table needs.
 * One DecodedPacket is reused for every packet, so decoding allocates nothing.
 */

export const MAX_SEGMENTS = 8
export const MAX_LAYERS = 32
export const MAX_VLANS = 8

/** What `Segment.transport` holds (the IP protocol numbers). */
export const TRANSPORT_NONE = 0
export const TRANSPORT_TCP = 6
export const TRANSPORT_UDP = 17
export const TRANSPORT_SCTP = 132

export const TUNNEL_NONE = 0
export const TUNNEL_VXLAN = 1
export const TUNNEL_GENEVE = 2
export const TUNNEL_GRE = 3
export const TUNNEL_MPLS = 4

export const TCP_FIN = 0x01
export const TCP_SYN = 0x02
export const TCP_RST = 0x04
export const TCP_PSH = 0x08
export const TCP_ACK = 0x10

export class Segment {
  layers = new Uint8Array(MAX_LAYERS)
  layerCount = 0
  /** Offset in the packet data where this segment's first header starts. */
  start = 0
  /** Skydive's Packet.Length: bytes this level accounts for (0 = unknown, derive from headers). */
  length = 0

  hasEthernet = false
  /** Offset of the Ethernet header (destination MAC first, then source MAC). */
  ethOffset = 0
  /** Length of the Ethernet payload (after the 14-byte header), or the 802.3 length field. */
  ethPayloadLength = 0
  vlanCount = 0
  vlans = new Uint16Array(MAX_VLANS)

  /** 0 (no IP layer), 4 or 6. */
  ipVersion = 0
  ipOffset = 0
  /** IPv4 total length; for IPv6, 40 + payload length. */
  ipTotalLength = 0
  ttl = 0
  ipId = 0
  /** Protocol of the last IP header (after IPv6 extension headers). */
  ipProto = -1
  /** Not the first fragment of an IP datagram: no transport header here. */
  laterFragment = false
  /** First fragment of a fragmented datagram (more fragments follow). */
  firstFragment = false

  transport = TRANSPORT_NONE
  srcPort = 0
  dstPort = 0
  tcpFlags = 0

  /** 0 (none), 4 (ICMPv4) or 6 (ICMPv6). */
  icmpVersion = 0
  icmpType = 0
  icmpCode = 0
  icmpId = 0
  /** ICMPv6 echo layer decoded (its identifier is in icmpId). */
  icmpv6Echo = false

  tunnel = TUNNEL_NONE
  /** VXLAN/Geneve VNI or GRE key: Skydive's Network.ID of the level that carries it. */
  tunnelId = 0

  reset (start: number, length: number): void {
    this.layerCount = 0
    this.start = start
    this.length = length
    this.hasEthernet = false
    this.ethPayloadLength = 0
    this.vlanCount = 0
    this.ipVersion = 0
    this.ipTotalLength = 0
    this.ipProto = -1
    this.laterFragment = false
    this.firstFragment = false
    this.transport = TRANSPORT_NONE
    this.srcPort = 0
    this.dstPort = 0
    this.tcpFlags = 0
    this.icmpVersion = 0
    this.icmpv6Echo = false
    this.icmpId = 0
    this.tunnel = TUNNEL_NONE
    this.tunnelId = 0
  }

  addLayer (id: number): void {
    if (this.layerCount < MAX_LAYERS) this.layers[this.layerCount++] = id
  }

  /** Skydive's Link.ID: VLAN ids stacked 12 bits each, innermost tag in the high bits. */
  linkId (): number {
    let id = 0
    for (let i = this.vlanCount - 1; i >= 0; i--) id = id * 4096 + (this.vlans[i] as number)
    return id
  }
}

export class DecodedPacket {
  /** The packet is `data[start, end)`: data may be a whole chunk of a capture file. */
  data: Buffer = Buffer.alloc(0)
  start = 0
  end = 0
  origLen = 0
  segments: Segment[] = []
  segmentCount = 0
  /** Reason of the first decoding problem, or '' when the packet decoded cleanly. */
  error = ''
  /** UDP ports decoded as tunnels (gopacket's 4789 and 6081, Linux's 8472 for VXLAN). */
  vxlanPorts: ReadonlySet<number> = new Set([4789, 8472])
  genevePorts: ReadonlySet<number> = new Set([6081])
  /** MPLS over UDP (OpenContrail uses 51234); none by default. */
  mplsPorts: ReadonlySet<number> = new Set()
  /** ERSPAN header length of the GRE being decoded (8 for type II, 0 for type I). */
  erspanHeader = 8
  /** Recursion budget of the current packet (nested headers). */
  depth = 0

  constructor () {
    for (let i = 0; i < MAX_SEGMENTS; i++) this.segments.push(new Segment())
  }

  current (): Segment {
    return this.segments[this.segmentCount - 1] as Segment
  }

  /** Starts the first segment, for the packet at `data[start, end)`. */
  begin (data: Buffer, start: number, end: number, origLen: number, topLength: number): Segment {
    this.data = data
    this.start = start
    this.end = end
    this.origLen = origLen
    this.error = ''
    this.depth = 0
    this.segmentCount = 1
    const s = this.segments[0] as Segment
    s.reset(start, topLength)
    return s
  }

  /**
   * Closes the current segment after a tunnel header ending at `offset` and opens the next one,
   * whose length is the parent's minus the headers it consumed (as Skydive computes it).
   * Returns undefined when the encapsulation is nested too deep.
   */
  split (offset: number): Segment | undefined {
    if (this.segmentCount >= MAX_SEGMENTS) {
      this.fail('too-many-encapsulations')
      return undefined
    }
    const parent = this.current()
    const s = this.segments[this.segmentCount++] as Segment
    const length = parent.length > 0 ? Math.max(0, parent.length - (offset - parent.start)) : 0
    s.reset(offset, length)
    return s
  }

  fail (reason: string): void {
    if (this.error === '') this.error = reason
  }
}
