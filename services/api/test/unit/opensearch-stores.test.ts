import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Client } from '@opensearch-project/opensearch'
import { TopoflowError } from '@topoflow/core'
import { evalFilter, flowReader, type Filter, type Flow } from '@topoflow/gremlin'
import { flowDocument, indexNames } from '@topoflow/opensearch'
import { elementFromDoc, OpenSearchGraphSource, topologySearch } from '../../src/stores/opensearch-graph.ts'
import { flowDocField, flowSearchPlan, literalPattern, matchAll, matchNone, OpenSearchFlowSource, pushedSort, translateFilter, type Query } from '../../src/stores/opensearch-flows.ts'
import { searchPages } from '../../src/stores/opensearch-search.ts'
import { makeFlows } from '../stores-fixtures.ts'

const base = Date.UTC(2024, 4, 31, 20, 0)
const flows = makeFlows(base)

// ---- a small evaluator of the query DSL the translation emits, over a flow document ----

const ipFields = new Set(['source.ip', 'destination.ip'])

function docValue (doc: Record<string, unknown>, field: string): unknown {
  let v: unknown = doc
  for (const part of field.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

function ipv4 (text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined
  return parts.reduce((n, p) => n * 256 + Number(p), 0)
}

function termMatches (field: string, actual: unknown, expected: unknown): boolean {
  if (actual === undefined || actual === null) return false
  if (ipFields.has(field) && typeof expected === 'string' && expected.includes('/')) {
    const [net, bits] = expected.split('/') as [string, string]
    const ip = ipv4(String(actual))
    const first = ipv4(net)
    if (ip === undefined || first === undefined) return false
    const size = 2 ** (32 - Number(bits))
    return Math.floor(ip / size) === Math.floor(first / size)
  }
  return actual === expected
}

function matches (q: Query, doc: Record<string, unknown>): boolean {
  const [kind, body] = Object.entries(q)[0] as [string, any]
  switch (kind) {
    case 'match_all': return true
    case 'match_none': return false
    case 'bool': {
      const all = (list: Query[] | undefined): boolean => (list ?? []).every((c) => matches(c, doc))
      const should: Query[] = body.should ?? []
      return all(body.filter) && all(body.must) && !(body.must_not ?? []).some((c: Query) => matches(c, doc)) &&
        (should.length === 0 || should.some((c) => matches(c, doc)))
    }
    case 'term': {
      const [field, value] = Object.entries(body)[0] as [string, unknown]
      return termMatches(field, docValue(doc, field), value)
    }
    case 'terms': {
      const [field, values] = Object.entries(body)[0] as [string, unknown[]]
      return values.some((v) => termMatches(field, docValue(doc, field), v))
    }
    case 'prefix': {
      const [field, value] = Object.entries(body)[0] as [string, string]
      const v = docValue(doc, field)
      return typeof v === 'string' && v.startsWith(value)
    }
    case 'range': {
      const [field, b] = Object.entries(body)[0] as [string, Record<string, number>]
      const v = docValue(doc, field)
      if (typeof v !== 'number') return false
      return (b.gt === undefined || v > b.gt) && (b.gte === undefined || v >= b.gte) && (b.lt === undefined || v < b.lt) && (b.lte === undefined || v <= b.lte)
    }
    case 'exists': {
      const v = docValue(doc, body.field)
      return v !== undefined && v !== null
    }
  }
  throw new Error(`query kind ${kind} not handled by the test evaluator`)
}

const docs = flows.map((f) => ({ flow: f as unknown as Flow, doc: flowDocument(f) }))

function assertBounds (filter: Filter): void {
  const { superset, subset } = translateFilter(filter)
  for (const { flow, doc } of docs) {
    const reference = evalFilter(filter, flowReader(flow))
    if (reference) assert.ok(matches(superset, doc), `superset misses ${flow.UUID} for ${JSON.stringify(filter)}: ${JSON.stringify(superset)}`)
    if (matches(subset, doc)) assert.ok(reference, `subset wrongly has ${flow.UUID} for ${JSON.stringify(filter)}: ${JSON.stringify(subset)}`)
  }
}

// ---- translation ----

test('flow keys map to the document fields, layer aliases included', () => {
  assert.deepEqual(flowDocField('Network.A'), { field: 'source.ip', kind: 'ip' })
  assert.deepEqual(flowDocField('IPV6.B'), { field: 'destination.ip', kind: 'ip' })
  assert.deepEqual(flowDocField('TCP.B'), { field: 'destination.port', kind: 'number' })
  assert.deepEqual(flowDocField('ETHERNET.A'), { field: 'source.mac', kind: 'keyword' })
  assert.deepEqual(flowDocField('Metric.ABBytes'), { field: 'flow.metric.ab_bytes', kind: 'number' })
  assert.deepEqual(flowDocField('AEnrich.Pod'), { field: 'source.kubernetes.pod.name', kind: 'keyword' })
  assert.equal(flowDocField('TCPMetric.ABSynTTL'), undefined, 'not indexed')
  assert.equal(flowDocField('constructor'), undefined)
})

test('exact leaves become the same query both ways', () => {
  assert.deepEqual(translateFilter({ op: 'term', key: 'Application', value: 'DNS' }), { superset: { term: { 'flow.application': 'DNS' } }, subset: { term: { 'flow.application': 'DNS' } } })
  assert.deepEqual(translateFilter({ op: 'term', key: 'Transport.B', value: 53 }).subset, { range: { 'destination.port': { gte: 53, lte: 53 } } })
  assert.deepEqual(translateFilter({ op: 'gte', key: 'Start', value: 10.5 }).superset, { range: { 'event.start': { gte: 11, format: 'epoch_millis' } } }, 'fractional bounds round to the integer equivalent')
  assert.deepEqual(translateFilter({ op: 'lt', key: 'Metric.ABBytes', value: 10.5 }).superset, { range: { 'flow.metric.ab_bytes': { lt: 11 } } })
  assert.deepEqual(translateFilter({ op: 'term', key: 'FinishType', value: 2 }).superset, { term: { 'flow.finish_type': 'TCP_FIN' } })
  assert.deepEqual(translateFilter({ op: 'regex', key: 'LayersPath', pattern: 'Ethernet/IPv4/TCP' }).subset, { term: { 'flow.layers_path': 'Ethernet/IPv4/TCP' } })
})

test('loose leaves narrow the search but decide nothing under a not', () => {
  const ip = translateFilter({ op: 'term', key: 'Network.A', value: '10.0.0.1' })
  assert.deepEqual(ip, { superset: { term: { 'source.ip': '10.0.0.1' } }, subset: matchNone }, 'OpenSearch compares addresses, memory compares text')
  assert.deepEqual(translateFilter({ op: 'not', filter: { op: 'term', key: 'Network.A', value: '10.0.0.1' } }).superset, matchAll)
  assert.deepEqual(translateFilter({ op: 'not', filter: { op: 'term', key: 'Application', value: 'DNS' } }).superset, { bool: { must_not: [{ term: { 'flow.application': 'DNS' } }] } })
  assert.deepEqual(translateFilter({ op: 'term', key: 'Transport.Protocol', value: 'UDP' }).superset, { term: { 'network.transport': 'udp' } })
  assert.deepEqual(translateFilter({ op: 'ipv4range', key: 'Network.B', cidr: '10.1.0.0/24' }).superset, { term: { 'destination.ip': '10.1.0.0/24' } })
  assert.deepEqual(translateFilter({ op: 'ipv4range', key: 'Network.B', cidr: '10.1.0.0' }).superset, matchAll, 'not a CIDR: left to memory')
  assert.deepEqual(translateFilter({ op: 'regex', key: 'LayersPath', pattern: 'Ethernet/IPv4/.*' }).superset, { prefix: { 'flow.layers_path': 'Ethernet/IPv4/' } })
  assert.deepEqual(translateFilter({ op: 'regex', key: 'LayersPath', pattern: 'Ethernet/(IPv4|IPv6)/TCP' }).superset, matchAll)
  assert.deepEqual(translateFilter({ op: 'term', key: 'Link.A', value: '' }).superset,
    { bool: { should: [{ term: { 'source.mac': '' } }, { bool: { must_not: [{ exists: { field: 'source.mac' } }] } }], minimum_should_match: 1 } }, 'documents leave empty MACs out')
})

test('values of the wrong type match nothing, unknown keys anything', () => {
  assert.deepEqual(translateFilter({ op: 'term', key: 'Transport.A', value: '80' }).superset, matchNone, 'ports are numbers in a flow')
  assert.deepEqual(translateFilter({ op: 'term', key: 'Network.A', value: 'not-an-ip' }).superset, matchNone, 'never an address field, and OpenSearch would refuse it')
  assert.deepEqual(translateFilter({ op: 'term', key: 'Application', value: true }).superset, matchNone)
  assert.deepEqual(translateFilter({ op: 'term', key: 'TrackingID', value: 5 }).superset, matchAll, "'5' and '005' both match 5: memory decides")
  assert.deepEqual(translateFilter({ op: 'term', key: 'DNS.Questions', value: 'x' }), { superset: matchAll, subset: matchNone })
})

test('and/or/not combine and simplify', () => {
  const dns: Filter = { op: 'term', key: 'Application', value: 'DNS' }
  const odd: Filter = { op: 'regex', key: 'Application', pattern: '(D|H).*' }
  assert.deepEqual(translateFilter({ op: 'or', filters: [] }), { superset: matchAll, subset: matchAll }, 'an empty OR matches everything')
  assert.deepEqual(translateFilter({ op: 'and', filters: [] }).subset, matchAll)
  assert.deepEqual(translateFilter({ op: 'or', filters: [dns, odd] }).superset, matchAll)
  assert.deepEqual(translateFilter({ op: 'or', filters: [dns, odd] }).subset, dnsQuery())
  assert.deepEqual(translateFilter({ op: 'and', filters: [dns, odd] }).superset, dnsQuery())
  assert.deepEqual(translateFilter({ op: 'and', filters: [dns, { op: 'term', key: 'Transport.A', value: 'x' }] }).superset, matchNone)
  function dnsQuery (): Query { return { term: { 'flow.application': 'DNS' } } }
})

test('literal patterns: plain text, escapes and a trailing .*', () => {
  assert.deepEqual(literalPattern('abc'), { text: 'abc', prefix: false })
  assert.deepEqual(literalPattern('10\\.0\\..*'), { text: '10.0.', prefix: true })
  assert.deepEqual(literalPattern('.*'), { text: '', prefix: true })
  assert.equal(literalPattern('a.b'), undefined)
  assert.equal(literalPattern('a.*b'), undefined)
  assert.equal(literalPattern('\\d+'), undefined)
  assert.equal(literalPattern('(?i)abc'), undefined)
  assert.equal(literalPattern('x'.repeat(600)), undefined)
})

// A seeded generator, so a failure names a filter that can be replayed.
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const keys = ['UUID', 'LayersPath', 'Application', 'TrackingID', 'ParentUUID', 'NodeTID', 'Host', 'CommunityID', 'Start', 'Last', 'FinishType',
  'Link.A', 'Link.B', 'Link.ID', 'Network.A', 'Network.B', 'IPV4.A', 'Network.Protocol', 'Transport.A', 'Transport.B', 'TCP.A', 'Transport.Protocol',
  'ICMP.Type', 'ICMP.ID', 'Metric.ABBytes', 'Metric.RTT', 'LastUpdateMetric.ABBytes', 'AEnrich.ProcessName', 'AEnrich.Pid', 'BEnrich.Service',
  'TCPMetric.ABSynTTL', 'SamplingRate']

function randomFilter (r: () => number, depth: number): Filter {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T
  if (depth > 0 && r() < 0.35) {
    const op = pick(['and', 'or', 'not'] as const)
    if (op === 'not') return { op, filter: randomFilter(r, depth - 1) }
    return { op, filters: Array.from({ length: Math.floor(r() * 3) }, () => randomFilter(r, depth - 1)) }
  }
  const key = pick(keys)
  const sample = flowReader(pick(docs).flow)(key)
  const value = typeof sample === 'string' || typeof sample === 'number' ? sample : pick(['', 'x', 0, 1])
  switch (pick(['term', 'term', 'range', 'regex', 'cidr', 'null'] as const)) {
    case 'term': return { op: 'term', key, value: r() < 0.1 ? String(value) : value }
    case 'range': return { op: pick(['lt', 'gt', 'lte', 'gte'] as const), key, value: typeof value === 'number' ? value + pick([0, 0.5, -0.5]) : 3 }
    case 'regex': {
      const text = String(value).replace(/[.*+?()[\]{}|^$\\]/g, (c) => `\\${c}`)
      return { op: 'regex', key, pattern: pick([text, `${text.slice(0, 4)}.*`, '.*', `(${text}|x)`]) }
    }
    case 'cidr': return { op: 'ipv4range', key, cidr: pick(['10.0.0.0/16', '10.1.0.0/24', '10.0.1.0/24', '0.0.0.0/0', '10.0.0.0']) }
    default: return { op: 'null', key }
  }
}

test('for random filters the superset query keeps every match and the subset query only matches', () => {
  const r = rng(20240531)
  for (let i = 0; i < 3000; i++) assertBounds(randomFilter(r, 3))
})

// ---- search plans ----

test('live queries keep recently updated flows; time contexts their window', () => {
  const now = base + 3_600_000
  const live = flowSearchPlan({}, { now }, { liveWindowMs: 600_000 })
  assert.equal(live.liveSince, now - 600_000)
  assert.deepEqual(live.body.query, { range: { 'event.end': { gte: now - 600_000, format: 'epoch_millis' } } })
  const past = flowSearchPlan({ activeIn: { from: 1000.5, to: 2000.5 } }, { now, time: { at: 2000 } }, { liveWindowMs: 600_000 })
  assert.equal(past.liveSince, undefined)
  assert.deepEqual(past.body.query, { bool: { filter: [
    { range: { 'event.start': { lte: 2000, format: 'epoch_millis' } } },
    { range: { 'event.end': { gte: 1001, format: 'epoch_millis' } } }
  ] } })
  const context = flowSearchPlan({}, { now, time: { at: 5000, duration: 1000 } }, { liveWindowMs: 600_000 })
  assert.deepEqual(context.activeIn, { from: 4000, to: 5000 }, 'without the evaluator window, the time context is the window')
})

test('sorts go to OpenSearch when it orders as memory does; then a range can stop early', () => {
  const ctx = { now: base, time: { at: base } }
  const opts = { liveWindowMs: 1 }
  const byBytes = flowSearchPlan({ sort: { by: 'Metric.ABBytes', order: 'desc' }, range: { from: 2, to: 5 } }, ctx, opts)
  assert.deepEqual((byBytes.body.sort as Query[])[0], { 'flow.metric.ab_bytes': { order: 'desc', missing: '_last', unmapped_type: 'long' } })
  assert.equal(byBytes.enough, 5)
  const byAddress = flowSearchPlan({ sort: { by: 'Network.A', order: 'asc' }, range: { from: 0, to: 5 } }, ctx, opts)
  assert.equal(byAddress.enough, undefined, 'addresses sort by value in OpenSearch, by text in memory')
  assert.equal(pushedSort({ by: 'FinishType', order: 'asc' }), undefined)
  assert.equal(pushedSort({ by: 'Unknown.Key', order: 'asc' }), undefined)
  assert.deepEqual(flowSearchPlan({ range: { from: 0, to: 3 } }, ctx, opts).body.sort, [
    { '@timestamp': { order: 'asc', unmapped_type: 'date' } }, { 'flow.id': { order: 'asc', unmapped_type: 'keyword' } }
  ], 'unsorted answers come least recently updated first, as in memory')
  const tids = flowSearchPlan({ nodeTIDs: ['a', ''] }, ctx, opts).body.query as any
  assert.deepEqual(tids.bool.filter[0].bool.should[0], { terms: { 'flow.node_tid': ['a'] } })
  assert.deepEqual(flowSearchPlan({ nodeTIDs: [] }, ctx, opts).body.query, matchNone)
})

test('topology searches: live index, point in time, window', () => {
  const names = indexNames('tf')
  const live = topologySearch(names)
  assert.equal(live.index, 'tf-topology-live')
  assert.equal(live.latestOnly, true)
  const point = topologySearch(names, { at: 5000 })
  assert.equal(point.index, 'tf-topology-live,tf-topology-archive-*')
  const filter = (point.body.query as any).bool.filter
  assert.deepEqual(filter[0], { range: { CreatedAt: { lte: 5000, format: 'epoch_millis' } } })
  assert.deepEqual(filter[2].bool.should[1], { range: { DeletedAt: { gt: 5000, format: 'epoch_millis' } } }, 'deleted at T: gone at T')
  assert.deepEqual((point.body.sort as Query[]).slice(0, 3), [{ ID: 'asc' }, { ElementType: 'asc' }, { UpdatedAt: 'desc' }])
  const window = topologySearch(names, { at: 5000, duration: 1000 })
  assert.equal(window.latestOnly, false)
  assert.deepEqual((window.body.query as any).bool.filter[3].bool.should[1], { range: { ArchivedAt: { gt: 4000, format: 'epoch_millis' } } })
})

test('topology documents read back as nodes and edges; others are refused', () => {
  const node = elementFromDoc({ ID: 'n', ElementType: 'node', Host: 'h', Origin: 'o', Revision: 2, CreatedAt: 1, UpdatedAt: 2, DeletedAt: null, ArchivedAt: 3, Metadata: { Name: 'eth0' } })
  assert.deepEqual(node, { type: 'node', element: { ID: 'n', Metadata: { Name: 'eth0' }, Host: 'h', Origin: 'o', CreatedAt: 1, UpdatedAt: 2, DeletedAt: null, Revision: 2 } })
  const edge = elementFromDoc({ ID: 'e', ElementType: 'edge', Revision: 1, CreatedAt: 1, UpdatedAt: 1, DeletedAt: 9, Parent: 'a', Child: 'b' })
  assert.deepEqual(edge?.element, { ID: 'e', Metadata: {}, Host: '', Origin: '', CreatedAt: 1, UpdatedAt: 1, DeletedAt: 9, Revision: 1, Parent: 'a', Child: 'b' })
  for (const bad of [null, 'x', {}, { ID: 'n', ElementType: 'node', Revision: '1', CreatedAt: 1, UpdatedAt: 1 }, { ID: 'e', ElementType: 'edge', Revision: 1, CreatedAt: 1, UpdatedAt: 1 }, { ID: 'n', ElementType: 'other', Revision: 1, CreatedAt: 1, UpdatedAt: 1 }]) {
    assert.equal(elementFromDoc(bad), undefined, JSON.stringify(bad))
  }
})

// ---- paging over a fake client ----

interface FakeCall { params: any }

/** Serves `docs` sorted by their `n`, honouring size and search_after; records calls. */
function fakeClient (docs: Array<Record<string, unknown>>, opts: { pitFails?: boolean, failSearch?: boolean } = {}): { client: Client, calls: FakeCall[], pits: { opened: number, closed: number } } {
  const calls: FakeCall[] = []
  const pits = { opened: 0, closed: 0 }
  const client = {
    search: async (params: any) => {
      calls.push({ params })
      if (opts.failSearch === true) throw Object.assign(new Error('boom'), { name: 'ResponseError', meta: { statusCode: 503, body: { error: { type: 'unavailable', reason: 'try later' } } } })
      const after = params.body.search_after?.[0] ?? -Infinity
      const hits = docs.filter((d) => (d.n as number) > after).slice(0, params.body.size)
      return { body: { ...(params.body.pit === undefined ? {} : { pit_id: params.body.pit.id }), hits: { hits: hits.map((d, i) => ({ _index: 'i', _id: String(d.n ?? i), _source: d, sort: [d.n] })) } } }
    },
    createPit: async () => {
      if (opts.pitFails === true) throw new Error('no pit here')
      pits.opened++
      return { body: { pit_id: 'pit-1' } }
    },
    deletePit: async () => { pits.closed++; return { body: {} } }
  }
  return { client: client as unknown as Client, calls, pits }
}

const numbered = (count: number): Array<Record<string, unknown>> => Array.from({ length: count }, (_, n) => ({ n }))

test('searchPages walks every page, from a point in time past the first, and releases it', async () => {
  const { client, calls, pits } = fakeClient(numbered(7))
  const seen: number[] = []
  for await (const hits of searchPages(client, { index: 'i', body: { sort: [{ n: 'asc' }] }, pageSize: 3, stage: 't' })) seen.push(...hits.map((h) => (h.source as { n: number }).n))
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6])
  assert.equal(calls.length, 3)
  assert.equal(calls[0]?.params.index, 'i')
  assert.equal(calls[1]?.params.index, undefined, 'a point-in-time search names no index')
  assert.deepEqual(calls[1]?.params.body.pit, { id: 'pit-1', keep_alive: '1m' })
  assert.deepEqual(calls[1]?.params.body.search_after, [2])
  assert.deepEqual(pits, { opened: 1, closed: 1 })
})

test('searchPages: one page needs no point in time; breaking out releases it; failures are TopoflowErrors', async () => {
  const small = fakeClient(numbered(2))
  for await (const hits of searchPages(small.client, { index: 'i', body: {}, pageSize: 3, stage: 't' })) assert.equal(hits.length, 2)
  assert.deepEqual(small.pits, { opened: 0, closed: 0 })

  const big = fakeClient(numbered(20))
  for await (const hits of searchPages(big.client, { index: 'i', body: {}, pageSize: 3, stage: 't' })) if ((hits[0]?.source as { n: number }).n >= 3) break
  assert.deepEqual(big.pits, { opened: 1, closed: 1 })
  assert.equal(big.calls.length, 2)

  const noPit = fakeClient(numbered(5), { pitFails: true })
  let count = 0
  for await (const hits of searchPages(noPit.client, { index: 'i', body: {}, pageSize: 2, stage: 't' })) count += hits.length
  assert.equal(count, 5, 'without a point in time the walk still completes')
  assert.equal(noPit.calls[1]?.params.index, 'i')

  const failing = fakeClient([], { failSearch: true })
  const drain = async (): Promise<void> => {
    for await (const hits of searchPages(failing.client, { index: 'i', body: {}, pageSize: 2, stage: 'flows-query' })) assert.fail(`no hits expected, got ${hits.length}`)
  }
  await assert.rejects(drain, (err: unknown) => {
    assert.ok(TopoflowError.is(err))
    assert.equal(err.code, 'TOPOFLOW_ERR_OPENSEARCH')
    assert.equal(err.retriable, true)
    assert.equal(err.context.stage, 'flows-query')
    assert.match(err.message, /try later/)
    return true
  })
})

const revision = (id: string, rev: number, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ ID: id, ElementType: 'node', Revision: rev, CreatedAt: 1, UpdatedAt: rev, Metadata: { Name: `${id}@${rev}` }, ...extra })

test('a point-in-time snapshot keeps the first (newest) revision per element across pages', async () => {
  // already in the order the search sorts them: by ID, newest first
  const hits = [revision('a', 3), revision('a', 2), revision('b', 5), revision('b', 4), revision('b', 1), { ID: 'broken' }, revision('c', 1)]
  const { client } = fakeClient(hits.map((h, n) => ({ ...h, n })))
  const source = new OpenSearchGraphSource({ client, pageSize: 2 })
  const snapshot = await source.at({ at: 10 })
  assert.deepEqual(snapshot.nodes().map((n) => `${n.ID}@${n.Revision}`), ['a@3', 'b@5', 'c@1'])
  assert.deepEqual(snapshot.time, { at: 10 })
  await assert.rejects(new OpenSearchGraphSource({ client, pageSize: 2, maxElements: 2 }).at({ at: 10 }), /more than 2 element revisions/)
  await assert.rejects(source.at({ at: Number.NaN }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST')
  await assert.rejects(source.at({ at: 10, duration: -1 }), /Invalid time context/)
})

test('a flow query with a range stops reading once the answer cannot change', async () => {
  const stored = flows.map((f, n) => ({ n, skydive: f }))
  const { client, calls } = fakeClient(stored)
  const source = new OpenSearchFlowSource({ client, pageSize: 5, liveWindowMs: 10 * 86_400_000 })
  const ctx = { now: base + 2 * 86_400_000 }
  const first = await source.query({ where: { op: 'term', key: 'Application', value: 'HTTP' }, range: { from: 0, to: 2 } }, ctx)
  assert.deepEqual(first.map((f) => f.UUID), ['flow-000', 'flow-006'])
  assert.equal(calls.length, 2, 'HTTP flows are every sixth: two pages of five hold two')
  const dedup = await source.query({ dedupBy: 'TrackingID', range: { from: 0, to: 3 } }, ctx)
  assert.deepEqual(dedup.map((f) => f.TrackingID), ['track-000', 'track-001', 'track-002'])
  await assert.rejects(source.query({}, { now: Number.NaN }), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST')
  await assert.rejects(source.query({ activeIn: { from: 0, to: Number.POSITIVE_INFINITY } }, ctx), /Invalid flow query time/)
  await assert.rejects(new OpenSearchFlowSource({ client, pageSize: 5, maxFlows: 9, liveWindowMs: 10 * 86_400_000 }).query({}, ctx), /More than 9 flow documents/)
})
