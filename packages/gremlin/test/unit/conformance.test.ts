import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { NOW, T0, ids, q } from './fixture.ts'

/**
 * One line per query on the fixture graph and flows: the IDs (or UUIDs) it returns, a bare value,
 * or the error it raises (code and message pattern).
 */
type Expect =
  | { ids: string[] }
  | { count: number }
  | { json: unknown }
  | { syntax: RegExp }
  | { eval: RegExp }

const table: Array<[string, Expect]> = [
  // lexical rules and case
  ['G.V().Has("Type", "host")', { ids: ['host1', 'host2'] }],
  ['g.v().has(\'Type\', \'host\')', { ids: ['host1', 'host2'] }],
  ['G.V().HAS("Type", "host").OUT("Type", "netns")', { ids: ['ns1', 'ns2'] }],
  ['G.V().Has("Type", "host").Count()', { json: 2 }],
  ['G.V().count()', { json: 11 }],
  ['G.V().Has("IfIndex", 2.9)', { ids: ['ns1-eth0', 'ns2-eth0', 'h2-eth0'] }],
  ['G.V().Has("Name", "O\'Brien")', { ids: [] }],
  ['V()', { syntax: /column 1: a query starts with G/ }],
  ['G.V().Has("MTU", -1)', { syntax: /column 18: signed numbers/ }],
  ['G.V().Bogus()', { syntax: /column 7: Expected step function, got: Bogus/ }],
  ['G.V().Has("a", CONTAINS("b"))', { syntax: /column 16: unknown argument 'CONTAINS'/ }],
  // V / E
  ['G.V("ns1")', { ids: ['ns1'] }],
  ['G.V("missing")', { eval: /^Node 'missing' does not exist$/ }],
  ['G.E("missing")', { eval: /^Edge 'missing' does not exist$/ }],
  ['G.V("Type", "netns")', { ids: ['ns1', 'ns2'] }],
  ['G.E("RelationType", "ownership").Count()', { json: 9 }],
  ['G.E().Has("Type", "veth")', { ids: ['ns1-eth0->veth1'] }],
  // Has family
  ['G.V().Has("Type", "veth", "MTU", 1500, "State", "UP")', { ids: ['ns1-eth0', 'veth1'] }],
  ['G.V().Has("Speed")', { ids: ['h1-eth0'] }],
  ['G.V().HasKey("IPV6")', { ids: ['h1-eth0'] }],
  ['G.V().HasNot("TID").Count()', { json: 0 }],
  ['G.V().HasEither("Name", "br0", "Type", "netns")', { ids: ['ns1', 'br0', 'ns2'] }],
  ['G.V().Has("Metadata.Name", "veth1")', { ids: ['veth1'] }],
  ['G.V().Has("@ID", WITHIN("ns1", "ns2"))', { ids: ['ns1', 'ns2'] }],
  ['G.V().Has("@Host", "host2").Count()', { json: 2 }],
  [`G.V().Has("@CreatedAt", LT(${T0 + 2000}))`, { ids: ['host1', 'ns1'] }],
  ['G.V().Has("@Revision", GT(1))', { ids: [] }],
  ['G.V().Has("Captures.Type", "afpacket")', { ids: ['ns1-eth0'] }],
  ['G.V().Has("Captures.PacketsReceived", GTE(10))', { ids: ['ns1-eth0'] }],
  ['G.V().Has("Sockets.State", "LISTEN")', { ids: ['host1'] }],
  ['G.V().Has("Sockets.Protocol", "UDP")', { ids: ['host2'] }],
  ['G.V().Has("Neighbors.MAC", "02:00:00:00:00:fe")', { ids: ['h1-eth0'] }],
  ['G.V().Has("RoutingTables.Routes.NextHops.IP", "172.16.0.99")', { ids: ['h1-eth0'] }],
  // predicates
  ['G.V().Has("State", NE("UP"))', { ids: ['ns1-lo', 'ns2-eth0'] }],
  ['G.V().Has("State", NEE("UP")).Count()', { json: 6 }],
  ['G.V().Has("MTU", LT(9000))', { ids: ['ns1-eth0', 'veth1', 'br0', 'ns2-eth0', 'h2-eth0'] }],
  ['G.V().Has("MTU", LTE(9000)).Count()', { json: 6 }],
  ['G.V().Has("MTU", GT(9000))', { ids: ['ns1-lo'] }],
  ['G.V().Has("MTU", GTE(9000)).Count()', { json: 2 }],
  ['G.V().Has("IfIndex", INSIDE(2, 7))', { ids: ['br0', 'h1-eth0'] }],
  ['G.V().Has("IfIndex", BETWEEN(2, 3))', { ids: ['ns1-eth0', 'ns2-eth0', 'h2-eth0'] }],
  ['G.V().Has("IfIndex", OUTSIDE(1, 5))', { ids: ['veth1'] }],
  ['G.V().Has("Name", WITHIN("lo", "br0", "nothing"))', { ids: ['ns1-lo', 'br0'] }],
  ['G.V().Has("MTU", WITHIN(9000, 65536))', { ids: ['ns1-lo', 'h1-eth0'] }],
  ['G.V().Has("Type", WITHOUT("veth", "device")).Count()', { json: 5 }],
  ['G.V().Has("Name", REGEX("ns[0-9]"))', { ids: ['ns1', 'ns2'] }],
  ['G.V().Has("Name", REGEX("ns"))', { ids: [] }],
  ['G.V().Has("Name", Regex("h.*|b.*"))', { ids: ['host1', 'br0', 'host2'] }],
  ['G.V().Has("Name", REGEX("^ns1"))', { syntax: /Regex are anchored by default/ }],
  ['G.V().Has("IPV4", IPV4Range("10.0.0.0/24"))', { ids: ['ns1-eth0', 'ns2-eth0'] }],
  ['G.V().Has("IPV4", IPV4RANGE("127.0.0.0/8"))', { ids: ['ns1-lo'] }],
  ['G.V().Has("IPV4", IPV4Range("192.168.0.0/16")).In("Type", "host")', { ids: ['host1'] }],
  ['G.V().Has("IPV4", IPV4Range("10.0.0.999/8"))', { syntax: /invalid CIDR address/ }],
  ['G.V().Has("MTU", LT("a"))', { syntax: /LT values should be of int64 type/ }],
  // traversal
  ['G.V("host1").Out().Count()', { json: 5 }],
  ['G.V("host1").Out().Out()', { ids: ['ns1-eth0', 'ns1-lo', 'veth1', 'h2-eth0', 'ns2-eth0'] }],
  ['G.V("ns1-lo").In().In()', { ids: ['host1'] }],
  ['G.V("veth1").Both().Dedup().Count()', { json: 3 }],
  ['G.V("veth1").InE().Count()', { json: 3 }],
  ['G.V("veth1").OutE().Count()', { json: 0 }],
  ['G.V("veth1").BothE("RelationType", "layer2").Count()', { json: 2 }],
  ['G.V("veth1").InE("RelationType", "layer2").InV()', { ids: ['ns1-eth0', 'br0'] }],
  ['G.V("ns1-eth0").OutE("Type", "veth").OutV()', { ids: ['veth1'] }],
  ['G.E("h1-eth0->h2-eth0").BothV().Values("@Host")', { json: ['host1', 'host2'] }],
  ['G.E().Has("RelationType", "layer2").OutV().Dedup()', { ids: ['veth1', 'h2-eth0'] }],
  ['G.E().InV().Dedup().Count()', { json: 7 }],
  ['G.V().OutV()', { eval: /Invalid step 'OutV' on nodes/ }],
  ['G.E().Out()', { eval: /Invalid step 'Out' on edges/ }],
  // ordering and slicing
  ['G.V().Has("Type", "netns").Sort(DESC, "Name")', { ids: ['ns2', 'ns1'] }],
  ['G.V().Has("Type", "veth").Sort("MTU").Values("Name")', { json: ['eth0', 'veth1', 'eth0'] }],
  ['G.V().Sort(DESC, "@CreatedAt").Limit(1)', { ids: ['h2-eth0'] }],
  ['G.V().Range(2, 4)', { ids: ['ns1-eth0', 'ns1-lo'] }],
  ['G.V().Limit(3).Count()', { json: 3 }],
  ['G.V().Range(0, 1.5)', { syntax: /1.5 is not an integer/ }],
  ['G.V().Sort("a", "b")', { syntax: /Use ASC or DESC predicate/ }],
  // dedup / values / keys / sum
  ['G.V().Has("Name", "eth0").Dedup("Name")', { ids: ['ns1-eth0'] }],
  ['G.V().Has("Name", "eth0").Dedup("@Host")', { ids: ['ns1-eth0', 'h2-eth0'] }],
  ['G.V().Has("Type", "host").Values("OS")', { json: ['linux', 'linux'] }],
  ['G.V().Has("Type", "host").Values("OS").Dedup()', { json: ['linux'] }],
  ['G.V("br0").Values("IPV4")', { json: [['192.168.1.1/24']] }],
  ['G.V("br0").ValueMap("Name", "Type")', { json: [{ Name: 'br0', Type: 'bridge' }] }],
  ['G.V("ns1").Keys()', { json: ['@ID', '@Host', '@Origin', '@CreatedAt', '@UpdatedAt', '@DeletedAt', '@Revision', 'Name', 'Type', 'Path', 'TID'] }],
  ['G.V().Has("Type", "veth").Sum("IfIndex")', { json: 11 }],
  ['G.V().Sum("MTU")', { json: 1500 * 5 + 65536 + 9000 }],
  ['G.V().Values()', { syntax: /Values requires 1 parameter/ }],
  // As / Select
  ['G.V("ns2").As("a").Out().As("b").Select("b", "a")', { ids: ['ns2-eth0', 'ns2'] }],
  ['G.V().Select("nope")', { eval: /Key nope not registered/ }],
  // shortest path / subgraph
  ['G.V("ns1-lo").ShortestPathTo(Metadata("Type", "bridge")).Count()', { json: 1 }],
  ['G.V("ns1-lo").ShortestPathTo(Metadata("Name", "nothing"))', { json: [] }],
  ['G.V("h2-eth0").ShortestPathTo(Metadata("Type", "host"), Metadata("RelationType", "ownership")).Dedup()', { ids: ['h2-eth0', 'host2'] }],
  ['G.V("ns1").SubGraph().Count()', { eval: /Invalid step 'Count' on a subgraph/ }],
  ['G.V("Type", "nothing").SubGraph()', { json: [{ Nodes: [], Edges: [] }] }],
  // descendants / ascendants / neighbors
  ['G.V("host2").Descendants()', { ids: ['host2', 'h2-eth0'] }],
  ['G.V("ns1").Descendants(0).Count()', { json: 3 }],
  ['G.V("ns1-eth0").Ascendants(2)', { ids: ['ns1-eth0', 'ns1', 'host1'] }],
  ['G.V("ns1-eth0").Ascendants("RelationType", "layer2")', { ids: ['ns1-eth0'] }],
  ['G.V("veth1").Ascendants("RelationType", "layer2")', { ids: ['veth1', 'ns1-eth0', 'br0'] }],
  ['G.V("br0").Neighbors("RelationType", "layer2", 0)', { ids: ['br0', 'veth1', 'ns1-eth0'] }],
  ['G.V("h2-eth0").Neighbors(2)', { ids: ['h2-eth0', 'host2'] }],
  ['G.V().Descendants("RelationType")', { syntax: /last argument must be the maximum depth/ }],
  // flows
  ['G.Flows().Count()', { json: 5 }],
  ['G.Flows("Application", "TCP").Count()', { json: 3 }],
  ['G.Flows().Has("Network", "10.0.0.1").Has("Transport", 53)', { ids: ['f-dns'] }],
  ['G.Flows().Has("Transport.Protocol", "TCP").Dedup().Count()', { json: 2 }],
  ['G.Flows().Has("Transport", NE(""))', { ids: ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-old'] }],
  ['G.Flows().Has("Network", WITHIN("172.16.0.20"))', { ids: ['f-old'] }],
  ['G.Flows().Sort(DESC, "Start").Limit(1)', { ids: ['f-dns'] }],
  ['G.Flows().Has("FinishType", 1)', { ids: ['f-icmp'] }],
  ['G.Flows().Has("FinishType", NEE(2)).Count()', { json: 4 }],
  ['G.Flows().Has("Network")', { eval: /At least two parameters must be provided/ }],
  ['G.V("ns1-eth0").Flows().Count()', { json: 3 }],
  ['G.V("ns1").Flows()', { json: [] }],
  ['G.V().Has("Type", "veth").Flows().Dedup().Count()', { json: 3 }],
  ['G.Flows().Has("UUID", "f-old").Hops()', { ids: ['h1-eth0'] }],
  ['G.Flows().Has("UUID", "f-old").Node().In()', { ids: ['host1'] }],
  ['G.Flows().Has("TrackingID", "track-tcp").Hops().In().Dedup()', { ids: ['ns1', 'host1', 'ns1-eth0', 'br0'] }],
  ['G.Flows().Has("UUID", "f-tcp-ns1").Out()', { ids: ['ns2-eth0'] }],
  ['G.Flows().Has("UUID", "f-tcp-ns1").Both().Dedup()', { ids: ['ns1-eth0', 'ns2-eth0'] }],
  ['G.Flows().Has("UUID", "f-tcp-ns1").Nodes()', { ids: ['ns1-eth0', 'ns1-eth0', 'ns2-eth0'] }],
  ['G.Flows().Values("Application").Dedup()', { json: ['TCP', 'DNS', 'ICMPv4'] }],
  ['G.Flows().Has("Application", "DNS").Values("Transport.B")', { json: [53] }],
  ['G.Flows().Sum("Metric.BAPackets")', { json: 8 + 8 + 1 + 4 + 90 }],
  ['G.Flows().Group().Count()', { json: 4 }],
  ['G.Flows().Group().MoreThan().Count()', { json: 1 }],
  ['G.Flows().Has("Application", "DNS").Sockets().Values("Name")', { json: ['unbound'] }],
  ['G.Flows().Metrics().Count()', { json: 5 }],
  ['G.Flows().Has("UUID", "f-dns").Metrics().Sum("ABBytes")', { json: 100 }],
  ['G.Flows().Has("UUID", "f-dns").Metrics().Aggregates(60)', { json: [{ Aggregated: [{ ABPackets: 1, ABBytes: 100, BAPackets: 1, BABytes: 100, Start: NOW - 30_000, Last: NOW - 29_000 }] }] }],
  // node extensions
  ['G.V().Has("Type", "host").Sockets().Count()', { json: 2 }],
  ['G.V("host1").Sockets().Has("Name", "sshd").Values("LocalPort")', { json: [22] }],
  ['G.V("host1").Sockets().Has("Name")', { eval: /At least two parameters/ }],
  ['G.V("h1-eth0").Metrics().Sum()', { json: { RxBytes: 3000, TxBytes: 1500, RxPackets: 30, TxPackets: 15, Start: T0 + 3_540_000, Last: T0 + 3_570_000 } }],
  ['G.V("h1-eth0").Metrics().Keys()', { json: ['RxBytes', 'TxBytes', 'RxPackets', 'TxPackets', 'Start', 'Last'] }],
  ['G.V().Metrics("LastUpdateMetric").Count()', { json: 1 }],
  ['G.V("h1-eth0").NextHop("172.16.5.5")', { json: [{ 'h1-eth0': { Priority: 0, IP: '172.16.5.5', IfIndex: 3 } }] }],
  ['G.V().NextHop("10.9.0.1").Count()', { json: 1 }],
  // time context
  ['G.At("-1m").V().Count()', { json: 11 }],
  [`G.At(${T0 + 5500}).V().Count()`, { json: 6 }],
  [`G.At(${Math.floor((T0 + 5500) / 1000)}).V().Count()`, { json: 6 }],
  [`G.At(${T0 + 12_500}).E().Count()`, { json: 2 }],
  [`G.At(${T0 + 5500}, "3s").V().Count()`, { json: 6 }],
  ['G.At(NOW, FOREVER).V().Count()', { json: 11 }],
  ['G.At("-1m", "30s").Flows()', { ids: ['f-tcp-ns1', 'f-tcp-veth1'] }],
  ['G.V().At("-1m")', { syntax: /must come right after G/ }],
  ['G.At("yesterday").V()', { syntax: /Time must be in RFC1123 or in Go Duration format/ }],
  [`G.At(${T0 - 1000}).V("host1")`, { eval: /Node 'host1' does not exist/ }]
]

test(`conformance table (${table.length} queries)`, async (t) => {
  for (const [query, expected] of table) {
    await t.test(query, async () => {
      let result: unknown
      try {
        result = await q(query)
      } catch (err) {
        assert.ok(TopoflowError.is(err), `not a TopoflowError: ${String(err)}`)
        if ('syntax' in expected) {
          assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_SYNTAX')
          assert.match(err.message, expected.syntax)
          return
        }
        if ('eval' in expected) {
          assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_EVAL')
          assert.match(err.message, expected.eval)
          return
        }
        throw err
      }
      if ('ids' in expected) {
        const got = (result as Array<{ ID?: string, UUID?: string }>).map((x) => x.ID ?? x.UUID)
        assert.deepEqual(got, expected.ids)
      } else if ('count' in expected) {
        assert.equal((result as unknown[]).length, expected.count)
      } else if ('json' in expected) {
        assert.deepEqual(result, expected.json)
      } else {
        assert.fail(`expected an error, got ${JSON.stringify(result).slice(0, 200)}`)
      }
    })
  }
  assert.ok(table.length >= 140)
  assert.equal(typeof ids, 'function')
})
