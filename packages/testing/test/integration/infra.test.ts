import { test } from 'node:test'
import assert from 'node:assert/strict'
import kafkajs from 'kafkajs'
import { resolveInfraOrSkip, uniqueName, waitFor } from '../../src/index.ts'

test('the resolved Kafka answers metadata, creates topics on first use and keeps messages', async (t) => {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const kafka = new kafkajs.Kafka({ brokers: infra.kafkaBrokers, clientId: 'topoflow-infra-test', logLevel: kafkajs.logLevel.NOTHING })
  const admin = kafka.admin()
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  const created = uniqueName('infra-admin')
  const autoCreated = uniqueName('infra-auto')
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    assert.equal(cluster.brokers.length, 1, 'one broker')
    assert.notEqual(cluster.controller, null, 'a KRaft controller is elected')

    assert.equal(await admin.createTopics({ topics: [{ topic: created, numPartitions: 3 }], waitForLeaders: true }), true)
    const [meta] = (await admin.fetchTopicMetadata({ topics: [created] })).topics
    assert.equal(meta?.partitions.length, 3)

    // The broker allows auto topic creation: a first send to an unknown topic lands.
    await producer.connect()
    await producer.send({ topic: autoCreated, messages: [{ key: 'k', value: 'v1' }, { key: 'k', value: 'v2' }] })
    const offsets = await waitFor(async () => {
      const partitions = await admin.fetchTopicOffsets(autoCreated)
      return partitions.find((p) => p.high === '2')
    }, { timeout: 15_000, what: `two messages on ${autoCreated}` })
    assert.equal(offsets.low, '0')
  } finally {
    await producer.disconnect()
    await admin.deleteTopics({ topics: [created, autoCreated] }).catch(() => {})
    await admin.disconnect()
  }
})

test('the resolved OpenSearch reports a healthy single-node cluster and indexes documents', async (t) => {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const health = await (await fetch(`${infra.opensearchUrl}/_cluster/health?wait_for_status=yellow&timeout=30s`)).json() as Record<string, unknown>
  assert.ok(health.status === 'green' || health.status === 'yellow', `cluster status ${String(health.status)}`)
  assert.equal(health.number_of_nodes, 1)

  const index = uniqueName('infra')
  try {
    const put = await fetch(`${infra.opensearchUrl}/${index}/_doc/1?refresh=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: { ip: '10.0.0.1' } })
    })
    assert.equal(put.status, 201, await put.clone().text())
    const got = await (await fetch(`${infra.opensearchUrl}/${index}/_doc/1`)).json() as { found: boolean, _source: unknown }
    assert.equal(got.found, true)
    assert.deepEqual(got._source, { source: { ip: '10.0.0.1' } })
  } finally {
    await fetch(`${infra.opensearchUrl}/${index}`, { method: 'DELETE' }).catch(() => {})
  }
})
