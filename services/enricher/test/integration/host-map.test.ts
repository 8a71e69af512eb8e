import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry, loadConfig, silentLogger, type BusMessage } from '@topoflow/core'
import { topics } from '@topoflow/schemas'
import { resolveInfraOrSkip, waitFor } from '@topoflow/testing'
import { buildEnricher, type EnrichedFlow, type Enricher } from '../../src/index.ts'
import { edgeUpsert, iface, nodeDelete, nodeUpsert, recoveryMarker } from '../unit/topology-changes.ts'
import { flowUpdates, publishFlows, sandbox } from './helpers.ts'

/**
 * The host map on real Kafka: what the graph-builder published on the compacted changes topic (node
 * revisions, a delete revision and its tombstone, edges, its recovery marker) is all a starting enricher
 * reads; Kafka hands tombstones over with their key, and the enricher follows the topic live.
 */
test('an enricher starting on Kafka builds its host map from topology.changes, follows it live, and a restart finds the same', { timeout: 120_000 }, async (t) => {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const box = await sandbox(t, infra, 'enr-hosts')
  const config = loadConfig({ env: {}, overrides: { 'enricher.join_wait': 0 } })
  const start = async (instanceId: string): Promise<Enricher> => {
    const enricher = buildEnricher({ config, bus: box.bus, logger: silentLogger(), registry: createRegistry('enricher', { processMetrics: false }), instanceId, group: box.group })
    t.after(async () => { await enricher.close() })
    // Resolves once the lookup topics were read to where they ended.
    await enricher.start()
    return enricher
  }

  const server = iface('srv', 'eth0', ['10.60.0.1/24'])
  const gone = iface('old', 'eth0', ['10.60.0.9/24'])
  const revisions = Array.from({ length: 20 }, (_, i) => nodeUpsert({ ...server, Metadata: { ...server.Metadata, Metric: { RxBytes: i } } }, i + 1, i + 1))
  await box.bus.publish(topics.topologyChanges, [...revisions, nodeUpsert(gone), edgeUpsert('srv-own-eth0', 'srv-host', server.ID, 'srv'), ...nodeDelete(gone), recoveryMarker()])

  const first = await start('first')
  assert.deepEqual(first.lookups.hosts.lookup('10.60.0.1'), { host: 'srv', interface: 'eth0' })
  assert.equal(first.lookups.hosts.lookup('10.60.0.9'), undefined)

  // A flow towards the server's address goes out with its host and interface.
  const enriched: Array<BusMessage<EnrichedFlow>> = []
  const out = await box.bus.subscribe<EnrichedFlow>({ topics: [topics.flowsEnriched], group: `${box.prefix}-reader`, fromBeginning: true, handler: async (batch) => { enriched.push(...batch) } })
  t.after(async () => { await out.close() })
  const [flow] = flowUpdates(1, 1)
  assert.ok(flow !== undefined)
  await publishFlows(box.bus, [{ ...flow, Network: { Protocol: 'IPV4', A: '10.60.0.50', B: '10.60.0.1', ID: 0 } }])
  await waitFor(() => enriched.length > 0, { timeout: 30_000, what: 'the enriched flow' })
  assert.deepEqual([enriched[0]?.value?.BEnrich.HostName, enriched[0]?.value?.BEnrich.Interface], ['srv', 'eth0'])

  // Live: a new node, and a tombstone keyed by the server's node ID.
  await box.bus.publish(topics.topologyChanges, [nodeUpsert(iface('new', 'eth1', ['10.60.0.7/24', 'fd00:60::7/64'])), { key: server.ID, value: null }])
  await waitFor(() => first.lookups.hosts.lookup('10.60.0.1') === undefined && first.lookups.hosts.lookup('fd00:60::7') !== undefined, { timeout: 30_000, what: 'the live changes' })
  assert.deepEqual(first.lookups.hosts.lookup('10.60.0.7'), { host: 'new', interface: 'eth1' })
  await first.close()

  const second = await start('second')
  assert.equal(second.lookups.hosts.lookup('10.60.0.1'), undefined)
  assert.equal(second.lookups.hosts.lookup('10.60.0.9'), undefined)
  assert.deepEqual(second.lookups.hosts.lookup('fd00:60::7'), { host: 'new', interface: 'eth1' })
  assert.equal(second.lookups.hosts.hostCount, 1)
})
