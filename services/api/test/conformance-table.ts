import { conformanceRows, type ConformanceExpect } from '@topoflow/gremlin/conformance'
import { DELETED_AT, MAC, NOW, T0 } from './conformance-fixture.ts'

/**
 * What one query of the HTTP conformance table must answer through `POST /api/topology`:
 * - `ids`: a node, edge or flow list, by ID/UUID, in order;
 * - `json`: exactly this body (bare numbers, values, metric objects...);
 * - `graph`: `[{Nodes, Edges}]` with these IDs, in order; `paths`: shortest paths as node IDs;
 * - `keys`: `[{"<id>": ...}]` keyed by these IDs (sockets, metrics, groups);
 * - `syntax`: 400, plain text, "Gremlin syntax error at column N: ..." matching the pattern;
 * - `error`: 400, plain text, the evaluation error matching the pattern;
 * - `status`: another HTTP answer (204, 406, DOT...), its body and Content-Type.
 */
export type Expect =
  | { ids: string[] }
  | { json: unknown }
  | { graph: { nodes: string[], edges: string[] } }
  | { paths: string[][] }
  | { keys: string[] }
  | { syntax: RegExp }
  | { error: RegExp }
  | { status: number, body?: RegExp, type?: RegExp }

export interface RequestOptions {
  /** the request's Accept header (default application/json, as skydive-client sends) */
  accept?: string
}

export type Row = [query: string, expected: Expect] | [query: string, expected: Expect, options: RequestOptions]

const allNodes = ['host1', 'ns1', 'ns1-eth0', 'ns1-lo', 'veth1', 'br0', 'h1-eth0', 'ns2', 'ns2-eth0', 'host2', 'h2-eth0']
const allEdges = [
  'host1->ns1', 'ns1->ns1-eth0', 'ns1->ns1-lo', 'host1->veth1', 'host1->br0', 'host1->h1-eth0', 'host1->ns2',
  'ns2->ns2-eth0', 'host2->h2-eth0', 'ns1-eth0->veth1', 'br0->veth1', 'h1-eth0->h2-eth0'
]
const dot = 'text/vnd.graphviz'
/** RFC 1123 as Skydive parses it (Go's time.RFC1123), e.g. "Tue, 14 Nov 2023 22:13:45 GMT" */
const rfc1123 = (ms: number): string => new Date(ms).toUTCString()

/**
 * Where the HTTP answer differs from packages/gremlin's row, by query. The API's fixture is the shared
 * one plus tmp0, a node (and edge) that lived from T0+23 s to T0+30 s, so only queries over a window
 * that covers tmp0's life can see it. Every query here must be one of the shared rows.
 */
const httpAnswers = new Map<string, Expect>([
  // the whole history: tmp0 too, it was alive in the window (11 nodes + tmp0)
  ['G.At(NOW, FOREVER).V().Count()', { json: 12 }]
])
for (const query of httpAnswers.keys()) {
  if (!conformanceRows.some(([shared]) => shared === query)) throw new Error(`httpAnswers: ${query} is not a shared conformance row`)
}

/** The API answers an evaluation error with a 400 and its message as plain text. */
function httpExpect (expected: ConformanceExpect): Expect {
  return 'eval' in expected ? { error: expected.eval } : expected
}

/**
 * The table: packages/gremlin's conformance rows (`@topoflow/gremlin/conformance`, evaluation errors
 * as HTTP errors, `httpAnswers` where tmp0 changes the answer), then the HTTP answers, and more of
 * reference §3: every step and predicate, lexical rules, errors with their position, and time
 * context over the replica's history.
 */
export const table: Row[] = [
  ...conformanceRows.map(([query, expected]): Row => [query, httpAnswers.get(query) ?? httpExpect(expected)]),
  // --- beyond packages/gremlin's table ---
  // HTTP: empty queries, result shapes, DOT
  ['', { status: 204, body: /^$/ }],
  ['   ', { status: 204, body: /^$/ }],
  ['G', { graph: { nodes: allNodes, edges: allEdges } }],
  ['g', { graph: { nodes: allNodes, edges: allEdges } }],
  ['G.V().Has("Type", "netns").SubGraph()', { graph: { nodes: ['ns1', 'ns2'], edges: [] } }],
  ['G.V("ns1").Descendants().SubGraph()', { graph: { nodes: ['ns1', 'ns1-eth0', 'ns1-lo'], edges: ['ns1->ns1-eth0', 'ns1->ns1-lo'] } }],
  ['G.V("host1").Descendants(0).SubGraph("RelationType", "layer2")', { graph: { nodes: ['host1', 'ns1', 'ns1-eth0', 'ns1-lo', 'veth1', 'br0', 'h1-eth0', 'ns2', 'ns2-eth0'], edges: ['ns1-eth0->veth1', 'br0->veth1'] } }],
  ['G.E().Has("RelationType", "layer2").SubGraph()', { graph: { nodes: ['ns1-eth0', 'veth1', 'br0', 'h1-eth0', 'h2-eth0'], edges: ['ns1-eth0->veth1', 'br0->veth1', 'h1-eth0->h2-eth0'] } }],
  // DOT names a node "<Name>-<ID[:8]>"; layer2 links are drawn both ways
  ['G.V("ns1").Descendants().SubGraph()', { status: 200, type: /^text\/vnd\.graphviz; charset=UTF-8$/, body: /^digraph g \{\n"ns1-ns1" \[label="ns1-ns1\\nType = netns\\nTID = tid-ns1"\]\n(.*\n){2}"ns1-ns1" -> "eth0-ns1-eth0" \[label="ownership",dir=forward\]\n/ }, { accept: dot }],
  ['G.E().Has("RelationType", "layer2").SubGraph()', { status: 200, type: /^text\/vnd\.graphviz/, body: /"br0-br0" -> "veth1-veth1" \[label="layer2",dir=both\]/ }, { accept: dot }],
  ['G', { status: 200, type: /^text\/vnd\.graphviz/, body: /^digraph/ }, { accept: dot }],
  ['G.V()', { status: 406, body: /^Only graph can be outputted as dot$/, type: /^text\/plain/ }, { accept: dot }],
  ['G.V().Count()', { status: 406, body: /^Only graph can be outputted as dot$/ }, { accept: dot }],
  // lexical rules: quotes, whitespace, case, where errors are
  ['G.V().Has(\'Type\', "netns")', { ids: ['ns1', 'ns2'] }],
  ['G.V()\n  .Has("Type",\t"netns")\n  .Count()', { json: 2 }],
  ['G.v().HASKEY("Speed")', { ids: ['h1-eth0'] }],
  ['G.V().Has("Type", "host"', { syntax: /column 25/ }],
  ['G.V().Has("Name, "eth0")', { syntax: /column \d+/ }],
  ['G.V().Has("Type" "host")', { syntax: /column 18/ }],
  ['G.V().', { syntax: /column \d+/ }],
  ['G.V()\n.Bogus()', { syntax: /^Gremlin syntax error at line 2, column 2: Expected step function, got: Bogus/ }],
  ['G.V(1)', { syntax: /V parameter must be a string/ }],
  ['G.E(1)', { syntax: /E parameter must be a string/ }],
  ['G.V().Has()', { syntax: /At least one parameter must be provided/ }],
  ['G.V().HasKey()', { syntax: /HasKey accepts only one parameter of type string/ }],
  ['G.V().HasNot("a", "b")', { syntax: /HasNot accepts only one parameter of type string/ }],
  // booleans
  ['G.V().Has("Promisc", TRUE)', { ids: ['br0'] }],
  ['G.V().Has("Promisc", false)', { ids: ['veth1'] }],
  ['G.V().Has("Promisc", NE(true))', { ids: ['veth1'] }],
  // on a boolean, NE and NEE both mean "the other boolean" (Skydive's TermBoolFilter(k, !v)): no missing keys
  ['G.V().Has("Promisc", NEE(true))', { ids: ['veth1'] }],
  // Has family: arrays, nested maps, special fields
  ['G.V().HasKey("IPV4").Count()', { json: 6 }],
  ['G.V().Has("IPV4").Count()', { json: 6 }],
  ['G.V().HasNot("IPV4")', { ids: ['host1', 'ns1', 'veth1', 'ns2', 'host2'] }],
  ['G.V().HasKey("Sockets.Protocol")', { ids: ['host1', 'host2'] }],
  ['G.V().HasEither("MTU", 9000, "IfIndex", 7)', { ids: ['veth1', 'h1-eth0'] }],
  ['G.V().Has("LinkFlags", "BROADCAST")', { ids: ['ns1-eth0'] }],
  ['G.V().Has("IPV6", REGEX("fe80::.*"))', { ids: ['h1-eth0'] }],
  ['G.V().Has("Metric.RxBytes", GT(1000))', { ids: ['h1-eth0'] }],
  ['G.V().Has("@Origin", "agent.host2").Count()', { json: 2 }],
  [`G.V().Has("@UpdatedAt", GTE(${T0 + 9000}))`, { ids: ['host2', 'h2-eth0'] }],
  ['G.V().Has("K8s.Labels.app", "x")', { ids: [] }],
  // edges
  ['G.E().HasKey("Type")', { ids: ['ns1-eth0->veth1', 'h1-eth0->h2-eth0'] }],
  ['G.E().HasNot("Type").Count()', { json: 10 }],
  ['G.E().HasEither("Type", "veth", "Type", "fabric").Count()', { json: 2 }],
  ['G.E().Range(0, 2)', { ids: ['host1->ns1', 'ns1->ns1-eth0'] }],
  ['G.E().Limit(1)', { ids: ['host1->ns1'] }],
  ['G.E().Dedup().Count()', { json: 12 }],
  // Skydive's InV is the parent and OutV the child (graffiti's GraphTraversalE)
  ['G.E("host1->ns1").OutV()', { ids: ['ns1'] }],
  ['G.E("host1->ns1").InV()', { ids: ['host1'] }],
  ['G.E("Parent", "ns1")', { ids: ['ns1->ns1-eth0', 'ns1->ns1-lo'] }],
  ['G.E().Has("Child", "veth1").Count()', { json: 3 }],
  // an extension: Skydive has no Values on edges
  ['G.E().Has("Type").Values("Type")', { json: ['veth', 'fabric'] }],
  ['G.E().Sort()', { error: /Invalid step 'Sort' on edges/ }],
  ['G.V("ns1").BothE().Count()', { json: 3 }],
  ['G.V("ns1").OutE().InV().Dedup()', { ids: ['ns1'] }],
  ['G.V("host2").Out("Type", "device")', { ids: ['h2-eth0'] }],
  ['G.V("h2-eth0").In().Values("Name")', { json: ['host2', 'eth0'] }],
  ['G.V("h2-eth0").In("Type", "host").Values("Name")', { json: ['host2'] }],
  // ordering, slicing
  ['G.V().Has("Type", "netns").Sort(ASC, "Name")', { ids: ['ns1', 'ns2'] }],
  ['G.V().Has("Type", "netns").Sort()', { ids: ['ns1', 'ns2'] }],
  ['G.V().Has("Type", "host").Sort(DESC, "@CreatedAt").Values("Name")', { json: ['host2', 'host1'] }],
  ['G.V().Range(10, 20)', { ids: ['h2-eth0'] }],
  ['G.V().Limit(0)', { ids: [] }],
  ['G.V().Limit()', { syntax: /Limit requires 1 parameter/ }],
  ['G.V().Range(1)', { syntax: /Range requires 2 parameters/ }],
  // values, value maps, keys, sums
  ['G.V().Has("Type", "netns").ValueMap("Name", "Path")', { json: [{ Name: 'ns1', Path: '/var/run/netns/ns1' }, { Name: 'ns2', Path: '/var/run/netns/ns2' }] }],
  ['G.V().Values("Speed")', { json: [1000] }],
  ['G.V("h2-eth0").Keys()', { json: ['@ID', '@Host', '@Origin', '@CreatedAt', '@UpdatedAt', '@DeletedAt', '@Revision', 'Name', 'Type', 'TID', 'MAC', 'MTU', 'IfIndex', 'State', 'IPV4'] }],
  ['G.V().Sum("Speed")', { json: 1000 }],
  ['G.V().Sum("a", "b")', { syntax: /Sum requires 1 parameter/ }],
  ['G.V().ValueMap()', { syntax: /ValueMap requires at least one key/ }],
  // As / Select
  ['G.V("host1").As("h").Out("Type", "netns").As("ns").Select("h")', { ids: ['host1'] }],
  ['G.V().As()', { syntax: /As requires 1 parameter, a string key/ }],
  // shortest paths
  ['G.V("ns1-lo").ShortestPathTo(Metadata("Type", "bridge"))', { paths: [['ns1-lo', 'ns1', 'host1', 'br0']] }],
  ['G.V("ns1-lo").ShortestPathTo(Metadata("Type", "bridge"), Metadata("RelationType", "layer2"))', { json: [] }],
  ['G.V("br0").ShortestPathTo(Metadata("Name", "ns1")).SubGraph()', { graph: { nodes: ['host1', 'ns1', 'br0'], edges: ['host1->ns1', 'host1->br0'] } }],
  ['G.V().ShortestPathTo("x")', { syntax: /ShortestPathTo parameters have to be Metadata/ }],
  // descendants, ascendants, neighbors
  ['G.V("host1").Descendants(2).Count()', { json: 9 }],
  ['G.V("ns2-eth0").Ascendants(0)', { ids: ['ns2-eth0', 'ns2', 'host1'] }],
  ['G.V("veth1").Neighbors("RelationType", "layer2", "RelationType", "ownership").Count()', { json: 4 }],
  // flows: A/B keys, aliases, predicates
  [`G.Flows().Has("Link", "${MAC.ns2eth0}").Count()`, { json: 4 }],
  ['G.Flows().Has("Network.A", "10.0.0.2")', { ids: ['f-icmp'] }],
  ['G.Flows().Has("Transport.B", 80).Count()', { json: 2 }],
  ['G.Flows().Has("IPV4.A", "10.0.0.1").Count()', { json: 3 }],
  ['G.Flows().Has("TCP.B", 22)', { ids: ['f-old'] }],
  ['G.Flows().Has("UDP.A", 5353)', { ids: ['f-dns'] }],
  [`G.Flows().Has("ETHERNET.B", "${MAC.ns1eth0}")`, { ids: ['f-icmp'] }],
  ['G.Flows().Has("ICMP.Type", "ECHO")', { ids: ['f-icmp'] }],
  ['G.Flows().Has("Metric.ABBytes", GT(500))', { ids: ['f-tcp-ns1', 'f-tcp-veth1', 'f-old'] }],
  ['G.Flows().Has("Metric.RTT", GT(0))', { ids: ['f-tcp-ns1'] }],
  ['G.Flows().Has("Application", WITHOUT("TCP"))', { ids: ['f-dns', 'f-icmp'] }],
  ['G.Flows().Has("Application", REGEX("IC.*"))', { ids: ['f-icmp'] }],
  ['G.Flows().Has("Network", IPV4RANGE("172.16.0.0/16"))', { ids: ['f-old'] }],
  ['G.Flows().Has("Transport.A", INSIDE(5000, 45000))', { ids: ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns'] }],
  ['G.Flows().Has("Start", LT(' + String(NOW - 100_000) + '))', { ids: ['f-tcp-ns1', 'f-tcp-veth1', 'f-old'] }],
  // flows: ordering, slicing, values
  ['G.Flows().Sort().Limit(1)', { ids: ['f-old'] }],
  ['G.Flows().Sort(DESC, "Metric.ABPackets").Limit(1)', { ids: ['f-old'] }],
  ['G.Flows().Range(1, 3).Count()', { json: 2 }],
  ['G.Flows().Dedup("TrackingID").Count()', { json: 4 }],
  ['G.Flows().Has("UUID", "f-dns").Values("Metric.ABBytes")', { json: [100] }],
  ['G.Flows().Has("UUID", "f-dns").Sum("Metric.ABBytes")', { json: 100 }],
  // flows → nodes
  ['G.Flows().Has("UUID", "f-dns").Node()', { ids: ['ns1-eth0'] }],
  ['G.Flows().Has("UUID", "f-dns").CaptureNode("Type", "veth")', { ids: ['ns1-eth0'] }],
  ['G.Flows().Has("UUID", "f-dns").CaptureNode("Type", "bridge")', { ids: [] }],
  ['G.Flows().Has("UUID", "f-icmp").In()', { ids: ['ns2-eth0'] }],
  ['G.Flows().Has("UUID", "f-old").Nodes()', { ids: ['h1-eth0', 'h1-eth0', 'h2-eth0'] }],
  // groups, sockets, metrics
  ['G.Flows().Group("Application").Count()', { json: 3 }],
  ['G.Flows().Group().MoreThan("1")', { keys: ['track-tcp'] }],
  ['G.Flows().Group().MoreThan(1.5)', { syntax: /MoreThan parameter must be a positive integer/ }],
  ['G.Flows().Has("UUID", "f-tcp-ns1").Sockets()', { keys: ['f-tcp-ns1'] }],
  ['G.Flows().Has("UUID", "f-tcp-ns1").Sockets().Values("Name")', { json: ['curl', 'nginx'] }],
  ['G.Flows().Has("Transport", NE("")).Sockets().Count()', { json: 3 }],
  ['G.Flows().Has("UUID", "f-tcp-ns1").Metrics()', { keys: ['f-tcp-ns1'] }],
  ['G.Flows().Has("UUID", "f-dns").Metrics().Sum()', { json: { ABPackets: 1, ABBytes: 100, BAPackets: 1, BABytes: 100, Start: NOW - 30_000, Last: NOW - 29_000 } }],
  ['G.V("host2").Sockets().Has("Protocol", "UDP").Values("LocalPort")', { json: [53] }],
  ['G.V().Has("Type", "host").Sockets()', { keys: ['host1', 'host2'] }],
  ['G.V().Sockets(1)', { syntax: /Sockets accepts no parameter/ }],
  ['G.V().Metrics("Bogus")', { syntax: /Metric field unknown/ }],
  ['G.V("h1-eth0").Metrics().Aggregates(0)', { syntax: /Aggregates parameter has to be a positive number/ }],
  ['G.V().NextHop("nope")', { syntax: /NextHop parameter have to be a valid IP address/ }],
  // what Topoflow does not run: said clearly, with the step's position
  ['G.Flows().RawPackets()', { error: /RawPackets\(\) is not supported by Topoflow/ }],
  ['G.Flows().RawPackets().BPF("tcp")', { error: /is not supported by Topoflow/ }],
  ['G.Workflow("check-mtu")', { error: /Workflow\(\) is not supported by Topoflow/ }],
  // time context: the interface that lived from T0+23 s to T0+30 s
  ['G.V("tmp0")', { error: /^Node 'tmp0' does not exist$/ }],
  ['G.At("-1m").V("tmp0")', { error: /^Node 'tmp0' does not exist$/ }],
  [`G.At(${T0 + 25_000}).V("tmp0").Values("Name")`, { json: ['tmp0'] }],
  [`G.At(${T0 + 25_000}).V("host1").Out().Count()`, { json: 6 }],
  [`G.At(${T0 + 35_000}).V("host1").Out().Count()`, { json: 5 }],
  [`G.At(${DELETED_AT - 1000}).V().Has("Name", "tmp0").Count()`, { json: 1 }],
  [`G.At(${DELETED_AT + 1000}).V("tmp0")`, { error: /^Node 'tmp0' does not exist$/ }],
  [`G.At(${Math.floor((T0 + 25_000) / 1000)}).V().Has("Name", "tmp0").Count()`, { json: 1 }],
  [`G.At("${rfc1123(T0 + 25_000)}").V("tmp0").Count()`, { json: 1 }],
  [`G.Context(${T0 + 40_000}, 20).V().Has("Name", "tmp0").Count()`, { json: 1 }],
  [`G.Context(${T0 + 60_000}, "20s").V().Has("Name", "tmp0").Count()`, { json: 0 }],
  ['G.At(NOW, FOREVER).E().Count()', { json: 13 }],
  ['G.At(NOW).V().Count()', { json: 11 }],
  ['G.Context("-1h1m").V().Count()', { json: 0 }],
  ['G.At("-90s", 60).Flows().Count()', { json: 2 }],
  ['G.At("-1m").Flows().Has("Application", "DNS").Count()', { json: 0 }],
  ['G.At(1, 2, 3).V()', { syntax: /column \d+/ }],
  ['G.At("-1m", "soon").V()', { syntax: /column \d+/ }]
]
