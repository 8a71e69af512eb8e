import type { TestContext } from 'node:test'
import kafkajs from 'kafkajs'
import type { Admin, KafkaMessage } from 'kafkajs'
import { resolveInfraOrSkip, uniqueName, waitFor as sharedWaitFor } from '@topoflow/testing'

/** Brokers from @topoflow/testing (env, testcontainers or scripts/infra), or skips the test when none. */
export async function requireKafka (t: TestContext): Promise<string[] | null> {
  const infra = await resolveInfraOrSkip(t)
  return infra === null ? null : infra.kafkaBrokers
}

export { uniqueName }

/** Polls until `cond` holds (the shared waitFor, with a timeout that fits group joins). */
export async function waitFor (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  await sharedWaitFor(cond, { what, timeout: timeoutMs })
}

export interface RawRecord {
  topic: string
  partition: number
  message: KafkaMessage
}

/** A plain kafkajs client, for tests that must see or write the wire bytes. */
export function rawKafka (brokers: string[]): InstanceType<typeof kafkajs.Kafka> {
  return new kafkajs.Kafka({ brokers, clientId: 'topoflow-test', logLevel: kafkajs.logLevel.NOTHING })
}

/** Reads `count` records from the start of `topics` with a throwaway group. */
export async function readRaw (brokers: string[], topics: string[], count: number, timeoutMs = 30_000): Promise<RawRecord[]> {
  const consumer = rawKafka(brokers).consumer({ groupId: uniqueName('raw-reader'), maxWaitTimeInMs: 200 })
  const records: RawRecord[] = []
  try {
    await consumer.connect()
    await consumer.subscribe({ topics, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ topic, partition, message }) => { records.push({ topic, partition, message }) } })
    await waitFor(() => records.length >= count, `${count} records on ${topics.join(', ')}`, timeoutMs)
  } finally {
    await consumer.disconnect()
  }
  return records
}

/** Deletes the topics a test created (best effort: the broker may be going away). */
export async function deleteTopicsWithPrefix (brokers: string[], prefix: string): Promise<void> {
  const admin: Admin = rawKafka(brokers).admin()
  try {
    await admin.connect()
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
    if (mine.length > 0) await admin.deleteTopics({ topics: mine })
  } catch {
    // Leftover topics only cost disk; they never collide, names are unique.
  } finally {
    await admin.disconnect()
  }
}
