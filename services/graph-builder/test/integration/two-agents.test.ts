import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '@opensearch-project/opensearch'
import { topologyMessage } from '@topoflow/capture'
import { createRegistry, loadConfig, silentLogger } from '@topoflow/core'
import { KafkaBus } from '@topoflow/kafka'
import { ensureTemplates, indexNames } from '@topoflow/opensearch'
import { topicTable, topics } from '@topoflow/schemas'
import { resolveInfraOrSkip, VethPair, waitFor } from '@topoflow/testing'
import { buildGraphBuilder } from '../../src/app.ts'
import type { GraphStore } from '../../src/graph/store.ts'
import { OpenSearchHistorySink } from '../../src/history/opensearch-sink.ts'
import type { GraphNode } from '../../src/types.ts'

const agentScript = fileURLToPath(new URL('./agent-process.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))

/**
 * A capture agent's topology probe on a "host" that is one network namespace: run there, in a pid
 * namespace with its own /proc so that it sees no other namespace of this machine. Its events are
 * published to Kafka as the capture service publishes them (`topologyMessage`: keyed by host).
 * Closing its stdin stops it.
 */
function startAgent (netns: string, hostId: string, bus: KafkaBus): { child: ChildProcess, stderr: () => string, published: () => number, sending: () => Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', netns, 'unshare', '--pid', '--fork', '--mount-proc', '--kill-child',
    process.execPath, '--import', 'tsx', agentScript, hostId], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  let published = 0
  let sending = Promise.resolve()
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = topologyMessage(JSON.parse(line))
    sending = sending.then(async () => { await bus.publish(topics.topologyEvents, [message]); published++ })
  })
  return { child, stderr: () => stderr, published: () => published, sending: async () => { await sending } }
}

function nodeNamed (store: GraphStore, host: string, name: string): GraphNode | undefined {
  return [...store.nodes()].find((n) => n.Host === host && n.Metadata.Name === name)
}

/** Every node reachable from `from`, edges taken both ways. */
function reachable (store: GraphStore, from: string): Set<string> {
  const next = new Map<string, string[]>()
  for (const e of store.edges()) {
    next.set(e.Parent, [...(next.get(e.Parent) ?? []), e.Child])
    next.set(e.Child, [...(next.get(e.Child) ?? []), e.Parent])
  }
  const seen = new Set([from])
  const todo = [from]
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    for (const n of next.get(id) ?? []) if (!seen.has(n)) { seen.add(n); todo.push(n) }
  }
  return seen
}

test('two capture agents, each on its own namespace-host with its own host id, form one graph', { timeout: 300_000 }, async (t) => {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const pair = new VethPair('gb2a')
  pair.create()
  t.after(() => { pair.destroy() })
  const hostA = `agent-a-${randomUUID().slice(0, 6)}`
  const hostB = `agent-b-${randomUUID().slice(0, 6)}`
  const prefix = `test-gb2a-${randomUUID().slice(0, 8)}`
  const client = new Client({ node: infra.opensearchUrl })
  const names = indexNames(prefix)
  await ensureTemplates(client, { prefix, replicas: 0 })
  t.after(async () => {
    await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => {})
    await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => {})
    await client.close()
  })
  const bus = new KafkaBus({ brokers: infra.kafkaBrokers, clientId: prefix, topicPrefix: `${prefix}.`, logger: silentLogger() })
  await bus.start()
  t.after(async () => { await bus.close() })
  await bus.ensureTopics(topicTable, { replicationFactor: 1 })

  // A switch with a port towards each host's interface: the fabric ties the two hosts together.
  const fabric = [
    'TOR[Name=tor] -> PORT_A[Name=port-a]',
    'TOR -> PORT_B[Name=port-b]',
    `PORT_A --> *[Type=host,Name=${hostA}]/${pair.ifA}`,
    `PORT_B --> *[Type=host,Name=${hostB}]/${pair.ifB}`
  ]
  const config = loadConfig({ env: {}, overrides: { host_id: 'gb-agents', 'analyzer.topology.fabric': fabric, 'analyzer.topology.host_timeout': 3600 } })
  const history = new OpenSearchHistorySink({ client: client as never, liveIndex: names.topologyLive, archiveIndex: names.topologyArchive })
  const app = buildGraphBuilder({
    config, bus, history, logger: silentLogger(), registry: createRegistry('graph-builder', { processMetrics: false }),
    group: `${prefix}-graph-builder`, tickIntervalMs: 0, recoveryIdleMs: 500
  })
  await app.start()
  t.after(async () => { await app.close() })

  const agents = [startAgent(pair.nsA, hostA, bus), startAgent(pair.nsB, hostB, bus)]
  t.after(async () => {
    // Closing its stdin stops an agent (signals do not reach a pid namespace's init from here).
    for (const a of agents) a.child.stdin?.end()
    await Promise.all(agents.map(async (a) => { if (a.child.exitCode === null) await new Promise((resolve) => a.child.once('exit', resolve)) }))
  })

  const store = app.engine.store
  const ifA = await waitFor(() => nodeNamed(store, hostA, pair.ifA), { timeout: 60_000, what: `${pair.ifA} of ${hostA} in the graph (agent A: ${agents[0]?.stderr() ?? ''})` })
  const ifB = await waitFor(() => nodeNamed(store, hostB, pair.ifB), { timeout: 60_000, what: `${pair.ifB} of ${hostB} in the graph (agent B: ${agents[1]?.stderr() ?? ''})` })
  const nodeA = nodeNamed(store, hostA, hostA)
  const nodeB = nodeNamed(store, hostB, hostB)
  assert.equal(nodeA?.Metadata.Type, 'host')
  assert.equal(nodeB?.Metadata.Type, 'host')

  // Each agent reported its own namespace and nothing else of this machine.
  assert.deepEqual(ifA.Metadata.IPV4, [`${pair.ipA}/24`])
  assert.deepEqual(ifB.Metadata.IPV4, [`${pair.ipB}/24`])
  for (const [host, own] of [[hostA, pair.ifA], [hostB, pair.ifB]] as const) {
    const interfaces = [...store.nodes()].filter((n) => n.Host === host && n.Metadata.Type !== 'host').map((n) => n.Metadata.Name).sort()
    assert.deepEqual(interfaces, [own, 'lo'].sort(), `${host} holds its namespace's interfaces only`)
  }
  const owned = (parent: GraphNode | undefined, child: GraphNode): boolean =>
    [...store.edges()].some((e) => e.Parent === parent?.ID && e.Child === child.ID && e.Metadata.RelationType === 'ownership')
  assert.ok(owned(nodeA, ifA), `${hostA} owns ${pair.ifA}`)
  assert.ok(owned(nodeB, ifB), `${hostB} owns ${pair.ifB}`)

  // One graph: the fabric ports link to the right host interfaces, so host A reaches host B.
  await waitFor(() => reachable(store, nodeA?.ID ?? '').has(nodeB?.ID ?? ''), { timeout: 30_000, what: 'the two hosts joined by the fabric' })
  const fabricLink = (port: string, ifc: GraphNode): boolean => [...store.edges()].some((e) =>
    e.Metadata.RelationType === 'layer2' && e.Child === ifc.ID && store.getNode(e.Parent)?.Metadata.Name === port)
  assert.ok(fabricLink('port-a', ifA), 'port-a links to the interface of host A')
  assert.ok(fabricLink('port-b', ifB), 'port-b links to the interface of host B')

  // The same graph is in the live index of OpenSearch.
  await Promise.all(agents.map(async (a) => { await a.sending() }))
  await app.flushed()
  await client.indices.refresh({ index: names.topologyLive })
  const live = await client.search({ index: names.topologyLive, body: { size: 1000, query: { terms: { Host: [hostA, hostB] } } } })
  const liveIds = new Set((live.body as { hits: { hits: Array<{ _id: string }> } }).hits.hits.map((h) => h._id))
  for (const n of [nodeA, nodeB, ifA, ifB]) assert.ok(liveIds.has(n?.ID ?? ''), `${String(n?.Metadata.Name)} in ${names.topologyLive}`)
  t.diagnostic(`agents published ${agents.map((a) => a.published()).join(' and ')} events; graph: ${store.nodeCount} nodes, ${store.edgeCount} edges`)
})
