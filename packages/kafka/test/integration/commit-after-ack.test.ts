import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { BusMessage } from '@topoflow/core'
import { readFixture, topicTable, type Flow } from '@topoflow/schemas'
import { KafkaBus } from '../../src/index.ts'
import { deleteTopicsWithPrefix, rawKafka, requireKafka, uniqueName, waitFor } from './helpers.ts'

const topic = 'topoflow.flows.raw.v1'

test('a consumer closed mid-batch and restarted in its group reprocesses only what it had not acknowledged', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  const prefix = `${uniqueName('ack')}.`
  const group = uniqueName('ack-group')
  const bus = new KafkaBus({ brokers, topicPrefix: prefix, producer: { lingerMs: 1 } })
  t.after(async () => {
    await bus.close()
    await deleteTopicsWithPrefix(brokers, prefix)
  })
  await bus.start()
  // One partition, so "what was acknowledged" is a single offset we can reason about.
  await bus.ensureTopics([{ ...topicTable[topic], partitions: 1 }])
  const flow = readFixture(topic)
  const total = 100
  await bus.publish<Flow>(topic, Array.from({ length: total }, (_, i) => ({ key: `flow-${i}`, value: { ...flow, UUID: `flow-${i}` } })))

  // First member: acknowledges three chunks of 10, then hangs on the fourth and is closed.
  const firstRun: string[] = []
  let calls = 0
  let hung = false
  const first = await bus.subscribe<Flow>({
    topics: [topic],
    group,
    fromBeginning: true,
    maxBatch: 10,
    // The stuck handler is given 200 ms to finish, then abandoned.
    closeGraceMs: 200,
    handler: async (batch) => {
      calls++
      if (calls === 4) {
        hung = true
        await new Promise(() => {})
      }
      firstRun.push(...batch.map((m) => m.value!.UUID))
    }
  })
  await waitFor(() => hung, 'the fourth handler call')
  await first.close()
  assert.equal(firstRun.length, 30)

  // Second member of the same group: starts after the last acknowledged message.
  const secondRun: Array<BusMessage<Flow>> = []
  const second = await bus.subscribe<Flow>({
    topics: [topic],
    group,
    fromBeginning: true,
    maxBatch: 10,
    handler: async (batch) => { secondRun.push(...batch) }
  })
  t.after(async () => { await second.close() })
  await waitFor(() => secondRun.length >= total - 30, 'the unacknowledged 70 messages')
  assert.equal(secondRun[0]!.offset, '30', 'resumes at the first unacknowledged offset')
  const all = [...firstRun, ...secondRun.map((m) => m.value!.UUID)]
  assert.deepEqual(all, Array.from({ length: total }, (_, i) => `flow-${i}`), 'nothing lost, nothing acknowledged twice')

  const admin = rawKafka(brokers).admin()
  await admin.connect()
  try {
    await waitFor(async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [prefix + topic] })
      return offsets?.partitions[0]?.offset === String(total)
    }, 'the group to commit offset 100')
  } finally {
    await admin.disconnect()
  }
})
