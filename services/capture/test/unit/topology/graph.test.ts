import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildSnapshot, SnapshotCache, type NamespaceState } from '../../../src/topology/graph.ts'
import { firstMetric, type MetricState } from '../../../src/topology/metrics.ts'
import { hostNodeId, hostTid, interfaceNodeId, netnsNodeId, netnsTid } from '../../../src/topology/ids.ts'
import { parseNamespaceDump } from '../../../src/topology/ip-json.ts'
import { readNamespace } from '../../../src/topology/namespace-reader.ts'
import { discoverNamespaces } from '../../../src/topology/netns.ts'
import type { NamespaceInfo, Snapshot, SocketInfo } from '../../../src/topology/types.ts'
import { A, B, fixtureFs, manifest, recordedOutputs, replayRunner } from './fixtures.ts'

async function recordedStates (): Promise<NamespaceState[]> {
  const fs = fixtureFs()
  const runner = replayRunner(recordedOutputs())
  const { namespaces } = await discoverNamespaces(fs, { netnsDirs: ['/var/run/netns'] })
  return await Promise.all(namespaces.map(async ns => await readNamespace(runner, fs, ns)))
}

/** Edges as `parent -> child metadata` lines, interfaces named `<owner>/<name>`. */
function edgeLines (snap: Snapshot): string[] {
  const label = new Map<string, string>()
  for (const n of snap.nodes.values()) {
    const owner = [...snap.edges.values()].find(e => e.Child === n.ID && e.Metadata.RelationType === 'ownership')
    const ownerName = owner === undefined ? '' : String(snap.nodes.get(owner.Parent)?.Metadata.Name)
    label.set(n.ID, n.Metadata.Type === 'host' || n.Metadata.Type === 'netns' ? String(n.Metadata.Name) : `${ownerName}/${String(n.Metadata.Name)}`)
  }
  return [...snap.edges.values()].map(e => `${label.get(e.Parent) ?? '?'} -> ${label.get(e.Child) ?? '?'} ${JSON.stringify(e.Metadata)}`).sort()
}

const anonName = `net:[${manifest.inodes.anon}]`

test('recorded host: nodes for the host, each namespace and each interface, with stable IDs', async () => {
  const { snapshot } = buildSnapshot({ hostId: 'node-1', hostMetadata: { Hostname: 'vm' }, namespaces: await recordedStates(), metrics: new Map() })
  const host = snapshot.nodes.get(hostNodeId('node-1'))
  assert.deepEqual(host?.Metadata, { Hostname: 'vm', Name: 'node-1', Type: 'host', TID: hostTid('node-1') })
  const netns = [...snapshot.nodes.values()].filter(n => n.Metadata.Type === 'netns')
  assert.deepEqual(netns.map(n => n.Metadata.Name).sort(), [A, B, anonName].sort())
  const a = snapshot.nodes.get(netnsNodeId('node-1', manifest.inodes[A] as number))
  assert.deepEqual(a?.Metadata, {
    Name: A,
    Type: 'netns',
    Path: `/var/run/netns/${A}`,
    Inode: manifest.inodes[A],
    Device: a?.Metadata.Device,
    TID: netnsTid(hostTid('node-1'), `/var/run/netns/${A}`)
  })
  const interfaces = [...snapshot.nodes.values()].filter(n => n.Metadata.Type !== 'host' && n.Metadata.Type !== 'netns')
  assert.equal(interfaces.length, 4 + 8 + 3 + 2)
  const vethA = snapshot.nodes.get(interfaceNodeId('node-1', manifest.inodes[A] as number, 2))
  assert.equal(vethA?.Metadata.Name, 'veth-a')
  assert.equal(vethA?.Metadata.LinkNetNsName, B)
  const eth0 = interfaces.find(n => n.Metadata.Name === 'eth0')
  assert.equal(eth0?.Metadata.Driver, 'virtio_net')
  assert.equal(eth0?.Metadata.BusInfo, 'virtio2')
  assert.equal(eth0?.Metadata.Speed, undefined) // sysfs said -1
})

test('recorded host: ownership and layer2 edges, veth peers across named and anonymous namespaces', async () => {
  const { snapshot, unresolvedLinks } = buildSnapshot({ hostId: 'node-1', hostMetadata: {}, namespaces: await recordedStates(), metrics: new Map() })
  assert.equal(unresolvedLinks, 0)
  const edges = edgeLines(snapshot)
  const layer2 = edges.filter(e => e.includes('layer2'))
  assert.deepEqual(layer2, [
    `${A}/br0 -> ${A}/port0 {"RelationType":"layer2"}`,
    `${A}/port0 -> ${A}/port0-peer {"RelationType":"layer2","Type":"veth"}`,
    `${A}/veth-a -> ${A}/mv0 {"RelationType":"layer2","Type":"macvlan"}`,
    `${A}/veth-a -> ${A}/vx0 {"RelationType":"layer2","Type":"vxlan"}`,
    // Equal ifindexes on both sides: the greater node ID is the parent.
    interfaceNodeId('node-1', manifest.inodes[A] as number, 2) > interfaceNodeId('node-1', manifest.inodes[B] as number, 2)
      ? `${A}/veth-a -> ${B}/veth-b {"RelationType":"layer2","Type":"veth"}`
      : `${B}/veth-b -> ${A}/veth-a {"RelationType":"layer2","Type":"veth"}`,
    `${B}/to-anon -> ${anonName}/from-b {"RelationType":"layer2","Type":"veth"}`
  ].sort())
  assert.equal(layer2.length, 6)
  const ownership = edges.filter(e => e.includes('ownership'))
  assert.equal(ownership.length, 3 + 4 + 8 + 3 + 2)
  assert.ok(ownership.includes(`node-1 -> ${A} {"RelationType":"ownership"}`))
  assert.ok(ownership.includes('node-1 -> node-1/eth0 {"RelationType":"ownership"}'))
  assert.ok(ownership.includes(`${anonName} -> ${anonName}/from-b {"RelationType":"ownership"}`))
  const toAnon = [...snapshot.nodes.values()].find(n => n.Metadata.Name === 'to-anon')
  assert.equal(toAnon?.Metadata.LinkNetNsName, anonName)
})

test('same input, same snapshot; sockets go onto the host node', async () => {
  const states = await recordedStates()
  const socket: SocketInfo = { Process: '/usr/bin/node', Pid: 1, Name: 'node', LocalAddress: '10.0.0.1', LocalPort: 80, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' }
  const one = buildSnapshot({ hostId: 'h', hostMetadata: {}, namespaces: states, metrics: new Map(), sockets: [socket] })
  const two = buildSnapshot({ hostId: 'h', hostMetadata: {}, namespaces: [...states].reverse(), metrics: new Map(), sockets: [socket] })
  assert.deepEqual([...one.snapshot.nodes.keys()], [...two.snapshot.nodes.keys()])
  assert.deepEqual([...one.snapshot.edges.keys()].sort(), [...two.snapshot.edges.keys()].sort())
  assert.deepEqual(one.snapshot.nodes.get(hostNodeId('h'))?.Metadata.Sockets, [socket])
})

test('veth pairs that cannot be told apart across unnamed namespaces get no edge rather than a wrong one', () => {
  const ns = (inode: number): NamespaceInfo => ({ key: String(inode), inode, device: 4, path: `/proc/${inode}/ns/net`, name: `net:[${inode}]`, named: false, root: false })
  const veth = (ifindex: number, peer: number): string => JSON.stringify({ ifindex, ifname: `v${ifindex}`, link_index: peer, link_netnsid: 0, flags: [], linkinfo: { info_kind: 'veth' } })
  const state = (inode: number, ifindex: number, peer: number): NamespaceState => ({
    ns: ns(inode), dump: parseNamespaceDump(`[${veth(ifindex, peer)}]\n[]\n[]\n[]`), busDrivers: new Map(), speeds: new Map()
  })
  // Two pairs 5 <-> 6 in four namespaces none of which has a name: ambiguous.
  const { snapshot, unresolvedLinks } = buildSnapshot({
    hostId: 'h', hostMetadata: {}, metrics: new Map(),
    namespaces: [state(101, 5, 6), state(102, 6, 5), state(103, 5, 6), state(104, 6, 5)]
  })
  assert.equal([...snapshot.edges.values()].filter(e => e.Metadata.RelationType === 'layer2').length, 0)
  assert.equal(unresolvedLinks, 4)
  // One pair only: the mutual match is unique.
  const single = buildSnapshot({ hostId: 'h', hostMetadata: {}, metrics: new Map(), namespaces: [state(101, 5, 6), state(102, 6, 5)] })
  assert.equal([...single.snapshot.edges.values()].filter(e => e.Metadata.Type === 'veth').length, 1)
  assert.equal(single.unresolvedLinks, 0)
})

test('with a cache: the same objects for what did not change, and the same snapshot as without', async () => {
  const states = await recordedStates()
  const cache = new SnapshotCache()
  const metrics = new Map<string, MetricState>()
  const input = { hostId: 'h', hostMetadata: { Hostname: 'vm' }, namespaces: states, metrics }
  const one = buildSnapshot(input, cache).snapshot
  const two = buildSnapshot({ ...input, namespaces: [...states].reverse() }, cache).snapshot
  assert.deepEqual([...two.nodes.keys()], [...one.nodes.keys()])
  for (const [id, node] of two.nodes) assert.equal(node.Metadata, one.nodes.get(id)?.Metadata, id)
  for (const [id, edge] of two.edges) assert.equal(edge, one.edges.get(id), id)

  // New counters on one interface: that node alone is new, and equal to what a build without cache gives.
  const [stateA] = states.filter(s => s.ns.name === A)
  const vethA = interfaceNodeId('h', stateA?.ns.inode ?? 0, 2)
  metrics.set(vethA, firstMetric({ RxBytes: 10 }, 5000))
  const three = buildSnapshot(input, cache)
  const changed = [...three.snapshot.nodes].filter(([id, n]) => n.Metadata !== two.nodes.get(id)?.Metadata).map(([id]) => id)
  assert.deepEqual(changed, [vethA])
  assert.deepEqual(three, buildSnapshot(input))
  assert.equal(three.snapshot.nodes.get(vethA)?.Metadata.LinkNetNsName, B)

  // Every namespace read again (new state objects): rebuilt, and still what a build without cache gives.
  const fresh = await recordedStates()
  const four = buildSnapshot({ ...input, namespaces: fresh }, cache)
  assert.deepEqual(four, buildSnapshot({ ...input, namespaces: fresh }))
  // Sockets or host facts that change replace the host node only.
  const socket: SocketInfo = { Process: '/usr/bin/node', Pid: 1, Name: 'node', LocalAddress: '10.0.0.1', LocalPort: 80, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' }
  const five = buildSnapshot({ ...input, namespaces: fresh, sockets: [socket] }, cache).snapshot
  const moved = [...five.nodes].filter(([id, n]) => n.Metadata !== four.snapshot.nodes.get(id)?.Metadata).map(([, n]) => n.Metadata.Type)
  assert.deepEqual(moved, ['host'])
})
