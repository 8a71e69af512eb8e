import { u16 } from './bytes.ts'
import { L } from './layers.ts'
import { MAX_VLANS, type DecodedPacket, type Segment } from './packet.ts'
import { decodeArp, decodeIPv4, decodeIPv6 } from './network.ts'
import { decodeMpls } from './tunnel.ts'

/** Ethernet header: destination MAC, source MAC, EtherType (or 802.3 length). */
export function decodeEthernet (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  if (end - off < 14) { pkt.fail('ethernet-truncated'); return }
  const d = pkt.data
  let type = u16(d, off + 12)
  seg.addLayer(L.Ethernet)
  // The first Ethernet header of a level is its link layer (EtherIP may nest another one).
  if (!seg.hasEthernet) {
    seg.hasEthernet = true
    seg.ethOffset = off
    seg.ethPayloadLength = end - off - 14
  }
  if (type < 0x0600) {
    // 802.3 frame: the field is the payload length, and LLC follows.
    if (seg.ethOffset === off) seg.ethPayloadLength = type
    decodeLlc(pkt, seg, off + 14, Math.min(end, off + 14 + type))
    return
  }
  off += 14
  // Read through VLAN tags here rather than recursing once per tag.
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (end - off < 4) { pkt.fail('dot1q-truncated'); return }
    seg.addLayer(L.Dot1Q)
    if (seg.vlanCount < MAX_VLANS) seg.vlans[seg.vlanCount++] = u16(d, off) & 0x0fff
    type = u16(d, off + 2)
    off += 4
  }
  decodeEtherType(pkt, seg, type, off, end)
}

/** What follows an EtherType: Ethernet, VLAN, SLL, GRE and Geneve all dispatch through here. */
export function decodeEtherType (pkt: DecodedPacket, seg: Segment, type: number, off: number, end: number): void {
  switch (type) {
    case 0x0800: decodeIPv4(pkt, seg, off, end); return
    case 0x86dd: decodeIPv6(pkt, seg, off, end); return
    case 0x0806: decodeArp(pkt, seg, off, end); return
    case 0x8100:
    case 0x88a8:
    case 0x9100: {
      if (end - off < 4) { pkt.fail('dot1q-truncated'); return }
      seg.addLayer(L.Dot1Q)
      if (seg.vlanCount < MAX_VLANS) seg.vlans[seg.vlanCount++] = u16(pkt.data, off) & 0x0fff
      if (++pkt.depth > 64) { pkt.fail('too-deep'); return }
      decodeEtherType(pkt, seg, u16(pkt.data, off + 2), off + 4, end)
      return
    }
    case 0x8847:
    case 0x8848: decodeMpls(pkt, seg, off, end); return
    case 0x6558: decodeEthernet(pkt, seg, off, end); return
    case 0x88be: {
      // ERSPAN: type II has an 8-byte header (Skydive skips it), type I (no GRE sequence) none.
      const hdr = pkt.erspanHeader
      if (end - off < hdr) { pkt.fail('erspan-truncated'); return }
      decodeEthernet(pkt, seg, off + hdr, end)
      return
    }
    case 0x22eb: { // ERSPAN type III: 12 bytes, 8 more with the platform-specific subheader
      if (end - off < 12) { pkt.fail('erspan-truncated'); return }
      const hdr = ((pkt.data[off + 11] as number) & 0x01) !== 0 ? 20 : 12
      if (end - off < hdr) { pkt.fail('erspan-truncated'); return }
      decodeEthernet(pkt, seg, off + hdr, end)
      return
    }
    case 0x88cc:
      if (isLldp(pkt.data, off, end)) { seg.addLayer(L.LinkLayerDiscovery); seg.addLayer(L.LinkLayerDiscoveryInfo) }
      return
    case 0x888e:
      if (end - off < 4) return
      seg.addLayer(L.EAPOL)
      if (pkt.data[off + 1] === 0 && end - off >= 8) seg.addLayer(L.EAP)
      return
    case 0x8863: leaf(seg, L.PPPoE, off, end); return
    case 0x8864:
      if (end - off < 6) return
      seg.addLayer(L.PPPoE)
      if (pkt.data[off + 1] === 0) decodePpp(pkt, seg, off + 6, end)
      return
    case 0x9000: leaf(seg, L.EthernetCTP, off, end); return
    case 0x880b: decodePpp(pkt, seg, off, end); return
    default:
  }
}

/** PPP (LINKTYPE_PPP, PPPoE sessions): 1- or 2-byte protocol, then IPv4, IPv6 or MPLS. */
export function decodePpp (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  // HDLC-like framing (address 0xff, control 0x03) in front of the protocol field.
  if (end - off >= 2 && d[off] === 0xff && d[off + 1] === 0x03) off += 2
  if (end - off < 2) { pkt.fail('ppp-truncated'); return }
  let proto: number
  if (((d[off] as number) & 1) !== 0) { proto = d[off] as number; off += 1 } else {
    if (((d[off + 1] as number) & 1) === 0) { pkt.fail('ppp-bad-protocol'); return }
    proto = u16(d, off); off += 2
  }
  seg.addLayer(L.PPP)
  if (proto === 0x21) decodeIPv4(pkt, seg, off, end)
  else if (proto === 0x57) decodeIPv6(pkt, seg, off, end)
  else if (proto === 0x281 || proto === 0x283) decodeMpls(pkt, seg, off, end)
}

/** 802.2 LLC, then SNAP (with an EtherType inside), STP or nothing gopacket knows. */
function decodeLlc (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 3) return
  const dsap = d[off] as number; const ssap = d[off + 1] as number
  const hdr = ((d[off + 2] as number) & 0x03) === 0x03 ? 3 : 4
  if (end - off < hdr) return
  seg.addLayer(L.LLC)
  off += hdr
  if (dsap === 0x42 && ssap === 0x42) { if (end - off >= 4) seg.addLayer(L.STP); return }
  if (dsap === 0xaa && ssap === 0xaa) {
    if (end - off < 5) return
    seg.addLayer(L.SNAP)
    const type = u16(d, off + 3)
    if (type === 0x2000) {
      if (end - off - 5 >= 4) { seg.addLayer(L.CiscoDiscovery); seg.addLayer(L.CiscoDiscoveryInfo) }
      return
    }
    decodeEtherType(pkt, seg, type, off + 5, end)
  }
}

/** LLDP decodes when it starts with the mandatory chassis ID, port ID and TTL TLVs, all in bounds. */
function isLldp (d: Uint8Array, off: number, end: number): boolean {
  let o = off
  for (let i = 0; i < 3; i++) {
    if (end - o < 2) return false
    const tl = u16(d, o)
    const type = tl >> 9; const len = tl & 0x1ff
    if (type !== i + 1 || end - o - 2 < len) return false
    o += 2 + len
  }
  while (end - o >= 2) {
    const tl = u16(d, o)
    if (tl >> 9 === 0) return true
    const len = tl & 0x1ff
    if (end - o - 2 < len) return false
    o += 2 + len
  }
  return true
}

function leaf (seg: Segment, id: number, off: number, end: number): void {
  if (end > off) seg.addLayer(id)
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL): 16-byte header, protocol last. Not a layer in LayersPath. */
export function decodeLinuxSll (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  if (end - off < 16) { pkt.fail('sll-truncated'); return }
  decodeSllProtocol(pkt, seg, u16(pkt.data, off + 14), off + 16, end)
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): 20-byte header, protocol first. */
export function decodeLinuxSll2 (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  if (end - off < 20) { pkt.fail('sll2-truncated'); return }
  decodeSllProtocol(pkt, seg, u16(pkt.data, off), off + 20, end)
}

function decodeSllProtocol (pkt: DecodedPacket, seg: Segment, proto: number, off: number, end: number): void {
  // Values below 0x0600 are Linux's ETH_P_* pseudo protocols (802.3, 802.2 LLC, CAN...).
  if (proto < 0x0600) { pkt.fail('sll-non-ethertype'); return }
  decodeEtherType(pkt, seg, proto, off, end)
}

/** LINKTYPE_RAW and friends: the packet starts with an IPv4 or IPv6 header. */
export function decodeRawIp (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  if (end <= off) { pkt.fail('raw-ip-empty'); return }
  const v = (pkt.data[off] as number) >> 4
  if (v === 4) decodeIPv4(pkt, seg, off, end)
  else if (v === 6) decodeIPv6(pkt, seg, off, end)
  else pkt.fail('raw-ip-bad-version')
}

/** BSD loopback (LINKTYPE_NULL host order, LINKTYPE_LOOP network order): 4-byte address family. */
export function decodeLoopback (pkt: DecodedPacket, seg: Segment, off: number, end: number, bigEndian: boolean): void {
  if (end - off < 4) { pkt.fail('loopback-truncated'); return }
  const d = pkt.data
  let family = bigEndian ? u16(d, off + 2) + (u16(d, off) << 16) : (d[off] as number) | ((d[off + 1] as number) << 8)
  // A capture written on a host of the other byte order puts the family in the high bytes.
  if (!bigEndian && family === 0) family = u16(d, off + 2) >> 8
  seg.addLayer(L.Loopback)
  if (family === 2) decodeIPv4(pkt, seg, off + 4, end)
  else if (family === 10 || family === 24 || family === 28 || family === 30) decodeIPv6(pkt, seg, off + 4, end)
  else pkt.fail('loopback-unknown-family')
}
