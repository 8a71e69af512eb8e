import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  MemoryGraph, defaultIndexedKeys, elementJson, elementReader, evalFilter, evaluateGremlin, evaluateGremlinText, parseGremlin,
  runGremlin
} from '../../src/index.ts'
import type { GraphNode, GremlinDeps } from '../../src/index.ts'
import { seededRandom } from '@topoflow/testing/seeded-random'
import { NOW, buildFlows, buildGraph, ids } from './fixture.ts'

/** What `Has(key, value)` keeps, by scanning every node: the answer the index must give. */
function scan (graph: MemoryGraph, key: string, value: string): string[] {
  return graph.snapshot().nodes().filter((n) => evalFilter({ op: 'term', key, value }, elementReader(n))).map((n) => n.ID)
}

function indexed (graph: MemoryGraph, key: string, value: string): string[] | undefined {
  return graph.nodesWithValue(key, value)?.map((n) => n.ID)
}

/** A query's JSON, or its error's code and message, so that failures compare too. */
async function outcome (query: string, deps: GremlinDeps): Promise<unknown> {
  try {
    return await runGremlin(query, deps)
  } catch (err) {
    const e = err as { code?: string, message: string }
    return { error: e.code, message: e.message }
  }
}

const queries = [
  "G.V().Has('Type', 'host')",
  "G.V().Has('Type', 'veth')",
  "G.V().Has('Metadata.Type', 'veth')",
  "G.V().Has('Name', 'eth0')",
  "G.V().Has('Name', 'eth0', 'Type', 'device')",
  "G.V().Has('Type', 'device', 'Name', 'eth0')",
  "G.V().Has('Type', 'veth', 'MTU', GT(1000))",
  "G.V().Has('Type', 'veth', 'State', NE('UP'))",
  "G.V().Has('Type', NE('host'))",
  "G.V().Has('Type', WITHIN('host', 'netns'))",
  "G.V().Has('Type', WITHOUT('host', 'netns'))",
  "G.V().Has('Name', REGEX('eth.*'))",
  "G.V().Has('Name', REGEX('eth.*'), 'Type', 'veth')",
  "G.V().Has('MAC', '02:00:00:00:00:01')",
  "G.V().Has('@Host', 'host2')",
  "G.V().Has('@Host', 'host1', 'Type', 'veth')",
  "G.V().Has('TID', 'tid-br0').Out()",
  "G.V().Has('TID', 'tid-br0').In()",
  "G.V().Has('Type', 'nope')",
  "G.V().Has('Type', 'host', 'Name', 'nope')",
  "G.V().Has('Type', 'veth').Count()",
  "G.V().Has('Type', 'host').Has('Name', 'host2')",
  "G.V().Has('Type', 'host').Values('Name')",
  "G.V().Has('Type', 'host').Out().Has('Type', 'netns')",
  "G.V().Has('Type', 'veth').Flows()",
  "G.V().Has('IPV4', '10.0.0.1/24')",
  "G.V().Has('IPV4', IPV4RANGE('10.0.0.0/24'))",
  "G.V().Has('Type', 5)",
  "G.V().Has('Type', true)",
  "G.V().Has('Type')",
  "G.V().HasKey('MAC')",
  "G.V().HasNot('MAC')",
  "G.V().HasEither('Type', 'host', 'Name', 'br0')",
  "G.V('Type', 'veth')",
  "G.V('Type', 'veth', 'State', 'UP')",
  "G.V('Type', 'veth', 'State', 'UP').Has('Name', 'veth1')",
  "G.V().Has('Type', 'host', 'Name')",
  "G.V().Has('Type', 'host', 5, 'x')",
  "G.At('-30m').V().Has('Type', 'host')",
  "G.E().Has('RelationType', 'layer2')",
  "G.V().Has('Type', 'host').SubGraph()",
  'G.V().Has("Name", "eth0").Dedup("Type")'
]

test('every V().Has() and V(filter) query answers the same with and without the index, errors included', async () => {
  const flows = buildFlows()
  for (const query of queries) {
    const withIndex = await outcome(query, { graph: buildGraph(), flows, now: () => NOW })
    const without = await outcome(query, { graph: buildGraph({ indexedKeys: [] }), flows, now: () => NOW })
    assert.deepEqual(withIndex, without, query)
  }
  // the list is not vacuous: the index answers some, and its answers are not all empty
  const graph = buildGraph()
  assert.deepEqual(ids(await runGremlin("G.V().Has('Type', 'veth')", { graph, now: () => NOW })), ['ns1-eth0', 'veth1', 'ns2-eth0'])
  assert.deepEqual(ids(await runGremlin("G.V().Has('Name', 'eth0', 'Type', 'device')", { graph, now: () => NOW })), ['h1-eth0', 'h2-eth0'])
})

test('the default index covers Type, Name, TID, MAC and @Host; other keys answer undefined (scan)', () => {
  const graph = buildGraph()
  assert.deepEqual(defaultIndexedKeys, ['Type', 'Name', 'TID', 'MAC', '@Host'])
  assert.deepEqual(indexed(graph, 'Type', 'host'), ['host1', 'host2'])
  assert.deepEqual(indexed(graph, 'Metadata.Type', 'netns'), ['ns1', 'ns2'])
  assert.deepEqual(indexed(graph, 'Name', 'eth0'), ['ns1-eth0', 'h1-eth0', 'ns2-eth0', 'h2-eth0'])
  assert.deepEqual(indexed(graph, 'TID', 'tid-veth1'), ['veth1'])
  assert.deepEqual(indexed(graph, 'MAC', '02:00:00:00:00:04'), ['br0'])
  assert.deepEqual(indexed(graph, '@Host', 'host2'), ['host2', 'h2-eth0'])
  assert.deepEqual(indexed(graph, 'Type', 'absent'), [])
  assert.equal(indexed(graph, 'State', 'UP'), undefined)
  assert.equal(indexed(graph, '@ID', 'host1'), undefined)
  assert.equal(buildGraph({ indexedKeys: [] }).nodesWithValue('Type', 'host'), undefined)
  // a graph may index other keys, nested ones included
  const custom = buildGraph({ indexedKeys: ['State', 'Captures.State'] })
  assert.deepEqual(indexed(custom, 'State', 'DOWN'), ['ns2-eth0'])
  assert.deepEqual(indexed(custom, 'Captures.State', 'active'), ['ns1-eth0'])
  assert.equal(indexed(custom, 'Type', 'host'), undefined)
})

test('the index holds what a term filter matches: strings in arrays, not numbers or booleans', () => {
  const graph = new MemoryGraph({ historyWindowMs: 0, indexedKeys: ['Type', 'Name', 'MAC'] })
  graph.addNode({ ID: 'a', Metadata: { Type: ['host', 'router'], Name: 5, MAC: [['02:00:00:00:00:01'], { x: 'y' }] } })
  graph.addNode({ ID: 'b', Metadata: { Type: 'host', Name: '5', MAC: true } })
  graph.addNode({ ID: 'c', Metadata: { Type: null, Name: { First: 'x' } } })
  graph.addNode({ ID: 'd', Metadata: { Type: ['host', 'host'] } })
  for (const [key, value] of [['Type', 'host'], ['Type', 'router'], ['Name', '5'], ['MAC', '02:00:00:00:00:01'], ['MAC', 'true'], ['Name', 'x']] as const) {
    assert.deepEqual(indexed(graph, key, value), scan(graph, key, value), `${key}=${value}`)
  }
  assert.deepEqual(indexed(graph, 'Type', 'host'), ['a', 'b', 'd'])
  graph.deleteNode('d')
  assert.deepEqual(indexed(graph, 'Type', 'host'), ['a', 'b'])
})

test('adds, updates, upserts, deletes and re-adds keep the index equal to a scan, in graph order', () => {
  // seeded, so that a failure replays the same operations
  const random = seededRandom(11)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const types = ['host', 'veth', 'bridge', 'netns']
  const names = ['eth0', 'eth1', 'lo', 'br0']
  const hosts = ['h1', 'h2', 'h3']
  const metadata = (): Record<string, unknown> => {
    const m: Record<string, unknown> = { Type: pick(types), Name: pick(names), MTU: 1500 }
    if (random() < 0.3) m.Type = [pick(types), pick(types)]
    if (random() < 0.2) delete m.Name
    if (random() < 0.5) m.MAC = random() < 0.5 ? pick(names) : [pick(names), [pick(names)]]
    return m
  }
  let clock = 1_000
  const graph = new MemoryGraph({ now: () => clock, historyWindowMs: 60_000 })
  const ids = Array.from({ length: 40 }, (_, i) => `n${i}`)
  const check = (step: number): void => {
    for (const [key, values] of [['Type', types], ['Name', names], ['MAC', names], ['@Host', hosts]] as const) {
      for (const value of values) assert.deepEqual(indexed(graph, key, value), scan(graph, key, value), `step ${step}: ${key}=${value}`)
    }
  }
  for (let step = 0; step < 1500; step++) {
    clock += 10
    const id = pick(ids)
    const r = random()
    if (graph.getNode(id) === undefined) {
      graph.addNode({ ID: id, Host: pick(hosts), Metadata: metadata() })
    } else if (r < 0.35) {
      graph.updateNode({ ID: id, Metadata: metadata() })
    } else if (r < 0.5) {
      graph.updateNode({ ID: id, Host: pick(hosts) }) // metadata kept, Host changes
    } else if (r < 0.65) {
      graph.upsertNode({ ID: id, Metadata: { ...graph.getNode(id)?.Metadata, MTU: step } }) // indexed values unchanged
    } else if (r < 0.8) {
      graph.deleteNode(id)
    } else {
      graph.addEdge({ ID: `e${step}`, Parent: id, Child: pick(ids), Metadata: { Type: pick(types) } })
    }
    if (step % 25 === 0) check(step)
  }
  check(1500)
  // and the answers of V().Has() match those of a graph without the index, in the same order
  const plain = new MemoryGraph({ historyWindowMs: 0, indexedKeys: [] })
  for (const n of graph.snapshot().nodes()) plain.addNode(n)
  for (const t of types) assert.deepEqual(indexed(graph, 'Type', t), scan(plain, 'Type', t))
})

test('a node whose indexed value changes and changes back keeps its place in graph order', () => {
  const graph = new MemoryGraph({ historyWindowMs: 0 })
  for (const id of ['a', 'b', 'c']) graph.addNode({ ID: id, Metadata: { Type: 'veth' } })
  graph.updateNode({ ID: 'a', Metadata: { Type: 'bridge' } })
  assert.deepEqual(indexed(graph, 'Type', 'veth'), ['b', 'c'])
  graph.updateNode({ ID: 'a', Metadata: { Type: 'veth' } })
  assert.deepEqual(indexed(graph, 'Type', 'veth'), ['a', 'b', 'c'])
  // a deleted and re-added node comes last, as in nodes()
  graph.deleteNode('b')
  graph.addNode({ ID: 'b', Metadata: { Type: 'veth' } })
  assert.deepEqual(indexed(graph, 'Type', 'veth'), ['a', 'c', 'b'])
  assert.deepEqual(graph.snapshot().nodes().map((n) => n.ID), ['a', 'c', 'b'])
  // the index hands out the current revision of each node
  graph.updateNode({ ID: 'c', Metadata: { Type: 'veth', MTU: 9000 } })
  assert.equal(graph.nodesWithValue('Type', 'veth')?.[1]?.Metadata.MTU, 9000)
})

test('the live nodes()/edges() arrays are shared until a change and never changed in place', () => {
  const graph = buildGraph()
  const live = graph.snapshot()
  const before = live.nodes()
  assert.equal(live.nodes(), before, 'no copy per read')
  const beforeIds = before.map((n) => n.ID)
  graph.deleteNode('host2')
  graph.addNode({ ID: 'x', Metadata: { Type: 'host' } })
  assert.deepEqual(before.map((n) => n.ID), beforeIds, 'an array handed out earlier stays as it was')
  assert.deepEqual(live.nodes().map((n) => n.ID), [...beforeIds.filter((id) => id !== 'host2'), 'x'])
  const edges = live.edges()
  graph.updateEdge({ ID: 'host1->ns1', Metadata: { RelationType: 'ownership', Note: 'x' } })
  assert.notEqual(live.edges(), edges)
  assert.equal(live.edges().find((e) => e.ID === 'host1->ns1')?.Metadata.Note, 'x')
  assert.equal(edges.find((e) => e.ID === 'host1->ns1')?.Metadata.Note, undefined)
  // deleting while walking an array from nodes() is safe (the topology writer does it)
  for (const n of graph.snapshot().nodes()) graph.deleteNode(n.ID)
  assert.equal(graph.nodeCount, 0)
  assert.deepEqual(graph.snapshot().nodes(), [])
  assert.deepEqual(indexed(graph, 'Type', 'host'), [])
})

test('evaluateGremlinText is byte for byte JSON.stringify of evaluateGremlin, before and after updates', async () => {
  const graph = buildGraph()
  const deps: GremlinDeps = { graph, flows: buildFlows(), now: () => NOW }
  const texts = [
    'G', "G.V().Has('Type', 'host')", "G.V('host1')", 'G.E()', "G.V().Has('Type', 'host').SubGraph()",
    'G.V("ns1-lo").ShortestPathTo(Metadata("Type", "bridge"))', "G.V().Has('Type', 'veth').Count()",
    "G.V().Values('Name')", "G.V().Has('Type', 'veth').Flows()", "G.V('h1-eth0').Metrics()",
    "G.V().Has('Type', 'host').Sockets()", "G.At('-30m').V().Has('Type', 'host')", "G.At('-30m')",
    "G.V().Has('Type', 'nope')", "G.V().Has('Type', 'nope').SubGraph()"
  ]
  const compare = async (): Promise<void> => {
    for (const query of texts) {
      const parsed = parseGremlin(query)
      assert.equal(await evaluateGremlinText(parsed, deps), JSON.stringify(await evaluateGremlin(parsed, deps)), query)
    }
  }
  await compare()
  graph.updateNode({ ID: 'host1', Metadata: { ...graph.getNode('host1')?.Metadata, Name: 'renamed' } })
  graph.updateEdge({ ID: 'host1->ns1', Metadata: { RelationType: 'ownership', Weight: 2 } })
  await compare()
  const text = await evaluateGremlinText(parseGremlin("G.V('host1')"), deps)
  assert.equal(JSON.parse(text)[0].Metadata.Name, 'renamed', 'a new revision is serialized anew')
  assert.equal(text, JSON.stringify([elementJson(graph.getNode('host1') as GraphNode)]))
  // the result limit applies the same way
  const limited: GremlinDeps = { ...deps, limits: { maxResultItems: 2 } }
  const parsed = parseGremlin("G.V().Has('Name', 'eth0')")
  await assert.rejects(evaluateGremlinText(parsed, limited), /more than the limit of 2/)
  await assert.rejects(evaluateGremlin(parsed, limited), /more than the limit of 2/)
})
