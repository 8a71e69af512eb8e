import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { FlowTable, flowsFromPcap, PacketDecoder, PcapStreamReader, type Flow, type FlowEmitReason, type FlowTableOptions, type PcapFlowOptions, type PcapPacket } from '../../../src/flow/index.ts'

/** The shared tcpdump test captures (never copied into the repository). */
export const corpusDir = resolve(import.meta.dirname, '../../../../../../shared/pcaps/tcpdump-tests')

export function pcap (name: string): string {
  return resolve(corpusDir, name)
}

/**
 * Every packet of a pcap/pcapng capture, in order. A damaged capture throws the reader's error, or
 * with `untilDamage` gives the packets before the damage.
 */
export function capturePackets (bytes: Buffer, untilDamage = false): PcapPacket[] {
  const reader = new PcapStreamReader()
  const out: PcapPacket[] = []
  try {
    reader.push(bytes)
    reader.end()
    for (let p = reader.next(); p !== undefined; p = reader.next()) out.push(p)
  } catch (err) {
    if (!untilDamage) throw err
  }
  return out
}

export async function collectFlows (name: string, opts: PcapFlowOptions = {}): Promise<Flow[]> {
  const out: Flow[] = []
  for await (const f of flowsFromPcap(pcap(name), opts)) out.push(f)
  return out
}

/** Per-direction [packets, bytes] of a flow, for compact assertions. */
export function counts (f: Flow): [[number, number], [number, number]] {
  return [[f.Metric.ABPackets, f.Metric.ABBytes], [f.Metric.BAPackets, f.Metric.BABytes]]
}

function mac (s: string): number[] {
  return s.split(':').map(x => parseInt(x, 16))
}

function ipv4 (s: string): number[] {
  return s.split('.').map(Number)
}

function checksum (b: number[]): number {
  let sum = 0
  for (let i = 0; i < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

export interface FrameSpec {
  srcMac?: string
  dstMac?: string
  vlans?: number[]
  src: string
  dst: string
  /** 6 TCP, 17 UDP, 1 ICMP */
  proto: number
  sport?: number
  dport?: number
  /** TCP flags byte (SYN 0x02, ACK 0x10, FIN 0x01, RST 0x04). */
  flags?: number
  icmpType?: number
  icmpId?: number
  payload?: number
  ipId?: number
  /** 3-bit flags and 13-bit offset (in 8-byte units) of the IPv4 fragment field. */
  moreFragments?: boolean
  fragOffset?: number
  ttl?: number
}

/** An Ethernet/[VLAN]/IPv4/(TCP|UDP|ICMP) frame built by hand. */
export function frame (s: FrameSpec): Buffer {
  const l4: number[] = []
  const payload = new Array<number>(s.payload ?? 0).fill(0x61)
  if (s.fragOffset !== undefined && s.fragOffset > 0) {
    l4.push(...payload)
  } else if (s.proto === 6) {
    l4.push((s.sport ?? 0) >> 8, (s.sport ?? 0) & 0xff, (s.dport ?? 0) >> 8, (s.dport ?? 0) & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, s.flags ?? 0x10, 0xff, 0xff, 0, 0, 0, 0, ...payload)
  } else if (s.proto === 17) {
    const len = 8 + payload.length
    l4.push((s.sport ?? 0) >> 8, (s.sport ?? 0) & 0xff, (s.dport ?? 0) >> 8, (s.dport ?? 0) & 0xff, len >> 8, len & 0xff, 0, 0, ...payload)
  } else if (s.proto === 1) {
    l4.push(s.icmpType ?? 8, 0, 0, 0, (s.icmpId ?? 1) >> 8, (s.icmpId ?? 1) & 0xff, 0, 1, ...payload)
  }
  const total = 20 + l4.length
  const frag = (s.moreFragments === true ? 0x2000 : 0) | (s.fragOffset ?? 0)
  const ip = [0x45, 0, total >> 8, total & 0xff, (s.ipId ?? 1) >> 8, (s.ipId ?? 1) & 0xff, frag >> 8, frag & 0xff, s.ttl ?? 64, s.proto, 0, 0, ...ipv4(s.src), ...ipv4(s.dst)]
  const c = checksum(ip)
  ip[10] = c >> 8; ip[11] = c & 0xff
  const eth = [...mac(s.dstMac ?? '02:00:00:00:00:02'), ...mac(s.srcMac ?? '02:00:00:00:00:01')]
  for (const v of s.vlans ?? []) eth.push(0x81, 0x00, v >> 8, v & 0xff)
  eth.push(0x08, 0x00)
  return Buffer.from([...eth, ...ip, ...l4])
}

/** A classic little-endian microsecond pcap file holding the given frames. */
export function pcapFile (packets: Array<{ sec: number, usec: number, data: Buffer }>, linkType = 1): Buffer {
  const parts: Buffer[] = []
  const h = Buffer.alloc(24)
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6)
  h.writeUInt32LE(65535, 16); h.writeUInt32LE(linkType, 20)
  parts.push(h)
  for (const p of packets) {
    const r = Buffer.alloc(16)
    r.writeUInt32LE(p.sec, 0); r.writeUInt32LE(p.usec, 4); r.writeUInt32LE(p.data.length, 8); r.writeUInt32LE(p.data.length, 12)
    parts.push(r, p.data)
  }
  return Buffer.concat(parts)
}

/** Packet time of the flow table tests' first packet, epoch seconds. */
export const T0 = 1700000000
/** Two ends of a conversation, A → B and B → A. */
export const a = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', src: '10.0.0.1', dst: '10.0.0.2' }
export const b = { srcMac: '02:00:00:00:00:02', dstMac: '02:00:00:00:00:01', src: '10.0.0.2', dst: '10.0.0.1' }

export interface Emitted { reason: FlowEmitReason, flows: Flow[] }

/** A table fed with hand-built frames at given times (seconds after T0, exact to the microsecond), recording what it emits. */
export function tableHarness (opts: FlowTableOptions = {}): { feed: (t: number, spec: FrameSpec) => void, emitted: Emitted[], table: FlowTable, decoder: PacketDecoder } {
  const emitted: Emitted[] = []
  const table = new FlowTable({ ...opts, onFlows: (flows, reason) => emitted.push({ reason, flows }) })
  const decoder = new PacketDecoder()
  const feed = (t: number, spec: FrameSpec): void => {
    const data = frame(spec)
    const pkt = decoder.decode(1, data, data.length)
    assert.ok(pkt !== undefined)
    const us = Math.round(t * 1e6)
    table.processPacket(pkt, T0 + Math.floor(us / 1e6), (us % 1e6) * 1000)
  }
  return { feed, emitted, table, decoder }
}
