import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '@opensearch-project/opensearch'
import { createRegistry, loadConfig, silentLogger, type Registry } from '@topoflow/core'
import { KafkaBus } from '@topoflow/kafka'
import { topics } from '@topoflow/schemas'
import { resolveInfraOrSkip, waitFor } from '@topoflow/testing'
import { buildEnricher, OpenSearchFlowIndexer } from '../../src/index.ts'
import { allIds, countDocs, CuttableProxy, flowUpdates, groupProgress, metricId, publishFlows, sandbox } from './helpers.ts'

async function counter (registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get()
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0
}

test('OpenSearch unavailable: the enricher stops committing, holds its place, and resumes with nothing lost', { timeout: 300_000 }, async (t) => {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const box = await sandbox(t, infra, 'enr-outage')
  const rawTopic = box.topicPrefix + topics.flowsRaw
  const metricsPattern = box.names.patterns.flowMetrics

  // The enricher reaches OpenSearch only through a proxy the test can cut.
  const proxy = new CuttableProxy(new URL(infra.opensearchUrl))
  await proxy.open()
  t.after(async () => { await proxy.close() })
  const viaProxy = new Client({ node: proxy.url, requestTimeout: 5000 })
  const bus = new KafkaBus({
    brokers: infra.kafkaBrokers,
    clientId: `${box.prefix}-enricher`,
    topicPrefix: box.topicPrefix,
    // Retry the stuck batch often, so the test sees the recovery soon after OpenSearch is back.
    consumer: { retryMaxDelayMs: 1000, sessionTimeoutMs: 30_000 },
    logger: silentLogger()
  })
  await bus.start()
  const indexer = new OpenSearchFlowIndexer({ client: viaProxy, bus, maxDocs: 500, flushMs: 100, indexPrefix: box.prefix, retries: 2, maxRetryDelayMs: 500 })
  const registry = createRegistry('enricher', { processMetrics: false })
  const config = loadConfig({ env: {}, overrides: { 'enricher.join_wait': 0 } })
  const enricher = buildEnricher({ config, bus, indexer, logger: silentLogger(), registry, group: box.group })
  t.after(async () => {
    await enricher.close()
    await indexer.close().catch(() => {})
    await bus.close()
    await viaProxy.close()
  })
  await indexer.start()
  await enricher.start()

  const before = flowUpdates(100, 2, 'before')
  const during = flowUpdates(100, 2, 'during')
  const progress = async (): Promise<{ committed: number, end: number }> => await groupProgress(infra.kafkaBrokers, box.group, rawTopic)

  await publishFlows(box.bus, before)
  await waitFor(async () => (await progress()).committed === before.length, { timeout: 60_000, interval: 200, what: 'the first updates committed' })
  assert.equal(await countDocs(box.client, metricsPattern), before.length)

  // OpenSearch goes away; the capture side keeps publishing.
  await proxy.cut()
  await publishFlows(box.bus, during)
  await waitFor(async () => await counter(registry, 'topoflow_enricher_flows_in_total') >= before.length + during.length,
    { timeout: 30_000, what: 'the enricher to take the new updates in' })
  // While it is down nothing may be committed past what OpenSearch acknowledged: watch for a while.
  for (let i = 0; i < 10; i++) {
    const p = await progress()
    assert.equal(p.end, before.length + during.length)
    assert.equal(p.committed, before.length, 'offsets held while OpenSearch is unavailable')
    assert.equal(await counter(registry, 'topoflow_enricher_flows_out_total'), before.length, 'no flow counted as out')
    await sleep(300)
  }
  assert.equal(await countDocs(box.client, metricsPattern), before.length)

  // Back: it resumes where it was and catches up.
  await proxy.restore()
  await waitFor(async () => (await progress()).committed === before.length + during.length, { timeout: 120_000, interval: 200, what: 'the held updates committed' })
  const expected = [...before, ...during].map(metricId).sort()
  assert.equal(await countDocs(box.client, metricsPattern), expected.length)
  assert.deepEqual((await allIds(box.client, metricsPattern)).sort(), expected)
  assert.equal(await countDocs(box.client, box.names.patterns.flows), 200)
  assert.equal(await counter(registry, 'topoflow_enricher_flows_out_total'), before.length + during.length)
  t.diagnostic(`proxy connections: ${proxy.connections}; ${expected.length} updates indexed once each`)
})
