import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InProcessBus, createRegistry, loadConfig, recordingLogger, silentLogger, type BusMessage, type SubscribeOptions, type Subscription } from '@topoflow/core'
import { codecFor, isTopicName, topicTable, topics } from '@topoflow/schemas'
import { buildEnricher, type EnrichedFlow } from '../../src/index.ts'
import { iface, nodeDelete, nodeUpsert, recoveryMarker } from './topology-changes.ts'

const config = loadConfig({ env: {}, overrides: { 'enricher.join_wait': 0 } })

async function until (condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** The bus `topoflow allinone` runs on: compacted topics keep their latest message per key, values go through their Avro codec. */
function allInOneBus (): InProcessBus {
  return new InProcessBus({
    compactedTopics: Object.values(topicTable).filter((t) => t.cleanupPolicy === 'compact').map((t) => t.name),
    normalize: (topic, value) => {
      if (!isTopicName(topic)) return value
      const codec = codecFor(topic)
      return codec.decode(codec.encode(value as never))
    }
  })
}

test('raw flows come out enriched on the bus and in the indexer, with lookups from the other topics', async () => {
  const bus = new InProcessBus()
  const indexed: EnrichedFlow[] = []
  const registry = createRegistry('enricher', { processMetrics: false })
  const enricher = buildEnricher({ config, bus, logger: silentLogger(), registry, now: () => 12_000, indexer: { index: async (flows) => { indexed.push(...flows) } } })
  const published: Array<BusMessage<EnrichedFlow>> = []
  await bus.subscribe<EnrichedFlow>({ topics: [topics.flowsEnriched], group: 'test', handler: async (b) => { published.push(...b) } })
  await enricher.start()
  await bus.publish<unknown>(topics.topologyChanges, [nodeUpsert(iface('h1', 'eth0', ['10.9.0.1/24'])), { key: 'h1-bogus', value: { Kind: 'HostSync' } }])
  await bus.publish(topics.sockets, [{ key: 'h1', value: { Host: 'h1', Time: 1, Sockets: [{ LocalAddress: '10.9.0.1', LocalPort: 22, RemoteAddress: '', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN', Pid: 7, Name: 'sshd', Process: '/usr/sbin/sshd' }] } }])
  await bus.publish(topics.flowsRaw, [{ key: 'f1', value: { UUID: 'f1', Network: { Protocol: 'IPV4', A: '10.9.0.2', B: '10.9.0.1' }, Transport: { Protocol: 'TCP', A: 50000, B: 22 }, Start: 1, Last: 2 } }])
  await until(() => published.length > 0, 'the enriched flow')
  await enricher.close()
  await bus.close()
  assert.equal(published.length, 1)
  assert.equal(indexed.length, 1)
  assert.equal(indexed[0]?.BEnrich.ProcessName, 'sshd')
  assert.equal(indexed[0]?.BEnrich.HostName, 'h1')
  assert.equal(indexed[0]?.BEnrich.Interface, 'eth0')
  assert.equal(indexed[0]?.ServerEnd, 'B')
  const metrics = await registry.metrics()
  // The flow's last packet was at 2 ms, the enricher's clock says 12 s: 11.998 s behind.
  assert.match(metrics, /topoflow_enricher_flow_delay_seconds\{service="enricher"\} 11\.998\n/)
  // What is not a topology change is skipped and counted, and did not stop the rest.
  assert.match(metrics, /topoflow_enricher_lookup_events_invalid_total\{topic="topoflow\.topology\.changes\.v1",service="enricher"\} 1\n/)
})

test('a restarted enricher rebuilds its host map from the compacted changes topic alone, then follows it live', async () => {
  const bus = allInOneBus()
  const eth0 = iface('h1', 'eth0', ['10.9.0.1/24', 'fd00:9::1/64'])
  const gone = iface('h2', 'eth0', ['10.9.0.2/24'])
  // Raw topology events are the graph-builder's input, not the enricher's: this one must not be used.
  await bus.publish(topics.topologyEvents, [{ key: 'h9', value: { Kind: 'HostSync', Host: 'h9', Origin: 'agent.h9', Time: 1, Nodes: [{ ...iface('h9', 'eth0', ['10.9.0.9/24']), Origin: 'agent.h9', CreatedAt: 1, UpdatedAt: 1, Revision: 1 }], Edges: [] } }])
  // What the graph-builder published so far: many revisions of h1's eth0 (metrics), h2's eth0 gone, a recovery marker.
  for (let revision = 1; revision <= 50; revision++) await bus.publish(topics.topologyChanges, [nodeUpsert({ ...eth0, Metadata: { ...eth0.Metadata, Metric: { RxBytes: revision } } }, revision, revision)])
  await bus.publish(topics.topologyChanges, [nodeUpsert(gone), ...nodeDelete(gone), recoveryMarker()])

  const before = buildEnricher({ config, bus, logger: silentLogger(), registry: createRegistry('enricher', { processMetrics: false }), instanceId: 'before' })
  await before.start()
  assert.deepEqual(before.lookups.hosts.lookup('10.9.0.1'), { host: 'h1', interface: 'eth0' })
  await before.close()

  const registry = createRegistry('enricher', { processMetrics: false })
  const after = buildEnricher({ config, bus, logger: silentLogger(), registry, instanceId: 'after' })
  // start() resolves once the lookup topics were read to their end.
  await after.start()
  const hosts = after.lookups.hosts
  assert.deepEqual(hosts.lookup('10.9.0.1'), { host: 'h1', interface: 'eth0' })
  assert.deepEqual(hosts.lookup('fd00:9::1'), { host: 'h1', interface: 'eth0' })
  assert.equal(hosts.lookup('10.9.0.2'), undefined)
  assert.equal(hosts.lookup('10.9.0.9'), undefined)
  // Compaction left one message for eth0 out of its 50 revisions (h2's eth0 went with its tombstone).
  assert.match(await registry.metrics(), /topoflow_enricher_lookup_events_total\{topic="topoflow\.topology\.changes\.v1",service="enricher"\} 1\n/)

  await bus.publish(topics.topologyChanges, [nodeUpsert(iface('h3', 'eth0', ['10.9.0.3/24']))])
  await until(() => hosts.lookup('10.9.0.3') !== undefined, 'the new node')
  assert.deepEqual(hosts.lookup('10.9.0.3'), { host: 'h3', interface: 'eth0' })
  await bus.publish(topics.topologyChanges, [{ key: eth0.ID, value: null }])
  await until(() => hosts.lookup('10.9.0.1') === undefined, 'the tombstone')
  assert.equal(hosts.lookup('fd00:9::1'), undefined)
  await after.close()
  await bus.close()
})

test('while the lookup topics are read at start, how far it got is logged', async () => {
  // Reading the lookup topics takes a while here: their subscription reports itself caught up 300 ms late (ten progress periods: a loaded machine still gets two in).
  class SlowLookupsBus extends InProcessBus {
    override async subscribe<T> (opts: SubscribeOptions<T>): Promise<Subscription> {
      const sub = await super.subscribe(opts)
      if (!opts.topics.includes(topics.topologyChanges)) return sub
      return { close: async () => { await sub.close() }, caughtUp: sub.caughtUp.then(async () => { await new Promise((resolve) => setTimeout(resolve, 300)) }) }
    }
  }
  const bus = new SlowLookupsBus({ compactedTopics: [topics.topologyChanges] })
  await bus.publish(topics.topologyChanges, [nodeUpsert(iface('h1', 'eth0', ['10.9.0.1/24'])), nodeUpsert(iface('h2', 'eth0', ['10.9.0.2/24']))])
  const { logger, records: lines } = recordingLogger()
  const enricher = buildEnricher({ config, bus, logger, registry: createRegistry('enricher', { processMetrics: false }), catchUpProgressMs: 20 })
  await enricher.start()
  await enricher.close()
  await bus.close()
  const progress = lines.filter((l) => l.msg === 'Reading the lookup topics')
  assert.ok(progress.length >= 2, JSON.stringify(lines))
  assert.deepEqual({ ...progress.at(-1), ms: 0, time: 0, pid: 0, hostname: '' }, { level: 30, time: 0, pid: 0, hostname: '', component: 'enricher', ms: 0, messages: 2, hosts: 2, addresses: 2, msg: 'Reading the lookup topics' })
  const done = lines.findIndex((l) => l.msg === 'Lookup topics read to their end')
  assert.ok(done > lines.indexOf(progress.at(-1) as Record<string, unknown>))
  assert.equal(lines[done]?.messages, 2)
  // Done reading, it stops telling.
  const count = lines.length
  await new Promise((resolve) => setTimeout(resolve, 60))
  assert.equal(lines.length, count)
})
