import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { NOW, T0, buildGraph, ids, q } from './fixture.ts'

async function evalErrorOf (query: string): Promise<TopoflowError> {
  try {
    await q(query)
  } catch (err) {
    assert.ok(TopoflowError.is(err), `expected a TopoflowError, got ${String(err)}`)
    return err
  }
  assert.fail(`expected ${query} to fail`)
}

test('G alone is a one-element array around the whole graph, sorted by CreatedAt', async () => {
  const result = await q('G')
  assert.ok(Array.isArray(result))
  assert.equal(result.length, 1)
  assert.equal(result[0].Nodes.length, 11)
  assert.equal(result[0].Edges.length, 12)
  assert.deepEqual(result[0].Nodes.map((n: { CreatedAt: number }) => n.CreatedAt), [...result[0].Nodes.map((n: { CreatedAt: number }) => n.CreatedAt)].sort((a, b) => a - b))
  assert.deepEqual(Object.keys(result[0]), ['Nodes', 'Edges'])
})

test('node JSON has exactly Skydive\'s keys, DeletedAt null; edges add Parent and Child', async () => {
  const [node] = await q('G.V("host1")')
  assert.deepEqual(Object.keys(node), ['ID', 'Metadata', 'Host', 'Origin', 'CreatedAt', 'UpdatedAt', 'DeletedAt', 'Revision'])
  assert.equal(node.DeletedAt, null)
  assert.equal(node.Origin, 'agent.host1')
  assert.equal(node.Revision, 1)
  const [edge] = await q('G.E("host1->ns1")')
  assert.deepEqual(Object.keys(edge), ['ID', 'Metadata', 'Host', 'Origin', 'CreatedAt', 'UpdatedAt', 'DeletedAt', 'Revision', 'Parent', 'Child'])
  assert.equal(edge.Parent, 'host1')
  assert.equal(edge.Child, 'ns1')
  assert.equal(edge.Metadata.RelationType, 'ownership')
})

test('V: all, by ID, by filter; missing ID is Skydive\'s error', async () => {
  assert.equal((await q('G.V()')).length, 11)
  assert.deepEqual(ids(await q('G.V("br0")')), ['br0'])
  assert.deepEqual(ids(await q('G.V("Type", "host")')), ['host1', 'host2'])
  const err = await evalErrorOf('G.V("nope")')
  assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_EVAL')
  assert.equal(err.message, 'Node \'nope\' does not exist')
  assert.equal(err.context.column, 3)
})

test('E: all, by ID, by filter; missing ID', async () => {
  assert.equal((await q('G.E()')).length, 12)
  assert.deepEqual(ids(await q('G.E("br0->veth1")')), ['br0->veth1'])
  assert.deepEqual(ids(await q('G.E("RelationType", "layer2")')), ['ns1-eth0->veth1', 'br0->veth1', 'h1-eth0->h2-eth0'])
  assert.equal((await evalErrorOf('G.E("nope")')).message, 'Edge \'nope\' does not exist')
})

test('Has: equality on strings, integers, booleans; AND of pairs; lone key = key exists', async () => {
  assert.deepEqual(ids(await q('G.V().Has("Type", "veth", "State", "UP")')), ['ns1-eth0', 'veth1'])
  assert.deepEqual(ids(await q('G.V().Has("MTU", 9000)')), ['h1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("MTU", "9000")')), [], 'a string never equals an integer field')
  assert.deepEqual(ids(await q('G.V().Has("Speed")')), ['h1-eth0'])
  assert.deepEqual(ids(await q('G.V().HasKey("Sockets")')), ['host1', 'host2'])
  const graph = buildGraph()
  graph.updateNode({ ID: 'br0', Metadata: { ...graph.getNode('br0')?.Metadata, Stp: true } })
  assert.deepEqual(ids(await q('G.V().Has("Stp", true)', { graph })), ['br0'])
  assert.deepEqual(ids(await q('G.V().Has("Stp", FALSE)', { graph })), [])
})

test('Has on special fields: @ID, @Host, @Origin, @CreatedAt, @Revision; Metadata. prefix', async () => {
  assert.deepEqual(ids(await q('G.V().Has("@ID", "ns2")')), ['ns2'])
  assert.deepEqual(ids(await q('G.V().Has("@Host", "host2")')), ['host2', 'h2-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("@Origin", "agent.host2", "Type", "device")')), ['h2-eth0'])
  assert.deepEqual(ids(await q(`G.V().Has("@CreatedAt", GTE(${T0 + 9000}))`)), ['host2', 'h2-eth0'])
  assert.equal((await q('G.V().Has("@Revision", 1)')).length, 11)
  assert.deepEqual(ids(await q('G.V().Has("Metadata.Type", "bridge")')), ['br0'])
  assert.deepEqual(ids(await q('G.E().Has("Parent", "host2")')), ['host2->h2-eth0'])
  assert.deepEqual(ids(await q('G.E().Has("Child", "veth1", "RelationType", "layer2")')), ['ns1-eth0->veth1', 'br0->veth1'])
})

test('Has on dotted keys through nested maps and arrays of maps', async () => {
  assert.deepEqual(ids(await q('G.V().Has("Captures.State", "active")')), ['ns1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("Sockets.LocalPort", 22)')), ['host1'])
  assert.deepEqual(ids(await q('G.V().Has("Sockets.Name", "nginx")')), ['host2'])
  assert.deepEqual(ids(await q('G.V().Has("LastUpdateMetric.RxBytes", GT(100))')), ['h1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("RoutingTables.Routes.Prefix", "10.9.0.0/16")')), ['h1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("Captures.Nope")')), [])
})

test('array metadata: a term matches any element (IPV4, LinkFlags)', async () => {
  assert.deepEqual(ids(await q('G.V().Has("IPV4", "10.0.0.1/24")')), ['ns1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("LinkFlags", "BROADCAST")')), ['ns1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("LinkFlags", NE("BROADCAST"))')), [])
})

test('predicates NE, NEE, LT, GT, LTE, GTE, INSIDE, BETWEEN, OUTSIDE, WITHIN, WITHOUT', async () => {
  const withMtu = ['ns1-eth0', 'ns1-lo', 'veth1', 'br0', 'h1-eth0', 'ns2-eth0', 'h2-eth0']
  assert.deepEqual(ids(await q('G.V().Has("MTU", NE(1500))')), ['ns1-lo', 'h1-eth0'], 'NE needs the key')
  assert.deepEqual(ids(await q('G.V().Has("MTU", NEE(1500))')), ['host1', 'ns1', 'ns1-lo', 'h1-eth0', 'ns2', 'host2'], 'NEE also matches missing keys')
  assert.deepEqual(ids(await q('G.V().Has("Type", NE("veth"))')).length, 8)
  assert.deepEqual(ids(await q('G.V().Has("MTU", LT(1500))')), [])
  assert.deepEqual(ids(await q('G.V().Has("MTU", LTE(1500))')), withMtu.filter((id) => id !== 'ns1-lo' && id !== 'h1-eth0'))
  assert.deepEqual(ids(await q('G.V().Has("MTU", GT(1500))')), ['ns1-lo', 'h1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("MTU", GTE(9000))')), ['ns1-lo', 'h1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("IfIndex", INSIDE(1, 3))')), ['ns1-eth0', 'ns2-eth0', 'h2-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("IfIndex", BETWEEN(1, 3))')), ['ns1-eth0', 'ns1-lo', 'ns2-eth0', 'h2-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("IfIndex", OUTSIDE(2, 5))')), ['ns1-lo', 'veth1'])
  assert.deepEqual(ids(await q('G.V().Has("Type", WITHIN("bridge", "netns"))')), ['ns1', 'br0', 'ns2'])
  assert.deepEqual(ids(await q('G.V().Has("IfIndex", WITHIN(5, 7))')), ['veth1', 'br0'])
  assert.deepEqual(ids(await q('G.V().Has("Type", WITHOUT("veth", "device", "host"))')), ['ns1', 'br0', 'ns2'])
  assert.deepEqual(ids(await q('G.V().Has("MTU", GT("9000"))')), ['ns1-lo'], 'numeric strings are cast like Skydive')
})

test('REGEX is anchored; alternatives are whole-value; (?i) flag', async () => {
  assert.deepEqual(ids(await q('G.V().Has("Name", REGEX("eth"))')), [])
  assert.deepEqual(ids(await q('G.V().Has("Name", REGEX("eth.*"))')), ['ns1-eth0', 'h1-eth0', 'ns2-eth0', 'h2-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("Name", Regex("lo|br0"))')), ['ns1-lo', 'br0'])
  assert.deepEqual(ids(await q('G.V().Has("Name", REGEX("(?i)HOST[0-9]"))')), ['host1', 'host2'])
  assert.deepEqual(ids(await q('G.V().Has("IPV4", REGEX("10\\.0\\.0\\.[0-9]+/24"))')), ['ns1-eth0', 'ns2-eth0'])
})

test('IPV4RANGE matches addresses with or without prefix length, in arrays', async () => {
  assert.deepEqual(ids(await q('G.V().Has("IPV4", IPV4Range("10.0.0.0/8"))')), ['ns1-eth0', 'ns2-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("IPV4", IPV4RANGE("10.0.0.2/32"))')), ['ns2-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("IPV4", IPV4Range("172.16.0.0/12"))')), ['h1-eth0', 'h2-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("Sockets.LocalAddress", IPV4Range("10.0.0.0/24"))')), ['host1', 'host2'])
  assert.deepEqual(ids(await q('G.V().Has("Sockets.LocalAddress", IPV4Range("10.0.0.2/32"))')), ['host2'])
  assert.deepEqual(ids(await q('G.V().Has("IPV6", IPV4Range("0.0.0.0/0"))')), [], 'IPv6 is not IPv4')
  assert.deepEqual(ids(await q('G.V().Has("IPV4", IPV4Range("0.0.0.0/0"))')).length, 6)
})

test('HasEither is an OR; HasNot is key absent', async () => {
  assert.deepEqual(ids(await q('G.V().HasEither("Type", "bridge", "Name", "lo")')), ['ns1-lo', 'br0'])
  assert.deepEqual(ids(await q('G.V().HasNot("MTU")')), ['host1', 'ns1', 'ns2', 'host2'])
  assert.deepEqual(ids(await q('G.E().HasNot("Type")')).length, 10)
  assert.deepEqual(ids(await q('G.E().HasEither("Type", "veth", "Type", "fabric")')), ['ns1-eth0->veth1', 'h1-eth0->h2-eth0'])
})

test('Out, In, Both, with an optional filter on the reached node', async () => {
  assert.deepEqual(ids(await q('G.V("host1").Out()')), ['ns1', 'veth1', 'br0', 'h1-eth0', 'ns2'])
  assert.deepEqual(ids(await q('G.V("host1").Out("Type", "netns")')), ['ns1', 'ns2'])
  assert.deepEqual(ids(await q('G.V("host1").Out().Has("Type", "netns")')), ['ns1', 'ns2'])
  assert.deepEqual(ids(await q('G.V("veth1").In()')), ['host1', 'ns1-eth0', 'br0'])
  assert.deepEqual(ids(await q('G.V("veth1").In("Type", "host")')), ['host1'])
  assert.deepEqual(ids(await q('G.V("ns1-eth0").Both()')), ['ns1', 'veth1'])
  assert.deepEqual(ids(await q('G.V("ns2-eth0").In().In()')), ['host1'])
  assert.deepEqual(ids(await q('G.V().Has("IPV4", IPV4Range("172.16.0.10/32")).In("Type", "host")')), ['host1'])
})

test('OutE, InE, BothE and InV (parent), OutV (child), BothV, as Skydive\'s code does', async () => {
  assert.deepEqual(ids(await q('G.V("ns1").OutE()')), ['ns1->ns1-eth0', 'ns1->ns1-lo'])
  assert.deepEqual(ids(await q('G.V("veth1").InE("RelationType", "layer2")')), ['ns1-eth0->veth1', 'br0->veth1'])
  assert.deepEqual(ids(await q('G.V("ns1").BothE()')), ['host1->ns1', 'ns1->ns1-eth0', 'ns1->ns1-lo'])
  assert.deepEqual(ids(await q('G.V("ns1").OutE().OutV()')), ['ns1-eth0', 'ns1-lo'])
  assert.deepEqual(ids(await q('G.V("ns1").OutE().InV()')), ['ns1', 'ns1'])
  assert.deepEqual(ids(await q('G.V("ns1").OutE().OutV("Name", "lo")')), ['ns1-lo'])
  assert.deepEqual(ids(await q('G.E("br0->veth1").BothV()')), ['br0', 'veth1'])
  assert.deepEqual(ids(await q('G.E("RelationType", "layer2").BothV("Type", "veth")')), ['ns1-eth0', 'veth1', 'veth1'])
})

test('Dedup by ID and by keys (elements without the keys are kept)', async () => {
  assert.deepEqual(ids(await q('G.V("ns1-eth0", "veth1").Both().Dedup()')).length, 0)
  assert.deepEqual(ids(await q('G.V().Out().Out().Dedup()')), ['ns1-eth0', 'ns1-lo', 'veth1', 'h2-eth0', 'ns2-eth0'])
  assert.deepEqual(ids(await q('G.V("veth1").In().Out().Dedup()')), ['ns1', 'veth1', 'br0', 'h1-eth0', 'ns2'])
  assert.deepEqual(ids(await q('G.V().Has("Type", WITHIN("veth", "device")).Dedup("Name")')), ['ns1-eth0', 'ns1-lo', 'veth1'])
  assert.deepEqual(ids(await q('G.V().Dedup("Type", "Name")')).length, 9)
  assert.deepEqual(ids(await q('G.V().Dedup("MTU")')), ['host1', 'ns1', 'ns1-eth0', 'ns1-lo', 'h1-eth0', 'ns2', 'host2'])
  assert.deepEqual(ids(await q('G.E().Dedup("RelationType")')), ['host1->ns1', 'ns1-eth0->veth1'])
})

test('Count is a bare number', async () => {
  assert.equal(await q('G.V().Count()'), 11)
  assert.equal(await q('G.E().Count()'), 12)
  assert.equal(await q('G.V().Has("Type", "nothing").Count()'), 0)
  assert.equal(await q('G.V().Values("Name").Count()'), 11)
})

test('Range and Limit slice [from, to)', async () => {
  assert.deepEqual(ids(await q('G.V().Limit(2)')), ['host1', 'ns1'])
  assert.deepEqual(ids(await q('G.V().Range(1, 3)')), ['ns1', 'ns1-eth0'])
  assert.deepEqual(ids(await q('G.V().Range(10, 20)')), ['h2-eth0'])
  assert.deepEqual(ids(await q('G.V().Range(3, 1)')), [])
  assert.deepEqual(ids(await q('G.V().Limit(0)')), [])
  assert.deepEqual(ids(await q('G.E().Limit(1)')), ['host1->ns1'])
  assert.deepEqual(await q('G.V().Values("Name").Limit(2)'), ['host1', 'ns1'])
})

test('Sort: default CreatedAt, by key, ASC/DESC, numbers numerically', async () => {
  assert.deepEqual(ids(await q('G.V().Sort()')).slice(0, 2), ['host1', 'ns1'])
  assert.deepEqual(ids(await q('G.V().Has("Type", "netns").Sort(DESC, "Name")')), ['ns2', 'ns1'])
  assert.deepEqual(ids(await q('G.V().Has("MTU").Sort(DESC, "MTU").Limit(2)')), ['ns1-lo', 'h1-eth0'])
  assert.deepEqual(ids(await q('G.V().Has("IfIndex").Sort("IfIndex")')), ['ns1-lo', 'ns1-eth0', 'ns2-eth0', 'h2-eth0', 'h1-eth0', 'br0', 'veth1'])
  assert.deepEqual(ids(await q('G.V().Has("Type", "host").Sort(ASC, "@CreatedAt")')), ['host1', 'host2'])
})

test('Values skips missing keys and empty maps/arrays; works on special fields', async () => {
  assert.deepEqual(await q('G.V().Has("Type", "netns").Values("Name")'), ['ns1', 'ns2'])
  assert.deepEqual(await q('G.V().Values("Speed")'), [1000])
  assert.deepEqual(await q('G.V("ns1-eth0").Values("IPV4")'), [['10.0.0.1/24']])
  assert.deepEqual(await q('G.V().Has("Type", "host").Values("@ID")'), ['host1', 'host2'])
  assert.deepEqual(await q('G.V().Values("Nope")'), [])
  assert.deepEqual(await q('G.E("br0->veth1").Values("RelationType")'), ['layer2'])
  const graph = buildGraph()
  graph.updateNode({ ID: 'br0', Metadata: { ...graph.getNode('br0')?.Metadata, Empty: [], EmptyMap: {} } })
  assert.deepEqual(await q('G.V("br0").Values("Empty")', { graph }), [])
  assert.deepEqual(await q('G.V("br0").Values("EmptyMap")', { graph }), [])
})

test('values can be filtered and deduplicated', async () => {
  assert.deepEqual(await q('G.V().Values("Name").Dedup()'), ['host1', 'ns1', 'eth0', 'lo', 'veth1', 'br0', 'ns2', 'host2'])
  assert.deepEqual(await q('G.V().Values("Sockets").Dedup().Count()'), 2)
  assert.deepEqual(await q('G.V("h1-eth0").Values("RoutingTables").Has("ID", 254).Count()'), 0, 'Has keeps only map items')
  assert.deepEqual(await q('G.V("h1-eth0").Values("LastUpdateMetric").Has("RxBytes", GT(10))'), [{ RxBytes: 3000, TxBytes: 1500, RxPackets: 30, TxPackets: 15, Start: T0 + 3_540_000, Last: T0 + 3_570_000 }])
})

test('ValueMap gives one map per node that has any of the keys', async () => {
  assert.deepEqual(await q('G.V().Has("Type", "bridge").ValueMap("Name", "MTU", "Nope")'), [{ Name: 'br0', MTU: 1500 }])
  assert.deepEqual(await q('G.V().ValueMap("Speed")'), [{ Speed: 1000 }])
})

test('Keys: union of special keys and dotted metadata keys', async () => {
  const keys = await q('G.V("h1-eth0").Keys()')
  assert.deepEqual(keys.slice(0, 7), ['@ID', '@Host', '@Origin', '@CreatedAt', '@UpdatedAt', '@DeletedAt', '@Revision'])
  assert.ok(keys.includes('LastUpdateMetric'))
  assert.ok(keys.includes('LastUpdateMetric.RxBytes'))
  assert.ok(keys.includes('RoutingTables'))
  assert.ok(!keys.includes('RoutingTables.Routes'), 'arrays are not entered')
  const all = await q('G.V().Keys()')
  assert.equal(new Set(all).size, all.length)
  assert.ok(all.includes('Sockets') && all.includes('Path'))
})

test('Sum of an integer key (missing keys skipped, non-integers refused)', async () => {
  assert.equal(await q('G.V().Has("Type", "veth").Sum("MTU")'), 4500)
  assert.equal(await q('G.V().Sum("Speed")'), 1000)
  const err = await evalErrorOf('G.V().Sum("Name")')
  assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_EVAL')
  assert.match(err.message, /Sum: the value of 'Name' on host1 is not an integer/)
  assert.match((await evalErrorOf('G.V().Sum()')).message, /Sum requires 1 parameter/)
})

test('As and Select', async () => {
  assert.deepEqual(ids(await q('G.V("ns1").As("ns").Out().As("ifs").Select("ns", "ifs")')), ['ns1', 'ns1-eth0', 'ns1-lo'])
  assert.match((await evalErrorOf('G.V().Select("x")')).message, /Key x not registered/)
})

test('ShortestPathTo: paths from each node to the nearest match, optional edge filter', async () => {
  const paths = await q('G.V("ns1-eth0").ShortestPathTo(Metadata("Name", "host2"))')
  assert.deepEqual(paths.map((p: unknown[]) => ids(p)), [['ns1-eth0', 'ns1', 'host1', 'h1-eth0', 'h2-eth0', 'host2']])
  const viaL2 = await q('G.V("ns1-eth0").ShortestPathTo(Metadata("Type", "bridge"), Metadata("RelationType", "layer2"))')
  assert.deepEqual(viaL2.map((p: unknown[]) => ids(p)), [['ns1-eth0', 'veth1', 'br0']])
  assert.deepEqual(await q('G.V("ns1-eth0").ShortestPathTo(Metadata("Type", "host"), Metadata("RelationType", "layer2"))'), [])
  assert.deepEqual((await q('G.V("host1").ShortestPathTo(Metadata("Type", "host"))')).map((p: unknown[]) => ids(p)), [['host1']])
  assert.equal((await q('G.V().Has("Type", "netns").ShortestPathTo(Metadata("Type", "bridge"))')).length, 2)
  assert.deepEqual(ids(await q('G.V("ns1-lo").ShortestPathTo(Metadata("Name", "br0")).Dedup()')), ['ns1-lo', 'ns1', 'host1', 'br0'])
})

test('SubGraph of nodes, of edges, of paths: a one-element array around the graph', async () => {
  const sub = await q('G.V("ns1").Out().SubGraph()')
  assert.equal(sub.length, 1)
  assert.deepEqual(ids(sub[0].Nodes), ['ns1-eth0', 'ns1-lo'])
  assert.deepEqual(sub[0].Edges, [])
  const withEdges = await q('G.V().Has("Host", "x").SubGraph()')
  assert.deepEqual(withEdges, [{ Nodes: [], Edges: [] }])
  const host1 = await q('G.V("host1").Descendants(0).SubGraph()')
  assert.equal(host1[0].Nodes.length, 9)
  assert.deepEqual(ids(host1[0].Edges), ['host1->ns1', 'ns1->ns1-eth0', 'ns1->ns1-lo', 'host1->veth1', 'host1->br0', 'host1->h1-eth0', 'host1->ns2', 'ns2->ns2-eth0', 'ns1-eth0->veth1', 'br0->veth1'])
  const layer2Only = await q('G.V("host1").Descendants(0).SubGraph("RelationType", "layer2")')
  assert.deepEqual(ids(layer2Only[0].Edges), ['ns1-eth0->veth1', 'br0->veth1'])
  const ofEdges = await q('G.E().Has("RelationType", "layer2").SubGraph()')
  assert.deepEqual(ids(ofEdges[0].Nodes).sort(), ['br0', 'h1-eth0', 'h2-eth0', 'ns1-eth0', 'veth1'])
  assert.equal(ofEdges[0].Edges.length, 3)
  const ofPath = await q('G.V("ns1-eth0").ShortestPathTo(Metadata("Type", "bridge")).SubGraph()')
  assert.deepEqual(ids(ofPath[0].Nodes), ['ns1-eth0', 'veth1', 'br0'])
  assert.deepEqual(ids(ofPath[0].Edges), ['ns1-eth0->veth1', 'br0->veth1'])
})

test('Descendants, Ascendants, Neighbors: default ownership edges, depth, edge filters (OR), 0 = unlimited', async () => {
  assert.deepEqual(ids(await q('G.V("host1").Descendants()')), ['host1', 'ns1', 'veth1', 'br0', 'h1-eth0', 'ns2'])
  assert.deepEqual(ids(await q('G.V("host1").Descendants(2)')).length, 9)
  assert.deepEqual(ids(await q('G.V("host1").Descendants(0)')).length, 9)
  assert.deepEqual(ids(await q('G.V("br0").Descendants("RelationType", "layer2")')), ['br0', 'veth1'])
  assert.deepEqual(ids(await q('G.V("ns2-eth0").Ascendants()')), ['ns2-eth0', 'ns2'])
  assert.deepEqual(ids(await q('G.V("ns2-eth0").Ascendants(0)')), ['ns2-eth0', 'ns2', 'host1'])
  assert.deepEqual(ids(await q('G.V("veth1").Ascendants("RelationType", "layer2", "RelationType", "ownership", 1)')), ['veth1', 'host1', 'ns1-eth0', 'br0'])
  assert.deepEqual(ids(await q('G.V("ns1").Neighbors()')), ['ns1', 'host1', 'ns1-eth0', 'ns1-lo'])
  assert.deepEqual(ids(await q('G.V("ns1-eth0").Neighbors("RelationType", "layer2", 2)')), ['ns1-eth0', 'veth1', 'br0'])
  assert.equal((await q('G.V("ns1-eth0").Neighbors(0)')).length, 9)
  assert.deepEqual(ids(await q('G.V("ns1", "ns2").Descendants()')), [])
  assert.deepEqual(ids(await q('G.V("Type", "netns").Descendants()')), ['ns1', 'ns2', 'ns1-eth0', 'ns1-lo', 'ns2-eth0'])
})

test('steps on the wrong kind of input are evaluation errors that name the step and column', async () => {
  const cases: Array<[string, RegExp]> = [
    ['G.Out()', /Invalid step 'Out' on G at column 3/],
    ['G.E().Out()', /Invalid step 'Out' on edges at column 7/],
    ['G.V().InV()', /Invalid step 'InV' on nodes/],
    ['G.V().Count().Count()', /Invalid step 'Count' on a single value/],
    ['G.V().Values("Name").Out()', /Invalid step 'Out' on values/],
    ['G.V().SubGraph().V()', /Invalid step 'V' on a subgraph/],
    ['G.V().V()', /Invalid step 'V' on nodes/],
    ['G.Count()', /Invalid step 'Count' on G/],
    ['G.V().Aggregates()', /Invalid step 'Aggregates' on nodes/],
    ['G.V().MoreThan()', /Invalid step 'MoreThan' on nodes/],
    ['G.V().Hops()', /Invalid step 'Hops' on nodes/]
  ]
  for (const [query, expected] of cases) {
    const err = await evalErrorOf(query)
    assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_EVAL', query)
    assert.match(err.message, expected, query)
  }
})

test('Skydive steps we do not implement fail clearly', async () => {
  for (const query of ['G.Flows().RawPackets()', 'G.Flows().RawPackets().BPF("tcp")', 'G.Workflow("x")']) {
    const err = await evalErrorOf(query)
    assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_EVAL')
    assert.match(err.message, /is not supported by Topoflow/)
  }
})

test('limits: result size cap and time budget', async () => {
  await assert.rejects(q('G.V()', { limits: { maxResultItems: 5 } }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_GREMLIN_EVAL' && /more than the limit of 5/.test(err.message))
  assert.equal(await q('G.V().Count()', { limits: { maxResultItems: 5 } }), 11)
  await assert.rejects(q('G.V().Neighbors(0)', { limits: { timeoutMs: -1 } }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_TIMEOUT')
})

test('errors of a failing store keep their code; other failures become evaluation errors', async () => {
  const failing = { at: async () => { throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', 'cluster unavailable', { retriable: true }) } }
  await assert.rejects(q('G.V()', { graph: failing }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_OPENSEARCH' && err.retriable)
  const broken = { at: async () => { throw new RangeError('boom') } }
  await assert.rejects(q('G.V()', { graph: broken }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_GREMLIN_EVAL' && /boom/.test(err.message))
  assert.equal(NOW > T0, true)
})
