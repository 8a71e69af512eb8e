import { test } from 'node:test'
import assert from 'node:assert/strict'
import { silentLogger, type BusMessage } from '@topoflow/core'
import { codecFor, readFixture, topicNames, topicTable } from '@topoflow/schemas'
import { KafkaBus } from '../../src/index.ts'
import { deleteTopicsWithPrefix, readRaw, requireKafka, uniqueName, waitFor } from './helpers.ts'

test('every declared topic: an Avro message goes out and comes back byte-exact', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  const prefix = `${uniqueName('roundtrip')}.`
  const bus = new KafkaBus({ brokers, topicPrefix: prefix, logger: silentLogger(), producer: { lingerMs: 1 } })
  t.after(async () => {
    await bus.close()
    await deleteTopicsWithPrefix(brokers, prefix)
  })
  await bus.start()
  const created = await bus.ensureTopics(topicTable)
  assert.equal(created.created.length, topicNames.length)
  assert.deepEqual((await bus.ensureTopics(topicTable)).created, [], 'a second run creates nothing')

  const expected = new Map(topicNames.map((topic) => [topic, codecFor(topic).encode(readFixture(topic) as never)]))
  for (const topic of topicNames) {
    await bus.publish(topic, [{ key: `key-${topic}`, value: readFixture(topic), headers: { 'x-test': topic } }])
  }

  // The wire: exactly the codec's single-object bytes, key and headers as given.
  const raw = await readRaw(brokers, topicNames.map((n) => prefix + n), topicNames.length)
  assert.equal(raw.length, topicNames.length)
  for (const r of raw) {
    const topic = r.topic.slice(prefix.length) as (typeof topicNames)[number]
    assert.ok(Buffer.isBuffer(r.message.value))
    assert.deepEqual(r.message.value, expected.get(topic), `bytes on ${topic}`)
    assert.equal(r.message.value[0], 0xc3, 'single-object magic')
    assert.equal(r.message.key?.toString(), `key-${topic}`)
    assert.equal(r.message.headers?.['x-test']?.toString(), topic)
  }

  // Through the bus: the decoded value encodes back to the same bytes.
  const received: Array<BusMessage<unknown>> = []
  const sub = await bus.subscribe<unknown>({
    topics: [...topicNames],
    group: uniqueName('roundtrip-group'),
    fromBeginning: true,
    handler: async (batch) => { received.push(...batch) }
  })
  t.after(async () => { await sub.close() })
  await waitFor(() => received.length >= topicNames.length, 'one message per topic through the bus')
  assert.deepEqual(received.map((m) => m.topic).sort(), [...topicNames].sort(), 'handlers see logical topic names')
  for (const m of received) {
    const topic = m.topic as (typeof topicNames)[number]
    assert.deepEqual(codecFor(topic).encode(m.value as never), expected.get(topic), `re-encoded ${topic}`)
    assert.equal(m.key, `key-${topic}`)
    assert.equal(m.headers?.['x-test'], topic)
  }
})

test('a tombstone on a compacted topic travels as a null value', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  const prefix = `${uniqueName('tombstone')}.`
  const bus = new KafkaBus({ brokers, topicPrefix: prefix, producer: { lingerMs: 1 } })
  t.after(async () => {
    await bus.close()
    await deleteTopicsWithPrefix(brokers, prefix)
  })
  await bus.start()
  await bus.ensureTopics([topicTable['topoflow.resources.v1']])
  await bus.publish('topoflow.resources.v1', [{ key: 'r1', value: readFixture('topoflow.resources.v1') }, { key: 'r1', value: null }])
  const raw = await readRaw(brokers, [`${prefix}topoflow.resources.v1`], 2)
  assert.equal(raw[1]!.message.value, null)
  const seen: Array<BusMessage<unknown>> = []
  const sub = await bus.subscribe({ topics: ['topoflow.resources.v1'], group: uniqueName('tombstone-group'), fromBeginning: true, handler: async (b) => { seen.push(...b) } })
  t.after(async () => { await sub.close() })
  await waitFor(() => seen.length === 2, 'the value and its tombstone')
  assert.notEqual(seen[0]!.value, null)
  assert.equal(seen[1]!.value, null)
  assert.equal(seen[1]!.key, 'r1')
})

test('publishing a value that does not match the schema fails before anything is sent', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  const bus = new KafkaBus({ brokers, topicPrefix: `${uniqueName('bad')}.` })
  t.after(async () => { await bus.close() })
  await assert.rejects(bus.publish('topoflow.flows.raw.v1', [{ key: 'k', value: {} }]), /not started/)
  await bus.start()
  await assert.rejects(bus.publish('topoflow.flows.raw.v1', [{ key: 'k', value: { UUID: 42 } }]), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TOPOFLOW_ERR_ENCODE')
    assert.match(err.message, /Message 0 for topic topoflow\.flows\.raw\.v1/)
    return true
  })
  await assert.rejects(bus.publish('no.such.topic', [{ key: 'k', value: {} }]), /not a declared topic/)
})
