import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { MemoryGraph, runGremlin } from '../../src/index.ts'
import type { GremlinDeps } from '../../src/index.ts'
import { NOW, T0, buildFlows, buildGraph, ids } from './fixture.ts'

const T1 = T0 + 100_000 // x created
const T2 = T0 + 200_000 // x updated
const T3 = T0 + 300_000 // x deleted

/** The fixture plus an interface x on host1: created DOWN at T1, UP at T2, deleted at T3. */
function historyGraph (options: { historyWindowMs?: number } = {}): { graph: MemoryGraph, setClock: (t: number) => void } {
  const graph = buildGraph(options)
  let clock = NOW
  const g = graph as unknown as { now: () => number }
  g.now = () => clock
  const setClock = (t: number): void => { clock = t }
  setClock(T1)
  graph.addNode({ ID: 'x', Host: 'host1', Origin: 'agent.host1', Metadata: { Name: 'x', Type: 'dummy', State: 'DOWN' }, CreatedAt: T1 })
  graph.addEdge({ ID: 'host1->x', Parent: 'host1', Child: 'x', Metadata: { RelationType: 'ownership' }, CreatedAt: T1 })
  setClock(T2)
  graph.updateNode({ ID: 'x', Metadata: { Name: 'x', Type: 'dummy', State: 'UP' }, UpdatedAt: T2 })
  setClock(T3)
  graph.deleteNode('x', T3)
  setClock(NOW)
  return { graph, setClock }
}

async function run (query: string, graph: MemoryGraph, now = NOW, extra: Partial<GremlinDeps> = {}): Promise<any> {
  return await runGremlin(query, { graph, flows: buildFlows(), now: () => now, ...extra })
}

test('an interface deleted at T appears at T-1s and not at T+1s', async () => {
  const { graph } = historyGraph()
  assert.deepEqual(ids(await run(`G.At(${T3 - 1000}).V().Has("Name", "x")`, graph)), ['x'])
  assert.deepEqual(ids(await run(`G.At(${T3 + 1000}).V().Has("Name", "x")`, graph)), [])
  assert.deepEqual(ids(await run('G.V().Has("Name", "x")', graph)), [])
})

test('point in time gives the revision alive then', async () => {
  const { graph } = historyGraph()
  await assert.rejects(run(`G.At(${T1 - 1000}).V("x")`, graph), /Node 'x' does not exist/)
  const [v1] = await run(`G.At(${T1 + 1000}).V("x")`, graph)
  assert.equal(v1.Metadata.State, 'DOWN')
  assert.equal(v1.Revision, 1)
  const [v2] = await run(`G.At(${T2}).V("x")`, graph)
  assert.equal(v2.Metadata.State, 'UP')
  assert.equal(v2.Revision, 2)
  assert.equal(v2.UpdatedAt, T2)
  assert.equal(v2.CreatedAt, T1)
  assert.equal(v2.DeletedAt, T3, 'the archived revision tells when it was deleted')
  assert.deepEqual(ids(await run(`G.At(${T2 + 1000}).V("host1").Out("Type", "dummy")`, graph)), ['x'])
  assert.deepEqual(ids(await run(`G.At(${T2 + 1000}).E("host1->x")`, graph)), ['host1->x'])
  assert.deepEqual(await run(`G.At(${T3 + 1}).E().Has("Child", "x")`, graph), [])
})

test('all the argument forms of At resolve against the query clock', async () => {
  const { graph } = historyGraph()
  const now = T2 + 60_000
  assert.deepEqual(ids(await run('G.At("-30s").V().Has("State", "UP", "Name", "x")', graph, now)), ['x'])
  assert.deepEqual(ids(await run('G.At("-1m30s").V().Has("Name", "x")', graph, now).then((r) => r)), ['x'])
  assert.equal((await run('G.At("-1m30s").V("x")', graph, now))[0].Metadata.State, 'DOWN')
  assert.equal((await run(`G.At(${Math.floor((T2 + 1000) / 1000)}).V("x")`, graph))[0].Metadata.State, 'UP', 'epoch seconds')
  assert.equal((await run(`G.At("${new Date(T1 + 1000).toUTCString()}").V("x")`, graph))[0].Metadata.State, 'DOWN', 'RFC1123')
  assert.equal((await run(`G.At("${new Date(T2 + 1000).toISOString()}").V("x")`, graph))[0].Metadata.State, 'UP', 'RFC3339')
  assert.equal((await run('G.At(NOW).V("x")', graph, T2 + 1)).length, 1)
  assert.equal((await run('G.At("now").V("x")', graph, T1 + 1))[0].Metadata.State, 'DOWN')
  assert.deepEqual(await run('G.At("-1m").V().Limit(1).Count()', graph), 1, 'the WebUI history probe')
})

test('a window gives every revision alive in it (several per ID)', async () => {
  const { graph } = historyGraph()
  const revisions = await run(`G.At(${T3 + 1000}, "10m").V().Has("Name", "x")`, graph)
  assert.deepEqual(revisions.map((n: { Revision: number }) => n.Revision), [1, 2])
  assert.deepEqual(await run(`G.At(${T3 + 1000}, "10m").V().Has("Name", "x").Dedup().Values("State")`, graph), ['DOWN'])
  assert.equal((await run(`G.Context(${T2 + 10_000}, 5).V().Has("Name", "x")`, graph)).length, 1, 'int duration = seconds')
  assert.equal((await run(`G.At(${T2 + 500}, "1s").V().Has("Name", "x")`, graph)).length, 2, 'both revisions overlap the window')
  assert.equal((await run('G.At(NOW, FOREVER).V("x")', graph)).length, 1, 'V(id) gives the latest revision')
  assert.equal((await run('G.At(NOW, FOREVER).V().Has("@ID", "x").Count()', graph)), 2)
  assert.equal((await run(`G.At(${T3 + 1000}, "10m").E().Has("Child", "x").Count()`, graph)), 1)
  const sub = await run(`G.At(${T3 + 1000}, "10m")`, graph)
  assert.equal(sub[0].Nodes.filter((n: { ID: string }) => n.ID === 'x').length, 2)
})

test('a backend without history rejects a time context with Skydive\'s message', async () => {
  const graph = buildGraph({ historyWindowMs: 0 })
  assert.equal(graph.historySupported, false)
  await assert.rejects(run('G.At("-1m").V()', graph), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_GREMLIN_EVAL' && err.message === 'Backend does not support history')
  assert.equal(await run('G.V().Count()', graph), 11)
})

test('history is bounded by the window and by a revision cap', async () => {
  const { graph, setClock } = historyGraph({ historyWindowMs: 600_000 })
  // at T3 + 5 min, x's revisions are still kept
  setClock(T3 + 300_000)
  assert.equal((await run(`G.At(${T2 + 1}).V().Has("Name", "x")`, graph)).length, 1)
  // later than the window after its deletion, x has no history left
  setClock(T3 + 700_000)
  graph.addNode({ ID: 'tick', Metadata: {} })
  assert.equal((await run(`G.At(${T2 + 1}).V().Has("Name", "x")`, graph)).length, 0)
  assert.equal((await run(`G.At(${T2 + 1}).V("host1").Count()`, graph)), 1, 'revisions still current are kept')

  let clock = T0
  const capped = new MemoryGraph({ now: () => clock, maxHistoryRevisions: 3 })
  capped.addNode({ ID: 'n', Metadata: { v: 0 }, CreatedAt: T0 })
  for (let i = 1; i <= 10; i++) {
    clock = T0 + i * 1000
    capped.updateNode({ ID: 'n', Metadata: { v: i } })
  }
  const kept = capped.snapshot({ at: clock, duration: 3_600_000 }).nodes()
  assert.deepEqual(kept.map((n) => n.Metadata.v), [7, 8, 9, 10])
})

test('flows with a time context: active within flow.expire before the point, or in the window', async () => {
  const graph = buildGraph()
  const uuids = (r: Array<{ UUID: string }>): string[] => r.map((f) => f.UUID)
  assert.deepEqual(uuids(await run(`G.At(${T0 + 700_000}).Flows()`, graph)), ['f-old'])
  assert.deepEqual(uuids(await run(`G.At(${NOW}).Flows()`, graph)), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-icmp'])
  assert.deepEqual(uuids(await run(`G.At(${NOW}).Flows()`, graph, NOW, { flowExpireMs: 60_000 })), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-icmp'])
  assert.deepEqual(uuids(await run(`G.At(${NOW - 50_000}).Flows()`, graph, NOW, { flowExpireMs: 0 })), ['f-tcp-ns1', 'f-tcp-veth1', 'f-icmp'])
  assert.deepEqual(uuids(await run('G.Context("-10m", 60).Flows().Has("Transport", NE(""))', graph, T0 + 1_600_000, { flowExpireMs: 0 })), [])
  assert.deepEqual(uuids(await run('G.Context("-10m", 600).Flows().Has("Transport", NE(""))', graph, T0 + 1_600_000, { flowExpireMs: 0 })), ['f-old'])
  const sockets = await run('G.Context("-1m", 60).Flows().Has("Transport", NE("")).Sockets()', graph)
  assert.deepEqual(Object.keys(sockets[0]), ['f-tcp-ns1', 'f-tcp-veth1'], 'f-dns started after the point')
})

test('Flows().Metrics() with a time context reads stored windows', async () => {
  const graph = buildGraph()
  const flows = buildFlows()
  const old = (await flows.query({}, { now: NOW })).find((f) => f.UUID === 'f-old')
  assert.ok(old?.LastUpdateMetric !== undefined)
  // a second update window of f-old
  flows.upsert({ ...old, Last: T0 + 960_000, LastUpdateMetric: { ...old.LastUpdateMetric, Start: T0 + 900_000, Last: T0 + 960_000 } })
  const all = await runGremlin(`G.At(${T0 + 1_000_000}, "5m").Flows().Has("UUID", "f-old").Metrics()`, { graph, flows, now: () => NOW }) as Array<Record<string, unknown[]>>
  assert.equal(all[0]?.['f-old']?.length, 2)
  const first = await runGremlin(`G.At(${T0 + 930_000}).Flows().Has("UUID", "f-old").Metrics()`, { graph, flows, now: () => NOW }) as Array<Record<string, unknown[]>>
  assert.equal(first[0]?.['f-old']?.length, 1, 'a point in time: every window up to it')
  const none = await runGremlin(`G.At(${T0 + 2_000_000}, "1m").Flows().Has("UUID", "f-old").Metrics()`, { graph, flows, now: () => NOW })
  assert.deepEqual(none, [])
})

test('node metrics with a window keep the windows inside it', async () => {
  const graph = buildGraph()
  assert.equal((await run(`G.At(${NOW}, "1h").V().Metrics()`, graph)).length, 1)
  assert.deepEqual(await run(`G.At(${NOW}, "10s").V().Metrics()`, graph), [])
})

test('MemoryGraph: add/update/upsert/delete, errors, edges with missing nodes, re-linking', () => {
  let clock = T0
  const graph = new MemoryGraph({ now: () => clock })
  const a = graph.addNode({ ID: 'a', Metadata: { Name: 'a' } })
  assert.deepEqual(a, { ID: 'a', Metadata: { Name: 'a' }, Host: '', Origin: '', CreatedAt: T0, UpdatedAt: T0, Revision: 1 })
  assert.throws(() => graph.addNode({ ID: 'a' }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_CONFLICT')
  assert.throws(() => graph.updateNode({ ID: 'zz' }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_NOT_FOUND')
  assert.throws(() => graph.addNode({ ID: '' }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST')
  assert.throws(() => graph.addEdge({ ID: 'e', Parent: 'a', Child: '' }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST')
  clock += 10
  assert.equal(graph.upsertNode({ ID: 'a', Metadata: { Name: 'a2' } }).Revision, 2)
  assert.equal(graph.upsertNode({ ID: 'b', Metadata: { Name: 'b' } }).Revision, 1)
  // an edge may arrive before its child
  graph.addEdge({ ID: 'a->c', Parent: 'a', Child: 'c', Metadata: { RelationType: 'ownership' } })
  const live = graph.snapshot()
  assert.deepEqual(live.nodeEdges('a').map((e) => e.ID), ['a->c'])
  graph.addNode({ ID: 'c', Metadata: { Name: 'c' } })
  assert.deepEqual(graph.snapshot().nodeEdges('c').map((e) => e.ID), ['a->c'])
  // moving an edge updates adjacency
  graph.updateEdge({ ID: 'a->c', Parent: 'b' })
  assert.deepEqual(graph.snapshot().nodeEdges('a'), [])
  assert.deepEqual(graph.snapshot().nodeEdges('b').map((e) => e.Revision), [2])
  assert.equal(graph.upsertEdge({ ID: 'a->c', Parent: 'a', Child: 'c' }).Parent, 'a')
  // deleting a node deletes its edges
  assert.equal(graph.deleteNode('c'), true)
  assert.equal(graph.edgeCount, 0)
  assert.equal(graph.deleteNode('c'), false)
  assert.equal(graph.deleteEdge('nope'), false)
  assert.equal(graph.nodeCount, 2)
  // stored metadata is a copy
  const meta = { Name: 'd', Tags: ['x'] }
  graph.addNode({ ID: 'd', Metadata: meta })
  meta.Tags.push('y')
  assert.deepEqual(graph.getNode('d')?.Metadata.Tags, ['x'])
})

test('out-of-order timestamps never make a revision end before it starts', () => {
  let clock = T0 + 10_000
  const graph = new MemoryGraph({ now: () => clock })
  graph.addNode({ ID: 'n', Metadata: { v: 1 }, CreatedAt: T0 + 10_000 })
  graph.updateNode({ ID: 'n', Metadata: { v: 2 }, UpdatedAt: T0 + 5_000 })
  clock = T0 + 20_000
  assert.deepEqual(graph.snapshot({ at: T0 + 10_000 }).nodes().map((n) => n.Metadata.v), [2])
  assert.deepEqual(graph.snapshot({ at: T0 + 9_000 }).nodes(), [])
  graph.deleteNode('n', T0)
  assert.deepEqual(graph.snapshot({ at: T0 + 10_000 }).nodes(), [])
  graph.addNode({ ID: 'n', Metadata: { v: 3 }, CreatedAt: T0 + 1 })
  assert.deepEqual(graph.snapshot({ at: T0 + 10_000 }).nodes().map((n) => n.Metadata.v), [3])
})
