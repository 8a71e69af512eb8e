import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { codecFor, readFixture, topics, topicTable, type Flow } from '@topoflow/schemas'
import { deadLetterHeaders, KafkaBus, memoryKafkaMetrics } from '../../src/index.ts'
import { deleteTopicsWithPrefix, rawKafka, readRaw, requireKafka, uniqueName, waitFor } from './helpers.ts'

const topic = topics.flowsRaw

test('an undecodable message lands in the dead-letter topic with its bytes and headers, and the consumer carries on', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  const prefix = `${uniqueName('dlq')}.`
  const metrics = memoryKafkaMetrics()
  const bus = new KafkaBus({ brokers, topicPrefix: prefix, metrics, producer: { lingerMs: 1 } })
  const producer = rawKafka(brokers).producer()
  t.after(async () => {
    await producer.disconnect()
    await bus.close()
    await deleteTopicsWithPrefix(brokers, prefix)
  })
  await bus.start()
  await bus.ensureTopics([{ ...topicTable[topic], partitions: 1 }, topicTable[topics.dlq]])
  const good = (uuid: string): Buffer => codecFor(topic).encode({ ...readFixture(topic), UUID: uuid })
  const garbage = Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff])
  await producer.connect()
  await producer.send({
    topic: prefix + topic,
    messages: [
      { key: 'a', value: good('a') },
      { key: 'bad', value: garbage, headers: { 'x-origin': 'test' } },
      { key: 'b', value: good('b') }
    ]
  })

  const seen: string[] = []
  const sub = await bus.subscribe<Flow>({ topics: [topic], group: uniqueName('dlq-group'), fromBeginning: true, handler: async (batch) => { seen.push(...batch.map((m) => m.value!.UUID)) } })
  t.after(async () => { await sub.close() })
  await waitFor(() => seen.length === 2, 'the two good messages')
  assert.deepEqual(seen, ['a', 'b'], 'the message after the bad one still arrives')

  const [letter] = await readRaw(brokers, [prefix + topics.dlq], 1)
  const headers = Object.fromEntries(Object.entries(letter!.message.headers ?? {}).map(([k, v]) => [k, String(v)]))
  assert.equal(headers[deadLetterHeaders.errorCode], 'TOPOFLOW_ERR_DECODE')
  assert.match(headers[deadLetterHeaders.errorStage]!, /\/decode$/)
  assert.equal(headers[deadLetterHeaders.originalTopic], prefix + topic)
  assert.equal(headers[deadLetterHeaders.originalPartition], '0')
  assert.equal(headers[deadLetterHeaders.originalOffset], '1')
  assert.equal(headers['x-origin'], 'test', 'original headers are kept')
  assert.equal(letter!.message.key?.toString(), 'bad')
  const value = codecFor(topics.dlq).decode(letter!.message.value!)
  assert.deepEqual(value.OriginalValue, garbage, 'original bytes, untouched')
  assert.deepEqual(value.OriginalKey, Buffer.from('bad'))
  assert.equal(value.OriginalOffset, 1)
  assert.equal(value.ErrorCode, 'TOPOFLOW_ERR_DECODE')
  assert.ok(value.ErrorMessage.length > 0)
  assert.equal(metrics.counts.deadLettered, 1)
  assert.equal(metrics.counts.consumed, 3)
})

test('a message the handler refuses for good is dead-lettered; a retriable failure is retried', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  const prefix = `${uniqueName('refuse')}.`
  const bus = new KafkaBus({ brokers, topicPrefix: prefix, producer: { lingerMs: 1 }, consumer: { retryMinDelayMs: 10, retryMaxDelayMs: 50 } })
  t.after(async () => {
    await bus.close()
    await deleteTopicsWithPrefix(brokers, prefix)
  })
  await bus.start()
  await bus.ensureTopics([{ ...topicTable[topic], partitions: 1 }, topicTable[topics.dlq]])
  const flow = readFixture(topic)
  await bus.publish<Flow>(topic, ['ok-1', 'poison', 'ok-2'].map((uuid) => ({ key: uuid, value: { ...flow, UUID: uuid } })))

  const handled: string[] = []
  let transientFailures = 0
  const sub = await bus.subscribe<Flow>({
    topics: [topic],
    group: uniqueName('refuse-group'),
    fromBeginning: true,
    handler: async (batch) => {
      if (transientFailures < 2) {
        transientFailures++
        throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', 'Sink busy', { retriable: true })
      }
      if (batch.some((m) => m.value!.UUID === 'poison')) throw new TopoflowError('TOPOFLOW_ERR_SINK_REJECTED', 'mapper_parsing_exception on poison')
      handled.push(...batch.map((m) => m.value!.UUID))
    }
  })
  t.after(async () => { await sub.close() })
  await waitFor(() => handled.length === 2, 'both good messages')
  assert.deepEqual(handled, ['ok-1', 'ok-2'])
  const [letter] = await readRaw(brokers, [prefix + topics.dlq], 1)
  const value = codecFor(topics.dlq).decode(letter!.message.value!)
  assert.equal(value.ErrorCode, 'TOPOFLOW_ERR_SINK_REJECTED')
  assert.equal(value.OriginalOffset, 1)
  assert.match(value.Stage, /\/handler$/)
  assert.equal(codecFor(topic).decode(value.OriginalValue).UUID, 'poison')
})
