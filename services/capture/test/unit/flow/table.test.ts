import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FinishType, PacketDecoder } from '../../../src/flow/index.ts'
import { a, b, frame, T0, tableHarness as harness } from './helpers.ts'

test('both directions make one flow; A is the first sender; bytes are frame lengths', () => {
  const h = harness()
  h.feed(0, { ...a, proto: 6, sport: 40000, dport: 80, flags: 0x02 })
  h.feed(0.0005, { ...b, proto: 6, sport: 80, dport: 40000, flags: 0x12 })
  h.feed(0.001, { ...a, proto: 6, sport: 40000, dport: 80, flags: 0x10, payload: 100 })
  h.table.flush()
  const [f] = h.emitted[0]?.flows ?? []
  assert.equal(h.emitted[0]?.reason, 'flush')
  assert.ok(f !== undefined)
  assert.deepEqual([f.Link?.A, f.Network?.A, f.Transport?.A, f.Transport?.B], ['02:00:00:00:00:01', '10.0.0.1', 40000, 80])
  assert.deepEqual([f.Metric.ABPackets, f.Metric.ABBytes, f.Metric.BAPackets, f.Metric.BABytes], [2, 54 + 154, 1, 54])
  assert.equal(f.Metric.RTT, 500000)
  assert.equal(f.FinishType, FinishType.TIMEOUT)
  assert.equal(f.LastUpdateMetric?.Start, f.Start)
  assert.deepEqual([f.Start, f.Last], [T0 * 1000, T0 * 1000 + 1])
})

test('packet times going backwards: Last stays the latest time seen, and a reply stamped before its request gives no RTT', () => {
  const h = harness()
  h.feed(10, { ...a, proto: 6, sport: 40000, dport: 80, flags: 0x02 })
  h.feed(9.5, { ...b, proto: 6, sport: 80, dport: 40000, flags: 0x12 })
  h.feed(9, { ...a, proto: 6, sport: 40000, dport: 80, flags: 0x10 })
  h.table.flush()
  const [f] = h.emitted[0]?.flows ?? []
  assert.ok(f !== undefined)
  assert.deepEqual([f.Start, f.Last, f.Metric.Start, f.Metric.Last], [(T0 + 10) * 1000, (T0 + 10) * 1000, (T0 + 10) * 1000, (T0 + 10) * 1000])
  assert.equal(f.Metric.RTT, undefined)
  assert.deepEqual([f.Metric.ABPackets, f.Metric.BAPackets], [2, 1])
})

test('update ticks emit only flows changed since the last tick, with per-window LastUpdateMetric', () => {
  const h = harness({ updateSeconds: 10, expireSeconds: 600 })
  h.feed(0, { ...a, proto: 17, sport: 5000, dport: 53, payload: 10 })
  h.feed(1, { ...a, proto: 17, sport: 6000, dport: 53, payload: 10 })
  h.feed(5, { ...a, proto: 17, sport: 5000, dport: 53, payload: 10 })
  h.feed(12, { ...b, proto: 17, sport: 53, dport: 5000, payload: 10 }) // triggers the tick at T0+10
  assert.equal(h.emitted.length, 1)
  assert.equal(h.emitted[0]?.reason, 'update')
  const first = h.emitted[0]?.flows ?? []
  assert.equal(first.length, 2)
  const f5000 = first.find(f => f.Transport?.A === 5000)
  assert.deepEqual(f5000?.LastUpdateMetric, { ABPackets: 2, ABBytes: 2 * 52, BAPackets: 0, BABytes: 0, Start: T0 * 1000, Last: (T0 + 10) * 1000 })
  h.feed(21, { ...a, proto: 17, sport: 7000, dport: 53 }) // tick at T0+20: only port 5000 changed
  const second = h.emitted[1]?.flows ?? []
  assert.deepEqual(second.map(f => f.Transport?.A), [5000])
  assert.deepEqual(second[0]?.LastUpdateMetric, { ABPackets: 0, ABBytes: 0, BAPackets: 1, BABytes: 52, Start: (T0 + 10) * 1000, Last: (T0 + 20) * 1000 })
  assert.deepEqual([second[0]?.Metric.ABPackets, second[0]?.Metric.BAPackets], [2, 1])
})

test('idle flows expire after `expire` seconds with FinishType TIMEOUT; FIN/RST flows leave after the hold time', () => {
  const h = harness({ updateSeconds: 10, expireSeconds: 30, holdSeconds: 15 })
  h.feed(0, { ...a, proto: 17, sport: 1111, dport: 2222 })
  h.feed(0, { ...a, proto: 6, sport: 3333, dport: 80, flags: 0x02 })
  h.feed(1, { ...b, proto: 6, sport: 80, dport: 3333, flags: 0x14 }) // RST-ACK
  for (let t = 2; t <= 45; t++) h.feed(t, { ...a, proto: 17, sport: 9999, dport: 9999 })
  const finals = h.emitted.filter(e => e.reason === 'expire').flatMap(e => e.flows)
  const rst = finals.find(f => f.Transport?.A === 3333)
  const udp = finals.find(f => f.Transport?.A === 1111)
  assert.equal(rst?.FinishType, FinishType.TCP_RST)
  assert.equal(rst?.Metric.RTT, 1e9) // SYN → RST
  assert.equal(udp?.FinishType, FinishType.TIMEOUT)
  assert.equal(h.table.size, 1) // only the busy flow is left
  assert.equal(h.table.counters.flowsExpired >= 1, true)
})

test('the table is bounded: the least recently seen flow is dropped and counted', () => {
  const h = harness({ maxEntries: 3 })
  for (let i = 0; i < 10; i++) h.feed(i, { ...a, proto: 17, sport: 1000 + i, dport: 53 })
  h.feed(10, { ...a, proto: 17, sport: 1009, dport: 53 })
  assert.equal(h.table.size, 3)
  assert.equal(h.table.counters.flowsDropped, 7)
  h.table.flush()
  assert.deepEqual(h.emitted.flatMap(e => e.flows).map(f => f.Transport?.A).sort(), [1007, 1008, 1009])
})

test('ICMP echo: request → reply RTT; other ICMP types are separate flows', () => {
  const h = harness()
  h.feed(0, { ...a, proto: 1, icmpType: 8, icmpId: 7, payload: 56 })
  h.feed(0.002, { ...b, proto: 1, icmpType: 0, icmpId: 7, payload: 56 })
  h.feed(1, { ...b, proto: 1, icmpType: 3, payload: 28 })
  h.table.flush()
  const flows = h.emitted.flatMap(e => e.flows)
  assert.equal(flows.length, 2)
  const echo = flows.find(f => f.ICMP?.Type === 'ECHO')
  assert.equal(echo?.Metric.RTT, 2000000)
  assert.deepEqual([echo?.Metric.ABPackets, echo?.Metric.BAPackets], [1, 1])
  assert.equal(echo?.LayersPath, 'Ethernet/IPv4/ICMPv4')
  // sha1(seed 0 . 10.0.0.1 . 10.0.0.2 . 1 . 0 . port 8 . port 0), computed with Python's hashlib
  assert.equal(echo?.CommunityID, '1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ=')
  assert.equal(flows.find(f => f.ICMP?.Type === 'DESTINATION_UNREACHABLE')?.Network?.A, '10.0.0.2')
})

test('IP fragments: the first carries the ports, later ones join its flow by IP ID', () => {
  const h = harness()
  h.feed(0, { ...a, proto: 17, sport: 4000, dport: 5000, payload: 100, ipId: 77, moreFragments: true })
  h.feed(0, { ...a, proto: 17, payload: 60, ipId: 77, fragOffset: 14 })
  h.feed(0, { ...a, proto: 17, payload: 60, ipId: 78, fragOffset: 14 }) // its first fragment was never seen
  h.table.flush()
  const flows = h.emitted.flatMap(e => e.flows)
  const udp = flows.find(f => f.Transport?.A === 4000)
  assert.equal(udp?.LayersPath, 'Ethernet/IPv4/UDP')
  assert.equal(udp?.Metric.ABPackets, 2)
  const orphan = flows.find(f => f.Transport === undefined)
  assert.equal(orphan?.LayersPath, 'Ethernet/IPv4/Fragment')
  assert.equal(h.table.counters.fragmentsAttributed, 1)
})

test('VLAN tags go to Link.ID; NodeTID, CaptureID and SamplingRate are written on every flow', () => {
  const h = harness({ nodeTID: 'node-1', captureID: 'cap-1', samplingRate: 64 })
  h.feed(0, { ...a, vlans: [42], proto: 6, sport: 1, dport: 2 })
  h.table.flush()
  const [f] = h.emitted[0]?.flows ?? []
  assert.deepEqual([f?.Link?.ID, f?.LayersPath, f?.NodeTID, f?.CaptureID, f?.SamplingRate], [42, 'Ethernet/Dot1Q/IPv4/TCP', 'node-1', 'cap-1', 64])
})

test('malformed packets are counted by reason and never throw', () => {
  const d = new PacketDecoder()
  const good = frame({ ...a, proto: 6, sport: 1, dport: 2 })
  assert.equal(d.decode(1, good.subarray(0, 10), 60), undefined) // Ethernet header cut
  const badIhl = Buffer.from(good); badIhl[14] = 0x42
  assert.ok(d.decode(1, badIhl, badIhl.length) !== undefined) // kept at the link layer
  const tcpCut = good.subarray(0, 14 + 20 + 10)
  const p = d.decode(1, tcpCut, good.length)
  assert.equal(p?.segments[0]?.ipVersion, 4)
  assert.equal(p?.segments[0]?.transport, 0)
  assert.equal(d.decode(147, good, good.length), undefined) // a link type we do not decode
  assert.equal(d.stats.errors.get('ethernet-truncated'), 1)
  assert.equal(d.stats.errors.get('ipv4-bad-header-length'), 1)
  assert.equal(d.stats.errors.get('tcp-truncated'), 1)
  assert.equal(d.stats.errors.get('unsupported-link-type'), 1)
  assert.deepEqual([d.stats.decoded, d.stats.skipped], [2, 2])
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.alloc(1 + (i % 200))
    for (let k = 0; k < junk.length; k++) junk[k] = (i * 31 + k * 17) & 0xff
    d.decode([1, 101, 113, 276, 0, 9][i % 6] as number, junk, junk.length)
  }
  assert.equal(d.stats.packets, 2004)
  assert.equal(d.stats.decoded + d.stats.skipped, 2004)
})
