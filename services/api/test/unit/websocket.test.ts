import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { WebSocket } from 'ws'
import { topics } from '@topoflow/schemas'
import { seededRandom } from '@topoflow/testing/seeded-random'
import { edge, fixtureGraph, makeApi, node, publishGraph, waitFor, type TestApi } from '../helpers.ts'
import type { TopologyEvent } from '../../src/graph/topology-writer.ts'

interface Msg { Namespace: string, Type: string, UUID?: string, Status?: number, Obj?: any }

/** A `ws` client over @fastify/websocket's in-memory injection, collecting what it receives. */
async function connect (api: TestApi, path: string, headers: Record<string, string>): Promise<{ ws: WebSocket, inbox: Msg[] }> {
  const inbox: Msg[] = []
  const ws = await (api.app as unknown as { injectWS: (p: string, c: object, o: object) => Promise<WebSocket> })
    .injectWS(path, { headers }, { onInit: (s: WebSocket) => s.on('message', (d) => inbox.push(JSON.parse(String(d)))) })
  return { ws, inbox }
}

const sub = { 'x-client-type': 'webui', 'x-host-id': 'ui-1' }

test('subscriber: SyncRequest returns the graph, then graph events follow in the Graph namespace', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  const { ws, inbox } = await connect(api, '/ws/subscriber', sub)
  t.after(() => ws.terminate())
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 'req-1', Obj: {} }))
  const reply = await waitFor(() => inbox.find((m) => m.Type === 'SyncReply'), { what: 'SyncReply' })
  assert.equal(reply.UUID, 'req-1')
  assert.equal(reply.Status, 200)
  assert.equal(reply.Obj.Nodes.length, 5)
  assert.equal(reply.Obj.Edges.length, 4)

  await publishGraph(api, [node('new', { Name: 'veth9', Type: 'veth' })])
  const added = await waitFor(() => inbox.find((m) => m.Type === 'NodeAdded'), { what: 'NodeAdded' })
  assert.equal(added.Namespace, 'Graph')
  assert.equal(added.Obj.ID, 'new')
  assert.equal(added.Obj.DeletedAt, null)
  const n = api.graph.getNode('new')
  assert.ok(n !== undefined)
  await publishGraph(api, [{ ...n, Metadata: { ...n.Metadata, MTU: 1400 }, Revision: 2 }])
  const updated = await waitFor(() => inbox.find((m) => m.Type === 'NodeUpdated'), { what: 'NodeUpdated' })
  assert.equal(updated.Obj.Metadata.MTU, 1400)
  await api.bus.publish(topics.topologyChanges, [{ key: 'host-a', value: { ElementType: 'node', Op: 'delete', Node: g.nodes[0], Time: Date.now() } }])
  await waitFor(() => inbox.find((m) => m.Type === 'NodeDeleted'), { what: 'NodeDeleted' })
  // the host's edges go first
  const types = inbox.map((m) => m.Type)
  assert.ok(types.lastIndexOf('EdgeDeleted') < types.indexOf('NodeDeleted'))
  assert.equal(types.filter((x) => x === 'EdgeDeleted').length, 2)
  const status = (await api.app.inject({ method: 'GET', url: '/api/status' })).json()
  assert.equal(status.Subscribers['ui-1'].RemoteServiceType, 'webui')
})

test('subscriber: a Gremlin filter sends only the filtered subgraph and its differences; partial updates', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  const { ws, inbox } = await connect(api, "/ws/subscriber?x-update-policy=partial&x-gremlin-filter=G.V().Has('Type','device').SubGraph()", sub)
  t.after(() => ws.terminate())
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 'r', Obj: { GremlinFilter: null } }))
  const first = await waitFor(() => inbox.find((m) => m.Type === 'SyncReply'), { what: 'SyncReply' })
  assert.deepEqual(first.Obj.Nodes.map((n: { ID: string }) => n.ID).sort(), ['eth-a', 'eth-b', 'lo-a'])
  assert.deepEqual(first.Obj.Edges.map((e: { ID: string }) => e.ID), ['e-wire'])

  await publishGraph(api, [node('h9', { Name: 'other', Type: 'host' }), node('d9', { Name: 'eth9', Type: 'device' })])
  const added = await waitFor(() => inbox.find((m) => m.Type === 'NodeAdded'), { what: 'NodeAdded' })
  assert.equal(added.Obj.ID, 'd9')
  const ethA = api.graph.getNode('eth-a')
  assert.ok(ethA !== undefined)
  await publishGraph(api, [{ ...ethA, Metadata: { ...ethA.Metadata, MTU: 9000 }, Revision: 2 }])
  const partial = await waitFor(() => inbox.find((m) => m.Type === 'NodePartiallyUpdated'), { what: 'partial update' })
  assert.deepEqual(partial.Obj, { ID: 'eth-a', UpdatedAt: ethA.UpdatedAt, Revision: 2, Ops: [{ Type: 1, Key: 'Metadata.MTU', Value: 9000 }] })
  assert.equal(inbox.some((m) => m.Obj?.ID === 'h9'), false)

  // a new filter through SyncRequest, then a reset
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 'r2', Obj: { GremlinFilter: "G.V().Has('Type','host').SubGraph()" } }))
  const second = await waitFor(() => inbox.find((m) => m.UUID === 'r2'), { what: 'second reply' })
  assert.deepEqual(second.Obj.Nodes.map((n: { ID: string }) => n.ID).sort(), ['h9', 'host-a', 'host-b'])
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 'r3', Obj: { GremlinFilter: 'G.V()' } }))
  const notGraph = await waitFor(() => inbox.find((m) => m.UUID === 'r3'), { what: 'error reply' })
  assert.equal(notGraph.Status, 400)
  assert.equal(notGraph.Obj, "Gremlin query 'G.V()' did not return a graph")
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 'r4', Obj: { GremlinFilter: '' } }))
  const reset = await waitFor(() => inbox.find((m) => m.UUID === 'r4'), { what: 'reset reply' })
  assert.equal(reset.Obj.Nodes.length, 7)
})

test('subscriber: SyncRequest with Time answers the graph as it was', async (t) => {
  const api = await makeApi(t)
  const now = Date.now()
  const old = node('gone', { Name: 'tap0', Type: 'tun' }, { CreatedAt: now - 60_000, UpdatedAt: now - 60_000 })
  await publishGraph(api, [old])
  await api.bus.publish(topics.topologyChanges, [{ key: 'gone', value: { ElementType: 'node', Op: 'delete', Node: { ...old, DeletedAt: now - 30_000 }, Time: now - 30_000 } }])
  await waitFor(() => api.graph.getNode('gone') === undefined, { what: 'deletion' })
  const { ws, inbox } = await connect(api, '/ws/subscriber', sub)
  t.after(() => ws.terminate())
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 'past', Obj: { Time: now - 45_000 } }))
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 'now', Obj: {} }))
  const past = await waitFor(() => inbox.find((m) => m.UUID === 'past'), { what: 'past reply' })
  const live = await waitFor(() => inbox.find((m) => m.UUID === 'now'), { what: 'live reply' })
  assert.deepEqual(past.Obj.Nodes.map((n: { ID: string }) => n.ID), ['gone'])
  assert.deepEqual(live.Obj.Nodes, [])
})

test('websocket handshakes: X-Client-Type required, duplicate host IDs refused, bad filters refused', async (t) => {
  const api = await makeApi(t)
  await assert.rejects(connect(api, '/ws/subscriber', {}), /Unexpected server response: 400/)
  await assert.rejects(connect(api, "/ws/subscriber?x-gremlin-filter=G.V(", { 'x-client-type': 'x' }), /400/)
  await assert.rejects(connect(api, '/ws/subscriber?x-update-policy=sometimes', { 'x-client-type': 'x' }), /400/)
  await assert.rejects(connect(api, '/ws/publisher', { 'x-client-type': 'x', 'x-persistence-policy': 'Forever' }), /400/)
  const { ws } = await connect(api, '/ws/subscriber', sub)
  t.after(() => ws.terminate())
  await assert.rejects(connect(api, '/ws/subscriber', sub), /409/)
  const bad = await connect(api, '/ws/subscriber', { 'x-client-type': 'x' })
  t.after(() => bad.ws.terminate())
  bad.ws.send('not json')
  const err = await waitFor(() => bad.inbox[0], { what: 'error message' })
  assert.equal(err.Status, 400)
})

test('publisher: messages become topology events with origin <client type>.<host id>', async (t) => {
  const api = await makeApi(t)
  const events: TopologyEvent[] = []
  await api.bus.subscribe<TopologyEvent>({ topics: [topics.topologyEvents], group: 'spy', handler: async (b) => { for (const m of b) if (m.value !== null) events.push(m.value) } })
  const { ws, inbox } = await connect(api, '/ws/publisher', { 'x-client-type': 'skydive-python-client', 'x-host-id': 'laptop', 'x-persistence-policy': 'DeleteOnDisconnect' })
  const send = (Type: string, Obj: unknown): void => ws.send(JSON.stringify({ UUID: 'u', Namespace: 'Graph', Type, Obj, Status: 200 }))
  send('NodeAdded', { ID: 'svc-1', Host: 'node-b', Metadata: { Name: 'nginx', Type: 'service' } })
  send('NodeAdded', { ID: 'svc-2', Host: 'node-a', Metadata: { Name: 'curl', Type: 'service' } })
  send('EdgeAdded', { ID: 'c-1', Host: 'node-a', Parent: 'svc-2', Child: 'svc-1', Metadata: { RelationType: 'layer2', Type: 'Connection' } })
  send('NodePartiallyUpdated', { ID: 'svc-1', UpdatedAt: 5, Revision: 2, Ops: [{ Type: 1, Key: 'Metadata.Port', Value: 80 }, { Type: 1, Key: 'Metadata.Labels.tier', Value: 'web' }] })
  await waitFor(() => api.graph.getNode('svc-1')?.Metadata.Port === 80, { what: 'partial update applied' })
  assert.deepEqual(api.graph.getNode('svc-1')?.Metadata, { Name: 'nginx', Type: 'service', Port: 80, Labels: { tier: 'web' } })
  assert.equal(api.graph.getEdge('c-1')?.Origin, 'skydive-python-client.laptop')
  await waitFor(() => events.length >= 4, { what: 'topology events' })
  assert.deepEqual(events.slice(0, 3).map((e) => [e.Kind, e.Origin, e.Host]), [
    ['NodeUpdated', 'skydive-python-client.laptop', 'node-b'],
    ['NodeUpdated', 'skydive-python-client.laptop', 'node-a'],
    ['EdgeUpdated', 'skydive-python-client.laptop', 'node-a']
  ])
  send('SyncRequest', {})
  const reply = await waitFor(() => inbox.find((m) => m.Type === 'SyncReply'), { what: 'publisher SyncReply' })
  assert.equal(reply.Obj.Nodes.length, 2)
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/status' })).json().Publishers.laptop.RemoteServiceType, 'skydive-python-client')

  ws.terminate()
})

test('publisher: Sync replaces everything of its origin (a HostSync event)', async (t) => {
  const api = await makeApi(t)
  const events: TopologyEvent[] = []
  await api.bus.subscribe<TopologyEvent>({ topics: [topics.topologyEvents], group: 'spy', handler: async (b) => { for (const m of b) if (m.value !== null) events.push(m.value) } })
  await publishGraph(api, [node('other', { Name: 'x', Type: 'host' })], [])
  const { ws } = await connect(api, '/ws/publisher', { 'x-client-type': 'agent', 'x-host-id': 'h1' })
  t.after(() => ws.terminate())
  const send = (Type: string, Obj: unknown): void => ws.send(JSON.stringify({ Namespace: 'Graph', Type, Obj }))
  send('NodeAdded', { ID: 'old', Metadata: { Name: 'old', Type: 'device' } })
  await waitFor(() => api.graph.getNode('old'), { what: 'old node' })
  send('Sync', { Nodes: [{ ID: 'a', Metadata: { Name: 'a', Type: 'device' } }, { ID: 'b', Metadata: { Name: 'b', Type: 'device' } }], Edges: [edge('ab', 'a', 'b', 'layer2')] })
  await waitFor(() => api.graph.getEdge('ab') !== undefined && api.graph.getNode('old') === undefined, { what: 'sync applied' })
  assert.ok(api.graph.getNode('other') !== undefined)
  const sync = await waitFor(() => events.find((e) => e.Kind === 'HostSync'), { what: 'HostSync' })
  assert.equal(sync.Host, 'h1')
  assert.equal(sync.Origin, 'agent.h1')
  assert.deepEqual(sync.Nodes.map((n) => n.ID), ['a', 'b'])
  assert.equal(sync.Edges[0]?.Origin, 'agent.h1')
})

test('publisher: random and hostile messages are rejected one by one; the connection, the graph and Object.prototype are untouched', async (t) => {
  const api = await makeApi(t)
  const { ws } = await connect(api, '/ws/publisher', { 'x-client-type': 'agent', 'x-host-id': 'fuzzer' })
  t.after(() => ws.terminate())
  const random = seededRandom(0x3e5)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
  const types = ['NodeAdded', 'NodeUpdated', 'NodeDeleted', 'EdgeAdded', 'EdgeUpdated', 'EdgeDeleted', 'NodePartiallyUpdated', 'EdgePartiallyUpdated', 'Sync', 'SyncRequest', 'Nope', '']
  const values = [null, 1, -1, 'x', '', true, [], {}, { ID: 'n1' }, { ID: 'n2', Metadata: { Name: 'n2', Type: 'device' } }, { ID: 'e1', Parent: 'n1', Child: 'n2' }, { ID: 5 }, { Nodes: 'x' }, { Nodes: [null], Edges: [{}] }]
  const keys = ['Metadata.__proto__.polluted', 'Metadata.constructor.prototype.polluted', '__proto__.polluted', 'Metadata.Name', 'Metadata', 'Metadata.a.b.c', '', '.', 'Metadata..x']
  // Elements for the partial updates to land on, made again every 50 messages (random deletes and syncs remove them).
  const elements = (): void => {
    ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'NodeAdded', Obj: { ID: 'n1', Metadata: { Name: 'n1', Type: 'device' } } }))
    ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'NodeAdded', Obj: { ID: 'n2', Metadata: { Name: 'n2', Type: 'device' } } }))
    ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'EdgeAdded', Obj: { ID: 'e1', Parent: 'n1', Child: 'n2', Metadata: { RelationType: 'layer2' } } }))
  }
  for (let i = 0; i < 2000; i++) {
    if (i % 50 === 0) elements()
    const kind = Math.floor(random() * 4)
    if (kind === 0) ws.send(pick(['', 'not json', '{', '[]', 'null', '"Graph"', JSON.stringify({ Namespace: 'Other', Type: 'NodeAdded', Obj: {} })]))
    else if (kind === 1) ws.send(JSON.stringify({ Namespace: 'Graph', Type: pick(types), Obj: pick(values) }))
    else ws.send(JSON.stringify({ Namespace: 'Graph', Type: pick(['NodePartiallyUpdated', 'EdgePartiallyUpdated']), Obj: { ID: pick(['n1', 'n2', 'e1', 'x']), UpdatedAt: pick([1, -1, 'x']), Revision: pick([1, 1e20, null]), Ops: [{ Type: pick([0, 1, 2, 9]), Key: pick(keys), Value: pick(values) }] } }))
  }
  // After all that, a good message still goes through on the same connection.
  ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'NodeAdded', Obj: { ID: 'after', Metadata: { Name: 'after', Type: 'device' } } }))
  await waitFor(() => api.graph.getNode('after'), { what: 'the good message after the bad ones' })
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false)
  const res = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V().Values("Name")' } })
  assert.equal(res.statusCode, 200)
  assert.ok((res.json() as unknown[]).includes('after'))
})

test('publisher: partial-update keys through __proto__ or constructor set the node\'s own metadata, never a prototype', async (t) => {
  const api = await makeApi(t)
  const { ws } = await connect(api, '/ws/publisher', { 'x-client-type': 'agent', 'x-host-id': 'proto' })
  t.after(() => ws.terminate())
  const send = (Type: string, Obj: unknown): void => ws.send(JSON.stringify({ Namespace: 'Graph', Type, Obj }))
  send('NodeAdded', { ID: 'victim', Metadata: { Name: 'victim', Type: 'device' } })
  await waitFor(() => api.graph.getNode('victim'), { what: 'the node' })
  send('NodePartiallyUpdated', {
    ID: 'victim',
    Ops: [
      { Type: 1, Key: 'Metadata.__proto__.polluted', Value: 'yes' },
      { Type: 1, Key: 'Metadata.constructor.prototype.polluted', Value: 'yes' },
      { Type: 1, Key: 'Metadata.__proto__', Value: { Type: 'inherited' } },
      { Type: 1, Key: 'Metadata.MTU', Value: 9000 }
    ]
  })
  await waitFor(() => api.graph.getNode('victim')?.Metadata.MTU === 9000, { what: 'the partial update' })
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false)
  const metadata = api.graph.getNode('victim')?.Metadata as Record<string, unknown>
  assert.equal(Object.getPrototypeOf(metadata), Object.prototype)
  assert.equal(metadata.Type, 'device')
  assert.deepEqual(metadata.constructor, { prototype: { polluted: 'yes' } })
})
