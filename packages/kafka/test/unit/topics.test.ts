import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Admin, ITopicConfig } from 'kafkajs'
import { ensureTopics, topicConfigFor, type TopicSpec } from '../../src/topics.ts'

const table: TopicSpec[] = [
  { name: 'topoflow.flows.raw.v1', partitions: 6, cleanupPolicy: 'delete', retentionMs: 86_400_000 },
  { name: 'topoflow.k8s.v1', partitions: 3, cleanupPolicy: 'compact', retentionMs: -1 }
]

test('a declared topic becomes a create request with policy and retention', () => {
  assert.deepEqual(topicConfigFor(table[0]!, { prefix: 'test-' }), {
    topic: 'test-topoflow.flows.raw.v1',
    numPartitions: 6,
    configEntries: [{ name: 'cleanup.policy', value: 'delete' }, { name: 'retention.ms', value: '86400000' }]
  })
  assert.deepEqual(topicConfigFor(table[1]!, { replicationFactor: 3 }), {
    topic: 'topoflow.k8s.v1',
    numPartitions: 3,
    replicationFactor: 3,
    configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: '-1' }]
  })
  assert.deepEqual(topicConfigFor({ name: 'topoflow.sockets.v1', partitions: 3, cleanupPolicy: 'compact', retentionMs: -1, segmentMs: 600_000 }).configEntries,
    [{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: '-1' }, { name: 'segment.ms', value: '600000' }])
})

test('ensureTopics creates only what is missing and is idempotent', async () => {
  const topics = new Set(['topoflow.k8s.v1', 'unrelated'])
  const requests: ITopicConfig[][] = []
  const admin = {
    listTopics: async () => [...topics],
    createTopics: async ({ topics: wanted }: { topics: ITopicConfig[] }) => {
      requests.push(wanted)
      for (const t of wanted) topics.add(t.topic)
      return true
    }
  } as unknown as Admin
  assert.deepEqual(await ensureTopics(admin, table), { created: ['topoflow.flows.raw.v1'], existing: ['topoflow.k8s.v1'] })
  assert.deepEqual(await ensureTopics(admin, { a: table[0]!, b: table[1]! }), { created: [], existing: ['topoflow.flows.raw.v1', 'topoflow.k8s.v1'] })
  assert.equal(requests.length, 1)
})

test('ensureTopics fails when a topic could not be created', async () => {
  const admin = {
    listTopics: async () => [],
    createTopics: async () => { throw new Error('Not authorized') }
  } as unknown as Admin
  await assert.rejects(ensureTopics(admin, table), /Not authorized/)
})
