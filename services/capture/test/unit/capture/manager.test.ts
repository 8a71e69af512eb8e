import { test } from 'node:test'
import assert from 'node:assert/strict'
import { silentLogger, TopoflowError } from '@topoflow/core'
import { topics, type CaptureStatus, type Flow, type Resource } from '@topoflow/schemas'
import { CaptureManager, parseCapture, type CaptureTarget, type SourceFactory } from '../../../src/capture/index.ts'
import { FakeSource, frame, RecordingBus, TCP_FLAGS, tcpFrame, waitFor } from './helpers.ts'

const T0 = 1_700_000_000_000
const macA = '02:00:00:00:00:0a'
const macB = '02:00:00:00:00:0b'

function capture (uuid: string, resource: Record<string, unknown>, deleted = false): Resource {
  return { ResourceType: 'capture', UUID: uuid, Resource: resource, Deleted: deleted, Time: T0 }
}

interface Harness {
  bus: RecordingBus
  manager: CaptureManager
  sources: Map<string, FakeSource>
  targets: Map<string, CaptureTarget[]>
  clock: { now: number }
}

function harness (opts: { failStart?: Record<string, Error>, maxPendingFlows?: number, onConnectionOpened?: () => void } = {}): Harness {
  const bus = new RecordingBus()
  const sources = new Map<string, FakeSource>()
  const targets = new Map<string, CaptureTarget[]>()
  const clock = { now: T0 }
  const factory: SourceFactory = (spec, target) => {
    if (spec.Type === 'ebpf') throw new TopoflowError('TOPOFLOW_ERR_NOT_IMPLEMENTED', 'Capture type ebpf is not supported by this agent')
    const s = new FakeSource()
    const err = opts.failStart?.[target.name]
    if (err !== undefined) s.startError = err
    sources.set(`${spec.UUID}/${target.nodeId}`, s)
    return s
  }
  const manager = new CaptureManager({
    bus,
    host: 'host-1',
    logger: silentLogger(),
    resolve: async (query) => {
      if (query.includes('Bad(')) throw new TopoflowError('TOPOFLOW_ERR_GREMLIN_SYNTAX', 'unknown step Bad')
      return targets.get(query) ?? []
    },
    sourceFactory: factory,
    config: { flowUpdateSeconds: 10, flowExpireSeconds: 60 },
    now: () => clock.now,
    ...(opts.maxPendingFlows !== undefined ? { maxPendingFlows: opts.maxPendingFlows } : {}),
    ...(opts.onConnectionOpened !== undefined ? { onConnectionOpened: opts.onConnectionOpened } : {})
  })
  return { bus, manager, sources, targets, clock }
}

const eth0: CaptureTarget = { nodeId: 'node-eth0', nodeTID: 'tid-eth0', name: 'eth0', netnsPath: null }
const veth1: CaptureTarget = { nodeId: 'node-veth1', nodeTID: 'tid-veth1', name: 'veth1', netnsPath: '/run/netns/ns1' }

function udp (src: string, dst: string, reply = false): Buffer {
  return reply
    ? frame({ srcMac: macB, dstMac: macA, src: dst, dst: src, sport: 53, dport: 40000 })
    : frame({ srcMac: macA, dstMac: macB, src, dst, sport: 40000, dport: 53 })
}

function emitAt (s: FakeSource, data: Buffer, ms: number): void {
  s.emit({ linkType: 1, tsSec: Math.floor(ms / 1000), tsNsec: (ms % 1000) * 1e6, data, origLen: data.length })
}

function statuses (bus: RecordingBus): CaptureStatus[] {
  return bus.on(topics.captureStatus).map((m) => m.value).filter((v): v is CaptureStatus => v !== null)
}

function flows (bus: RecordingBus): Flow[] {
  return bus.on(topics.flowsRaw).map((m) => m.value as Flow)
}

test('a capture resource starts a session per resolved interface; flows go out at each update with NodeTID, CaptureID, Host', async () => {
  const h = harness()
  h.targets.set("G.V().Has('Name', 'eth0')", [eth0])
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: "G.V().Has('Name', 'eth0')", BPFFilter: 'udp' }))
  await h.manager.settled()
  const src = h.sources.get('cap-1/node-eth0')
  assert.ok(src?.started)
  const first = statuses(h.bus).at(-1)
  assert.equal(first?.State, 'active')
  assert.equal(first?.NodeTID, 'tid-eth0')
  assert.equal(h.bus.on(topics.captureStatus).at(-1)?.key, 'cap-1/node-eth0')

  for (let i = 0; i < 5; i++) emitAt(src, udp('10.0.0.1', '10.0.0.2'), T0 + i * 10)
  for (let i = 0; i < 3; i++) emitAt(src, udp('10.0.0.1', '10.0.0.2', true), T0 + 100 + i * 10)
  assert.equal(flows(h.bus).length, 0, 'nothing before the first update')
  h.manager.tick(T0 + 10_000)
  await h.manager.flushed()
  const out = flows(h.bus)
  assert.equal(out.length, 1)
  const f = out[0] as Flow
  assert.equal(h.bus.on(topics.flowsRaw)[0]?.key, f.UUID, 'keyed by flow UUID')
  assert.equal(f.NodeTID, 'tid-eth0')
  assert.equal(f.CaptureID, 'cap-1')
  assert.equal(f.Host, 'host-1')
  assert.equal(f.CaptureType, 'afpacket')
  assert.equal(f.Network?.A, '10.0.0.1')
  assert.deepEqual([f.Metric.ABPackets, f.Metric.BAPackets], [5, 3])
  assert.deepEqual([f.LastUpdateMetric?.ABPackets, f.LastUpdateMetric?.BAPackets], [5, 3])

  src.received = 8; src.dropped = 2
  await h.manager.publishStatus()
  const st = statuses(h.bus).at(-1)
  assert.deepEqual([st?.State, st?.PacketsReceived, st?.PacketsDropped, st?.FlowCount, st?.Host], ['active', 8, 2, 1, 'host-1'])
  await h.manager.close()
})

test('deleting the capture stops its sessions: last flows flushed, status stopped then a tombstone', async () => {
  const h = harness()
  h.targets.set('q', [eth0, veth1])
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q' }))
  await h.manager.settled()
  assert.equal(h.manager.stats().sessions, 2)
  const src = h.sources.get('cap-1/node-veth1') as FakeSource
  emitAt(src, udp('10.1.0.1', '10.1.0.2'), T0)
  h.manager.applyResource('cap-1', null)
  await h.manager.settled()
  await h.manager.flushed()
  assert.ok(h.sources.get('cap-1/node-eth0')?.closed)
  assert.ok(src.closed)
  const out = flows(h.bus)
  assert.equal(out.length, 1)
  assert.equal(out[0]?.FinishType, 1, 'flushed flows end as TIMEOUT')
  assert.equal(out[0]?.NodeTID, 'tid-veth1')
  const msgs = h.bus.on(topics.captureStatus).filter((m) => m.key === 'cap-1/node-veth1')
  assert.equal((msgs.at(-2)?.value as CaptureStatus).State, 'stopped')
  assert.equal(msgs.at(-1)?.value, null, 'a tombstone for the compacted topic')
  assert.equal(h.manager.stats().sessions, 0)
  await h.manager.close()
})

test('interfaces that appear later are captured when the graph changes; vanished ones are stopped', async () => {
  const h = harness()
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q' }))
  await h.manager.settled()
  assert.equal(h.manager.stats().sessions, 0, 'a query matching nothing is fine')
  h.targets.set('q', [eth0])
  h.manager.graphChanged()
  await h.manager.settled()
  assert.ok(h.sources.get('cap-1/node-eth0')?.started)
  h.targets.set('q', [veth1])
  h.manager.graphChanged()
  await h.manager.settled()
  assert.ok(h.sources.get('cap-1/node-eth0')?.closed)
  assert.ok(h.sources.get('cap-1/node-veth1')?.started)
  assert.deepEqual(h.manager.statuses().map((s) => s.NodeID), ['node-veth1'])
  await h.manager.close()
})

test('a source that cannot start, or fails later, gives State error with the message; other captures go on', async () => {
  const bad = new TopoflowError('TOPOFLOW_ERR_CAPTURE', 'Cannot capture on veth1: open failed (BPF filter "bogus"): syntax error')
  const h = harness({ failStart: { veth1: bad } })
  h.targets.set('q', [eth0, veth1])
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q', BPFFilter: 'bogus' }))
  await h.manager.settled()
  const byNode = new Map(h.manager.statuses().map((s) => [s.NodeID, s]))
  assert.equal(byNode.get('node-veth1')?.State, 'error')
  assert.match(byNode.get('node-veth1')?.Error ?? '', /BPF filter "bogus"/)
  assert.equal(byNode.get('node-eth0')?.State, 'active')
  assert.ok(statuses(h.bus).some((s) => s.NodeID === 'node-veth1' && s.State === 'error'), 'the error is published at once')

  const eth = h.sources.get('cap-1/node-eth0') as FakeSource
  emitAt(eth, udp('10.0.0.1', '10.0.0.2'), T0)
  eth.fail(new TopoflowError('TOPOFLOW_ERR_CAPTURE', 'Interface eth0 disappeared'))
  const st = h.manager.statuses().find((s) => s.NodeID === 'node-eth0')
  assert.equal(st?.State, 'error')
  assert.equal(st?.Error, 'Interface eth0 disappeared')
  await h.manager.flushed()
  assert.equal(flows(h.bus).length, 1, 'the flows counted before the failure are sent')
  await h.manager.close()
})

test('unsupported types, invalid resources and failing queries are reported, not fatal', async () => {
  const h = harness()
  h.targets.set('q', [eth0])
  h.manager.applyResource('cap-ebpf', capture('cap-ebpf', { GremlinQuery: 'q', Type: 'ebpf' }))
  h.manager.applyResource('cap-bad', capture('cap-bad', { GremlinQuery: 'q', HeaderSize: 5 }))
  h.manager.applyResource('cap-noquery', capture('cap-noquery', {}))
  h.manager.applyResource('cap-q', capture('cap-q', { GremlinQuery: 'G.V().Bad(' }))
  h.manager.applyResource('alert-1', { ResourceType: 'alert', UUID: 'alert-1', Resource: {}, Deleted: false, Time: T0 })
  await h.manager.settled()
  const st = h.manager.statuses()
  assert.equal(st.length, 1)
  assert.equal(st[0]?.State, 'error')
  assert.match(st[0]?.Error ?? '', /ebpf is not supported/)
  const stats = h.manager.stats()
  assert.equal(stats.invalidResources, 2)
  assert.equal(stats.resolveErrors, 1)
  assert.equal(stats.captures, 2)
  assert.throws(() => parseCapture('x', { GremlinQuery: 'q', LayerKeyMode: 'L4' }), /LayerKeyMode must be L2 or L3/)
  await h.manager.close()
})

test('the flow queue is bounded: when the bus stalls, flows beyond the limit are dropped and counted', async () => {
  const h = harness({ maxPendingFlows: 3 })
  h.targets.set('q', [eth0])
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q' }))
  await h.manager.settled()
  const src = h.sources.get('cap-1/node-eth0') as FakeSource
  h.bus.block()
  for (let i = 0; i < 10; i++) emitAt(src, udp('10.0.0.1', `10.0.1.${i}`), T0 + i)
  h.manager.tick(T0 + 10_000)
  // One batch (3 flows) is in flight, none more fit.
  await waitFor('drops', () => h.manager.stats().flowsDropped >= 7 || undefined)
  assert.equal(h.manager.stats().flowsDropped, 7)
  const st = h.manager.statuses()[0]
  assert.equal(st?.FlowsDropped, 7, 'the capture reports its lost flows')
  h.bus.unblock()
  await h.manager.flushed()
  assert.equal(flows(h.bus).length, 3)
  await h.manager.close()
})

test('changing a capture restarts its sessions; an unchanged update does not', async () => {
  const h = harness()
  h.targets.set('q', [eth0])
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q', Name: 'one' }))
  await h.manager.settled()
  const first = h.sources.get('cap-1/node-eth0')
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q', Name: 'renamed' }))
  await h.manager.settled()
  assert.equal(h.sources.get('cap-1/node-eth0'), first, 'same source')
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q', BPFFilter: 'tcp' }))
  await h.manager.settled()
  assert.ok(first?.closed)
  assert.notEqual(h.sources.get('cap-1/node-eth0'), first)
  await h.manager.close()
})

test('every session of a live capture reports TCP connections that open to onConnectionOpened; sFlow and pcapsocket do not', async () => {
  let opened = 0
  const h = harness({ onConnectionOpened: () => { opened++ } })
  h.targets.set('q', [eth0, veth1])
  h.manager.applyResource('cap-1', capture('cap-1', { GremlinQuery: 'q' }))
  h.manager.applyResource('sf', capture('sf', { GremlinQuery: 'q', Type: 'sflow' }))
  h.manager.applyResource('ps', capture('ps', { GremlinQuery: 'q', Type: 'pcapsocket' }))
  await h.manager.settled()
  // Another host's connections, sampled or streamed to this agent.
  for (const id of ['sf', 'ps']) {
    emitAt(h.sources.get(`${id}/node-eth0`) as FakeSource, tcpFrame({ src: '10.9.0.1', dst: '10.9.0.2', sport: 40000, dport: 22, flags: TCP_FLAGS.SYN }), T0)
  }
  assert.equal(opened, 0)
  const onEth0 = h.sources.get('cap-1/node-eth0') as FakeSource
  const onVeth1 = h.sources.get('cap-1/node-veth1') as FakeSource
  emitAt(onEth0, tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 22, flags: TCP_FLAGS.SYN }), T0)
  emitAt(onEth0, tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 22, flags: TCP_FLAGS.ACK }), T0 + 1)
  emitAt(onVeth1, tcpFrame({ src: '10.1.0.2', dst: '10.1.0.1', sport: 22, dport: 40001, flags: TCP_FLAGS.SYN | TCP_FLAGS.ACK }), T0 + 2)
  emitAt(onVeth1, udp('10.1.0.1', '10.1.0.2'), T0 + 3)
  assert.equal(opened, 2)
  await h.manager.close()
})

test('a capture\'s BPFFilter filters pcapsocket streams and sFlow samples in the session; live captures leave it to the kernel', async () => {
  const h = harness()
  h.targets.set('q', [eth0])
  h.manager.applyResource('ps', capture('ps', { GremlinQuery: 'q', Type: 'pcapsocket', BPFFilter: 'tcp' }))
  h.manager.applyResource('live', capture('live', { GremlinQuery: 'q', Type: 'afpacket', BPFFilter: 'tcp' }))
  h.manager.applyResource('bad', capture('bad', { GremlinQuery: 'q', Type: 'sflow', BPFFilter: 'tcp port' }))
  await h.manager.settled()
  for (const id of ['ps', 'live']) {
    const s = h.sources.get(`${id}/node-eth0`) as FakeSource
    emitAt(s, tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 22, flags: TCP_FLAGS.SYN }), T0)
    // What the kernel would have refused for the live capture; the stream's filter refuses it here.
    emitAt(s, udp('10.0.0.1', '10.0.0.2'), T0 + 1)
  }
  await h.manager.close()
  const byCapture = (id: string): string[] => flows(h.bus).filter((f) => f.CaptureID === id).map((f) => f.LayersPath)
  assert.deepEqual(byCapture('ps'), ['Ethernet/IPv4/TCP'])
  assert.deepEqual(byCapture('live').sort(), ['Ethernet/IPv4/TCP', 'Ethernet/IPv4/UDP/DNS'])
  const bad = statuses(h.bus).find((s) => s.CaptureID === 'bad' && s.State === 'error')
  assert.match(bad?.Error ?? '', /BPF filter "tcp port": .*syntax error/)
})
