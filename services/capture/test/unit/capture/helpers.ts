import type { Bus, OutgoingMessage, SubscribeOptions, Subscription } from '@topoflow/core'
import { codecFor, type TopicName } from '@topoflow/schemas'
import type { PacketSource, SourceHooks, SourcePacket, SourceStats } from '../../../src/sources/index.ts'
import { readFileSync } from 'node:fs'
import { capturePackets } from '../flow/helpers.ts'

export { corpusDir } from '../flow/helpers.ts'

/** Polls `check` until it returns true (or a value), failing after `timeoutMs` with `what`. */
export async function waitFor<T> (what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface Published { topic: string, key: string | null, value: unknown }

/**
 * A bus that records what is published, after a round trip through the topic's Avro codec so
 * that a value the schema rejects fails the test. `block` holds publishes until released.
 */
export class RecordingBus implements Bus {
  readonly messages: Published[] = []
  failures = 0
  #gate: Promise<void> | undefined
  #release: (() => void) | undefined

  async start (): Promise<void> {}
  async close (): Promise<void> {}

  block (): void { this.#gate = new Promise((r) => { this.#release = r }) }
  unblock (): void { this.#release?.(); this.#gate = undefined }

  async publish<T> (topic: string, messages: Array<OutgoingMessage<T>>): Promise<void> {
    if (this.#gate !== undefined) await this.#gate
    const codec = codecFor(topic as TopicName)
    for (const m of messages) {
      const value = m.value === null ? null : codec.decode(codec.encode(m.value as never))
      this.messages.push({ topic, key: m.key, value })
    }
  }

  async subscribe<T> (_opts: SubscribeOptions<T>): Promise<Subscription> {
    return { close: async () => {}, caughtUp: Promise.resolve() }
  }

  on (topic: string): Published[] {
    return this.messages.filter((m) => m.topic === topic)
  }
}

/** A packet source driven by the test. */
export class FakeSource implements PacketSource {
  readonly kind = 'cap' as const
  started = false
  closed = false
  startError: Error | undefined
  received = 0
  dropped = 0
  endpoint?: string
  #onPacket: ((p: SourcePacket) => void) | undefined
  #hooks: SourceHooks = {}

  async start (onPacket: (p: SourcePacket) => void, hooks: SourceHooks = {}): Promise<void> {
    if (this.startError !== undefined) throw this.startError
    this.#onPacket = onPacket
    this.#hooks = hooks
    this.started = true
  }

  async close (): Promise<void> { this.closed = true }

  stats (): SourceStats { return { received: this.received, dropped: this.dropped } }

  emit (p: SourcePacket): void {
    if (this.#onPacket === undefined || this.closed) throw new Error('source not started')
    this.received++
    this.#onPacket(p)
  }

  fail (err: Parameters<NonNullable<SourceHooks['onError']>>[0]): void { this.#hooks.onError?.(err) }

  get hooks (): SourceHooks { return this.#hooks }
}

function csum (b: Buffer, start: number, end: number): number {
  let sum = 0
  for (let i = start; i < end; i += 2) sum += ((b[i] ?? 0) << 8) | (i + 1 < end ? (b[i + 1] ?? 0) : 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

/** An Ethernet/IPv4/UDP frame (or ICMP echo when `icmpType` is given). */
export function frame (o: { srcMac: string, dstMac: string, src: string, dst: string, sport?: number, dport?: number, payload?: number, icmpType?: number, icmpId?: number }): Buffer {
  const payload = o.payload ?? 32
  const l4 = o.icmpType !== undefined ? 8 + payload : 8 + payload
  const b = Buffer.alloc(14 + 20 + l4)
  Buffer.from(o.dstMac.split(':').map((x) => parseInt(x, 16))).copy(b, 0)
  Buffer.from(o.srcMac.split(':').map((x) => parseInt(x, 16))).copy(b, 6)
  b.writeUInt16BE(0x0800, 12)
  b[14] = 0x45
  b.writeUInt16BE(20 + l4, 16)
  b[22] = 64
  b[23] = o.icmpType !== undefined ? 1 : 17
  Buffer.from(o.src.split('.').map(Number)).copy(b, 26)
  Buffer.from(o.dst.split('.').map(Number)).copy(b, 30)
  b.writeUInt16BE(csum(b, 14, 34), 24)
  if (o.icmpType !== undefined) {
    b[34] = o.icmpType
    b.writeUInt16BE(o.icmpId ?? 1, 38)
  } else {
    b.writeUInt16BE(o.sport ?? 1000, 34)
    b.writeUInt16BE(o.dport ?? 2000, 36)
    b.writeUInt16BE(8 + payload, 38)
  }
  return b
}

/** The UDP payloads of a capture's packets (Ethernet or raw IPv4/IPv6), in order. */
export function udpPayloads (file: string): Buffer[] {
  const out: Buffer[] = []
  for (const p of capturePackets(readFileSync(file))) {
    const d = p.data
    let o = p.linkType === 1 ? 14 : 0
    if (p.linkType === 1) {
      let et = d.readUInt16BE(12)
      while (et === 0x8100) { o += 4; et = d.readUInt16BE(o - 2) }
    }
    const v = (d[o] ?? 0) >> 4
    let udp: number
    if (v === 4) udp = o + ((d[o] ?? 0) & 0x0f) * 4
    else if (v === 6) udp = o + 40
    else continue
    const len = d.readUInt16BE(udp + 4)
    out.push(Buffer.from(d.subarray(udp + 8, Math.min(d.length, udp + len))))
  }
  return out
}

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const

function ipv6Bytes (ip: string): number[] {
  const [head = '', tail] = ip.split('::')
  const groups = (s: string): number[] => s === '' ? [] : s.split(':').map((g) => parseInt(g, 16))
  const h = groups(head)
  const t = tail === undefined ? [] : groups(tail)
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  return all.flatMap((g) => [g >> 8, g & 0xff])
}

/** An Ethernet/IPv4 (or IPv6, when `src` has a colon)/TCP frame with the given flags (TCP_FLAGS). */
export function tcpFrame (o: { src: string, dst: string, sport: number, dport: number, flags: number, payload?: number, srcMac?: string, dstMac?: string }): Buffer {
  const v6 = o.src.includes(':')
  const ipLen = v6 ? 40 : 20
  const payload = o.payload ?? 0
  const b = Buffer.alloc(14 + ipLen + 20 + payload)
  Buffer.from((o.dstMac ?? '02:00:00:00:00:0b').split(':').map((x) => parseInt(x, 16))).copy(b, 0)
  Buffer.from((o.srcMac ?? '02:00:00:00:00:0a').split(':').map((x) => parseInt(x, 16))).copy(b, 6)
  b.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12)
  if (v6) {
    b[14] = 0x60
    b.writeUInt16BE(20 + payload, 18)
    b[20] = 6
    b[21] = 64
    Buffer.from(ipv6Bytes(o.src)).copy(b, 22)
    Buffer.from(ipv6Bytes(o.dst)).copy(b, 38)
  } else {
    b[14] = 0x45
    b.writeUInt16BE(20 + 20 + payload, 16)
    b[22] = 64
    b[23] = 6
    Buffer.from(o.src.split('.').map(Number)).copy(b, 26)
    Buffer.from(o.dst.split('.').map(Number)).copy(b, 30)
    b.writeUInt16BE(csum(b, 14, 34), 24)
  }
  const t = 14 + ipLen
  b.writeUInt16BE(o.sport, t)
  b.writeUInt16BE(o.dport, t + 2)
  b.writeUInt32BE(1000, t + 4)
  b[t + 12] = 5 << 4
  b[t + 13] = o.flags
  b.writeUInt16BE(65535, t + 14)
  return b
}

/** `inner` (an Ethernet frame) in VXLAN (UDP 4789) over Ethernet/IPv4 between `src` and `dst`. */
export function vxlanFrame (inner: Buffer, src: string, dst: string, vni = 42): Buffer {
  const outer = frame({ srcMac: '02:00:00:00:01:0a', dstMac: '02:00:00:00:01:0b', src, dst, sport: 50000, dport: 4789, payload: 8 + inner.length })
  outer[42] = 0x08 // VXLAN flags: VNI valid
  outer.writeUIntBE(vni, 46, 3)
  inner.copy(outer, 50)
  return outer
}

/** Every packet of a capture file, as a source hands them over. */
export function pcapPackets (file: string): SourcePacket[] {
  return capturePackets(readFileSync(file)).map((p) => ({ linkType: p.linkType, tsSec: p.tsSec, tsNsec: p.tsNsec, data: p.data, origLen: p.origLen }))
}
