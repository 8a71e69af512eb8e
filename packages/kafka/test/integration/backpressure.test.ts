import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFixture, topics, topicTable, type Flow } from '@topoflow/schemas'
import { KafkaBus, memoryKafkaMetrics, type KafkaSubscription } from '../../src/index.ts'
import { deleteTopicsWithPrefix, requireKafka, uniqueName, waitFor } from './helpers.ts'

const topic = topics.flowsRaw

test('partitions pause while handlers lag and resume once they catch up, losing nothing', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  const prefix = `${uniqueName('backpressure')}.`
  const metrics = memoryKafkaMetrics()
  const bus = new KafkaBus({ brokers, topicPrefix: prefix, metrics, producer: { lingerMs: 1 } })
  t.after(async () => {
    await bus.close()
    await deleteTopicsWithPrefix(brokers, prefix)
  })
  await bus.start()
  await bus.ensureTopics([{ ...topicTable[topic], partitions: 4 }])
  const flow = readFixture(topic)
  const total = 400
  // 400 keys hash onto all four partitions, so each has a backlog when the consumer joins.
  await bus.publish<Flow>(topic, Array.from({ length: total }, (_, i) => ({ key: `flow-${i}`, value: { ...flow, UUID: `flow-${i}` } })))

  let release: () => void = () => {}
  const slow = new Promise<void>((resolve) => { release = resolve })
  const seen = new Set<string>()
  let peakInFlight = 0
  let current: KafkaSubscription<Flow> | undefined
  const sub = current = await bus.subscribe<Flow>({
    topics: [topic],
    group: uniqueName('backpressure-group'),
    fromBeginning: true,
    maxBatch: 10,
    maxInFlight: 15,
    partitionsConcurrently: 4,
    handler: async (batch) => {
      peakInFlight = Math.max(peakInFlight, current?.inFlight ?? 0)
      await slow
      for (const m of batch) seen.add(m.value!.UUID)
    }
  })
  t.after(async () => { await sub.close() })

  await waitFor(() => sub.pausedPartitions().length > 0, 'a partition to pause')
  assert.ok(metrics.counts.pauses >= 1)
  assert.equal(seen.size, 0, 'nothing acknowledged while the handler is stuck')
  assert.ok(sub.inFlight <= 15, `in flight stays within the bound, was ${sub.inFlight}`)

  release()
  await waitFor(() => seen.size === total, 'every message once handlers catch up')
  await waitFor(() => sub.pausedPartitions().length === 0, 'every partition to resume')
  assert.ok(peakInFlight <= 15, `peak in flight ${peakInFlight}`)
})
