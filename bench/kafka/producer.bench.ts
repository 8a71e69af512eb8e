import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { KafkaBus } from '@topoflow/kafka'
import { codecFor, isTopicName, readFixture, topicTable, topics, type Flow } from '@topoflow/schemas'
import type { Comparison } from '../src/report.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const records = 200_000

/**
 * Our producer (KafkaBus.publish of Avro flow records: idempotent, acks=all, gzip) against Kafka's own
 * ProducerPerformance with the same guarantees and record size, on the same broker, one after the other.
 */
export async function producerVsPerfTool (): Promise<Comparison[]> {
  const brokers = process.env.KAFKA_BROKERS
  if (brokers === undefined || brokers === '') throw new Error('KAFKA_BROKERS is needed (npm run infra:up prints it)')
  const prefix = `bench-${randomUUID().slice(0, 8)}.`
  const bus = new KafkaBus({
    brokers: brokers.split(','),
    topicPrefix: prefix,
    deadLetterTopic: topics.dlq,
    codecFor: (t) => { if (!isTopicName(t)) throw new Error(t); return codecFor(t) }
  })
  await bus.start()
  await bus.ensureTopics([topicTable[topics.flowsRaw]])
  const sample = readFixture(topics.flowsRaw) as Flow
  const recordSize = codecFor(topics.flowsRaw).encode(sample).length
  const batch = 1000
  const t0 = process.hrtime.bigint()
  const inFlight: Array<Promise<void>> = []
  for (let i = 0; i < records; i += batch) {
    const messages = Array.from({ length: batch }, (_, j) => ({ key: `f${i + j}`, value: { ...sample, UUID: `f${i + j}` } }))
    inFlight.push(bus.publish(topics.flowsRaw, messages))
    if (inFlight.length >= 20) await inFlight.shift()
  }
  await Promise.all(inFlight)
  const ours = records / (Number(process.hrtime.bigint() - t0) / 1e9)
  await bus.close()

  const perfTopic = `${prefix}perf`
  const perf = spawnSync('bash', ['scripts/infra/kafka.sh', 'run-class', 'org.apache.kafka.tools.ProducerPerformance',
    '--topic', perfTopic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all', 'enable.idempotence=true', 'compression.type=gzip', 'linger.ms=5'],
  { cwd: root, encoding: 'utf8' })
  const summary = /(\d+) records sent, ([\d.]+) records\/sec/.exec(perf.stdout.split('\n').filter((l) => l.includes('records sent')).pop() ?? '')
  if (perf.status !== 0 || summary === null) throw new Error(`ProducerPerformance failed: ${perf.stderr}${perf.stdout}`)
  const reference = Number(summary[2])
  return [{ scenario: `produce ${records / 1000}k flow records`, ours: 'KafkaBus (kafkajs)', reference: 'kafka-producer-perf-test', unit: 'records/s', oursRate: ours, referenceRate: reference, note: `${recordSize} B, acks=all, idempotent, gzip` }]
}
