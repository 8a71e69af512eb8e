import { resolve } from 'node:path'
import type { Bus, OutgoingMessage, SubscribeOptions, Subscription } from '@topoflow/core'
import { codecFor, type TopicName } from '@topoflow/schemas'
import { PcapStreamReader } from '../../../src/flow/index.ts'
import type { PacketSource, SourceHooks, SourcePacket, SourceStats } from '../../../src/sources/index.ts'
import { readFileSync } from 'node:fs'

/** The shared tcpdump test captures (never copied into the repository). */
export const corpusDir = resolve(import.meta.dirname, '../../../../../../shared/pcaps/tcpdump-tests')

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
  const reader = new PcapStreamReader()
  reader.push(readFileSync(file))
  reader.end()
  const out: Buffer[] = []
  for (let p = reader.next(); p !== undefined; p = reader.next()) {
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
