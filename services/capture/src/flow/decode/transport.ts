import { u16, u32 } from './bytes.ts'
import { L } from './layers.ts'
import { TRANSPORT_SCTP, TRANSPORT_TCP, TRANSPORT_UDP, type DecodedPacket, type Segment } from './packet.ts'
import { decodeGeneve, decodeMpls, decodeVxlan } from './tunnel.ts'

/** TCP: ports, flags, options checked for well-formedness; then an application layer by port. */
export function decodeTcp (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 20) { pkt.fail('tcp-truncated'); return }
  seg.addLayer(L.TCP)
  if (seg.transport === 0) {
    seg.transport = TRANSPORT_TCP
    seg.srcPort = u16(d, off)
    seg.dstPort = u16(d, off + 2)
    seg.tcpFlags = d[off + 13] as number
  }
  const dataOffset = ((d[off + 12] as number) >> 4) * 4
  if (dataOffset < 20) { pkt.fail('tcp-bad-data-offset'); return }
  if (dataOffset > end - off) { pkt.fail('tcp-header-truncated'); return }
  if (!checkTcpOptions(d, off + 20, off + dataOffset)) { pkt.fail('tcp-bad-options'); return }
  const payload = off + dataOffset
  if (payload >= end) return
  const app = tcpApplication(d, seg.srcPort, seg.dstPort, payload, end)
  if (app !== 0) seg.addLayer(app)
}

function checkTcpOptions (d: Uint8Array, o: number, end: number): boolean {
  while (o < end) {
    const kind = d[o] as number
    if (kind === 0) return true
    if (kind === 1) { o++; continue }
    if (end - o < 2) return false
    const len = d[o + 1] as number
    if (len < 2 || len > end - o) return false
    o += len
  }
  return true
}

function tcpApplication (d: Uint8Array, sport: number, dport: number, o: number, end: number): number {
  const port = isTlsPort(dport) || dport === 502 || dport === 53 ? dport : sport
  if (isTlsPort(port)) return isTlsRecords(d, o, end) ? L.TLS : 0
  if (port === 502) return end - o >= 8 && u16(d, o + 2) === 0 ? L.ModbusTCP : 0
  // gopacket's DNS decoder does not strip the TCP length prefix, so it fails on DNS over TCP.
  return 0
}

function isTlsPort (p: number): boolean {
  return p === 443 || p === 636 || p === 989 || p === 990 || p === 992 || p === 993 || p === 994 || p === 995 || p === 5061
}

/** True when the segment is made of whole TLS records, which is when gopacket's TLS decoder succeeds. */
function isTlsRecords (d: Uint8Array, o: number, end: number): boolean {
  if (end - o < 5) return false
  while (o < end) {
    if (end - o < 5) return false
    const type = d[o] as number
    if (type < 20 || type > 23) return false
    const len = u16(d, o + 3)
    if (end - o - 5 < len) return false
    o += 5 + len
  }
  return true
}

/** UDP: ports, then a tunnel (VXLAN, Geneve, MPLS) or an application layer by port. */
export function decodeUdp (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 8) { pkt.fail('udp-truncated'); return }
  seg.addLayer(L.UDP)
  const sport = u16(d, off)
  const dport = u16(d, off + 2)
  const first = seg.transport === 0
  if (first) {
    seg.transport = TRANSPORT_UDP
    seg.srcPort = sport
    seg.dstPort = dport
  }
  const length = u16(d, off + 4)
  if (length >= 8) end = Math.min(end, off + length)
  else if (length !== 0) { pkt.fail('udp-bad-length'); return }
  const payload = off + 8
  if (payload >= end) return
  // As gopacket: the destination port decides first, then the source port.
  if (!decodeUdpPort(pkt, seg, dport, payload, end, first)) decodeUdpPort(pkt, seg, sport, payload, end, first)
}

function decodeUdpPort (pkt: DecodedPacket, seg: Segment, port: number, o: number, end: number, first: boolean): boolean {
  const d = pkt.data
  if (pkt.vxlanPorts.has(port)) { if (first) decodeVxlan(pkt, seg, o, end); return true }
  if (pkt.genevePorts.has(port)) { if (first) decodeGeneve(pkt, seg, o, end); return true }
  if (pkt.mplsPorts.has(port)) { if (first) decodeMpls(pkt, seg, o, end); return true }
  let app = 0
  switch (port) {
    case 53: if (isDns(d, o, end)) app = L.DNS; break
    case 123: if (end - o >= 48) app = L.NTP; break
    case 67:
    case 68: if (end - o >= 240 && u32(d, o + 236) === 0x63825363) app = L.DHCPv4; break
    case 546:
    case 547: if (end - o >= 4) app = L.DHCPv6; break
    case 5060: if (end - o >= 4) app = L.SIP; break
    case 6343: if (end - o >= 28 && u32(d, o) === 5) app = L.SFlow; break
    case 3784: if (end - o >= 24) app = L.BFD; break
    case 2152: if (end - o >= 8 && (d[o] as number) >> 5 === 1) app = L.GTPv1U; break
    default: return false
  }
  if (app !== 0) seg.addLayer(app)
  return true
}

/**
 * Whether a DNS message parses: 12-byte header, then every question and resource record within
 * the payload, names made of labels and backward-free compression pointers. This is what makes
 * gopacket add its DNS layer (or stop at UDP).
 */
function isDns (d: Uint8Array, o: number, end: number): boolean {
  if (end - o < 12) return false
  const qd = u16(d, o + 4); const an = u16(d, o + 6); const ns = u16(d, o + 8); const ar = u16(d, o + 10)
  let p = o + 12
  for (let i = 0; i < qd; i++) {
    p = skipDnsName(d, o, p, end)
    if (p < 0 || end - p < 4) return false
    p += 4
  }
  const records = an + ns + ar
  for (let i = 0; i < records; i++) {
    p = skipDnsName(d, o, p, end)
    if (p < 0 || end - p < 10) return false
    const rdlen = u16(d, p + 8)
    p += 10
    if (end - p < rdlen) return false
    p += rdlen
  }
  return true
}

function skipDnsName (d: Uint8Array, msg: number, p: number, end: number): number {
  let hops = 0
  let ret = -1
  for (;;) {
    if (p >= end) return -1
    const len = d[p] as number
    if (len === 0) return ret >= 0 ? ret : p + 1
    if ((len & 0xc0) === 0xc0) {
      if (end - p < 2) return -1
      if (ret < 0) ret = p + 2
      const target = msg + (((len & 0x3f) << 8) | (d[p + 1] as number))
      if (++hops > 64 || target >= end) return -1
      p = target
      continue
    }
    if ((len & 0xc0) !== 0) return -1
    p += 1 + len
  }
}

/** SCTP common header, then its chunks, each a layer named after its type. */
export function decodeSctp (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 12) { pkt.fail('sctp-truncated'); return }
  seg.addLayer(L.SCTP)
  if (seg.transport === 0) {
    seg.transport = TRANSPORT_SCTP
    seg.srcPort = u16(d, off)
    seg.dstPort = u16(d, off + 2)
  }
  let o = off + 12
  while (end - o >= 4) {
    const type = d[o] as number
    const len = u16(d, o + 2)
    if (len < 4) { pkt.fail('sctp-bad-chunk-length'); return }
    const actual = (len + 3) & ~3
    const id = sctpChunkLayer(type)
    if (type === 0) {
      // DATA carries the user payload: decoding ends here.
      if (end - o < 16) { pkt.fail('sctp-chunk-truncated'); return }
      seg.addLayer(id)
      return
    }
    if (end - o < Math.min(actual, len)) { pkt.fail('sctp-chunk-truncated'); return }
    seg.addLayer(id)
    o += actual
  }
}

function sctpChunkLayer (type: number): number {
  switch (type) {
    case 0: return L.SCTPData
    case 1: return L.SCTPInit
    case 2: return L.SCTPInitAck
    case 3: return L.SCTPSack
    case 4: return L.SCTPHeartbeat
    case 5: return L.SCTPHeartbeatAck
    case 6: return L.SCTPAbort
    case 7: return L.SCTPShutdown
    case 8: return L.SCTPShutdownAck
    case 9: return L.SCTPError
    case 10: return L.SCTPCookieEcho
    case 11: return L.SCTPCookieAck
    case 14: return L.SCTPShutdownComplete
    default: return L.SCTPUnknownChunkType
  }
}

/** ICMPv4: 8 bytes at least (gopacket drops the layer otherwise); Skydive reads the ID of any type. */
export function decodeIcmpv4 (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 8) { pkt.fail('icmpv4-truncated'); return }
  seg.addLayer(L.ICMPv4)
  if (seg.icmpVersion !== 0) return
  seg.icmpVersion = 4
  seg.icmpType = d[off] as number
  seg.icmpCode = d[off + 1] as number
  seg.icmpId = u16(d, off + 4)
}

/** ICMPv6 and the message layer gopacket decodes after it (echo, neighbor discovery, MLD). */
export function decodeIcmpv6 (pkt: DecodedPacket, seg: Segment, off: number, end: number): void {
  const d = pkt.data
  if (end - off < 4) { pkt.fail('icmpv6-truncated'); return }
  seg.addLayer(L.ICMPv6)
  if (seg.icmpVersion !== 0) return
  seg.icmpVersion = 6
  const type = d[off] as number
  seg.icmpType = type
  seg.icmpCode = d[off + 1] as number
  const body = end - off - 4
  let id = 0; let min = 0
  switch (type) {
    case 128:
    case 129:
      if (body >= 4) {
        seg.icmpv6Echo = true
        seg.icmpId = u16(d, off + 4)
        seg.addLayer(L.ICMPv6Echo)
      } else pkt.fail('icmpv6-echo-truncated')
      return
    case 133: id = L.ICMPv6RouterSolicitation; min = 4; break
    case 134: id = L.ICMPv6RouterAdvertisement; min = 12; break
    case 135: id = L.ICMPv6NeighborSolicitation; min = 20; break
    case 136: id = L.ICMPv6NeighborAdvertisement; min = 20; break
    case 137: id = L.ICMPv6Redirect; min = 36; break
    case 130:
      if (body > 20) { id = L.MLDv2MulticastListenerQuery; min = 24 } else { id = L.MLDv1MulticastListenerQuery; min = 20 }
      break
    case 131: id = L.MLDv1MulticastListenerReport; min = 20; break
    case 132: id = L.MLDv1MulticastListenerDone; min = 20; break
    case 143: id = L.MLDv2MulticastListenerReport; min = 4; break
    default: return
  }
  if (body >= min) seg.addLayer(id)
}
