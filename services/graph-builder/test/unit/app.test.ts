import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry, InProcessBus, loadConfig, recordingLogger, silentLogger, TopoflowError, type BusMessage } from '@topoflow/core'
import { topics } from '@topoflow/schemas'
import { buildGraphBuilder, type GraphBuilder } from '../../src/app.ts'
import { MemoryHistorySink } from '../../src/history/sink.ts'
import type { TopologyChange } from '../../src/types.ts'
import { byName, loadStream, summary, T0 } from './helpers.ts'

const compacted = [topics.topologyChanges, topics.k8s, topics.resources, topics.captureStatus]

async function waitFor (cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function config (fabric: string[]): ReturnType<typeof loadConfig> {
  return loadConfig({ env: {}, overrides: { host_id: 'gb-test', 'analyzer.topology.fabric': fabric, 'analyzer.topology.host_timeout': 60 } })
}

const fabric = ['TOR1[Name=tor1] -> TOR1_PORT1[Name=port1]', 'TOR1_PORT1 --> *[Type=host,Name=compute-1]/eth0']
const fabricRule = { key: 'r2', value: { ResourceType: 'noderule', UUID: 'r2', Resource: { Action: 'update', Query: "G.V().Has('Probe', 'fabric')", Metadata: { Color: 'green' } }, Deleted: false, Time: T0 + 30_000 } }

async function collect (bus: InProcessBus, out: Array<BusMessage<TopologyChange>>): Promise<void> {
  await bus.subscribe<TopologyChange>({ topics: [topics.topologyChanges], group: `watcher-${out.length}`, handler: async (batch) => { out.push(...batch) } })
}

async function publishStream (bus: InProcessBus, name: string): Promise<void> {
  for (const m of loadStream(name)) await bus.publish(m.topic, [{ key: null, value: m.value }])
}

function appOn (bus: InProcessBus, history: MemoryHistorySink, now: () => number): { app: GraphBuilder, registry: ReturnType<typeof createRegistry> } {
  const registry = createRegistry('graph-builder', { processMetrics: false })
  const app = buildGraphBuilder({ config: config(fabric), bus, history, logger: silentLogger(), registry, now, tickIntervalMs: 0, recoveryIdleMs: 20 })
  return { app, registry }
}

test('end to end on the in-process bus: inputs in, graph, changes topic and history out, restart without loss', async (t) => {
  const clock = { now: T0 + 100 }
  const now = (): number => clock.now
  const bus = new InProcessBus({ compactedTopics: compacted })
  t.after(async () => { await bus.close() })
  const published: Array<BusMessage<TopologyChange>> = []
  await collect(bus, published)
  const history = new MemoryHistorySink()
  const { app, registry } = appOn(bus, history, now)
  await app.start()
  assert.equal(app.ready(), true)

  await publishStream(bus, 'two-hosts.events.json')
  await publishStream(bus, 'k8s-cluster.events.json')
  await bus.publish(topics.resources, [{ key: 'r1', value: { ResourceType: 'noderule', UUID: 'r1', Resource: { Action: 'update', Query: "G.V().Has('Type', 'bridge')", Metadata: { Color: 'blue' } }, Deleted: false, Time: T0 + 30_000 } }])
  await bus.publish(topics.resources, [fabricRule])
  // A bad event in the middle: rejected, the rest goes on.
  await bus.publish(topics.topologyEvents, [{ key: 'x', value: { Kind: 'NodeUpdated', Host: 'compute-1', Origin: 'agent.compute-1', Time: T0 + 31_000, Node: { Metadata: {} } } }])
  await bus.publish(topics.topologyEvents, [{ key: 'y', value: { Kind: 'NodeUpdated', Host: 'compute-2', Origin: 'agent.compute-2', Time: T0 + 32_000, Node: { ID: 'late', Metadata: { Name: 'late0', Type: 'dummy' } } } }])
  const engine = app.engine
  await waitFor(() => engine.store.getNode('late') !== undefined && byName(engine.store, 'compute-2', 'br0').Metadata.Color === 'blue', 'all inputs applied')
  await app.flushed()
  assert.equal(bus.handlerErrors, 1, 'the bad event was refused (on Kafka it would be dead-lettered)')

  const graph = summary(engine.store)
  assert.ok(graph.edges.includes('compute-1/host:compute-1 -node-> node:compute-1'), 'pods meet the physical graph')
  assert.ok(graph.edges.includes('device:port1 -layer2/fabric-> compute-1/device:eth0'), 'the fabric port reaches the host interface')
  assert.equal(graph.nodes.length, 13 + 2 + 10 + 1, 'two hosts, two fabric nodes, the k8s cluster and late0')

  // Every element's latest published revision is what the graph holds, and the history agrees.
  await waitFor(() => published.length > 0 && history.live.size === engine.store.nodeCount + engine.store.edgeCount, 'history caught up')
  const latest = new Map<string, TopologyChange>()
  for (const m of published) if (m.value !== null && m.key !== null && !m.key.startsWith('__')) latest.set(m.key, m.value)
  for (const n of engine.store.nodes()) assert.deepEqual(latest.get(n.ID)?.Node, n)
  for (const e of engine.store.edges()) assert.equal(latest.get(e.ID)?.Edge?.Revision, e.Revision)
  const metrics = await registry.metrics()
  assert.match(metrics, new RegExp(`topoflow_graph_nodes\\{service="graph-builder"\\} ${engine.store.nodeCount}`))
  assert.match(metrics, /topoflow_graph_events_applied_total\{topic="topoflow.k8s.v1",service="graph-builder"\} 9/)
  assert.match(metrics, /topoflow_graph_host_last_seen_seconds\{host="compute-2",service="graph-builder"\} 1700000032/)
  assert.match(metrics, /topoflow_errors_total\{stage="graph-builder",code="TOPOFLOW_ERR_SCHEMA",service="graph-builder"\} 1/)
  const before = { graph, nodes: [...engine.store.nodes()], edges: [...engine.store.edges()] }
  await app.close()
  await app.close()

  // Restart: a new process, a new bus holding what the compacted topics hold.
  const bus2 = new InProcessBus({ compactedTopics: compacted })
  t.after(async () => { await bus2.close() })
  for (const m of published) if (m.key !== null && !m.key.startsWith('__')) await bus2.publish(topics.topologyChanges, [{ key: m.key, value: m.value }])
  await bus2.publish(topics.resources, [{ key: 'r1', value: { ResourceType: 'noderule', UUID: 'r1', Resource: { Action: 'update', Query: "G.V().Has('Type', 'bridge')", Metadata: { Color: 'blue' } }, Deleted: false, Time: T0 + 30_000 } }])
  await bus2.publish(topics.resources, [fabricRule])
  const after: Array<BusMessage<TopologyChange>> = []
  await collect(bus2, after)
  clock.now = T0 + 40_000
  const { app: app2 } = appOn(bus2, history, now)
  await app2.start()
  await app2.flushed()
  assert.deepEqual(summary(app2.engine.store), before.graph)
  assert.deepEqual([...app2.engine.store.nodes()].sort(byId), before.nodes.sort(byId), 'same revisions after recovery')
  assert.deepEqual([...app2.engine.store.edges()].sort(byId), before.edges.sort(byId))
  // Nor does installing the fabric over the recovered graph: it waits for the rules, one of which colours the fabric.
  assert.deepEqual(after.filter((m) => m.key !== null && !m.key.startsWith('__')), [], 'recovering publishes nothing')
  assert.equal(byName(app2.engine.store, '', 'tor1').Metadata.Color, 'green')

  // It goes on: the next change is the next revision.
  const br0 = byName(app2.engine.store, 'compute-1', 'br0')
  await bus2.publish(topics.topologyEvents, [{ key: br0.ID, value: { Kind: 'NodeUpdated', Host: 'compute-1', Origin: 'agent.compute-1', Time: T0 + 41_000, Node: { ID: br0.ID, Metadata: { Name: 'br0', Type: 'bridge', MTU: 9000 } } } }])
  await waitFor(() => after.some((m) => m.key === br0.ID), 'the update published')
  const update = after.find((m) => m.key === br0.ID)?.value?.Node
  assert.equal(update?.Revision, br0.Revision + 1)
  assert.equal(update?.Metadata.Color, 'blue', 'the rules were read again at start')
  await app2.flushed()
  assert.equal(history.live.get(br0.ID)?.Revision, br0.Revision + 1)
  assert.equal([...history.archive.values()].filter((d) => d.ID === br0.ID && d.Revision === br0.Revision).length, 1)

  // Host timeout through the service: compute-2 has been silent since T0+32s.
  clock.now = T0 + 40_000 + 61_000
  await app2.tick()
  assert.equal(app2.engine.store.getNode('late'), undefined)
  assert.ok(after.some((m) => m.key === 'late' && m.value?.Op === 'delete'))
  assert.ok(after.some((m) => m.key === 'late' && m.value === null), 'a tombstone follows the delete')
  await app2.close()
})

test('a recovery under way logs how far it got, then what it recovered', async (t) => {
  // A graph to recover: what an earlier run published on the changes topic.
  const first = new InProcessBus({ compactedTopics: compacted })
  t.after(async () => { await first.close() })
  const published: Array<BusMessage<TopologyChange>> = []
  await collect(first, published)
  const { app } = appOn(first, new MemoryHistorySink(), () => T0 + 100)
  await app.start()
  await publishStream(first, 'two-hosts.events.json')
  await waitFor(() => app.engine.store.nodeCount >= 13, 'the hosts applied')
  await app.flushed()
  const nodes = app.engine.store.nodeCount
  await app.close()

  const bus = new InProcessBus({ compactedTopics: compacted })
  t.after(async () => { await bus.close() })
  for (const m of published) if (m.key !== null && !m.key.startsWith('__')) await bus.publish(topics.topologyChanges, [{ key: m.key, value: m.value }])
  const { logger, records: lines } = recordingLogger()
  const restarted = buildGraphBuilder({ config: config(fabric), bus, logger, registry: createRegistry('graph-builder', { processMetrics: false }), now: () => T0 + 200, tickIntervalMs: 0, recoveryIdleMs: 30, recoveryProgressMs: 1 })
  await restarted.start()
  t.after(async () => { await restarted.close() })
  const progress = lines.filter((l) => l.msg === 'Recovering the graph from the changes topic')
  assert.ok(progress.length >= 1, JSON.stringify(lines))
  // The topic is compacted: one change per element, the latest.
  const latest = new Map(published.filter((m) => m.key !== null && !m.key.startsWith('__')).map((m) => [m.key, m.value]))
  assert.equal(progress.at(-1)?.restored, [...latest.values()].filter((v) => v !== null).length)
  assert.equal(progress.at(-1)?.nodes, nodes)
  const done = lines.find((l) => l.msg === 'Graph recovered from the changes topic')
  assert.equal(done?.nodes, nodes)
  assert.ok(lines.indexOf(done as Record<string, unknown>) > lines.indexOf(progress.at(-1) as Record<string, unknown>))
})

test('a fabric line that does not parse fails start-up with the line and the reason', () => {
  const bus = new InProcessBus()
  assert.throws(() => buildGraphBuilder({ config: config(['A -> B', 'C -> ']), bus, logger: silentLogger(), registry: createRegistry('gb', { processMetrics: false }) }), (err: unknown) => {
    assert.ok(TopoflowError.is(err))
    assert.equal(err.code, 'TOPOFLOW_ERR_FABRIC')
    assert.match(err.message, /line 2 "C -> ": a link must have two endpoints/)
    return true
  })
})

test('close before start is safe', async () => {
  const { app } = appOn(new InProcessBus(), new MemoryHistorySink(), () => T0)
  await app.close()
  await app.close()
  assert.equal(app.ready(), false)
})

function byId (a: { ID: string }, b: { ID: string }): number {
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0
}
