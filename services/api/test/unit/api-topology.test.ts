import { test } from 'node:test'
import assert from 'node:assert/strict'
import { topics } from '@topoflow/schemas'
import { edge, fixtureGraph, makeApi, node, publishGraph, waitFor } from '../helpers.ts'

const gremlin = (query: string, accept = 'application/json') => ({ method: 'POST' as const, url: '/api/topology', headers: { accept }, payload: { GremlinQuery: query } })

test('GET /api/topology returns the whole graph as {Nodes, Edges}, nodes by creation time', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, [...g.nodes].reverse(), g.edges)
  const res = await api.app.inject({ method: 'GET', url: '/api/topology' })
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^application\/json/)
  const body = res.json()
  assert.deepEqual(body.Nodes.map((n: { ID: string }) => n.ID), ['host-a', 'host-b', 'eth-a', 'eth-b', 'lo-a'])
  assert.equal(body.Edges.length, 4)
  assert.deepEqual(Object.keys(body.Nodes[0]), ['ID', 'Metadata', 'Host', 'Origin', 'CreatedAt', 'UpdatedAt', 'DeletedAt', 'Revision'])
  assert.equal(body.Nodes[0].DeletedAt, null)
  assert.deepEqual(Object.keys(body.Edges[0]).slice(-2), ['Parent', 'Child'])
})

test('POST /api/topology answers with Skydive\'s result shapes', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  const hosts = await api.app.inject(gremlin("G.V().Has('Type', 'host')"))
  assert.equal(hosts.statusCode, 200)
  assert.deepEqual(hosts.json().map((n: { ID: string }) => n.ID).sort(), ['host-a', 'host-b'])

  const count = await api.app.inject(gremlin('g.v().count()'))
  assert.equal(count.body, '5')

  const sub = await api.app.inject(gremlin("G.V().Has('Name', 'eth0').SubGraph()"))
  const graph = sub.json()
  assert.equal(graph.length, 1)
  assert.deepEqual(graph[0].Nodes.map((n: { ID: string }) => n.ID).sort(), ['eth-a', 'eth-b'])
  assert.deepEqual(graph[0].Edges.map((e: { ID: string }) => e.ID), ['e-wire'])

  const whole = await api.app.inject(gremlin('G'))
  assert.equal(whole.json()[0].Nodes.length, 5)

  const values = await api.app.inject(gremlin("G.V().Has('Type', 'device').Values('Name')"))
  assert.deepEqual(values.json().sort(), ['eth0', 'eth0', 'lo'])

  const empty = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: '' } })
  assert.equal(empty.statusCode, 204)
  assert.equal(empty.body, '')
  const noBody = await api.app.inject({ method: 'POST', url: '/api/topology', headers: { 'content-type': 'application/json' }, payload: '' })
  assert.equal(noBody.statusCode, 204)
})

test('bad Gremlin answers 400 with the engine\'s plain-text message, never 500', async (t) => {
  const api = await makeApi(t)
  await publishGraph(api, [node('n1', { Name: 'x', Type: 'device' })])
  const cases: Array<[string, RegExp]> = [
    ['G.V(', /Gremlin syntax error at column 5/],
    ['V()', /.+/],
    ["G.V('nope')", /Node 'nope' does not exist/],
    ["G.V().Has('Name', Regex('^x'))", /anchored/i],
    ['G.V().Foo()', /.+/],
    ['G.' + 'V().'.repeat(5000) + 'Count()', /.+/]
  ]
  for (const [query, message] of cases) {
    const res = await api.app.inject(gremlin(query))
    assert.equal(res.statusCode, 400, query.slice(0, 40))
    assert.match(String(res.headers['content-type']), /^text\/plain/)
    assert.match(res.body, message)
  }
  const wrongType = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 42 } })
  assert.equal(wrongType.statusCode, 400)
})

test('DOT output for graphs (Accept: text/vnd.graphviz), 406 for anything else', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  const dot = await api.app.inject(gremlin("G.V().Has('Name', 'eth0').SubGraph()", 'text/vnd.graphviz'))
  assert.equal(dot.statusCode, 200)
  assert.match(String(dot.headers['content-type']), /^text\/vnd\.graphviz/)
  assert.match(dot.body, /^digraph g \{\n/)
  assert.match(dot.body, /"eth0-eth-a" \[label="eth0-eth-a\\nType = device\\nIfIndex = 2\\nState = UP\\nIPV4 = \[10\.0\.0\.1\/24\]"\]/)
  assert.match(dot.body, /"eth0-eth-a" -> "eth0-eth-b" \[label="layer2",dir=both\]/)
  const whole = await api.app.inject({ method: 'GET', url: '/api/topology', headers: { accept: 'text/vnd.graphviz' } })
  assert.match(whole.body, /"node-a-host-a" -> "eth0-eth-a" \[label="ownership",dir=forward\]/)
  const notGraph = await api.app.inject(gremlin('G.V()', 'text/vnd.graphviz'))
  assert.equal(notGraph.statusCode, 406)
  assert.equal(notGraph.body, 'Only graph can be outputted as dot')
})

test('the replica follows changes and deletions; At() sees the past', async (t) => {
  const api = await makeApi(t)
  const now = Date.now()
  const iface = node('veth0', { Name: 'veth0', Type: 'veth' }, { CreatedAt: now - 10_000, UpdatedAt: now - 10_000 })
  await publishGraph(api, [iface])
  await api.bus.publish(topics.topologyChanges, [{ key: 'veth0', value: { ElementType: 'node', Op: 'delete', Node: { ...iface, DeletedAt: now - 5_000 }, Time: now - 5_000 } }])
  await waitFor(() => api.graph.getNode('veth0') === undefined, { what: 'deletion' })
  const before = await api.app.inject(gremlin(`G.At(${now - 7_000}).V().Has('Name', 'veth0')`))
  assert.equal(before.json().length, 1)
  const after = await api.app.inject(gremlin(`G.At(${now - 3_000}).V().Has('Name', 'veth0')`))
  assert.deepEqual(after.json(), [])
  const live = await api.app.inject(gremlin("G.V().Has('Name', 'veth0')"))
  assert.deepEqual(live.json(), [])

  // an older revision arriving late does not undo a newer one
  const n2 = node('n2', { Name: 'a', Type: 'device' })
  await publishGraph(api, [n2, { ...n2, Metadata: { Name: 'a', Type: 'device', MTU: 9000 }, Revision: 2 }])
  await api.bus.publish(topics.topologyChanges, [{ key: 'n2', value: { ElementType: 'node', Op: 'upsert', Node: n2, Time: n2.UpdatedAt } }, { key: 'x', value: { ElementType: 'edge', Op: 'upsert', Edge: edge('x', 'n2', 'n2'), Time: 1 } }])
  await waitFor(() => api.graph.getEdge('x'), { what: 'edge' })
  assert.equal(api.graph.getNode('n2')?.Metadata.MTU, 9000)
})
