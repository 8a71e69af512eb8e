import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '@opensearch-project/opensearch'
import { createRegistry, loadConfig, silentLogger } from '@topoflow/core'
import { KafkaBus } from '@topoflow/kafka'
import { topicTable, topics } from '@topoflow/schemas'
import { ensureTemplates, indexNames, topologyAt } from '@topoflow/opensearch'
import { resolveInfraOrSkip, waitFor } from '@topoflow/testing'
import { buildGraphBuilder, type GraphBuilder } from '../../src/app.ts'
import { OpenSearchHistorySink } from '../../src/history/opensearch-sink.ts'
import type { GraphNode, TopologyEvent } from '../../src/types.ts'
import { byName, loadStream, summary, T0 } from '../unit/helpers.ts'

const fabric = ['TOR1[Name=tor1] -> TOR1_PORT1[Name=port1]', 'TOR1_PORT1 --> *[Type=host,Name=compute-1]/eth0']

test('graph-builder on real Kafka and OpenSearch: two agents, a fabric, history, restart', { timeout: 300_000 }, async (t) => {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const prefix = `test-gb-${randomUUID().slice(0, 8)}`
  const client = new Client({ node: infra.opensearchUrl })
  const names = indexNames(prefix)
  await ensureTemplates(client, { prefix, replicas: 0 })
  t.after(async () => {
    await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => {})
    await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => {})
    await client.close()
  })
  const history = new OpenSearchHistorySink({
    client: client as never,
    liveIndex: names.topologyLive,
    archiveIndex: names.topologyArchive,
    refresh: 'wait_for'
  })
  const config = loadConfig({ env: {}, overrides: { host_id: 'gb-it', 'analyzer.topology.fabric': fabric, 'analyzer.topology.host_timeout': 3600 } })
  const newBus = (): KafkaBus => new KafkaBus({ brokers: infra.kafkaBrokers, clientId: prefix, topicPrefix: `${prefix}.`, logger: silentLogger() })
  const startApp = async (bus: KafkaBus): Promise<GraphBuilder> => {
    const app = buildGraphBuilder({
      config, bus, history, logger: silentLogger(), registry: createRegistry('graph-builder', { processMetrics: false }),
      group: `${prefix}-graph-builder`, tickIntervalMs: 0, recoveryIdleMs: 1000
    })
    await app.start()
    return app
  }

  const bus = newBus()
  await bus.start()
  t.after(async () => { await bus.close() })
  await bus.ensureTopics(topicTable, { replicationFactor: 1 })
  const app = await startApp(bus)

  // Two capture agents, each with its own host id and namespace, and a small cluster.
  const stream = loadStream('two-hosts.events.json').filter((m) => m.topic === topics.topologyEvents)
  for (const m of [...stream, ...loadStream('k8s-cluster.events.json')]) {
    const v = m.value as { Host?: string, UID?: string }
    await bus.publish(m.topic, [{ key: v.UID ?? v.Host ?? null, value: m.value }])
  }
  const store = app.engine.store
  await waitFor(() => store.nodeCount === 13 + 2 + 10 && summary(store).edges.includes('compute-1/host:compute-1 -node-> node:compute-1'), { timeout: 60_000, what: 'the whole graph' })
  const graph = summary(store)
  assert.ok(graph.edges.includes('device:port1 -layer2/fabric-> compute-1/device:eth0'), 'the fabric port links to the right host interface')
  assert.ok(!graph.edges.some((e) => e.includes('fabric-> compute-2')))

  // An interface deleted at T is in G.At(T-1s) and not in G.At(T+1s), read back from OpenSearch.
  const nsEth = byName(store, 'compute-2', 'eth0', 'veth')
  const T = T0 + 500_000
  const del: TopologyEvent = { Kind: 'NodeDeleted', Host: 'compute-2', Origin: 'agent.compute-2', Time: T, Node: { ...nsEth } }
  await bus.publish(topics.topologyEvents, [{ key: nsEth.ID, value: del }])
  await waitFor(() => store.getNode(nsEth.ID) === undefined, { timeout: 30_000, what: 'the delete applied' })
  await app.flushed()
  // Read back through the same query the API uses for G.At.
  const at = async (time: number): Promise<string[]> => (await topologyAt<{ ID: string }>(client, names, time)).map((h) => h.source.ID)
  assert.ok((await at(T - 1000)).includes(nsEth.ID), 'in G.At(T-1s)')
  assert.ok(!(await at(T + 1000)).includes(nsEth.ID), 'not in G.At(T+1s)')

  // Stop it and start another: same graph, revisions go on, no revision written twice.
  const before = { graph: summary(store), nodes: [...store.nodes()].sort(byId) }
  await app.close()
  const bus2 = newBus()
  await bus2.start()
  t.after(async () => { await bus2.close() })
  const app2 = await startApp(bus2)
  t.after(async () => { await app2.close() })
  assert.deepEqual(summary(app2.engine.store), before.graph)
  assert.deepEqual([...app2.engine.store.nodes()].sort(byId), before.nodes)
  const br0 = byName(app2.engine.store, 'compute-1', 'br0')
  await bus2.publish(topics.topologyEvents, [{ key: br0.ID, value: { Kind: 'NodeUpdated', Host: 'compute-1', Origin: 'agent.compute-1', Time: T + 10_000, Node: { ...br0, Metadata: { Name: 'br0', Type: 'bridge', MTU: 9000 } } } }])
  await waitFor(() => app2.engine.store.getNode(br0.ID)?.Revision === br0.Revision + 1, { timeout: 30_000, what: 'the next revision' })
  await app2.flushed()
  const docs = await client.search({ index: names.patterns.topologyArchive, body: { size: 1000, query: { term: { ID: br0.ID } } } })
  const revisions = (docs.body.hits.hits as Array<{ _source: GraphNode }>).map((h) => h._source.Revision)
  assert.deepEqual(revisions, [br0.Revision], 'the superseded revision archived once')
})

function byId (a: { ID: string }, b: { ID: string }): number {
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0
}
