import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { FlowTable, PacketDecoder, type DecodedPacket, type Flow } from '../../../src/flow/index.ts'
import { a, b, frame, T0, tableHarness as table, type Emitted, type FrameSpec } from './helpers.ts'

const udp = (sport: number): FrameSpec => ({ ...a, proto: 17, sport, dport: 53, payload: 10 })
const ports = (flows: Flow[]): number[] => flows.map(f => f.Transport?.A ?? -1)

test('the table evicts the flow seen least recently, counting a flow seen again as recent', () => {
  const h = table({ maxEntries: 3 })
  h.feed(0, udp(1)); h.feed(1, udp(2)); h.feed(2, udp(3))
  h.feed(3, udp(1)) // 1 is seen again: 2 is now the least recent
  h.feed(4, udp(4)) // evicts 2
  h.feed(5, udp(3)) // order, least recent first: 1, 4, 3
  h.feed(6, udp(5)) // evicts 1
  h.feed(7, udp(4)) // 3, 5, 4
  h.feed(8, udp(6)) // evicts 3
  assert.equal(h.table.counters.flowsDropped, 3)
  h.table.flush()
  assert.deepEqual(ports(h.emitted.flatMap(e => e.flows)), [5, 4, 6])
})

test('flush hands flows over least recently seen first, a batch at a time; snapshot lists the most recent first', () => {
  const h = table()
  for (const [t, p] of [[0, 1], [1, 2], [2, 3], [3, 4], [4, 2], [5, 1], [6, 5]] as const) h.feed(t, udp(p))
  assert.deepEqual(ports(h.table.snapshot()), [5, 1, 2, 4, 3])
  assert.equal(h.table.flush(2), true)
  assert.deepEqual(ports(h.emitted[0]?.flows ?? []), [3, 4])
  h.feed(7, udp(3)) // a packet between two batches: a new flow, the most recent
  assert.equal(h.table.flush(2), true)
  assert.deepEqual(ports(h.emitted[1]?.flows ?? []), [2, 1])
  assert.equal(h.table.flush(2), false)
  assert.deepEqual(ports(h.emitted[2]?.flows ?? []), [5, 3])
  assert.equal(h.table.size, 0)
})

test('expiry and update ticks hand flows over least recently seen first', () => {
  const h = table({ updateSeconds: 10, expireSeconds: 20, holdSeconds: 5 })
  h.feed(0, udp(1)); h.feed(1, udp(2)); h.feed(2, udp(3)); h.feed(3, udp(1))
  h.feed(4, { ...a, proto: 6, sport: 7000, dport: 80, flags: 0x02 })
  h.feed(5, { ...b, proto: 6, sport: 80, dport: 7000, flags: 0x04 }) // RST: finished, held 5 s
  h.feed(11, udp(2)) // tick at 10 (before this packet counts): every flow changed since the start
  const first = h.emitted.find(e => e.reason === 'update')
  assert.deepEqual(ports(first?.flows ?? []), [2, 3, 1, 7000])
  const finished = h.emitted.find(e => e.reason === 'expire')
  assert.deepEqual(ports(finished?.flows ?? []), [7000])
  h.feed(35, udp(9)) // tick at 30: 3 and 1 (last seen at 2 and 3) expire, in that order; 2 (11) stays
  const expired = h.emitted.filter(e => e.reason === 'expire').at(-1)
  assert.deepEqual(ports(expired?.flows ?? []), [3, 1])
  assert.deepEqual(ports(h.table.snapshot()), [9, 2])
})

/** Frames of a busy mix: both directions, TCP flags, ICMP, VLANs, fragments, many flows. */
function mix (count: number): FrameSpec[] {
  let s = 7
  const rnd = (n: number): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n }
  const out: FrameSpec[] = []
  for (let i = 0; i < count; i++) {
    const host = rnd(40)
    const side = rnd(2) === 0 ? { ...a, src: `10.0.1.${host}` } : { ...b, dst: `10.0.1.${host}` }
    const kind = rnd(10)
    const forward = side.src !== '10.0.0.2'
    if (kind < 5) out.push({ ...side, proto: 6, sport: forward ? 30000 + host : 80, dport: forward ? 80 : 30000 + host, flags: [0x02, 0x12, 0x10, 0x18, 0x11, 0x04][rnd(6)], payload: rnd(300), ttl: 60 + rnd(4) })
    else if (kind < 8) out.push({ ...side, proto: 17, sport: forward ? 5000 + host : 53, dport: forward ? 53 : 5000 + host, payload: rnd(100), vlans: rnd(3) === 0 ? [100 + rnd(3)] : [] })
    else if (kind < 9) out.push({ ...side, proto: 1, icmpType: rnd(2) === 0 ? 8 : 0, icmpId: host, payload: 56 })
    else {
      const id = 1000 + i
      out.push({ ...side, proto: 17, sport: 6000 + host, dport: 9999, payload: 64, ipId: id, moreFragments: true })
      out.push({ ...side, proto: 17, payload: 64, ipId: id, fragOffset: 9 })
    }
  }
  return out
}

test('processPackets accounts a batch exactly as processPacket does packet by packet', () => {
  const frames = mix(3000)
  const times = frames.map((_, i) => i * 0.05) // 150 s: update ticks and expiry on the way
  for (const opts of [{}, { layerKeyMode: 'L3' as const, extraTcpMetric: true }, { maxEntries: 25, updateSeconds: 7, expireSeconds: 13 }]) {
    const one = table(opts)
    frames.forEach((f, i) => { one.feed(times[i] as number, f) })
    one.table.flush(100)
    one.table.flush()

    const batched: Emitted[] = []
    const t = new FlowTable({ ...opts, onFlows: (flows, reason) => batched.push({ reason, flows }) })
    const decoder = new PacketDecoder()
    const batch: DecodedPacket[] = Array.from({ length: 16 }, () => decoder.newPacket())
    const secs = new Float64Array(16)
    const nsecs = new Float64Array(16)
    let queued = 0
    let size = 1
    frames.forEach((f, i) => {
      const data = frame(f)
      assert.ok(decoder.decodeAt(1, data, 0, data.length, data.length, batch[queued]) !== undefined)
      const us = Math.round((times[i] as number) * 1e6)
      secs[queued] = T0 + Math.floor(us / 1e6); nsecs[queued] = (us % 1e6) * 1000
      if (++queued === size) {
        t.processPackets(batch, secs, nsecs, queued)
        queued = 0
        size = size % 16 + 1 // batches of every size
      }
    })
    t.processPackets(batch, secs, nsecs, queued)
    t.flush(100)
    t.flush()
    assert.ok(one.emitted.length > 3)
    assert.deepEqual(batched, one.emitted, JSON.stringify(opts))
    assert.deepEqual(t.counters, one.table.counters)
  }
})

test('recency stamps renumbered on the way keep every order: eviction, ticks, snapshot, flush', () => {
  const frames = mix(2000)
  for (const opts of [{ maxEntries: 20, updateSeconds: 10 }, { updateSeconds: 3, expireSeconds: 8 }]) {
    const plain = table(opts)
    const renumbered = table({ ...opts, stampLimit: 37 })
    frames.forEach((f, i) => {
      plain.feed(i * 0.02, f)
      renumbered.feed(i * 0.02, f)
      if (i % 250 === 0) assert.deepEqual(renumbered.table.snapshot(), plain.table.snapshot())
    })
    plain.table.flush(7); plain.table.flush()
    renumbered.table.flush(7); renumbered.table.flush()
    assert.ok(plain.emitted.length > 2)
    assert.deepEqual(renumbered.emitted, plain.emitted)
  }
})

test('a table that only counts tracks every flow, builds none, and has no snapshot', () => {
  const frames = mix(500)
  const full = table({ maxEntries: 30, updateSeconds: 5 })
  let called = 0
  const counting = new FlowTable({ maxEntries: 30, updateSeconds: 5, countOnly: true, onFlows: () => { called++ } })
  const decoder = new PacketDecoder()
  frames.forEach((f, i) => {
    full.feed(i * 0.1, f)
    const data = frame(f)
    const pkt = decoder.decode(1, data, data.length)
    assert.ok(pkt !== undefined)
    counting.processPacket(pkt, T0 + Math.floor(i / 10), (i % 10) * 1e8)
  })
  assert.equal(counting.size, full.table.size)
  assert.throws(() => counting.snapshot(), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST')
  assert.equal(counting.flush(), false)
  full.table.flush()
  assert.deepEqual(counting.counters, full.table.counters)
  assert.equal(called, 0)
})
