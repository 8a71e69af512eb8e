import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A large synthetic Ethernet capture with a realistic mix, written fast (no per-packet objects):
 * TCP over IPv4 and IPv6 with handshake, data and FIN, UDP request/response, ICMP echo.
 * Flows overlap in time (`concurrency` are open at once), so the flow table holds many flows
 * while packets of others arrive, as on a busy link. Deterministic for a given spec.
 *
 *   node --import tsx bench/pcap/synthetic.bench.ts FILE [packets] [flows] [seconds]
 */

export interface SyntheticSpec {
  /** Conversations in the file (each gets its own 5-tuple). */
  flows: number
  /** Packets per flow on average (uniform in [avg/2, 3avg/2), at least 2). */
  packetsPerFlow: number
  /** Flows open at the same time. */
  concurrency: number
  /** Capture duration, seconds of packet time. */
  seconds: number
  /** Captured bytes kept per packet (the wire length stays in the record). */
  snaplen: number
}

export interface SyntheticCapture {
  file: string
  packets: number
  flows: number
  bytes: number
}

const KIND_TCP4 = 0
const KIND_UDP4 = 1
const KIND_TCP6 = 2
const KIND_ICMP4 = 3

/** xorshift32: fast and reproducible. */
function rng (seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s
  }
}

interface Slot { flow: number, kind: number, sent: number, total: number }

export function writeSyntheticCapture (spec: SyntheticSpec, file = join(mkdtempSync(join(tmpdir(), 'tf-bench-')), 'synthetic.pcap')): SyntheticCapture {
  const rand = rng(0x5eed)
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(8 << 20)
  let o = 0
  const flush = (): void => { writeSync(fd, chunk, 0, o); o = 0 }
  chunk.writeUInt32LE(0xa1b2c3d4, 0); chunk.writeUInt16LE(2, 4); chunk.writeUInt16LE(4, 6)
  chunk.writeUInt32LE(spec.snaplen, 16); chunk.writeUInt32LE(1, 20)
  o = 24

  const estimate = spec.flows * spec.packetsPerFlow
  const usPerPacket = (spec.seconds * 1e6) / estimate
  let packets = 0
  let bytes = 24
  let nextFlow = 0
  const newSlot = (): Slot | undefined => {
    if (nextFlow >= spec.flows) return undefined
    const f = nextFlow++
    const r = rand() % 100
    const kind = r < 65 ? KIND_TCP4 : r < 82 ? KIND_UDP4 : r < 95 ? KIND_TCP6 : KIND_ICMP4
    // Uniform around the mean, at least 2 (TCP: SYN, SYN-ACK, data..., FIN, FIN).
    const total = Math.max(2, Math.round(spec.packetsPerFlow * (0.5 + (rand() % 1000) / 1000)))
    return { flow: f, kind, sent: 0, total }
  }
  const slots: Array<Slot | undefined> = []
  for (let i = 0; i < spec.concurrency; i++) slots.push(newSlot())
  let live = slots.filter((s) => s !== undefined).length

  while (live > 0) {
    const i = rand() % slots.length
    const slot = slots[i]
    if (slot === undefined) continue
    if (o + 16 + spec.snaplen > chunk.length) flush()
    const t = 1_700_000_000_000_000 + Math.floor(packets * usPerPacket)
    const wire = writePacket(chunk, o + 16, slot, rand, spec.snaplen)
    const caplen = Math.min(wire, spec.snaplen)
    chunk.writeUInt32LE(Math.floor(t / 1e6), o); chunk.writeUInt32LE(t % 1e6, o + 4)
    chunk.writeUInt32LE(caplen, o + 8); chunk.writeUInt32LE(wire, o + 12)
    o += 16 + caplen
    bytes += 16 + caplen
    packets++
    if (++slot.sent === slot.total) {
      const next = newSlot()
      slots[i] = next
      if (next === undefined) live--
    }
  }
  flush()
  closeSync(fd)
  return { file, packets, flows: spec.flows, bytes }
}

/** Writes one frame (at most `snaplen` bytes of it) at `at`; returns its wire length. */
function writePacket (b: Buffer, at: number, s: Slot, rand: () => number, snaplen: number): number {
  const f = s.flow
  const reply = s.sent % 2 === 1
  const lastTwo = s.sent >= s.total - 2
  // Clients: 65k hosts behind one router MAC; servers: 4096 hosts.
  const client = f & 0xffff
  const server = (f >>> 4) & 0x0fff
  const clientPort = 1024 + ((f * 7919) % 60000)
  const serverPort = [80, 443, 8080, 22, 53, 5432][f % 6] as number
  const payload = s.kind === KIND_ICMP4 ? 56 : s.sent < 3 && s.kind !== KIND_UDP4 ? 0 : (rand() % 1400)
  const v6 = s.kind === KIND_TCP6
  const l4 = s.kind === KIND_UDP4 ? 8 : s.kind === KIND_ICMP4 ? 8 : 20
  const ipLen = (v6 ? 40 : 20) + l4 + payload
  const wire = 14 + ipLen
  const end = at + Math.min(wire, snaplen)
  b.fill(0, at, end)
  // Ethernet: router ↔ host MACs.
  const macA = at + (reply ? 6 : 0); const macB = at + (reply ? 0 : 6)
  b[macA] = 0x02; b[macA + 1] = 0x00; b.writeUInt32BE(0x0a000000 + server, macA + 2)
  b[macB] = 0x02; b[macB + 1] = 0x01; b.writeUInt32BE(0x0b000000 + client, macB + 2)
  b.writeUInt16BE(v6 ? 0x86dd : 0x0800, at + 12)
  const ip = at + 14
  let l4at: number
  const proto = s.kind === KIND_UDP4 ? 17 : s.kind === KIND_ICMP4 ? 1 : 6
  if (v6) {
    b[ip] = 0x60; b.writeUInt16BE(l4 + payload, ip + 4); b[ip + 6] = proto; b[ip + 7] = 64
    const src = ip + (reply ? 24 : 8); const dst = ip + (reply ? 8 : 24)
    b.writeUInt32BE(0x20010db8, src); b.writeUInt32BE(f, src + 12)
    b.writeUInt32BE(0x20010db8, dst); b[dst + 4] = 0x01; b.writeUInt32BE(server, dst + 12)
    l4at = ip + 40
  } else {
    b[ip] = 0x45; b.writeUInt16BE(ipLen, ip + 2); b.writeUInt16BE(s.sent, ip + 4); b[ip + 8] = 64; b[ip + 9] = proto
    const clientIp = 0x0a000000 + (f & 0xffffff)
    b.writeUInt32BE(reply ? 0xac100000 + server : clientIp, ip + 12)
    b.writeUInt32BE(reply ? clientIp : 0xac100000 + server, ip + 16)
    l4at = ip + 20
  }
  if (l4at + l4 > end) return wire
  if (s.kind === KIND_ICMP4) {
    b[l4at] = reply ? 0 : 8
    b.writeUInt16BE(f & 0xffff, l4at + 4); b.writeUInt16BE(s.sent >> 1, l4at + 6)
    return wire
  }
  b.writeUInt16BE(reply ? serverPort : clientPort, l4at)
  b.writeUInt16BE(reply ? clientPort : serverPort, l4at + 2)
  if (s.kind === KIND_UDP4) { b.writeUInt16BE(l4 + payload, l4at + 4); return wire }
  b[l4at + 12] = 0x50
  b[l4at + 13] = s.sent === 0 ? 0x02 : s.sent === 1 ? 0x12 : lastTwo ? 0x11 : payload > 0 ? 0x18 : 0x10
  return wire
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, packets, flows, seconds] = process.argv.slice(2)
  if (file === undefined) throw new Error('usage: synthetic.bench.ts FILE [packets] [flows] [seconds]')
  const nFlows = Number(flows ?? 200_000)
  const r = writeSyntheticCapture({ flows: nFlows, packetsPerFlow: Math.round(Number(packets ?? 3_000_000) / nFlows), concurrency: 20_000, seconds: Number(seconds ?? 90), snaplen: 128 }, file)
  process.stdout.write(JSON.stringify(r) + '\n')
}
