import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InProcessBus, createRegistry, loadConfig, silentLogger, type BusMessage } from '@topoflow/core'
import { topics } from '@topoflow/schemas'
import { buildEnricher, type EnrichedFlow } from '../../src/index.ts'

test('raw flows come out enriched on the bus and in the indexer, with lookups from the other topics', async () => {
  const bus = new InProcessBus()
  const indexed: EnrichedFlow[] = []
  const config = loadConfig({ env: {}, overrides: { 'enricher.join_wait': 0 } })
  const registry = createRegistry('enricher', { processMetrics: false })
  const enricher = buildEnricher({ config, bus, logger: silentLogger(), registry, now: () => 12_000, indexer: { index: async (flows) => { indexed.push(...flows) } } })
  const published: Array<BusMessage<EnrichedFlow>> = []
  await bus.subscribe<EnrichedFlow>({ topics: [topics.flowsEnriched], group: 'test', handler: async (b) => { published.push(...b) } })
  await enricher.start()
  await bus.publish(topics.topologyEvents, [{ key: 'h1', value: { Kind: 'HostSync', Host: 'h1', Time: 1, Nodes: [{ ID: 'i1', Host: 'h1', Metadata: { Name: 'eth0', IPV4: ['10.9.0.1/24'] } }] } }])
  await bus.publish(topics.sockets, [{ key: 'h1', value: { Host: 'h1', Time: 1, Sockets: [{ LocalAddress: '10.9.0.1', LocalPort: 22, RemoteAddress: '', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN', Pid: 7, Name: 'sshd', Process: '/usr/sbin/sshd' }] } }])
  await bus.publish(topics.flowsRaw, [{ key: 'f1', value: { UUID: 'f1', Network: { Protocol: 'IPV4', A: '10.9.0.2', B: '10.9.0.1' }, Transport: { Protocol: 'TCP', A: 50000, B: 22 }, Start: 1, Last: 2 } }])
  const deadline = Date.now() + 5000
  while (published.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  await enricher.close()
  await bus.close()
  assert.equal(published.length, 1)
  assert.equal(indexed.length, 1)
  assert.equal(indexed[0]?.BEnrich.ProcessName, 'sshd')
  assert.equal(indexed[0]?.BEnrich.HostName, 'h1')
  assert.equal(indexed[0]?.ServerEnd, 'B')
  // The flow's last packet was at 2 ms, the enricher's clock says 12 s: 11.998 s behind.
  assert.match(await registry.metrics(), /topoflow_enricher_flow_delay_seconds\{service="enricher"\} 11\.998\n/)
})
