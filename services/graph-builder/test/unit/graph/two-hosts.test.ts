import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseFabric } from '../../../src/fabric/parser.ts'
import { applyAll, byName, inputsOf, loadStream, newEngine, summary, T0 } from '../helpers.ts'

const fabric = parseFabric([
  'TOR1[Name=tor1] -> TOR1_PORT1[Name=port1]',
  'TOR1 -> TOR1_PORT2[Name=port2, MTU=1500]',
  'TOR1_PORT1 --> *[Type=host,Name=compute-1]/eth0',
  'TOR1_PORT2 --> [Speed=10000] *[Type=host,Name=compute-2]/eth0'
])

test('two hosts, netns, veths, a bridge and a fabric give exactly the expected graph', () => {
  const engine = newEngine({ fabric })
  engine.start(T0)
  applyAll(engine, inputsOf(loadStream('two-hosts.events.json')))
  const { nodes, edges } = summary(engine.store)
  assert.deepEqual(nodes, [
    'compute-1/bridge:br0', 'compute-1/device:eth0', 'compute-1/host:compute-1', 'compute-1/netns:ns1',
    'compute-1/tun:tap0', 'compute-1/veth:eth0', 'compute-1/veth:veth1',
    'compute-2/bridge:br0', 'compute-2/device:eth0', 'compute-2/host:compute-2', 'compute-2/netns:ns2',
    'compute-2/veth:eth0', 'compute-2/veth:veth2',
    'device:port1', 'device:port2', 'device:tor1'
  ])
  assert.deepEqual(edges, [
    'compute-1/bridge:br0 -layer2-> compute-1/tun:tap0',
    'compute-1/bridge:br0 -layer2-> compute-1/veth:veth1',
    'compute-1/host:compute-1 -ownership-> compute-1/bridge:br0',
    'compute-1/host:compute-1 -ownership-> compute-1/device:eth0',
    'compute-1/host:compute-1 -ownership-> compute-1/netns:ns1',
    'compute-1/host:compute-1 -ownership-> compute-1/tun:tap0',
    'compute-1/host:compute-1 -ownership-> compute-1/veth:veth1',
    'compute-1/netns:ns1 -ownership-> compute-1/veth:eth0',
    'compute-1/veth:veth1 -layer2/veth-> compute-1/veth:eth0',
    'compute-2/bridge:br0 -layer2-> compute-2/veth:veth2',
    'compute-2/host:compute-2 -ownership-> compute-2/bridge:br0',
    'compute-2/host:compute-2 -ownership-> compute-2/device:eth0',
    'compute-2/host:compute-2 -ownership-> compute-2/netns:ns2',
    'compute-2/host:compute-2 -ownership-> compute-2/veth:veth2',
    'compute-2/netns:ns2 -ownership-> compute-2/veth:eth0',
    'compute-2/veth:veth2 -layer2/veth-> compute-2/veth:eth0',
    // the wildcard reaches the host's own eth0, not the eth0 inside a netns
    'device:port1 -layer2/fabric-> compute-1/device:eth0',
    'device:port2 -layer2/fabric-> compute-2/device:eth0',
    'device:tor1 -layer2/fabric-> device:port1',
    'device:tor1 -layer2/fabric-> device:port2',
    'device:tor1 -ownership-> device:port1',
    'device:tor1 -ownership-> device:port2'
  ])
  assert.equal(engine.pendingEdges, 0)
})

test('elements carry Skydive fields: revisions, times, host, origin', () => {
  const engine = newEngine({ fabric })
  engine.start(T0)
  const records = applyAll(engine, inputsOf(loadStream('two-hosts.events.json')))
  const nsEth = byName(engine.store, 'compute-1', 'eth0', 'veth')
  assert.equal(nsEth.Revision, 2, 'one revision for the sync, one for the State change')
  assert.equal(nsEth.Metadata.State, 'DOWN')
  assert.equal(nsEth.CreatedAt, T0, 'CreatedAt is the agent\'s')
  assert.equal(nsEth.UpdatedAt, T0 + 1000)
  assert.equal(nsEth.Origin, 'agent.compute-1')
  const update = records.find((r) => r.change.Node?.ID === nsEth.ID && r.change.Node.Revision === 2)
  assert.equal(update?.previous?.Revision, 1, 'the superseded revision travels with the change for the archive')
  assert.equal(update?.previous?.Metadata.State, 'UP')

  const port2 = byName(engine.store, '', 'port2')
  assert.deepEqual(port2.Metadata, { Name: 'port2', Type: 'device', MTU: '1500', Probe: 'fabric', TID: port2.ID })
  assert.equal(port2.Origin, 'analyzer.test')
  const wildcard = [...engine.store.edges()].find((e) => e.Parent === port2.ID && e.Metadata.Type === 'fabric')
  assert.deepEqual(wildcard?.Metadata, { RelationType: 'layer2', Type: 'fabric', Speed: '10000' })
})

test('sockets attach to the host node and captures to the interface', () => {
  const engine = newEngine()
  applyAll(engine, inputsOf(loadStream('two-hosts.events.json')))
  const host = byName(engine.store, 'compute-1', 'compute-1', 'host')
  const sockets = host.Metadata.Sockets as Array<Record<string, unknown>>
  assert.equal(sockets.length, 1)
  assert.equal(sockets[0]?.Process, '/usr/sbin/sshd')
  assert.equal(sockets[0]?.LocalPort, 22)
  assert.equal(byName(engine.store, 'compute-2', 'compute-2', 'host').Metadata.Sockets, undefined)
  const eth0 = byName(engine.store, 'compute-1', 'eth0', 'device')
  assert.deepEqual(eth0.Metadata.Captures, [{ ID: 'cap-1', State: 'active', PacketsReceived: 42, PacketsDropped: 0, FlowsDropped: 0 }])
})

test('an agent update keeps the Sockets and Captures the graph-builder attached', () => {
  const engine = newEngine()
  applyAll(engine, inputsOf(loadStream('two-hosts.events.json')))
  const host = byName(engine.store, 'compute-1', 'compute-1', 'host')
  engine.apply({ kind: 'topology', event: { Kind: 'NodeUpdated', Host: 'compute-1', Origin: 'agent.compute-1', Time: T0 + 9000, Node: { ID: host.ID, Metadata: { ...host.Metadata, Sockets: undefined, OS: 'linux', KernelVersion: '6.1' } } } })
  const after = engine.store.getNode(host.ID)
  assert.equal(after?.Metadata.KernelVersion, '6.1')
  assert.equal((after?.Metadata.Sockets as unknown[]).length, 1)
})

test('a capture status that stops, or a deleted capture, leaves Captures', () => {
  const engine = newEngine()
  applyAll(engine, inputsOf(loadStream('two-hosts.events.json')))
  const eth0 = byName(engine.store, 'compute-1', 'eth0', 'device')
  engine.apply({ kind: 'capture', status: { CaptureID: 'cap-2', Host: 'compute-1', NodeTID: eth0.Metadata.TID as string, State: 'active', PacketsReceived: 1, Time: T0 + 6000 } })
  assert.deepEqual((engine.store.getNode(eth0.ID)?.Metadata.Captures as Array<{ ID: string }>).map((c) => c.ID), ['cap-1', 'cap-2'], 'found by TID too')
  engine.apply({ kind: 'capture', status: { CaptureID: 'cap-1', Host: 'compute-1', NodeID: eth0.ID, State: 'stopped', Time: T0 + 7000 } })
  engine.apply({ kind: 'resource', resource: { ResourceType: 'capture', UUID: 'cap-2', Resource: {}, Deleted: true, Time: T0 + 8000 } })
  assert.equal(engine.store.getNode(eth0.ID)?.Metadata.Captures, undefined)
})

test('a HostSync replaces the host\'s subgraph: missing elements deleted, unchanged ones untouched', () => {
  const engine = newEngine()
  const stream = loadStream('two-hosts.events.json')
  applyAll(engine, inputsOf(stream))
  const first = stream[0]?.value as { Nodes: Array<{ ID: string, Metadata: Record<string, unknown> }>, Edges: Array<{ ID: string, Child: string }> }
  const br0 = byName(engine.store, 'compute-1', 'br0')
  const c2Before = summary(engine.store).edges.filter((e) => e.includes('compute-2'))
  // The same snapshot without br0 (and its edges).
  const records = engine.apply({ kind: 'topology', event: {
    Kind: 'HostSync', Host: 'compute-1', Origin: 'agent.compute-1', Time: T0 + 20_000,
    Nodes: first.Nodes.filter((n) => n.ID !== br0.ID) as never,
    Edges: first.Edges.filter((e) => e.Child !== br0.ID && !JSON.stringify(e).includes(br0.ID)) as never
  } })
  assert.equal(engine.store.getNode(br0.ID), undefined)
  const deleted = records.filter((r) => r.change.Op === 'delete').map((r) => r.change.ElementType)
  // br0, its edges (host→br0, br0→veth1, br0→tap0), and tap0 with its host edge: not in the snapshot
  assert.deepEqual(deleted.sort(), ['edge', 'edge', 'edge', 'edge', 'node', 'node'])
  const veth1 = byName(engine.store, 'compute-1', 'veth1')
  assert.equal(veth1.Revision, 1, 'unchanged elements keep their revision')
  // Besides the deletes, only the netns eth0 changes: the snapshot has it UP again.
  assert.deepEqual(records.filter((r) => r.change.Op === 'upsert').map((r) => `${String(r.change.Node?.Metadata.Name)} ${String(r.change.Node?.Metadata.State)}`), ['eth0 UP'])
  assert.deepEqual(summary(engine.store).edges.filter((e) => e.includes('compute-2')), c2Before, 'the other host is untouched')
  const del = records.find((r) => r.change.Node?.ID === br0.ID)
  assert.equal(del?.change.Node?.DeletedAt, T0 + 20_000)
})

test('each input delivered twice changes the graph once (at-least-once re-delivery)', () => {
  const engine = newEngine({ fabric })
  engine.start(T0)
  const once = newEngine({ fabric })
  once.start(T0)
  for (const input of inputsOf(loadStream('two-hosts.events.json'))) {
    once.apply(input)
    engine.apply(input)
    assert.deepEqual(engine.apply(input), [], `second delivery of ${input.kind} changed something`)
  }
  assert.deepEqual(summary(engine.store), summary(once.store))
  assert.deepEqual([...engine.store.nodes()], [...once.store.nodes()])
})
