import { test } from 'node:test'
import assert from 'node:assert/strict'
import { topics } from '@topoflow/schemas'
import { makeApi, node, publishGraph, waitFor } from '../helpers.ts'
import type { TopologyEvent } from '../../src/graph/topology-writer.ts'

test('/api/node and /api/edge create, patch and delete elements as topology events with origin api.<host_id>', async (t) => {
  const api = await makeApi(t)
  const events: TopologyEvent[] = []
  await api.bus.subscribe<TopologyEvent>({ topics: [topics.topologyEvents], group: 'spy', handler: async (b) => { for (const m of b) if (m.value !== null) events.push(m.value) } })

  // the body skydive-client's node_create sends
  const created = await api.app.inject({ method: 'POST', url: '/api/node', payload: { ID: 'n1', CreatedAt: 1700000000000, UpdatedAt: 1700000000000, Host: 'laptop', Metadata: { Name: 'tor1', Type: 'switch', TID: 't1' }, Revision: 1 } })
  assert.equal(created.statusCode, 201)
  assert.deepEqual(created.json(), { ID: 'n1', Metadata: { Name: 'tor1', Type: 'switch', TID: 't1' }, Host: 'laptop', Origin: 'api.analyzer-1', CreatedAt: 1700000000000, UpdatedAt: 1700000000000, DeletedAt: null, Revision: 1 })
  const second = await api.app.inject({ method: 'POST', url: '/api/node', payload: { ID: 'n2', Metadata: { Name: 'port1', Type: 'switchport' } } })
  assert.equal(second.json().Host, 'analyzer-1')
  assert.ok(second.json().CreatedAt > 0)

  // readable at once (read-your-writes), through REST and Gremlin
  assert.deepEqual(Object.keys((await api.app.inject({ method: 'GET', url: '/api/node' })).json()).sort(), ['n1', 'n2'])
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: "G.V().Has('Type', 'switch').Count()" } })).body, '1')

  const e = await api.app.inject({ method: 'POST', url: '/api/edge', payload: { ID: 'e1', Host: 'laptop', Parent: 'n1', Child: 'n2', Metadata: { RelationType: 'ownership' } } })
  assert.equal(e.statusCode, 201)
  assert.equal(e.json().Parent, 'n1')
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/edge/e1' })).json().Child, 'n2')
  assert.deepEqual(Object.keys((await api.app.inject({ method: 'GET', url: '/api/edge' })).json()), ['e1'])

  await waitFor(() => events.length >= 3, { what: 'topology events' })
  assert.deepEqual(events.map((ev) => [ev.Kind, ev.Origin, ev.Node?.ID ?? ev.Edge?.ID]), [
    ['NodeUpdated', 'api.analyzer-1', 'n1'], ['NodeUpdated', 'api.analyzer-1', 'n2'], ['EdgeUpdated', 'api.analyzer-1', 'e1']
  ])
  assert.equal(events[0]?.Host, 'laptop')
  assert.deepEqual(events[0]?.Node?.Metadata, { Name: 'tor1', Type: 'switch', TID: 't1' })

  // JSON Patch: Name, Type and TID cannot change
  const patched = await api.app.inject({ method: 'PATCH', url: '/api/node/n1', payload: [{ op: 'add', path: '/Metadata/Speed', value: 100 }, { op: 'replace', path: '/Metadata/Name', value: 'other' }, { op: 'remove', path: '/Metadata/TID' }] })
  assert.equal(patched.statusCode, 200)
  assert.deepEqual(patched.json().Metadata, { Name: 'tor1', Type: 'switch', TID: 't1', Speed: 100 })
  assert.equal(patched.json().Revision, 2)
  assert.equal((await api.app.inject({ method: 'PATCH', url: '/api/node/n1', payload: [{ op: 'replace', path: '/Metadata/Speed', value: 100 }] })).statusCode, 304)
  const edgePatch = await api.app.inject({ method: 'PATCH', url: '/api/edge/e1', payload: [{ op: 'add', path: '/Metadata/Type', value: 'fabric' }] })
  assert.deepEqual(edgePatch.json().Metadata, { RelationType: 'ownership', Type: 'fabric' })
  assert.equal((await api.app.inject({ method: 'PATCH', url: '/api/edge/e1', payload: [{ op: 'remove', path: '/Metadata/RelationType' }] })).statusCode, 400)

  // deleting a node deletes its edges
  const del = await api.app.inject({ method: 'DELETE', url: '/api/node/n1', headers: { 'content-type': 'application/json' } })
  assert.equal(del.statusCode, 200)
  assert.equal(del.body, '')
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/edge/e1' })).statusCode, 404)
  await waitFor(() => events.some((ev) => ev.Kind === 'NodeDeleted' && ev.Node?.ID === 'n1'), { what: 'NodeDeleted event' })
  assert.ok((events.find((ev) => ev.Kind === 'NodeDeleted')?.Node?.DeletedAt ?? 0) > 0)
})

test('node and edge errors: 404, 409 and validation messages', async (t) => {
  const api = await makeApi(t)
  await publishGraph(api, [node('a', { Name: 'a', Type: 'host' })])
  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ['GET', '/api/node/zz', undefined, 404, /^Node 'zz' not found$/],
    ['DELETE', '/api/node/zz', undefined, 404, /^Node 'zz' not found$/],
    ['PATCH', '/api/node/zz', [], 404, /^Node 'zz' not found$/],
    ['GET', '/api/edge/zz', undefined, 404, /^Edge 'zz' not found$/],
    ['DELETE', '/api/edge/zz', undefined, 404, /^Edge 'zz' not found$/],
    ['POST', '/api/node', { ID: 'a', Metadata: { Name: 'a', Type: 'host' } }, 409, /Node 'a' already exists/],
    ['POST', '/api/node', { ID: 'b', Metadata: { Name: 'b' } }, 400, /Metadata\.Type is required/],
    ['POST', '/api/node', { ID: 'b', Metadata: { Type: 'netns', Name: 'ns' } }, 400, /Metadata\.Path is required/],
    ['POST', '/api/node', { Metadata: { Name: 'b', Type: 'x' } }, 400, /must have required property 'ID'/],
    ['POST', '/api/edge', { ID: 'e', Parent: 'a', Child: 'zz', Metadata: { RelationType: 'layer2' } }, 400, /Node 'zz' does not exist/],
    ['POST', '/api/edge', { ID: 'e', Parent: 'a', Child: 'a', Metadata: {} }, 400, /RelationType is required/],
    ['PATCH', '/api/node/a', { op: 'add' }, 400, /body must be array/],
    ['PATCH', '/api/node/a', [{ op: 'add', path: '/Metadata', value: 3 }], 400, /Metadata must stay an object/]
  ]
  for (const [method, url, payload, status, body] of cases) {
    const res = await api.app.inject({ method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) })
    assert.equal(res.statusCode, status, `${method} ${url}`)
    assert.match(res.body, body, `${method} ${url}`)
  }
})

test('element IDs and host names are keys like any other in keyed answers, "__proto__" and "constructor" included', async (t) => {
  const api = await makeApi(t)
  await publishGraph(api, [node('__proto__', { Type: 'host', Name: 'odd' }, { Host: '__proto__' }), node('constructor', { Type: 'device', Name: 'eth0' })])
  const nodes = (await api.app.inject({ method: 'GET', url: '/api/node' })).json() as Record<string, { ID: string }>
  assert.deepEqual(Object.keys(nodes).sort(), ['__proto__', 'constructor'])
  assert.equal(new Map(Object.entries(nodes)).get('constructor')?.ID, 'constructor')
  assert.ok(Object.hasOwn(nodes, '__proto__'))
  const status = (await api.app.inject({ method: 'GET', url: '/api/status' })).json() as { Agents: Record<string, unknown> }
  assert.ok(Object.hasOwn(status.Agents, '__proto__'))
  const valueMap = (await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: "G.V().Has('Name', 'odd').ValueMap('Name', '__proto__')" } })).json() as Array<Record<string, unknown>>
  assert.deepEqual(valueMap, [{ Name: 'odd' }])
})
