import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry, InProcessBus, loadConfig, silentLogger } from '@topoflow/core'
import { MemoryFlowSource, MemoryGraph } from '@topoflow/gremlin'
import { topics } from '@topoflow/schemas'
import { buildApp, type ApiApp } from '../../src/app.ts'
import type { TopologyChange } from '../../src/graph/live-graph.ts'
import { DELETED_AT, NOW, fixtureEdges, fixtureFlows, fixtureNodes, shortLived } from '../conformance-fixture.ts'
import { table, type Expect, type RequestOptions } from '../conformance-table.ts'
import { compacted, waitFor } from '../helpers.ts'

/**
 * The fixture reaches the API the way production data does: as graph-builder revisions on the
 * changes topic (tmp0 created, then deleted), into the replica whose history answers `At()`.
 */
async function fixtureApi (): Promise<ApiApp> {
  const bus = new InProcessBus({ compactedTopics: compacted })
  const graph = new MemoryGraph({ now: () => NOW, historyWindowMs: 2 * 3_600_000 })
  const flows = new MemoryFlowSource()
  for (const f of fixtureFlows()) flows.upsert(f)
  const app = await buildApp({
    config: loadConfig({ overrides: { host_id: 'conformance' } }),
    bus,
    graph,
    flows,
    now: () => NOW,
    logger: silentLogger(),
    registry: createRegistry('api-conformance', { processMetrics: false })
  })
  await app.ready()
  const tmp = shortLived()
  const upsert = (el: { ID: string, UpdatedAt: number }, kind: 'node' | 'edge'): { key: string, value: TopologyChange } =>
    ({ key: el.ID, value: kind === 'node' ? { ElementType: 'node', Op: 'upsert', Node: el as never, Time: el.UpdatedAt } : { ElementType: 'edge', Op: 'upsert', Edge: el as never, Time: el.UpdatedAt } })
  await bus.publish<TopologyChange>(topics.topologyChanges, [
    ...fixtureNodes().map((n) => upsert(n, 'node')),
    ...fixtureEdges().map((e) => upsert(e, 'edge')),
    upsert(tmp.node, 'node'),
    upsert(tmp.edge, 'edge'),
    // the graph-builder deletes the edges of a deleted node first, as Skydive notifies them
    { key: tmp.edge.ID, value: { ElementType: 'edge', Op: 'delete', Edge: { ...tmp.edge, DeletedAt: DELETED_AT }, Time: DELETED_AT } },
    { key: tmp.node.ID, value: { ElementType: 'node', Op: 'delete', Node: { ...tmp.node, DeletedAt: DELETED_AT }, Time: DELETED_AT } }
  ])
  await waitFor(() => graph.nodeCount === 11 && graph.edgeCount === 12 && graph.getNode('tmp0') === undefined && app.topoflow.live.applied === 27, { what: 'fixture replica' })
  return app
}

const idOf = (x: { ID?: string, UUID?: string }): string | undefined => x.ID ?? x.UUID

function checkSuccess (body: string, expected: Expect): void {
  const result = JSON.parse(body) as unknown
  if ('ids' in expected) {
    assert.deepEqual((result as Array<{ ID?: string, UUID?: string }>).map(idOf), expected.ids)
  } else if ('json' in expected) {
    assert.deepEqual(result, expected.json)
  } else if ('graph' in expected) {
    const graphs = result as Array<{ Nodes: Array<{ ID: string }>, Edges: Array<{ ID: string }> }>
    assert.equal(graphs.length, 1, 'one graph in an array')
    assert.deepEqual(Object.keys(graphs[0] ?? {}), ['Nodes', 'Edges'])
    assert.deepEqual(graphs[0]?.Nodes.map((n) => n.ID), expected.graph.nodes)
    assert.deepEqual(graphs[0]?.Edges.map((e) => e.ID), expected.graph.edges)
  } else if ('paths' in expected) {
    assert.deepEqual((result as Array<Array<{ ID: string }>>).map((p) => p.map((n) => n.ID)), expected.paths)
  } else if ('keys' in expected) {
    const maps = result as Array<Record<string, unknown>>
    assert.equal(maps.length, 1, 'one object keyed by ID, in an array')
    assert.deepEqual(Object.keys(maps[0] ?? {}), expected.keys)
    for (const v of Object.values(maps[0] ?? {})) assert.ok(Array.isArray(v) && v.length > 0)
  } else {
    assert.fail(`expected an error, got 200 ${body.slice(0, 300)}`)
  }
}

async function post (app: ApiApp, query: string, options: RequestOptions = {}): Promise<{ statusCode: number, body: string, type: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/topology',
    headers: { 'content-type': 'application/json', accept: options.accept ?? 'application/json' },
    payload: JSON.stringify({ GremlinQuery: query })
  })
  return { statusCode: res.statusCode, body: res.body, type: String(res.headers['content-type'] ?? '') }
}

test(`HTTP conformance table: ${table.length} queries through POST /api/topology`, async (t) => {
  assert.ok(table.length >= 150, `${table.length} queries`)
  const app = await fixtureApi()
  t.after(async () => { await app.close() })
  for (const [query, expected, options] of table) {
    await t.test(JSON.stringify(query) + (options?.accept === undefined ? '' : ` (Accept: ${options.accept})`), async () => {
      const res = await post(app, query, options)
      if ('status' in expected) {
        assert.equal(res.statusCode, expected.status, res.body)
        if (expected.body !== undefined) assert.match(res.body, expected.body)
        if (expected.type !== undefined) assert.match(res.type, expected.type)
        return
      }
      if ('syntax' in expected || 'error' in expected) {
        assert.equal(res.statusCode, 400, `expected a 400, got ${res.statusCode}: ${res.body.slice(0, 300)}`)
        assert.match(res.type, /^text\/plain/)
        if ('syntax' in expected) {
          // Skydive's clients show this text as it is: it must say where
          assert.match(res.body, /^Gremlin syntax error at (column \d+|line \d+, column \d+): /)
          assert.match(res.body, expected.syntax)
        } else {
          assert.match(res.body, expected.error)
        }
        return
      }
      assert.equal(res.statusCode, 200, res.body.slice(0, 300))
      assert.equal(res.type, 'application/json; charset=UTF-8')
      checkSuccess(res.body, expected)
    })
  }
})

test('every step and predicate of reference §3 appears in the table', () => {
  const words = [
    // §3.2 core steps
    'V', 'E', 'Has', 'HasEither', 'HasKey', 'HasNot', 'Out', 'In', 'Both', 'OutE', 'InE', 'BothE', 'OutV', 'InV', 'BothV',
    'Dedup', 'Count', 'Range', 'Limit', 'Sort', 'Values', 'ValueMap', 'Keys', 'Sum', 'As', 'Select', 'ShortestPathTo',
    'SubGraph', 'Context', 'At', 'Metadata',
    // §3.5 extension steps
    'Flows', 'Hops', 'CaptureNode', 'Node', 'Nodes', 'Metrics', 'Aggregates', 'RawPackets', 'BPF', 'Sockets', 'Group',
    'MoreThan', 'Descendants', 'Ascendants', 'Neighbors', 'NextHop', 'Workflow',
    // §3.3 predicates and keywords
    'NE', 'NEE', 'LT', 'GT', 'LTE', 'GTE', 'INSIDE', 'BETWEEN', 'OUTSIDE', 'WITHIN', 'WITHOUT', 'REGEX', 'IPV4RANGE',
    'NOW', 'FOREVER', 'ASC', 'DESC', 'TRUE', 'FALSE'
  ]
  const text = table.map(([q]) => q).join('\n')
  const missing = words.filter((w) => !new RegExp(`(^|[^A-Za-z0-9])${w}([^A-Za-z0-9]|$)`, 'i').test(text))
  assert.deepEqual(missing, [])
})
