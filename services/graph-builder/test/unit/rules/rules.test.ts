import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileSimpleQuery } from '../../../src/rules/query.ts'
import type { ResourceEvent } from '../../../src/types.ts'
import { genID, linkID } from '../../../src/uuid.ts'
import { applyAll, byName, inputsOf, loadStream, newEngine, T0 } from '../helpers.ts'

const resource = (r: Partial<ResourceEvent> & Pick<ResourceEvent, 'ResourceType' | 'UUID'>): { kind: 'resource', resource: ResourceEvent } =>
  ({ kind: 'resource', resource: { Resource: {}, Deleted: false, Time: T0 + 50_000, ...r } })

test('the simple query matcher: V, V(id), Has, HasKey, dotted keys, numbers, case-insensitive steps', () => {
  const node = { ID: 'n1', Metadata: { Type: 'device', Name: 'eth0', MTU: 1500, IPV4: ['10.0.0.1/24'], K8s: { Namespace: 'default' } }, Host: 'h', Origin: 'o', CreatedAt: 1, UpdatedAt: 1, Revision: 1 }
  const yes = ["G.V()", "g.v('n1')", "G.V().Has('Name', 'eth0')", 'G.V().has("Type", "device", "MTU", 1500)', "G.V().HasKey('IPV4')",
    "G.V().Has('K8s.Namespace', 'default')", "G.V().Has('IPV4', '10.0.0.1/24')", "G.V().Has('Name')"]
  const no = ["G.V('n2')", "G.V().Has('Name', 'eth1')", "G.V().Has('MTU', 9000)", "G.V().HasKey('Sockets')"]
  for (const q of yes) assert.equal(compileSimpleQuery(q)(node), true, q)
  for (const q of no) assert.equal(compileSimpleQuery(q)(node), false, q)
  for (const q of ["G.E()", "G.V().Out()", "G.V().Has('Name', Regex('eth.*'))", "G.V(", 'V()']) {
    assert.throws(() => compileSimpleQuery(q), { code: 'TOPOFLOW_ERR_GREMLIN_SYNTAX' }, q)
  }
})

test('a create node rule adds a node with Skydive\'s ID; deleting the rule removes it', () => {
  const engine = newEngine()
  engine.apply(resource({ ResourceType: 'noderule', UUID: 'r1', Resource: { UUID: 'r1', Action: 'create', Metadata: { Type: 'fabric', Name: 'spine1', Role: 'spine' } } }))
  const id = genID('fabric', 'spine1')
  assert.deepEqual(engine.store.getNode(id)?.Metadata, { Type: 'fabric', Name: 'spine1', Role: 'spine', TID: id, Probe: 'fabric' })
  engine.apply(resource({ ResourceType: 'noderule', UUID: 'r1', Deleted: true }))
  assert.equal(engine.store.getNode(id), undefined)
})

test('an update rule decorates matching nodes, now and later, and is undone on delete', () => {
  const engine = newEngine()
  const inputs = inputsOf(loadStream('two-hosts.events.json'))
  applyAll(engine, inputs.slice(0, 1))
  engine.apply(resource({ ResourceType: 'noderule', UUID: 'r2', Resource: { Action: 'update', Query: "G.V().Has('Type', 'bridge')", Metadata: { Color: 'blue', Name: 'ignored' } } }))
  assert.equal(byName(engine.store, 'compute-1', 'br0').Metadata.Color, 'blue')
  assert.equal(byName(engine.store, 'compute-1', 'br0').Metadata.Name, 'br0', 'update rules cannot rename')
  applyAll(engine, inputs.slice(1))
  assert.equal(byName(engine.store, 'compute-2', 'br0').Metadata.Color, 'blue', 'a node that appears later is decorated too')
  // An agent update of the node keeps the decoration.
  const br0 = byName(engine.store, 'compute-1', 'br0')
  engine.apply({ kind: 'topology', event: { Kind: 'NodeUpdated', Host: 'compute-1', Origin: 'agent.compute-1', Time: T0 + 60_000, Node: { ID: br0.ID, Metadata: { Name: 'br0', Type: 'bridge', MTU: 9000 } } } })
  assert.equal(engine.store.getNode(br0.ID)?.Metadata.Color, 'blue')
  assert.equal(engine.store.getNode(br0.ID)?.Metadata.MTU, 9000)
  engine.apply(resource({ ResourceType: 'noderule', UUID: 'r2', Deleted: true }))
  assert.equal(byName(engine.store, 'compute-1', 'br0').Metadata.Color, undefined)
  assert.equal(byName(engine.store, 'compute-2', 'br0').Metadata.Color, undefined)
})

test('an edge rule links the first source to the first destination and follows the graph', () => {
  const engine = newEngine()
  engine.apply(resource({ ResourceType: 'edgerule', UUID: 'e1', Resource: { Src: "G.V().Has('Name', 'compute-1', 'Type', 'host')", Dst: "G.V().Has('Name', 'compute-2', 'Type', 'host')", Metadata: { RelationType: 'peering', Via: 'vpn' } } }))
  assert.equal(engine.store.edgeCount, 0, 'nothing to link yet')
  applyAll(engine, inputsOf(loadStream('two-hosts.events.json')).slice(0, 2))
  const h1 = byName(engine.store, 'compute-1', 'compute-1', 'host')
  const h2 = byName(engine.store, 'compute-2', 'compute-2', 'host')
  const edge = engine.store.getEdge(linkID(h1.ID, h2.ID, 'peering'))
  assert.deepEqual(edge?.Metadata, { RelationType: 'peering', Via: 'vpn' })
  assert.equal(edge?.Parent, h1.ID)
  engine.apply({ kind: 'topology', event: { Kind: 'NodeDeleted', Host: 'compute-2', Origin: 'agent.compute-2', Time: T0 + 70_000, Node: { ID: h2.ID, Metadata: {} } } })
  assert.equal(engine.store.getEdge(linkID(h1.ID, h2.ID, 'peering')), undefined)
  engine.apply({ kind: 'topology', event: { Kind: 'NodeUpdated', Host: 'compute-2', Origin: 'agent.compute-2', Time: T0 + 80_000, Node: { ID: h2.ID, Metadata: h2.Metadata } } })
  assert.ok(engine.store.getEdge(linkID(h1.ID, h2.ID, 'peering')) !== undefined, 'relinked when the node comes back')
  engine.apply(resource({ ResourceType: 'edgerule', UUID: 'e1', Deleted: true }))
  assert.equal(engine.store.getEdge(linkID(h1.ID, h2.ID, 'peering')), undefined)
})

test('invalid rules are rejected before anything changes', () => {
  const engine = newEngine()
  assert.throws(() => engine.apply(resource({ ResourceType: 'noderule', UUID: 'x', Resource: { Action: 'create', Metadata: { Name: 'a' } } })), { code: 'TOPOFLOW_ERR_SCHEMA', message: /Type and Metadata.Name/ })
  assert.throws(() => engine.apply(resource({ ResourceType: 'noderule', UUID: 'x', Resource: { Action: 'delete', Metadata: {} } })), { code: 'TOPOFLOW_ERR_SCHEMA', message: /create or update/ })
  assert.throws(() => engine.apply(resource({ ResourceType: 'edgerule', UUID: 'x', Resource: { Src: 'G.V()', Dst: 'G.V()', Metadata: {} } })), { code: 'TOPOFLOW_ERR_SCHEMA', message: /RelationType/ })
  assert.throws(() => engine.apply(resource({ ResourceType: 'noderule', UUID: 'x', Resource: { Action: 'update', Query: 'G.V().Out()', Metadata: {} } })), { code: 'TOPOFLOW_ERR_GREMLIN_SYNTAX' })
  assert.equal(engine.store.nodeCount, 0)
})
