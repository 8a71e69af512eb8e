import assert from 'node:assert/strict'
import { test } from 'node:test'
import { diffSnapshot, emptyGraph, hostSyncEvent } from '../../../src/topology/diff.ts'
import type { Snapshot } from '../../../src/topology/types.ts'

const ctx = (now: number): { host: string, origin: string, now: number } => ({ host: 'h1', origin: 'agent.h1', now })

function snap (nodes: Array<[string, Record<string, unknown>]>, edges: Array<[string, string, string, Record<string, unknown>]> = []): Snapshot {
  return {
    nodes: new Map(nodes.map(([id, m]) => [id, { ID: id, Metadata: m }])),
    edges: new Map(edges.map(([id, p, c, m]) => [id, { ID: id, Parent: p, Child: c, Metadata: m }]))
  }
}

test('first diff adds everything, nodes before edges, with times and revision 1', () => {
  const s = snap([['h', { Type: 'host' }], ['i', { Type: 'veth', Name: 'a' }]], [['e', 'h', 'i', { RelationType: 'ownership' }]])
  const { graph, events } = diffSnapshot(emptyGraph(), s, ctx(1000))
  assert.deepEqual(events.map(e => [e.Kind, e.Node?.ID ?? e.Edge?.ID]), [['NodeUpdated', 'h'], ['NodeUpdated', 'i'], ['EdgeUpdated', 'e']])
  assert.deepEqual(graph.nodes.get('i'), { ID: 'i', Metadata: { Type: 'veth', Name: 'a' }, Host: 'h1', Origin: 'agent.h1', CreatedAt: 1000, UpdatedAt: 1000, Revision: 1 })
  assert.deepEqual(graph.edges.get('e'), { ID: 'e', Parent: 'h', Child: 'i', Metadata: { RelationType: 'ownership' }, Host: 'h1', Origin: 'agent.h1', CreatedAt: 1000, UpdatedAt: 1000, Revision: 1 })
  for (const e of events) assert.deepEqual([e.Host, e.Origin, e.Time], ['h1', 'agent.h1', 1000])
})

test('unchanged elements produce nothing and keep their object; key order does not matter', () => {
  const first = diffSnapshot(emptyGraph(), snap([['i', { Name: 'a', MTU: 1500 }]]), ctx(1000))
  const again = diffSnapshot(first.graph, snap([['i', { MTU: 1500, Name: 'a' }]]), ctx(2000))
  assert.deepEqual(again.events, [])
  assert.equal(again.graph.nodes.get('i'), first.graph.nodes.get('i'))
})

test('a metadata change bumps the revision and UpdatedAt, keeps CreatedAt', () => {
  const first = diffSnapshot(emptyGraph(), snap([['i', { Name: 'a', IPV4: [] }]]), ctx(1000))
  const { events, graph } = diffSnapshot(first.graph, snap([['i', { Name: 'a', IPV4: ['10.0.0.1/24'] }]]), ctx(2000))
  assert.equal(events.length, 1)
  assert.equal(events[0]?.Kind, 'NodeUpdated')
  assert.deepEqual(graph.nodes.get('i'), { ID: 'i', Metadata: { Name: 'a', IPV4: ['10.0.0.1/24'] }, Host: 'h1', Origin: 'agent.h1', CreatedAt: 1000, UpdatedAt: 2000, Revision: 2 })
})

test('removals: edges before nodes, with DeletedAt, and gone from the next graph', () => {
  const s1 = snap([['h', {}], ['a', {}], ['b', {}]], [['ha', 'h', 'a', { RelationType: 'ownership' }], ['ab', 'a', 'b', { RelationType: 'layer2', Type: 'veth' }]])
  const first = diffSnapshot(emptyGraph(), s1, ctx(1000))
  const { events, graph } = diffSnapshot(first.graph, snap([['h', {}], ['b', {}]]), ctx(3000))
  assert.deepEqual(events.map(e => [e.Kind, e.Node?.ID ?? e.Edge?.ID, (e.Node ?? e.Edge)?.DeletedAt]), [
    ['EdgeDeleted', 'ha', 3000],
    ['EdgeDeleted', 'ab', 3000],
    ['NodeDeleted', 'a', 3000]
  ])
  assert.deepEqual([...graph.nodes.keys()], ['h', 'b'])
  assert.equal(graph.edges.size, 0)
})

test('an edge whose ends change is updated', () => {
  const first = diffSnapshot(emptyGraph(), snap([['a', {}], ['b', {}], ['c', {}]], [['e', 'a', 'b', { RelationType: 'layer2' }]]), ctx(1))
  const { events } = diffSnapshot(first.graph, snap([['a', {}], ['b', {}], ['c', {}]], [['e', 'a', 'c', { RelationType: 'layer2' }]]), ctx(2))
  assert.deepEqual(events.map(e => [e.Kind, e.Edge?.Child, e.Edge?.Revision]), [['EdgeUpdated', 'c', 2]])
})

test('host sync carries the whole graph', () => {
  const { graph } = diffSnapshot(emptyGraph(), snap([['h', {}], ['i', {}]], [['e', 'h', 'i', { RelationType: 'ownership' }]]), ctx(5))
  const sync = hostSyncEvent(graph, ctx(6))
  assert.equal(sync.Kind, 'HostSync')
  assert.equal(sync.Time, 6)
  assert.deepEqual(sync.Nodes?.map(n => n.ID), ['h', 'i'])
  assert.deepEqual(sync.Edges?.map(e => e.ID), ['e'])
})
