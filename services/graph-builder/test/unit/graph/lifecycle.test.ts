import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseFabric } from '../../../src/fabric/parser.ts'
import type { ChangeRecord } from '../../../src/graph/store.ts'
import type { EdgeInput, TopologyEvent } from '../../../src/types.ts'
import { applyAll, byName, inputsOf, loadStream, newEngine, summary, T0 } from '../helpers.ts'

const edgeEvent = (id: string, parent: string, child: string, time: number): TopologyEvent => ({
  Kind: 'EdgeUpdated', Host: 'h1', Origin: 'agent.h1', Time: time,
  Edge: { ID: id, Parent: parent, Child: child, Metadata: { RelationType: 'layer2' } } as EdgeInput
})

test('an edge waits for its ends, then appears', () => {
  const engine = newEngine()
  assert.deepEqual(engine.apply({ kind: 'topology', event: edgeEvent('e1', 'a', 'b', T0) }), [])
  assert.equal(engine.pendingEdges, 1)
  engine.apply({ kind: 'topology', event: { Kind: 'NodeUpdated', Host: 'h1', Origin: 'agent.h1', Time: T0 + 1, Node: { ID: 'a', Metadata: { Type: 'device', Name: 'a' } } } })
  assert.equal(engine.pendingEdges, 1)
  const records = engine.apply({ kind: 'topology', event: { Kind: 'NodeUpdated', Host: 'h2', Origin: 'agent.h2', Time: T0 + 2, Node: { ID: 'b', Metadata: { Type: 'device', Name: 'b' } } } })
  assert.deepEqual(records.map((r) => `${r.change.ElementType} ${r.change.Op}`), ['node upsert', 'edge upsert'])
  assert.equal(engine.pendingEdges, 0)
  assert.equal(engine.store.getEdge('e1')?.Revision, 1)
})

test('pending edges are bounded: past the bound the oldest are dropped and counted', () => {
  const engine = newEngine({ pendingMax: 3 })
  for (let i = 0; i < 5; i++) engine.apply({ kind: 'topology', event: edgeEvent(`e${i}`, `p${i}`, `c${i}`, T0 + i) })
  assert.equal(engine.pendingEdges, 3)
  assert.equal(engine.stats.pendingDropped.bound, 2)
  // e0 and e1 were dropped: their ends appearing links nothing; e4's do.
  for (const id of ['p0', 'c0', 'p4', 'c4']) {
    engine.apply({ kind: 'topology', event: { Kind: 'NodeUpdated', Host: 'h1', Origin: 'agent.h1', Time: T0 + 10, Node: { ID: id, Metadata: { Name: id } } } })
  }
  assert.equal(engine.store.getEdge('e0'), undefined)
  assert.ok(engine.store.getEdge('e4') !== undefined)
})

test('pending edges expire after their maximum age', () => {
  const engine = newEngine({ pendingMaxAgeMs: 5_000, hostTimeoutMs: 3_600_000 })
  engine.apply({ kind: 'topology', event: edgeEvent('old', 'x', 'y', T0) })
  engine.apply({ kind: 'topology', event: edgeEvent('young', 'x', 'z', T0 + 4_000) })
  engine.tick(T0 + 6_000)
  assert.equal(engine.pendingEdges, 1)
  assert.equal(engine.stats.pendingDropped.age, 1)
})

test('an edge deleted while waiting never appears', () => {
  const engine = newEngine()
  engine.apply({ kind: 'topology', event: edgeEvent('e1', 'a', 'b', T0) })
  engine.apply({ kind: 'topology', event: { ...edgeEvent('e1', 'a', 'b', T0 + 1), Kind: 'EdgeDeleted' } })
  assert.equal(engine.pendingEdges, 0)
})

test('a host silent past host_timeout has its nodes deleted; the others stay', () => {
  const engine = newEngine({ hostTimeoutMs: 60_000, fabric: parseFabric(['SW -> *[Type=host,Name=compute-1]/eth0']) })
  engine.start(T0)
  const inputs = inputsOf(loadStream('two-hosts.events.json'))
  applyAll(engine, inputs)
  // compute-2 was last heard at T0+2, compute-1 at T0+5000 (capture status is not the agent speaking; sockets are)
  assert.deepEqual(engine.tick(T0 + 60_002), [], 'not yet: exactly the timeout is still alive')
  const records = engine.tick(T0 + 60_003)
  const deletedNodes = records.filter((r) => r.change.ElementType === 'node').map((r) => `${r.change.Op} ${String(r.change.Node?.Host)}`)
  assert.deepEqual(new Set(deletedNodes), new Set(['delete compute-2']))
  assert.equal(deletedNodes.length, 6)
  assert.ok(records.every((r) => r.change.Op === 'delete' && (r.change.Node ?? r.change.Edge)?.DeletedAt === T0 + 60_003))
  assert.ok(!summary(engine.store).nodes.some((n) => n.startsWith('compute-2/')))
  assert.ok(summary(engine.store).nodes.includes('compute-1/host:compute-1'))
  assert.ok(summary(engine.store).nodes.includes('device:SW'), 'fabric nodes belong to no host')
  assert.ok(!engine.hostLastSeen.has('compute-2'))
  // compute-1 goes silent too; the fabric's wildcard link goes with its interface.
  engine.tick(T0 + 64_001)
  assert.deepEqual(summary(engine.store), { nodes: ['device:SW'], edges: [] })
})

test('a host that comes back after its timeout is rebuilt from its next sync, revisions starting again', () => {
  const engine = newEngine({ hostTimeoutMs: 60_000 })
  const inputs = inputsOf(loadStream('two-hosts.events.json'))
  applyAll(engine, inputs)
  const h2 = byName(engine.store, 'compute-2', 'compute-2', 'host')
  engine.tick(T0 + 100_000)
  const sync = structuredClone(inputs[1])
  if (sync?.kind !== 'topology') throw new Error('fixture changed')
  sync.event.Time = T0 + 200_000
  applyAll(engine, [sync])
  const back = engine.store.getNode(h2.ID)
  assert.equal(back?.Revision, 1)
  assert.equal(back?.CreatedAt, T0, 'the agent\'s CreatedAt')
})

/** Feeds the published changes back, as the compacted topic would on restart (latest per key). */
function compacted (records: ChangeRecord[]): ChangeRecord['change'][] {
  const latest = new Map<string, ChangeRecord['change']>()
  for (const { change } of records) {
    const id = (change.Node ?? change.Edge)?.ID as string
    latest.delete(id)
    latest.set(id, change)
  }
  return [...latest.values()]
}

test('restart: the graph recovered from the changes topic goes on with no lost or duplicate revisions', () => {
  const fabric = parseFabric(['TOR1 -> P1', 'P1 --> *[Type=host,Name=compute-1]/eth0'])
  const inputs = [...inputsOf(loadStream('two-hosts.events.json')), ...inputsOf(loadStream('k8s-cluster.events.json'))]
  const rule = { kind: 'resource' as const, resource: { ResourceType: 'noderule' as const, UUID: 'r1', Resource: { Action: 'update', Query: "G.V().Has('Type', 'bridge')", Metadata: { Color: 'blue' } }, Deleted: false, Time: T0 + 20_000 } }
  const cut = 6

  // The reference: one engine that never stops.
  const reference = newEngine({ fabric })
  const all: ChangeRecord[] = [...reference.start(T0), ...reference.apply(rule)]
  all.push(...applyAll(reference, inputs))

  // Another engine stops after `cut` inputs; a new one recovers from its published changes and goes on.
  const first = newEngine({ fabric })
  const published: ChangeRecord[] = [...first.start(T0), ...first.apply(rule), ...applyAll(first, inputs.slice(0, cut))]
  const second = newEngine({ fabric })
  for (const change of compacted(published)) second.restore(change)
  assert.deepEqual(second.finishRestore(T0 + 30_000), [], 'recovering changes nothing')
  assert.deepEqual(second.apply(rule), [], 'replaying the rules (the resources topic is read whole) changes nothing')
  assert.deepEqual(second.installFabric(T0 + 30_000), [], 'reinstalling the fabric changes nothing')
  // At-least-once: the last input before the stop is delivered again.
  const resumed = applyAll(second, inputs.slice(cut - 1))
  published.push(...resumed)

  assert.deepEqual(summary(second.store), summary(reference.store))
  assert.deepEqual([...second.store.nodes()].sort(byId), [...reference.store.nodes()].sort(byId), 'same revisions, times and metadata')
  assert.deepEqual([...second.store.edges()].sort(byId), [...reference.store.edges()].sort(byId))
  // No (ID, CreatedAt, Revision) published twice with different content, and none skipped.
  const seen = new Map<string, string>()
  for (const { change } of published) {
    const el = change.Node ?? change.Edge
    if (el === undefined || el === null) continue
    const key = `${el.ID}/${el.CreatedAt}/${el.Revision}/${change.Op}`
    assert.ok(!seen.has(key), `revision published twice: ${key}`)
    seen.set(key, JSON.stringify(el))
  }
  const byElement = new Map<string, number[]>()
  for (const { change } of published) {
    const el = change.Node ?? change.Edge
    if (el === undefined || el === null || change.Op === 'delete') continue
    byElement.set(`${el.ID}/${el.CreatedAt}`, [...(byElement.get(`${el.ID}/${el.CreatedAt}`) ?? []), el.Revision])
  }
  for (const [id, revisions] of byElement) assert.deepEqual(revisions, revisions.map((_, i) => i + 1), `revisions of ${id}`)
  assert.equal(byName(second.store, 'compute-1', 'br0').Metadata.Color, 'blue')
})

test('restart with the fabric commented out removes the fabric, as in Skydive', () => {
  const first = newEngine({ fabric: parseFabric(['TOR1 -> P1', 'P1 --> *[Type=host,Name=compute-1]/eth0']) })
  const published = [...first.start(T0), ...applyAll(first, inputsOf(loadStream('two-hosts.events.json')))]
  const second = newEngine()
  for (const change of compacted(published)) second.restore(change)
  const records = [...second.finishRestore(T0 + 1000), ...second.installFabric(T0 + 1000)]
  assert.deepEqual(records.map((r) => `${r.change.ElementType} ${r.change.Op}`).sort(), ['edge delete', 'edge delete', 'edge delete', 'node delete', 'node delete'])
  assert.ok(!summary(second.store).nodes.some((n) => n.startsWith('device:')))
})

function byId (a: { ID: string }, b: { ID: string }): number {
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0
}
