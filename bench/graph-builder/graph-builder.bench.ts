import { randomUUID } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createRegistry, InProcessBus, loadConfig, silentLogger, type Bus } from '@topoflow/core'
import { buildGraphBuilder, GraphEngine, MemoryHistorySink, type GraphBuilder, type TopologyChange, type TopologyEvent } from '@topoflow/graph-builder'
import { KafkaBus } from '@topoflow/kafka'
import { topicTable, topics } from '@topoflow/schemas'
import type { Comparison } from '../src/report.ts'

const hosts = 100
const nodesPerHost = 1000
const t0 = Date.UTC(2024, 0, 15, 12)

/**
 * Probe events for a graph of `hosts * nodesPerHost` nodes: per host its host node, then each
 * interface with its ownership edge, each in its own NodeUpdated/EdgeUpdated event (how agents send deltas).
 */
function topologyEvents (): TopologyEvent[] {
  const events: TopologyEvent[] = []
  for (let h = 0; h < hosts; h++) {
    const host = `bench-host-${h}`
    const origin = `agent.${host}`
    const hostId = `${host}-node`
    events.push({ Kind: 'NodeUpdated', Host: host, Origin: origin, Time: t0 + h, Node: { ID: hostId, Host: host, Metadata: { Name: host, Type: 'host', OS: 'linux', Hostname: host } } })
    for (let i = 1; i < nodesPerHost; i++) {
      const id = `${host}-if-${i}`
      const time = t0 + h * nodesPerHost + i
      events.push({
        Kind: 'NodeUpdated', Host: host, Origin: origin, Time: time,
        Node: {
          ID: id,
          Host: host,
          Metadata: {
            Name: `veth${i}`, Type: 'veth', IfIndex: i + 1, MTU: 1500, State: 'UP', Driver: 'veth', EncapType: 'ether',
            MAC: `02:00:00:${(h & 255).toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
            IPV4: [`10.${h}.${i >> 8}.${i & 255}/16`],
            LinkFlags: ['UP', 'BROADCAST', 'MULTICAST']
          }
        }
      })
      events.push({ Kind: 'EdgeUpdated', Host: host, Origin: origin, Time: time, Edge: { ID: `${id}-owner`, Host: host, Parent: hostId, Child: id, Metadata: { RelationType: 'ownership' } } })
    }
  }
  return events
}

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9

function collectGarbage (): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

function heapMB (gc: () => void): number {
  gc(); gc()
  return process.memoryUsage().heapUsed / 1e6
}

function newEngine (): GraphEngine {
  return new GraphEngine({ origin: 'analyzer.bench', hostTimeoutMs: 3_600_000, now: () => t0 })
}

function builderOn (bus: Bus, group: string): GraphBuilder {
  const config = loadConfig({ env: {}, overrides: { host_id: 'bench', 'analyzer.topology.host_timeout': 3600 } })
  return buildGraphBuilder({
    config, bus, history: new MemoryHistorySink(), logger: silentLogger(), registry: createRegistry('graph-builder', { processMetrics: false }),
    group, tickIntervalMs: 0, recoveryIdleMs: 200, recoveryTimeoutMs: 600_000, now: () => t0
  })
}

async function until (cond: () => boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The floor of "applying" an event: copy its element through JSON into a map. */
function jsonMapLoop (events: TopologyEvent[]): { rate: number, map: Map<string, unknown> } {
  const map = new Map<string, unknown>()
  const start = process.hrtime.bigint()
  for (const e of events) {
    const el = e.Node ?? e.Edge
    if (el != null) map.set(el.ID, JSON.parse(JSON.stringify(el)))
  }
  return { rate: events.length / seconds(start), map }
}

/** Seconds a bare subscriber takes to read the whole compacted changes topic. */
async function readChanges (bus: Bus, expected: number): Promise<number> {
  let read = 0
  const start = process.hrtime.bigint()
  const sub = await bus.subscribe<TopologyChange>({
    topics: [topics.topologyChanges],
    group: `bench-reader-${randomUUID()}`,
    fromBeginning: true,
    handler: async (batch) => { for (const m of batch) if (m.value !== null) read++ }
  })
  await until(() => read >= expected, `${expected} changes read back`)
  const took = seconds(start)
  await sub.close()
  return took
}

/** A new graph-builder's start(): it rebuilds the graph from the compacted changes topic before consuming. */
async function rebuild (bus: Bus, nodes: number): Promise<number> {
  const app = builderOn(bus, `bench-rebuild-${randomUUID()}`)
  const start = process.hrtime.bigint()
  await app.start()
  const took = seconds(start)
  if (app.engine.store.nodeCount !== nodes) throw new Error(`rebuilt ${app.engine.store.nodeCount} nodes, expected ${nodes}`)
  await app.close()
  return took
}

/**
 * Topology events applied per second by the graph-builder (goal 50,000/s), the heap of a
 * 100,000-node graph (goal under 500 MB), and the time a new graph-builder takes to rebuild that graph
 * from the compacted changes topic: in-process, or on Kafka when KAFKA_BROKERS is set.
 */
export async function graphBuilderThroughput (): Promise<Comparison[]> {
  const gc = collectGarbage()
  const nodes = hosts * nodesPerHost
  const edges = hosts * (nodesPerHost - 1)

  // Memory first, on a quiet heap: the engine's graph against plain JSON copies of the same elements.
  // Each side gets events of its own, dropped before measuring, so what it keeps from them is counted.
  const base = heapMB(gc)
  let engine: GraphEngine | null = newEngine()
  let own: TopologyEvent[] | null = topologyEvents()
  const engineStart = process.hrtime.bigint()
  for (const e of own) engine.apply({ kind: 'topology', event: e })
  const engineRate = own.length / seconds(engineStart)
  own = null
  if (engine.store.nodeCount !== nodes || engine.store.edgeCount !== edges) throw new Error(`engine has ${engine.store.nodeCount} nodes and ${engine.store.edgeCount} edges`)
  const graphMB = heapMB(gc) - base
  engine = null
  jsonMapLoop(topologyEvents().slice(0, 20_000)) // warm-up
  const plainBase = heapMB(gc)
  own = topologyEvents()
  const reference = jsonMapLoop(own)
  own = null
  const plainMB = heapMB(gc) - plainBase
  reference.map.clear()

  // Throughput of the whole service: bus in, graph, history, changes topic out.
  const events = topologyEvents()
  const bus = new InProcessBus({ compactedTopics: [topics.topologyChanges], retainPerTopic: 0 })
  // What the compacted changes topic holds in the end: the latest change per element.
  const compacted = new Map<string, TopologyChange>()
  await bus.subscribe<TopologyChange>({
    topics: [topics.topologyChanges],
    group: 'bench-changes',
    handler: async (batch) => { for (const m of batch) if (m.key !== null) { if (m.value === null) compacted.delete(m.key); else compacted.set(m.key, m.value) } }
  })
  const app = builderOn(bus, 'bench-graph-builder')
  await app.start()
  const start = process.hrtime.bigint()
  for (let i = 0; i < events.length; i += 500) {
    await bus.publish(topics.topologyEvents, events.slice(i, i + 500).map((e) => ({ key: e.Host, value: e })))
  }
  await until(() => app.engine.store.nodeCount === nodes && app.engine.store.edgeCount === edges, 'the whole graph applied')
  await app.flushed()
  const serviceRate = events.length / seconds(start)
  await app.close()
  await until(() => compacted.size === nodes + edges, 'every change seen on the changes topic')

  const rows: Comparison[] = [{
    scenario: `apply ${events.length / 1000}k topology events`,
    ours: 'graph-builder, in-process bus, memory history',
    reference: 'JSON copy into a Map',
    unit: 'events/s',
    oursRate: serviceRate,
    referenceRate: reference.rate,
    note: `goal 50k/s; engine alone ${(engineRate / 1000).toFixed(1)}k/s`
  }, {
    scenario: `heap of a ${nodes / 1000}k-node graph (+${edges / 1000}k edges)`,
    ours: 'GraphEngine store',
    reference: 'JSON copies in a Map',
    unit: 'MB',
    oursRate: graphMB,
    referenceRate: plainMB,
    note: 'goal < 500 MB; lower is better'
  }]

  // Rebuild from the compacted changes topic, against merely reading that topic.
  const elements = nodes + edges
  const brokers = process.env.KAFKA_BROKERS
  let target: Bus = bus
  let kafka: KafkaBus | null = null
  if (brokers !== undefined && brokers !== '') {
    kafka = new KafkaBus({ brokers: brokers.split(','), clientId: 'bench-graph-builder', topicPrefix: `bench-gb-${randomUUID().slice(0, 8)}.`, logger: silentLogger() })
    await kafka.start()
    await kafka.ensureTopics(topicTable, { replicationFactor: 1 })
    const changes = [...compacted].map(([key, value]) => ({ key, value }))
    for (let i = 0; i < changes.length; i += 2000) await kafka.publish(topics.topologyChanges, changes.slice(i, i + 2000))
    target = kafka
  }
  try {
    const readSeconds = await readChanges(target, elements)
    const rebuildSeconds = await rebuild(target, nodes)
    rows.push({
      scenario: `rebuild that graph from the compacted topic (${kafka === null ? 'in-process bus' : 'Kafka'})`,
      ours: 'graph-builder start()',
      reference: 'bare reader of the topic',
      unit: 'elements/s',
      oursRate: elements / rebuildSeconds,
      referenceRate: elements / readSeconds,
      note: `${rebuildSeconds.toFixed(1)} s against ${readSeconds.toFixed(1)} s; includes a 200 ms quiet spell`
    })
  } catch (err) {
    process.stderr.write(`graph-builder: rebuild not measured on the ${kafka === null ? 'in-process bus (set KAFKA_BROKERS to use Kafka)' : 'Kafka bus'}: ${(err as Error).message}\n`)
  } finally {
    await kafka?.close()
    await bus.close()
  }
  return rows
}
