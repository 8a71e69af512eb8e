import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixtureGraph, makeApi, node, publishGraph } from '../helpers.ts'

const gremlin = (query: string) => ({ method: 'POST' as const, url: '/api/topology', headers: { accept: 'application/json' }, payload: { GremlinQuery: query } })

const queries = [
  'G',
  "G.V().Has('Type', 'host')",
  "G.V().Has('Metadata.Type', 'device', 'Name', 'eth0')",
  "G.V().Has('Type', 'device', 'IfIndex', GT(1))",
  "G.V().Has('@Host', 'node-b')",
  "G.V().Has('Type', NE('host'))",
  "G.V('Type', 'device')",
  "G.V('eth-a')",
  'G.E()',
  "G.V().Has('Name', 'eth0').SubGraph()",
  "G.V('lo-a').ShortestPathTo(Metadata('Name', 'eth0'))",
  'G.V().Count()',
  "G.V().Has('Type', 'device').Values('Name')",
  "G.V().Has('Type', 'host').Sockets()",
  "G.V().Has('Type', 'nothing')"
]

test('POST /api/topology answers the bytes of JSON.stringify of the query result, for every result shape', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  for (const query of queries) {
    const res = await api.app.inject(gremlin(query))
    assert.equal(res.statusCode, 200, query)
    assert.equal(res.headers['content-type'], 'application/json; charset=UTF-8', query)
    assert.equal(res.body, JSON.stringify(await api.app.topoflow.query(query)), query)
  }
})

test('answers follow the replica: a changed Type or Name moves the node between Has() answers, and its new revision is served', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  const hostIds = async (): Promise<string[]> => (await api.app.inject(gremlin("G.V().Has('Type', 'host')"))).json().map((n: { ID: string }) => n.ID)
  assert.deepEqual(await hostIds(), ['host-a', 'host-b'])
  const lo = g.nodes.find((n) => n.ID === 'lo-a')
  assert.ok(lo !== undefined)
  await publishGraph(api, [{ ...lo, Metadata: { ...lo.Metadata, Type: 'host', Name: 'lo-renamed' }, Revision: 2 }])
  assert.deepEqual(await hostIds(), ['host-a', 'host-b', 'lo-a'], 'graph order, not the order of changes')
  const renamed = await api.app.inject(gremlin("G.V().Has('Name', 'lo-renamed')"))
  assert.equal(renamed.json()[0].Revision, 2)
  assert.deepEqual((await api.app.inject(gremlin("G.V().Has('Name', 'lo')"))).json(), [])
  await publishGraph(api, [node('host-c', { Name: 'node-c', Type: 'host' })])
  assert.deepEqual(await hostIds(), ['host-a', 'host-b', 'lo-a', 'host-c'])
  // a change of metadata outside the indexed keys is served too
  const hostA = api.graph.getNode('host-a')
  assert.ok(hostA !== undefined)
  await publishGraph(api, [{ ...hostA, Metadata: { ...hostA.Metadata, OS: 'freebsd' }, Revision: hostA.Revision + 1 }])
  const a = await api.app.inject(gremlin("G.V().Has('Type', 'host').Has('Name', 'node-a')"))
  assert.equal(a.json()[0].Metadata.OS, 'freebsd')
})
