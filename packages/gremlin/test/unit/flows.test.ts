import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { MemoryFlowSource, applyFlowQuery } from '../../src/index.ts'
import type { Flow, FlowFilter, FlowQueryContext, FlowSource } from '../../src/index.ts'
import { MAC, NOW, T0, buildFlows, flows, ids, q } from './fixture.ts'

const uuids = (result: unknown): string[] => (result as Flow[]).map((f) => f.UUID as string)

/** A FlowSource that records what it is asked and answers from memory. */
class RecordingFlows implements FlowSource {
  readonly calls: Array<{ filter: FlowFilter, ctx: FlowQueryContext }> = []
  private readonly inner = buildFlows()
  async query (filter: FlowFilter, ctx: FlowQueryContext): Promise<Flow[]> {
    this.calls.push({ filter, ctx })
    return await this.inner.query(filter, ctx)
  }
}

test('G.Flows() returns flows as Skydive\'s JSON, Count is a bare number', async () => {
  const all = await q('G.Flows()')
  assert.deepEqual(uuids(all), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-icmp', 'f-old'])
  assert.deepEqual(all[0], flows[0])
  assert.equal(await q('G.Flows().Count()'), 5)
})

test('flow Has: Network/Link/Transport alone mean A or B', async () => {
  assert.deepEqual(uuids(await q('G.Flows().Has("Network", "10.0.0.2")')), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().Has("Network.A", "10.0.0.2")')), ['f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().Has("Transport", 80)')), ['f-tcp-ns1', 'f-tcp-veth1'])
  assert.deepEqual(uuids(await q('G.Flows().Has("Transport", 43210)')), ['f-tcp-ns1', 'f-tcp-veth1'])
  assert.deepEqual(uuids(await q(`G.Flows().Has("Link", "${MAC.ns2eth0}", "Transport.Protocol", "UDP")`)), ['f-dns'])
  assert.deepEqual(uuids(await q('G.Flows("Network", IPV4Range("172.16.0.0/16"))')), ['f-old'])
})

test('flow Has(\'Transport\', NE(\'\')) keeps flows with a transport layer (flow-matrix query)', async () => {
  assert.deepEqual(uuids(await q('G.Flows().Has("Transport", NE(""))')), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-old'])
  assert.deepEqual(uuids(await q('G.Flows().Has("Transport.Protocol", NE("TCP"))')), ['f-dns'])
})

test('flow Has on dotted keys, aliases and predicates', async () => {
  assert.deepEqual(uuids(await q('G.Flows().Has("IPV4.B", "10.0.0.1")')), ['f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().Has("TCP.B", 22)')), ['f-old'])
  assert.deepEqual(uuids(await q('G.Flows().Has("ETHERNET.A", REGEX("02:00:00:00:00:0[13]"))')), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().Has("Metric.ABBytes", GT(5000))')), ['f-old'])
  assert.deepEqual(uuids(await q('G.Flows().Has("ICMP.Type", "ECHO")')), ['f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().Has("Application", WITHIN("DNS", "ICMPv4"))')), ['f-dns', 'f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().HasEither("Application", "DNS", "FinishType", 2)')), ['f-dns', 'f-old'])
  assert.deepEqual(uuids(await q(`G.Flows().Has("Start", GTE(${NOW - 60_000}))`)), ['f-dns', 'f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().Has("NodeTID", "tid-veth1")')), ['f-tcp-veth1'])
})

test('flow Has needs key/value pairs (Skydive refuses a lone key)', async () => {
  await assert.rejects(q('G.Flows().Has("Network")'), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_GREMLIN_EVAL' && /At least two parameters/.test(err.message))
  await assert.rejects(q('G.Flows().Limit(1).Has("Network")'), /At least two parameters/)
})

test('flow Sort (default Last), Dedup (default TrackingID), Limit, Range', async () => {
  assert.deepEqual(uuids(await q('G.Flows().Sort()')), ['f-old', 'f-icmp', 'f-dns', 'f-tcp-ns1', 'f-tcp-veth1'])
  assert.deepEqual(uuids(await q('G.Flows().Sort(DESC, "Metric.ABBytes").Limit(2)')), ['f-old', 'f-tcp-ns1'])
  assert.deepEqual(uuids(await q('G.Flows().Sort("Application").Limit(1)')), ['f-dns'])
  assert.deepEqual(uuids(await q('G.Flows().Dedup()')), ['f-tcp-ns1', 'f-dns', 'f-icmp', 'f-old'])
  assert.deepEqual(uuids(await q('G.Flows().Dedup("Application")')), ['f-tcp-ns1', 'f-dns', 'f-icmp'])
  assert.deepEqual(uuids(await q('G.Flows().Has("Transport", NE("")).Dedup("Transport.B")')), ['f-tcp-ns1', 'f-dns', 'f-old'])
  await assert.rejects(q('G.Flows().Dedup("Transport.B")'), /Field not found: flow f-icmp/)
  assert.deepEqual(uuids(await q('G.Flows().Range(1, 3)')), ['f-tcp-veth1', 'f-dns'])
  assert.deepEqual(uuids(await q('G.Flows().Limit(2).Sort(DESC, "Last")')), ['f-tcp-veth1', 'f-tcp-ns1'])
  await assert.rejects(q('G.Flows().Dedup("Nope")'), /Field not found/)
  await assert.rejects(q('G.Flows().Sort("Transport.A")'), /Field not found/)
})

test('folding: Flows(...).Has().HasEither().Dedup().Sort().Limit() becomes one pushed-down query', async () => {
  const source = new RecordingFlows()
  const result = await q('G.Flows("Application", "TCP").Has("Network", "10.0.0.1").HasEither("Transport", 80, "Transport", 22).Dedup().Sort(DESC, "Last").Limit(5).Count()', { flows: source })
  assert.equal(result, 1)
  assert.equal(source.calls.length, 1)
  const { filter, ctx } = source.calls[0] as { filter: FlowFilter, ctx: FlowQueryContext }
  assert.equal(filter.where?.op, 'and')
  assert.equal(filter.dedupBy, '')
  assert.deepEqual(filter.sort, { by: 'Last', order: 'desc' })
  assert.deepEqual(filter.range, { from: 0, to: 5 })
  assert.equal(filter.nodeTIDs, undefined)
  assert.equal(filter.activeIn, undefined)
  assert.deepEqual(ctx, { time: undefined, now: NOW })
})

test('G.V(...).Flows(): only capturable node types, filtered by their TIDs', async () => {
  const source = new RecordingFlows()
  assert.deepEqual(uuids(await q('G.V("ns1-eth0").Flows()', { flows: source })), ['f-tcp-ns1', 'f-dns', 'f-icmp'])
  assert.deepEqual(source.calls[0]?.filter.nodeTIDs, ['tid-ns1-eth0'])
  assert.deepEqual(uuids(await q('G.V().Has("Type", "veth").Flows()')), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-icmp'])
  const quiet = new RecordingFlows()
  assert.deepEqual(await q('G.V().Has("Type", WITHIN("host", "netns")).Flows().Has("Network", "10.0.0.1")', { flows: quiet }), [])
  assert.equal(quiet.calls.length, 0, 'no query for nodes that cannot be captured')
  assert.deepEqual(uuids(await q('G.V("ns1-eth0").ShortestPathTo(Metadata("Name", "veth1")).Flows().Dedup("NodeTID")')), ['f-tcp-ns1', 'f-tcp-veth1'])
})

test('Hops / CaptureNode / Node: the capture node of each flow', async () => {
  assert.deepEqual(ids(await q('G.Flows().Has("TrackingID", "track-tcp").Hops()')), ['ns1-eth0', 'veth1'])
  assert.deepEqual(ids(await q('G.Flows().Has("Application", "DNS").CaptureNode()')), ['ns1-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Node().Dedup()')), ['ns1-eth0', 'veth1', 'h1-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Hops("Type", "device")')), ['h1-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-dns").Node().In("Type", "netns")')), ['ns1'])
})

test('Nodes: capture node then the nodes whose MAC is Link.A and Link.B', async () => {
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-dns").Nodes()')), ['ns1-eth0', 'ns1-eth0', 'ns2-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-old").Nodes()')), ['h1-eth0', 'h1-eth0', 'h2-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-old").Nodes("@Host", "host2")')), ['h2-eth0'])
})

test('flow In (A side), Out (B side), Both: by MAC or PeerIntfMAC', async () => {
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-dns").In()')), ['ns1-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-dns").Out()')), ['ns2-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-icmp").Both()')), ['ns2-eth0', 'ns1-eth0'])
  assert.deepEqual(ids(await q('G.Flows().Has("UUID", "f-dns").In("Name", "veth1")')), ['veth1'], 'PeerIntfMAC matches too')
})

test('flow Values (every flow must have the key), Keys, Sum over Metric fields', async () => {
  assert.deepEqual(await q('G.Flows().Has("Application", "TCP").Values("Network.B")'), ['10.0.0.2', '10.0.0.2', '172.16.0.20'])
  assert.deepEqual(await q('G.Flows().Has("UUID", "f-dns").Values("Transport")'), [{ Protocol: 'UDP', A: 5353, B: 53, ID: 0 }])
  await assert.rejects(q('G.Flows().Values("Transport.A")'), /Field not found: flow f-icmp has no field 'Transport.A'/)
  const keys = await q('G.Flows().Keys()')
  assert.ok(keys.includes('Network.A') && keys.includes('Metric.ABBytes') && keys.includes('TrackingID'))
  assert.equal(await q('G.Flows().Sum("Metric.ABBytes")'), 1000 + 1000 + 100 + 400 + 10_000)
  assert.equal(await q('G.Flows().Has("UUID", "f-dns").Sum("LastUpdateMetric.BAPackets")'), 1)
  await assert.rejects(q('G.Flows().Sum("Start")'), /Sum accepts only sub fields of Metric and LastUpdateMetric/)
  await assert.rejects(q('G.Flows().Sum("LastUpdateMetric.ABBytes")'), /Field not found/)
})

test('Flows().Sockets(): the sockets at both ends, by 5-tuple; IPv4-mapped addresses match', async () => {
  const result = await q('G.Flows().Has("Transport", NE("")).Sockets()')
  assert.equal(result.length, 1)
  const byFlow = result[0]
  assert.deepEqual(Object.keys(byFlow), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns'])
  assert.deepEqual(byFlow['f-tcp-ns1'].map((s: { Name: string }) => s.Name), ['curl', 'nginx'])
  assert.deepEqual(byFlow['f-dns'].map((s: { Name: string }) => s.Name), ['unbound'])
  assert.deepEqual(await q('G.Flows().Has("Application", "ICMPv4").Sockets()'), [])
  assert.deepEqual(await q('G.Flows().Sockets().Has("Name", "nginx").Values("Pid")'), [80, 80])
  assert.deepEqual(await q('G.Flows().Sockets().Has("Protocol", "UDP")'), [{ 'f-dns': [byFlow['f-dns'][0]] }])
  assert.equal(await q('G.Flows().Sockets().Count()'), 3)
})

test('V().Sockets(): sockets metadata by node ID', async () => {
  const result = await q('G.V().Sockets()')
  assert.deepEqual(Object.keys(result[0]), ['host1', 'host2'])
  assert.equal(result[0].host1.length, 2)
  assert.deepEqual(await q('G.V().Has("Type", "netns").Sockets()'), [])
  assert.deepEqual(await q('G.V().Sockets().Has("State", "LISTEN").Values("LocalPort")'), [22])
  assert.deepEqual(await q('G.V().Sockets().Values("Name")'), ['curl', 'sshd', 'nginx', 'unbound'])
})

test('Group by TrackingID (default) or a key; MoreThan', async () => {
  const groups = await q('G.Flows().Group()')
  assert.deepEqual(Object.keys(groups[0]), ['track-tcp', 'track-dns', 'track-icmp', 'track-old'])
  assert.deepEqual(uuids(groups[0]['track-tcp']), ['f-tcp-ns1', 'f-tcp-veth1'])
  const tcp = await q('G.Flows().Group().MoreThan()')
  assert.deepEqual(Object.keys(tcp[0]), ['track-tcp'])
  assert.deepEqual(await q('G.Flows().Group().MoreThan("2")'), [])
  assert.deepEqual(Object.keys((await q('G.Flows().Group("Application").MoreThan(1)'))[0]), ['TCP'])
  assert.deepEqual(Object.keys((await q('G.Flows().Group("NodeTID")'))[0]), ['tid-ns1-eth0', 'tid-veth1', 'tid-h1-eth0'])
  assert.equal(await q('G.Flows().Group().Count()'), 4)
  await assert.rejects(q('G.Flows().Group("Transport.A")'), /Field not found|must be a string field/)
})

test('Flows().Metrics(): last window per flow (LastUpdateMetric, else Metric); Sum and Aggregates', async () => {
  const metrics = await q('G.Flows().Metrics()')
  assert.deepEqual(Object.keys(metrics[0]), ['f-tcp-ns1', 'f-tcp-veth1', 'f-dns', 'f-icmp', 'f-old'])
  assert.deepEqual(metrics[0]['f-tcp-ns1'], [flows[0]?.LastUpdateMetric])
  assert.deepEqual(metrics[0]['f-tcp-veth1'], [flows[1]?.Metric], 'no LastUpdateMetric yet: Metric')
  assert.equal(await q('G.Flows().Metrics().Count()'), 5)
  assert.equal(await q('G.Flows().Metrics().Sum("ABPackets")'), 3 + 10 + 1 + 4 + 20)
  const total = await q('G.Flows().Has("Application", "TCP").Metrics().Sum()')
  assert.deepEqual(total, { ABPackets: 33, ABBytes: 3300, BAPackets: 28, BABytes: 2800, Start: T0 + 840_000, Last: NOW - 4_000 })
  assert.deepEqual(await q('G.Flows().Has("Application", "nothing").Metrics()'), [])
  assert.equal(await q('G.Flows().Has("Application", "nothing").Metrics().Sum()'), null)
  assert.deepEqual(await q('G.Flows().Metrics().Keys()'), ['ABPackets', 'ABBytes', 'BAPackets', 'BABytes', 'Start', 'Last'])
})

test('Aggregates: windows summed into slices, spread in proportion to time', async () => {
  const agg = await q('G.Flows().Has("UUID", "f-dns").Metrics().Aggregates(10)')
  assert.deepEqual(agg, [{ Aggregated: [{ ABPackets: 1, ABBytes: 100, BAPackets: 1, BABytes: 100, Start: NOW - 30_000, Last: NOW - 29_000 }] }])
  const split = await q('G.Flows().Has("UUID", "f-old").Metrics().Aggregates(30)')
  assert.deepEqual(split[0].Aggregated.map((m: { ABBytes: number, Start: number }) => [m.ABBytes, m.Start - T0]), [[1000, 840_000], [1000, 870_000]])
  const many = await q('G.Flows().Metrics().Aggregates()')
  const sum = many[0].Aggregated.reduce((s: number, m: { ABBytes: number }) => s + m.ABBytes, 0)
  assert.equal(sum, 300 + 1000 + 100 + 400 + 2000, 'aggregation keeps every byte')
  assert.deepEqual(await q('G.Flows().Has("Application", "nothing").Metrics().Aggregates()'), [{ Aggregated: [] }])
  const stored = (await q(`G.At(${NOW}, "2h").Flows().Metrics().Aggregates(1)`))[0].Aggregated
  assert.equal(stored.reduce((s: number, m: { ABBytes: number }) => s + m.ABBytes, 0), 300 + 100 + 2000, 'stored windows of the flows')
  await assert.rejects(q(`G.At(${NOW}, "3h").Flows().Metrics().Aggregates(1)`), /Aggregates available slices exceeded: 10800\/10000/)
})

test('V().Metrics(): interface metrics by node, Sum and Aggregates on them', async () => {
  const m = await q('G.V().Metrics()')
  assert.deepEqual(Object.keys(m[0]), ['h1-eth0'])
  assert.equal(m[0]['h1-eth0'][0].RxBytes, 3000)
  assert.equal(await q('G.V().Metrics().Sum("RxBytes")'), 3000)
  assert.deepEqual(await q('G.V().Has("Type", "host").Metrics()'), [])
  const agg = await q('G.V("h1-eth0").Metrics().Aggregates(15)')
  assert.deepEqual(agg[0].Aggregated.map((x: { RxBytes: number }) => x.RxBytes), [1500, 1500])
  await assert.rejects(q('G.V().Metrics("SFlow").Sum("RxBytes")').then(async (r) => {
    assert.equal(r, 0)
    return await q('G.V("host1").Metrics("Ovs")')
  }).then((r) => {
    assert.deepEqual(r, [])
    return q('G.Flows().Metrics("Ovs")')
  }), /Metrics on flows takes no parameter/)
})

test('NextHop: gateway route, on-link route with neighbor MAC, default route, none', async () => {
  assert.deepEqual(await q('G.V("h1-eth0").NextHop("10.9.1.1")'), [{ 'h1-eth0': { Priority: 5, IP: '172.16.0.99', IfIndex: 3 } }])
  assert.deepEqual(await q('G.V("h1-eth0").NextHop("172.16.0.1")'), [{ 'h1-eth0': { Priority: 0, IP: '172.16.0.1', MAC: '02:00:00:00:00:fe', IfIndex: 3 } }])
  assert.deepEqual(await q('G.V("h1-eth0").NextHop("8.8.8.8")'), [{ 'h1-eth0': { Priority: 0, IP: '172.16.0.1', MAC: '02:00:00:00:00:fe', IfIndex: 3 } }])
  assert.deepEqual(await q('G.V("br0").NextHop("8.8.8.8")'), [])
  assert.deepEqual(await q('G.V("h1-eth0").NextHop("2001:db8::1")'), [])
})

test('without a flow source, flow queries fail clearly (node-only queries still work)', async () => {
  await assert.rejects(q('G.Flows()', { flows: undefined }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_GREMLIN_EVAL' && /No flow source configured/.test(err.message))
  assert.deepEqual(await q('G.V("host1").Flows()', { flows: undefined }), [])
})

test('applyFlowQuery and MemoryFlowSource: bounds, live window, metric history', async () => {
  const source = new MemoryFlowSource({ maxFlows: 3, liveWindowMs: 60_000 })
  for (const f of flows) source.upsert(f)
  assert.equal(source.size, 3)
  assert.deepEqual(uuids(await source.query({}, { now: NOW })), ['f-dns', 'f-icmp'], 'oldest evicted, live window applied')
  assert.deepEqual(uuids(await source.query({}, { now: NOW, time: { at: NOW } })), ['f-dns', 'f-icmp', 'f-old'])
  assert.throws(() => source.upsert({ Start: 0, Last: 0 }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST')
  assert.deepEqual(uuids(applyFlowQuery(flows, { nodeTIDs: ['tid-veth1', 'tid-h1-eth0'], activeIn: { from: T0, to: T0 + 700_000 } })), ['f-old'])
  assert.deepEqual(uuids(applyFlowQuery(flows, { range: { from: 4, to: 10 } })), ['f-old'])
  assert.equal(source.delete('f-old'), true)
  source.clear()
  assert.equal(source.size, 0)
})
