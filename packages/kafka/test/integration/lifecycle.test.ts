import { test } from 'node:test'
import { runLifecycleConformance } from '@topoflow/testing'
import { KafkaBus } from '../../src/index.ts'
import { requireKafka, uniqueName } from './helpers.ts'

test('KafkaBus lifecycle: close before start, start then close, close twice', async (t) => {
  const brokers = await requireKafka(t)
  if (brokers === null) return
  await runLifecycleConformance(t, () => new KafkaBus({ brokers, topicPrefix: `${uniqueName('lifecycle')}.` }))
})
