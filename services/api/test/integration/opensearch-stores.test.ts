import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '@opensearch-project/opensearch'
import { silentLogger, TopoflowError } from '@topoflow/core'
import { applyFlowQuery, elementJson, MemoryFlowSource, MemoryGraph, runGremlin } from '@topoflow/gremlin'
import type { Filter, Flow, FlowFilter, GraphElement, GraphSnapshot, TimeContext } from '@topoflow/gremlin'
import { BulkIndexer, ensureTemplates, flowBulkDocs, ismPolicies, topologyDocument, topologyLiveDoc, type IndexNames } from '@topoflow/opensearch'
import type { Edge, EnrichedFlow, Node } from '@topoflow/schemas'
import { resolveInfraOrSkip, uniqueName } from '@topoflow/testing'
import { OpenSearchFlowSource } from '../../src/stores/opensearch-flows.ts'
import { OpenSearchGraphSource } from '../../src/stores/opensearch-graph.ts'
import { makeApi } from '../helpers.ts'
import { byUpdate, captureTIDs, makeFlows } from '../stores-fixtures.ts'

const minute = 60_000
const day = 86_400_000

/** A client and fresh templates under a prefix of its own; indices and templates go after the test. */
async function useOpenSearch (t: TestContext, kind: string): Promise<{ client: Client, prefix: string, names: IndexNames } | null> {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return null
  const prefix = uniqueName(kind)
  const client = new Client({ node: infra.opensearchUrl })
  t.after(async () => {
    await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => {})
    await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => {})
    for (const policy of ismPolicies(prefix)) {
      // clusters without the index-management plugin have none
      await client.transport.request({ method: 'DELETE', path: `/_plugins/_ism/policies/${encodeURIComponent(policy.id)}` }).catch(() => {})
    }
    await client.close()
  })
  const { names } = await ensureTemplates(client, { prefix, replicas: 0, logger: silentLogger() })
  return { client, prefix, names }
}

type Kind = 'node' | 'edge'

/**
 * Writes topology history the way the graph-builder's OpenSearchHistorySink does (live document per
 * element, each superseded revision archived with ArchivedAt = the next revision's UpdatedAt, a
 * deleted element's last revision archived with DeletedAt = ArchivedAt and its live document
 * removed), while a MemoryGraph with full history records the same changes, as the reference.
 */
class TopologyHistory {
  readonly graph: MemoryGraph
  readonly #names: IndexNames
  readonly #current = new Map<string, { kind: Kind, element: GraphElement }>()
  readonly #ops: unknown[] = []

  constructor (names: IndexNames, now: number) {
    this.#names = names
    this.graph = new MemoryGraph({ now: () => now, historyWindowMs: 100 * day })
  }

  #live (kind: Kind, element: GraphElement): void {
    const { index, id, doc } = topologyLiveDoc(stored(element), kind, this.#names)
    this.#ops.push({ index: { _index: index, _id: id } }, doc)
  }

  #archive (kind: Kind, element: GraphElement, archivedAt: number): void {
    // the graph-builder's archive _id: CreatedAt tells two lives of one ID apart
    const id = `${element.ID}_${element.CreatedAt}_${element.Revision}`
    this.#ops.push({ index: { _index: this.#names.topologyArchive(archivedAt), _id: id } }, topologyDocument(stored(element), kind, archivedAt))
  }

  write (kind: Kind, element: GraphElement): void {
    const previous = this.#current.get(element.ID)
    if (previous !== undefined) this.#archive(kind, previous.element, element.UpdatedAt)
    this.#current.set(element.ID, { kind, element })
    this.#live(kind, element)
  }

  remove (id: string, at: number): void {
    const current = this.#current.get(id)
    if (current === undefined) throw new Error(`${id} is not there`)
    if (current.kind === 'node') this.graph.deleteNode(id, at)
    else this.graph.deleteEdge(id, at)
    this.#archive(current.kind, { ...current.element, DeletedAt: at }, at)
    this.#current.delete(id)
    this.#ops.push({ delete: { _index: this.#names.topologyLive, _id: id } })
  }

  async flush (client: Client): Promise<void> {
    const res = await client.bulk({ body: this.#ops as never, refresh: 'wait_for' })
    assert.equal(res.body.errors, false, JSON.stringify(res.body.items.filter((i) => Object.values(i)[0]?.error !== undefined)))
  }
}

function stored (element: GraphElement): Node | Edge {
  return { ...element, DeletedAt: element.DeletedAt ?? null } as Node | Edge
}

const describe = (snapshot: GraphSnapshot): { nodes: unknown[], edges: unknown[] } => {
  const sorted = (items: readonly GraphElement[]): unknown[] => items.map(elementJson)
    .sort((a, b) => `${String(a.ID)}:${String(a.CreatedAt)}:${String(a.Revision)}`.localeCompare(`${String(b.ID)}:${String(b.CreatedAt)}:${String(b.Revision)}`))
  return { nodes: sorted(snapshot.nodes()), edges: sorted(snapshot.edges()) }
}

const names = (snapshot: GraphSnapshot): string[] => snapshot.nodes().map((n) => `${n.ID}@${n.Revision}`).sort()

test('topology history: point in time and windows over live and archive, as the in-memory graph answers', async (t) => {
  const os = await useOpenSearch(t, 'api-topology')
  if (os === null) return
  const { client, names: indices } = os
  // ten minutes before a month ends: revisions land in two monthly archive indices
  const t0 = Date.UTC(2024, 4, 31, 23, 50)
  const deletedAt = t0 + 20 * minute
  const history = new TopologyHistory(indices, t0 + 2 * 60 * minute)
  const g = history.graph
  history.write('node', g.addNode({ ID: 'host', Host: 'h1', Origin: 'capture.h1', CreatedAt: t0, Metadata: { Type: 'host', Name: 'h1' } }))
  history.write('node', g.addNode({ ID: 'ns', Host: 'h1', Origin: 'capture.h1', CreatedAt: t0, Metadata: { Type: 'netns', Name: 'ns1' } }))
  history.write('node', g.addNode({ ID: 'eth0', Host: 'h1', Origin: 'capture.h1', CreatedAt: t0, Metadata: { Type: 'veth', Name: 'eth0', MTU: 1500, TID: 'tid-eth0' } }))
  history.write('edge', g.addEdge({ ID: 'host-ns', Parent: 'host', Child: 'ns', Host: 'h1', CreatedAt: t0, Metadata: { RelationType: 'ownership' } }))
  history.write('edge', g.addEdge({ ID: 'ns-eth0', Parent: 'ns', Child: 'eth0', Host: 'h1', CreatedAt: t0, Metadata: { RelationType: 'ownership' } }))
  history.write('node', g.updateNode({ ID: 'eth0', UpdatedAt: t0 + minute, Metadata: { Type: 'veth', Name: 'eth0', MTU: 9000, TID: 'tid-eth0' } }))
  history.write('node', g.updateNode({ ID: 'eth0', UpdatedAt: t0 + 5 * minute, Metadata: { Type: 'veth', Name: 'eth0', MTU: 9000, State: 'DOWN', TID: 'tid-eth0' } }))
  // the interface goes away at T (its edge first, as Skydive deletes them), then comes back as a new life
  history.remove('ns-eth0', deletedAt)
  history.remove('eth0', deletedAt)
  history.write('node', g.addNode({ ID: 'eth0', Host: 'h1', Origin: 'capture.h1', CreatedAt: t0 + 30 * minute, Metadata: { Type: 'veth', Name: 'eth0', MTU: 1500 } }))
  history.write('node', g.updateNode({ ID: 'host', UpdatedAt: t0 + 40 * minute, Metadata: { Type: 'host', Name: 'h1', OS: 'linux' } }))
  await history.flush(client)
  const archives = await client.cat.indices({ index: indices.patterns.topologyArchive, format: 'json' })
  assert.deepEqual((archives.body as Array<{ index: string }>).map((i) => i.index.slice(-7)).sort(), ['2024.05', '2024.06'])

  // a tiny page size makes every answer span several pages (and a point in time)
  const source = new OpenSearchGraphSource({ client, prefix: os.prefix, pageSize: 2 })

  const before = await source.at({ at: deletedAt - 1000 })
  assert.deepEqual(names(before), ['eth0@3', 'host@1', 'ns@1'])
  assert.deepEqual(before.node('eth0')?.Metadata, { Type: 'veth', Name: 'eth0', MTU: 9000, State: 'DOWN', TID: 'tid-eth0' })
  assert.deepEqual(before.edges().map((e) => e.ID).sort(), ['host-ns', 'ns-eth0'])
  const after = await source.at({ at: deletedAt + 1000 })
  assert.deepEqual(names(after), ['host@1', 'ns@1'], 'the interface is gone after its deletion')
  assert.deepEqual(after.edges().map((e) => e.ID), ['host-ns'])
  assert.deepEqual(names(await source.at({ at: deletedAt })), ['host@1', 'ns@1'], 'deleted at T: already gone at T')
  assert.deepEqual(names(await source.at({ at: t0 - 1 })), [], 'nothing before creation')
  const reborn = await source.at({ at: t0 + 35 * minute })
  assert.equal(reborn.node('eth0')?.CreatedAt, t0 + 30 * minute, 'the second life, not the deleted revision 3')
  assert.deepEqual(names(reborn), ['eth0@1', 'host@1', 'ns@1'])

  const window = await source.at({ at: deletedAt + 5 * minute, duration: 10 * minute })
  assert.deepEqual(window.nodes().map((n) => `${n.ID}@${n.Revision}`).sort(), ['eth0@3', 'host@1', 'ns@1'])
  assert.equal(window.node('eth0')?.DeletedAt, deletedAt)
  const all = await source.at({ at: t0 + 60 * minute, duration: 60 * minute })
  assert.equal(all.nodes().filter((n) => n.ID === 'eth0').length, 4, 'three revisions of the first life and one of the second')

  // the same answers as the in-memory graph, over a grid of times and windows
  const times = [t0, t0 + 30_000, t0 + minute, t0 + 3 * minute, t0 + 5 * minute, deletedAt - 1, deletedAt, deletedAt + 1, t0 + 30 * minute, t0 + 40 * minute, t0 + 90 * minute]
  const contexts: TimeContext[] = [...times.map((at) => ({ at })), ...times.flatMap((at) => [{ at, duration: 0 }, { at, duration: 2 * minute }, { at, duration: 30 * minute }])]
  for (const time of contexts) {
    assert.deepEqual(describe(await source.at(time)), describe(await g.at(time)), `at ${JSON.stringify(time)}`)
  }
  assert.deepEqual(describe(await source.at()), describe(await g.at()), 'the live index is the current graph')

  // Gremlin time travel over it
  const query = async (gremlin: string): Promise<unknown> => await runGremlin(gremlin, { graph: source, now: () => t0 + 2 * 60 * minute })
  assert.equal(await query(`G.At(${deletedAt - 1000}).V().Has('Name', 'eth0').Count()`), 1)
  assert.equal(await query(`G.At(${deletedAt + 1000}).V().Has('Name', 'eth0').Count()`), 0)
  assert.deepEqual(await query(`G.At(${deletedAt - 1000}).V().Has('Type', 'netns').Out().Values('MTU')`), [9000])

  await assert.rejects(new OpenSearchGraphSource({ client, prefix: os.prefix, pageSize: 2, maxElements: 3 }).at({ at: t0 + 60 * minute, duration: 60 * minute }),
    (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_GREMLIN_EVAL' && /more than 3 element revisions/.test(err.message))
  const empty = new OpenSearchGraphSource({ client, prefix: uniqueName('api-none') })
  assert.deepEqual(describe(await empty.at({ at: t0 })), { nodes: [], edges: [] }, 'no indices yet: an empty graph')
})

/** Indexes flows with the enricher's documents; a few flows get a second update (two metric windows). */
async function indexFlows (client: Client, indices: IndexNames, flows: EnrichedFlow[]): Promise<{ final: EnrichedFlow[], memory: MemoryFlowSource }> {
  const indexer = new BulkIndexer({ client, refresh: 'wait_for', logger: silentLogger() })
  const memory = new MemoryFlowSource()
  const updates: EnrichedFlow[] = [...flows]
  const final = new Map(flows.map((f) => [f.UUID, f]))
  flows.forEach((f, i) => {
    if (i % 9 !== 0) return
    const last = f.Last + 2 * minute
    const window = { ...f.Metric, ABBytes: 7 + i, BABytes: 3 + i, Start: f.Last, Last: last, RTT: 0 }
    const next: EnrichedFlow = { ...f, Last: last, LastUpdateMetric: window, Metric: { ...f.Metric, Last: last, ABBytes: f.Metric.ABBytes + 7 + i } }
    updates.push(next)
    final.set(f.UUID, next)
  })
  // queued at once, they go in one bulk request, where updates of one flow keep their order
  const acknowledged = updates.flatMap((flow) => flowBulkDocs(flow, indices).map(async (doc) => { await indexer.add(doc) }))
  for (const flow of updates) memory.upsert(flow as unknown as Flow)
  await indexer.close()
  await Promise.all(acknowledged)
  return { final: [...final.values()], memory }
}

test('flows: pushed-down FlowFilters give exactly what applyFlowQuery gives on the same flows', async (t) => {
  const os = await useOpenSearch(t, 'api-flows')
  if (os === null) return
  const { client, names: indices } = os
  const base = Date.UTC(2024, 5, 10, 16, 0)
  const { final, memory } = await indexFlows(client, indices, makeFlows(base))
  const flowIndices = await client.cat.indices({ index: indices.patterns.flows, format: 'json' })
  assert.ok((flowIndices.body as unknown[]).length >= 2, 'flows spread over several daily indices')

  const reference = byUpdate(final as unknown as Flow[])
  const tEnd = Math.max(...reference.map((f) => f.Last))
  const wide = { from: base - day, to: tEnd + day }
  const source = new OpenSearchFlowSource({ client, prefix: os.prefix, pageSize: 4 })
  const ctx = { now: tEnd, time: { at: tEnd, duration: 3 * day } }

  // what the filters cost: hits OpenSearch sends back
  let hitsRead = 0
  const counting = new Proxy(client, {
    get (target, prop, receiver) {
      if (prop !== 'search') return Reflect.get(target, prop, receiver)
      return async (params: never) => {
        const res = await target.search(params)
        hitsRead += res.body.hits.hits.length
        return res
      }
    }
  })
  const measured = new OpenSearchFlowSource({ client: counting, prefix: os.prefix, pageSize: 4 })
  const dns = await measured.query({ where: { op: 'term', key: 'Application', value: 'DNS' }, activeIn: wide }, ctx)
  assert.equal(dns.length, 6)
  assert.equal(hitsRead, 6, 'the filter ran in OpenSearch')
  hitsRead = 0
  const top = await measured.query({ sort: { by: 'Metric.ABBytes', order: 'desc' }, range: { from: 0, to: 3 }, activeIn: wide }, ctx)
  assert.deepEqual(top.map((f) => f.UUID), ['flow-035', 'flow-034', 'flow-033'])
  assert.equal(hitsRead, 4, 'sorted in OpenSearch: one page holds the answer')

  const has = (key: string, value: string | number): Filter => ({ op: 'term', key, value })
  const cases: Array<[string, FlowFilter]> = [
    ['everything', {}],
    ['application', { where: has('Application', 'DNS') }],
    ['Network A or B (HasEither semantics)', { where: { op: 'or', filters: [has('Network.A', '10.1.0.53'), has('Network.B', '10.1.0.53')] } }],
    ['IPv6 address through an alias', { where: has('IPV6.B', 'fd00::1:1') }],
    ['transport port', { where: has('Transport.B', 80) }],
    ['transport protocol by name', { where: has('Transport.Protocol', 'UDP') }],
    ['link', { where: { op: 'or', filters: [has('Link.A', '02:42:ac:11:00:12'), has('Link.B', '02:42:ac:11:00:12')] } }],
    ['empty MAC', { where: has('Link.A', '') }],
    ['layers path prefix', { where: { op: 'regex', key: 'LayersPath', pattern: 'Ethernet/IPv4/.*' } }],
    ['layers path alternatives (memory only)', { where: { op: 'regex', key: 'LayersPath', pattern: 'Ethernet/IPv(4|6)/TCP' } }],
    ['UUID', { where: has('UUID', 'flow-007') }],
    ['TrackingID', { where: has('TrackingID', 'track-004') }],
    ['ParentUUID set', { where: { op: 'and', filters: [{ op: 'not', filter: { op: 'null', key: 'ParentUUID' } }, { op: 'not', filter: has('ParentUUID', '') }] } }],
    ['CIDR', { where: { op: 'ipv4range', key: 'Network.A', cidr: '10.0.1.0/24' } }],
    ['NE on a port', { where: { op: 'and', filters: [{ op: 'not', filter: { op: 'null', key: 'Transport.B' } }, { op: 'not', filter: has('Transport.B', 80) }] } }],
    ['byte range', { where: { op: 'and', filters: [{ op: 'gte', key: 'Metric.ABBytes', value: 1100 }, { op: 'lt', key: 'Metric.ABBytes', value: 1300 }] } }],
    ['ICMP', { where: has('ICMP.Type', 'ECHO') }],
    ['finish type', { where: has('FinishType', 2) }],
    ['enrichment', { where: has('AEnrich.ProcessName', 'curl') }],
    ['unindexed field', { where: has('TCPMetric.ABSynTTL', 64) }],
    ['capture nodes', { nodeTIDs: [captureTIDs[0] as string, captureTIDs[2] as string] }],
    ['no capture node', { nodeTIDs: [] }],
    ['active in a window', { activeIn: { from: base + 3 * 60 * minute, to: base + 5 * 60 * minute } }],
    ['sort by bytes, descending, range', { sort: { by: 'Metric.ABBytes', order: 'desc' }, range: { from: 2, to: 7 } }],
    ['sort by port (ties), with a filter', { where: has('Transport.Protocol', 'TCP'), sort: { by: 'Transport.B', order: 'asc' } }],
    ['sort by address (memory sort)', { where: { op: 'not', filter: { op: 'null', key: 'Network.A' } }, sort: { by: 'Network.A', order: 'asc' }, range: { from: 0, to: 5 } }],
    ['sort by MAC, the empty one last', { sort: { by: 'Link.A', order: 'desc' }, range: { from: 30, to: 34 } }],
    ['sort by MAC, the empty one first', { sort: { by: 'Link.A', order: 'asc' }, range: { from: 0, to: 3 } }],
    ['dedup by TrackingID', { dedupBy: '' }],
    ['dedup with range', { dedupBy: 'TrackingID', range: { from: 3, to: 6 } }],
    ['sort, dedup and range', { where: has('Transport.Protocol', 'TCP'), sort: { by: 'Last', order: 'desc' }, dedupBy: 'L3TrackingID', range: { from: 1, to: 4 } }],
    ['limit without sort', { range: { from: 0, to: 5 } }],
    ['range past the end', { range: { from: 30, to: 100 } }]
  ]
  for (const [name, filter] of cases) {
    const withWindow = { ...filter, activeIn: filter.activeIn ?? wide }
    const expected = applyFlowQuery(reference, withWindow)
    const got = await source.query(withWindow, ctx)
    assert.deepEqual(got.map((f) => f.UUID), expected.map((f) => f.UUID), name)
    assert.deepEqual(got, expected, `${name}: the flows as stored`)
  }
  assert.ok(applyFlowQuery(reference, { where: has('Link.A', '') }).length === 1, 'the fixture has one empty MAC')

  // a sort key some flows lack fails as the reference does
  const missingKey: FlowFilter = { sort: { by: 'Transport.A', order: 'asc' }, activeIn: wide }
  assert.throws(() => applyFlowQuery(reference, missingKey), /Field not found/)
  await assert.rejects(source.query(missingKey, ctx), /Field not found/)

  // live: flows whose last packet is within the live window of the query's clock
  const live = new OpenSearchFlowSource({ client, prefix: os.prefix, liveWindowMs: 2 * 60 * minute })
  const recent = reference.filter((f) => f.Last >= tEnd - 2 * 60 * minute)
  assert.ok(recent.length > 0 && recent.length < reference.length)
  assert.deepEqual((await live.query({}, { now: tEnd })).map((f) => f.UUID), recent.map((f) => f.UUID))
  const liveMemory = new MemoryFlowSource({ liveWindowMs: 2 * 60 * minute })
  for (const f of reference) liveMemory.upsert(f)
  assert.deepEqual(await live.query({ where: has('Application', 'HTTP') }, { now: tEnd }), await liveMemory.query({ where: has('Application', 'HTTP') }, { now: tEnd }))

  // metric windows for Flows().Metrics() in a time context
  const uuids = reference.map((f) => f.UUID as string)
  for (const window of [{ from: 0, to: tEnd + day }, { from: base + 60 * minute, to: base + 10 * 60 * minute }]) {
    assert.deepEqual(await source.metrics(uuids, window), await memory.metrics(uuids, window), JSON.stringify(window))
  }
  assert.equal((await source.metrics(['flow-000'], { from: 0, to: tEnd + day }))['flow-000']?.length, 2, 'two updates, two windows')
})

test('flows through Gremlin: the same answers from OpenSearch as from memory, live and in the past', async (t) => {
  const os = await useOpenSearch(t, 'api-gremlin')
  if (os === null) return
  const { client, names: indices } = os
  const base = Date.UTC(2024, 5, 10, 16, 0)
  const { final } = await indexFlows(client, indices, makeFlows(base))
  const reference = byUpdate(final as unknown as Flow[])
  const tEnd = Math.max(...reference.map((f) => f.Last))
  const liveWindowMs = 10 * 60 * minute
  const memory = new MemoryFlowSource({ liveWindowMs })
  for (const f of reference) memory.upsert(f)
  const source = new OpenSearchFlowSource({ client, prefix: os.prefix, pageSize: 5, liveWindowMs })

  const graph = new MemoryGraph({ now: () => tEnd, historyWindowMs: 10 * day })
  graph.addNode({ ID: 'host', CreatedAt: base - day, Metadata: { Type: 'host', Name: 'h1' } })
  captureTIDs.forEach((tid, i) => graph.addNode({ ID: `if${i}`, CreatedAt: base - day, Metadata: { Type: i === 2 ? 'bridge' : 'veth', Name: `if${i}`, TID: tid } }))
  const run = async (flows: MemoryFlowSource | OpenSearchFlowSource, gremlin: string): Promise<unknown> => await runGremlin(gremlin, { graph, flows, now: () => tEnd })

  const tPast = (reference[10] as Flow).Start + 2 * minute
  const queries = [
    'G.Flows()',
    "G.Flows().Has('Application', 'DNS')",
    "G.Flows().Has('Network', '10.1.0.53')",
    "G.Flows().HasEither('Transport.B', 80, 'Transport.B', 443)",
    "G.Flows().Has('Network.A', IPV4RANGE('10.0.0.0/16'), 'Transport.B', NE(80))",
    "G.Flows().Has('LayersPath', REGEX('Ethernet/IPv4/.*')).Sort(DESC, 'Metric.ABBytes').Limit(3)",
    "G.Flows().Dedup().Count()",
    "G.V().Has('Type', 'veth').Flows().Values('UUID')",
    "G.V().Has('Name', 'if1').Flows().Has('Application', 'ARP')",
    `G.At(${tPast}).Flows().Values('UUID')`,
    `G.At(${tPast}, 7200).Flows().Has('Transport.Protocol', 'TCP').Sort('Start').Values('UUID')`,
    `G.At(${base + 12 * 60 * minute}, 14400).V().Has('Name', 'if0').Flows().Range(1, 3)`,
    `G.Context(${base + 20 * 60 * minute}, 7200).Flows().Has('AEnrich.Pod', 'client-0').Count()`
  ]
  for (const gremlin of queries) {
    const expected = await run(memory, gremlin)
    assert.deepEqual(await run(source, gremlin), expected, gremlin)
  }
  assert.ok(((await run(memory, 'G.Flows()')) as unknown[]).length > 0, 'the live window holds some flows')
  assert.ok(((await run(memory, `G.At(${tPast}).Flows()`)) as unknown[]).length > 0, 'the past holds some flows')
  assert.ok(((await run(memory, `G.At(${base + 12 * 60 * minute}, 14400).V().Has('Name', 'if0').Flows().Range(1, 3)`)) as unknown[]).length > 0, 'and some on if0')
})

test('the API answers time-travel and flow queries from OpenSearch when given these stores', async (t) => {
  const os = await useOpenSearch(t, 'api-wired')
  if (os === null) return
  const { client, names: indices } = os
  const t0 = Date.UTC(2024, 5, 10, 12, 0)
  const history = new TopologyHistory(indices, t0 + 60 * minute)
  history.write('node', history.graph.addNode({ ID: 'eth9', Host: 'h1', CreatedAt: t0, Metadata: { Type: 'veth', Name: 'eth9', TID: captureTIDs[0] } }))
  history.remove('eth9', t0 + 10 * minute)
  await history.flush(client)
  const flows = makeFlows(t0, 6)
  await indexFlows(client, indices, flows)

  const graph = new OpenSearchGraphSource({ client, prefix: os.prefix })
  const flowSource = new OpenSearchFlowSource({ client, prefix: os.prefix })
  const { app } = await makeApi(t, { build: { history: graph, flows: flowSource, now: () => t0 + 60 * minute } })
  const post = async (gremlin: string): Promise<{ status: number, body: unknown }> => {
    const res = await app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: gremlin } })
    return { status: res.statusCode, body: res.json() }
  }
  assert.deepEqual(await post(`G.At(${t0 + 5 * minute}).V().Values('Name')`), { status: 200, body: ['eth9'] })
  assert.deepEqual(await post(`G.At(${t0 + 15 * minute}).V().Count()`), { status: 200, body: 0 }, 'deleted at t0+10m')
  const past = await post(`G.At(${t0 + 5 * minute}).V().Has('Name', 'eth9').Flows().Values('UUID')`)
  assert.equal(past.status, 200)
  assert.deepEqual(past.body, ['flow-000'], 'the one flow captured on eth9 and active then')
})

test('an unreachable OpenSearch is a retriable TOPOFLOW_ERR_OPENSEARCH', async () => {
  // nothing listens on port 1: the connection is refused at once
  const client = new Client({ node: 'http://127.0.0.1:1', maxRetries: 0, requestTimeout: 2000 })
  try {
    for (const attempt of [
      new OpenSearchGraphSource({ client }).at({ at: Date.now() }),
      new OpenSearchFlowSource({ client }).query({}, { now: Date.now() })
    ]) {
      await assert.rejects(attempt, (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_OPENSEARCH' && err.retriable)
    }
  } finally {
    await client.close()
  }
})
