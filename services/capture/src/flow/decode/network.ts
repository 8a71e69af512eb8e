import { u16, u32 } from './bytes.ts'
import { L } from './layers.ts'
import type { DecodedPacket, Segment } from './packet.ts'
import { decodeIcmpv4, decodeIcmpv6, decodeSctp, decodeTcp, decodeUdp } from './transport.ts'
import { decodeGre, decodeMpls } from './tunnel.ts'
import { decodeEthernet } from './link.ts'

const MAX_DEPTH = 64

/** ARP: a leaf layer; the flow of an ARP packet is keyed by its MAC addresses. */
export function decodeArp (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 8) { pkt.fail('arp-truncated'); return }
  const hlen = d[off + 4] as number
  const plen = d[off + 5] as number
  if (end - off < 8 + 2 * (hlen + plen)) { pkt.fail('arp-truncated'); return }
  seg.addLayer(L.ARP)
}

/**
 * IPv4, checked the way gopacket checks it: header of 20 bytes at least, IHL >= 5, IHL within the
 * total length, well-formed options. A total length of 0 (TSO) means "the captured bytes".
 * Fragments: the first one goes on to its transport header; later ones stop at 'Fragment'.
 */
export function decodeIPv4 (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 20) { pkt.fail('ipv4-truncated'); return }
  if (++pkt.depth > MAX_DEPTH) { pkt.fail('too-deep'); return }
  let totalLength = u16(d, off + 2)
  if (totalLength === 0) totalLength = end - off
  const ihl = ((d[off] as number) & 0x0f) * 4
  const first = seg.ipVersion === 0
  seg.addLayer(L.IPv4)
  if (first) {
    seg.ipVersion = 4
    seg.ipOffset = off
    seg.ipTotalLength = totalLength
    seg.ttl = d[off + 8] as number
    seg.ipId = u16(d, off + 4)
    // At the top of a raw-IP capture, Skydive counts the IP total length.
    if (seg.start === off && seg.length === 0 && seg.layerCount === 1) seg.length = totalLength
  }
  if (totalLength < 20) { pkt.fail('ipv4-bad-total-length'); return }
  if (ihl < 20) { pkt.fail('ipv4-bad-header-length'); return }
  if (ihl > totalLength) { pkt.fail('ipv4-header-beyond-total-length'); return }
  if (ihl > end - off) { pkt.fail('ipv4-truncated'); return }
  if (!checkIPv4Options(d, off + 20, off + ihl)) { pkt.fail('ipv4-bad-options'); return }
  // Bytes past the total length are Ethernet padding, not payload.
  if (end - off > totalLength) end = off + totalLength
  const proto = d[off + 9] as number
  const flagsFrag = u16(d, off + 6)
  const moreFragments = (flagsFrag & 0x2000) !== 0
  const fragOffset = flagsFrag & 0x1fff
  seg.ipProto = proto
  if (fragOffset !== 0) {
    if (first) seg.laterFragment = true
    seg.addLayer(L.Fragment)
    return
  }
  if (moreFragments && first) seg.firstFragment = true
  decodeIpProtocol(pkt, seg, proto, off + ihl, end)
}

function checkIPv4Options (d: Uint8Array, o: number, end: number): boolean {
  while (o < end) {
    const type = d[o] as number
    if (type === 0) return true
    if (type === 1) { o++; continue }
    if (end - o < 2) return false
    const len = d[o + 1] as number
    if (len <= 2 || len > end - o) return false
    o += len
  }
  return true
}

/**
 * IPv6 and its extension headers (hop-by-hop with jumbograms, routing, fragment, destination
 * options, AH), each a layer of its own as in gopacket.
 */
export function decodeIPv6 (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 40) { pkt.fail('ipv6-truncated'); return }
  if (++pkt.depth > MAX_DEPTH) { pkt.fail('too-deep'); return }
  const payloadLength = u16(d, off + 4)
  const first = seg.ipVersion === 0
  seg.addLayer(L.IPv6)
  if (first) {
    seg.ipVersion = 6
    seg.ipOffset = off
    seg.ipTotalLength = 40 + payloadLength
    seg.ttl = d[off + 7] as number
    if (seg.start === off && seg.length === 0 && seg.layerCount === 1) seg.length = 40 + payloadLength
  }
  let next = d[off + 6] as number
  let o = off + 40
  if (next === 0) {
    // Hop-by-hop options belong to the IPv6 header in gopacket (they may carry the jumbo length).
    if (end - o < 2) { pkt.fail('ipv6-hop-by-hop-truncated'); return }
    const hbhLen = ((d[o + 1] as number) + 1) * 8
    if (end - o < hbhLen) { pkt.fail('ipv6-hop-by-hop-truncated'); return }
    seg.addLayer(L.IPv6HopByHop)
    const jumbo = findJumboLength(d, o + 2, o + hbhLen)
    if (jumbo === -2) { pkt.fail('ipv6-bad-hop-by-hop'); return }
    if (jumbo >= 0) {
      if (payloadLength !== 0) { pkt.fail('ipv6-jumbo-with-length'); return }
      if (first) seg.ipTotalLength = 40 + jumbo
      end = Math.min(end, off + 40 + jumbo)
    } else {
      if (payloadLength === 0) { pkt.fail('ipv6-zero-length'); return }
      end = Math.min(end, off + 40 + payloadLength)
    }
    next = d[o] as number
    o += hbhLen
  } else {
    if (payloadLength === 0) { pkt.fail('ipv6-zero-length'); return }
    end = Math.min(end, off + 40 + payloadLength)
  }
  for (let guard = 0; guard < 16; guard++) {
    switch (next) {
      case 43: // routing
      case 60: { // destination options
        if (end - o < 2) { pkt.fail('ipv6-extension-truncated'); return }
        const len = ((d[o + 1] as number) + 1) * 8
        if (end - o < len) { pkt.fail('ipv6-extension-truncated'); return }
        seg.addLayer(next === 43 ? L.IPv6Routing : L.IPv6Destination)
        next = d[o] as number
        o += len
        continue
      }
      case 44: { // fragment
        if (end - o < 8) { pkt.fail('ipv6-fragment-truncated'); return }
        seg.addLayer(L.IPv6Fragment)
        const fragField = u16(d, o + 2)
        const fragOffset = fragField >> 3
        const more = (fragField & 1) !== 0
        if (first) seg.ipId = u32(d, o + 4)
        next = d[o] as number
        o += 8
        if (fragOffset !== 0) {
          if (first) { seg.laterFragment = true; seg.ipProto = next }
          seg.addLayer(L.Fragment)
          return
        }
        if (more && first) seg.firstFragment = true
        continue
      }
      case 51: { // authentication header
        if (end - o < 8) { pkt.fail('ipsec-ah-truncated'); return }
        const len = ((d[o + 1] as number) + 2) * 4
        if (end - o < len) { pkt.fail('ipsec-ah-truncated'); return }
        seg.addLayer(L.IPSecAH)
        next = d[o] as number
        o += len
        continue
      }
      default:
        seg.ipProto = next
        decodeIpProtocol(pkt, seg, next, o, end)
        return
    }
  }
  pkt.fail('ipv6-too-many-extensions')
}

/** Length in the jumbo payload option (type 0xc2), -1 when absent, -2 when malformed. */
function findJumboLength (d: Uint8Array, o: number, end: number): number {
  while (o < end) {
    const type = d[o] as number
    if (type === 0) { o++; continue }
    if (end - o < 2) return -2
    const len = d[o + 1] as number
    if (end - o < 2 + len) return -2
    if (type === 0xc2) return len === 4 ? u32(d, o + 2) : -2
    o += 2 + len
  }
  return -1
}

/** The upper layer named by an IPv4 protocol or IPv6 next header. */
export function decodeIpProtocol (pkt: DecodedPacket, seg: Segment, proto: number, off: number, end: number): void {
  switch (proto) {
    case 6: decodeTcp(pkt, seg, off, end); return
    case 17: decodeUdp(pkt, seg, off, end); return
    case 1: decodeIcmpv4(pkt, seg, off, end); return
    case 58: decodeIcmpv6(pkt, seg, off, end); return
    case 132: decodeSctp(pkt, seg, off, end); return
    case 47: decodeGre(pkt, seg, off, end); return
    case 4: decodeIPv4(pkt, seg, off, end); return
    case 41: decodeIPv6(pkt, seg, off, end); return
    case 137: decodeMpls(pkt, seg, off, end); return
    case 97: // EtherIP: 2-byte header, then an Ethernet frame (not a split point in Skydive)
      if (end - off < 2) { pkt.fail('etherip-truncated'); return }
      seg.addLayer(L.EtherIP)
      decodeEthernet(pkt, seg, off + 2, end)
      return
    case 50: leaf(seg, L.IPSecESP, off, end, 8); return
    case 2: leaf(seg, L.IGMP, off, end, 8); return
    case 89: leaf(seg, L.OSPF, off, end, 16); return
    case 112: leaf(seg, L.VRRP, off, end, 8); return
    case 136: leaf(seg, L.UDPLite, off, end, 8); return
    case 27: leaf(seg, L.RUDP, off, end, 6); return
    default:
  }
}

function leaf (seg: Segment, id: number, off: number, end: number, min: number): void {
  if (end - off >= min) seg.addLayer(id)
}
