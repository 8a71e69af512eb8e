import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KafkaBus } from '../../src/kafka-bus.ts'

// Nothing here connects: these are the paths that must work without a broker.

test('close is safe before start and twice', async () => {
  const bus = new KafkaBus({ brokers: ['127.0.0.1:1'] })
  await bus.close()
  await bus.close()
  await assert.rejects(bus.start(), /Cannot start the Kafka bus: it is closed/)
})

test('publish and subscribe before start fail with a clear error', async () => {
  const bus = new KafkaBus({ brokers: ['127.0.0.1:1'] })
  await assert.rejects(bus.publish('topoflow.flows.raw.v1', [{ key: 'k', value: null }]), /Cannot publish: the Kafka bus is not started/)
  await assert.rejects(bus.subscribe({ topics: ['topoflow.flows.raw.v1'], group: 'g', handler: async () => {} }), /Cannot subscribe/)
})

test('topic prefixes map logical names to wire names and back', () => {
  const bus = new KafkaBus({ brokers: ['127.0.0.1:1'], topicPrefix: 'staging.' })
  assert.equal(bus.physicalTopic('topoflow.flows.raw.v1'), 'staging.topoflow.flows.raw.v1')
  assert.equal(bus.logicalTopic('staging.topoflow.flows.raw.v1'), 'topoflow.flows.raw.v1')
})
