import { u16, u24, u32 } from './bytes.ts'
import { L } from './layers.ts'
import { TUNNEL_GENEVE, TUNNEL_GRE, TUNNEL_MPLS, TUNNEL_VXLAN, type DecodedPacket, type Segment } from './packet.ts'
import { decodeEthernet, decodeEtherType } from './link.ts'
import { decodeIPv4, decodeIPv6 } from './network.ts'

/**
 * Tunnels end one level of the packet and start the next (Skydive's PacketSequence): the outer
 * flow's LayersPath ends with the tunnel layer, the inner flow gets the outer one as parent.
 */

/** VXLAN (RFC 7348): 8-byte header with a 24-bit VNI, then an Ethernet frame. */
export function decodeVxlan (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  if (end - off < 8) { pkt.fail('vxlan-truncated'); return }
  seg.addLayer(L.VXLAN)
  seg.tunnel = TUNNEL_VXLAN
  seg.tunnelId = u24(pkt.data, off + 4)
  const inner = pkt.split(off + 8)
  if (inner !== undefined) decodeEthernet(pkt, inner, off + 8, end)
}

/** Geneve (RFC 8926): 8 bytes plus options, a 24-bit VNI, and an EtherType for the payload. */
export function decodeGeneve (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 8) { pkt.fail('geneve-truncated'); return }
  const optLen = ((d[off] as number) & 0x3f) * 4
  if (end - off < 8 + optLen) { pkt.fail('geneve-options-truncated'); return }
  seg.addLayer(L.Geneve)
  seg.tunnel = TUNNEL_GENEVE
  seg.tunnelId = u24(d, off + 4)
  const type = u16(d, off + 2)
  const start = off + 8 + optLen
  const inner = pkt.split(start)
  if (inner !== undefined) decodeEtherType(pkt, inner, type, start, end)
}

/**
 * GRE (RFC 2784/2890, and version 1 of PPTP): optional checksum, key and sequence number. The key
 * is Skydive's Network.ID. When MPLS follows, the level ends after the MPLS labels instead.
 */
export function decodeGre (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 4) { pkt.fail('gre-truncated'); return }
  const flags = u16(d, off)
  const version = flags & 0x7
  const type = u16(d, off + 2)
  if ((flags & 0x4000) !== 0) { pkt.fail('gre-routing-unsupported'); seg.addLayer(L.GRE); return }
  if (version > 1) { pkt.fail('gre-bad-version'); return }
  let o = off + 4
  if ((flags & 0x8000) !== 0) o += 4
  let key = 0
  if ((flags & 0x2000) !== 0) {
    if (end - o < 4) { pkt.fail('gre-truncated'); return }
    key = u32(d, o)
    o += 4
  }
  if ((flags & 0x1000) !== 0) o += 4
  pkt.erspanHeader = (flags & 0x1000) !== 0 ? 8 : 0
  if (version === 1 && (flags & 0x0080) !== 0) o += 4
  if (o > end) { pkt.fail('gre-truncated'); return }
  seg.addLayer(L.GRE)
  seg.tunnel = TUNNEL_GRE
  seg.tunnelId = key
  if (type === 0x8847 || type === 0x8848) {
    decodeMpls(pkt, seg, o, end)
    return
  }
  if (o >= end) return
  const inner = pkt.split(o)
  if (inner === undefined) return
  if (type === 0x0800 || type === 0x86dd) {
    // Skydive decodes GRE payloads by the IP version nibble, whatever the protocol field says.
    const v = (d[o] as number) >> 4
    if (v === 4) { decodeIPv4(pkt, inner, o, end); return }
    if (v === 6) { decodeIPv6(pkt, inner, o, end); return }
  }
  decodeEtherType(pkt, inner, type, o, end)
}

/**
 * MPLS label stack. Every label is an 'MPLS' layer; after the bottom of stack the payload is
 * IPv4, IPv6 or, failing both, Ethernet (Skydive's decodeInMplsEthOrIPLayer).
 */
export function decodeMpls (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  let o = off
  for (let labels = 0; ; labels++) {
    if (end - o < 4) { pkt.fail('mpls-truncated'); return }
    if (labels >= 16) { pkt.fail('mpls-too-many-labels'); return }
    seg.addLayer(L.MPLS)
    const bottom = ((d[o + 2] as number) & 0x01) !== 0
    o += 4
    if (bottom) break
  }
  if (seg.tunnel === 0) seg.tunnel = TUNNEL_MPLS
  if (o >= end) return
  const inner = pkt.split(o)
  if (inner === undefined) return
  const v = (d[o] as number) >> 4
  if (v === 4 && end - o >= 20) { decodeIPv4(pkt, inner, o, end); return }
  if (v === 6 && end - o >= 40) { decodeIPv6(pkt, inner, o, end); return }
  decodeEthernet(pkt, inner, o, end)
}
