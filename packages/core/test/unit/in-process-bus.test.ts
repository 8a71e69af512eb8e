import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InProcessBus, type BusMessage } from '@topoflow/core'

test('subscribers get what is published after they subscribe, in order', async () => {
  const bus = new InProcessBus()
  const got: number[] = []
  let resolveDone: () => void
  const done = new Promise<void>((resolve) => { resolveDone = resolve })
  await bus.subscribe<number>({ topics: ['t'], group: 'g', handler: async (batch) => { for (const m of batch) got.push(m.value as number); if (got.length === 100) resolveDone() } })
  await bus.publish('t', Array.from({ length: 100 }, (_, i) => ({ key: String(i), value: i })))
  await done
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i))
  await bus.close()
})

test('a compacted topic replays only the latest value per key and forgets tombstones', async () => {
  const bus = new InProcessBus({ compactedTopics: ['c'] })
  await bus.publish('c', [{ key: 'a', value: 1 }, { key: 'b', value: 2 }, { key: 'a', value: 3 }, { key: 'b', value: null }])
  const got: Array<BusMessage<number>> = []
  const sub = await bus.subscribe<number>({ topics: ['c'], group: 'g', fromBeginning: true, handler: async (batch) => { got.push(...batch) } })
  await sub.close()
  assert.deepEqual(got.map((m) => [m.key, m.value]), [['a', 3]])
})

test('a slow subscriber makes publish wait instead of growing its queue', async () => {
  const bus = new InProcessBus({ queueLimit: 10 })
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let handled = 0
  await bus.subscribe({ topics: ['t'], group: 'g', maxBatch: 5, handler: async (batch) => { await gate; handled += batch.length } })
  let published = false
  const pub = bus.publish('t', Array.from({ length: 50 }, (_, i) => ({ key: null, value: i }))).then(() => { published = true })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(published, false)
  release()
  await pub
  await bus.close()
  assert.equal(handled, 50)
})

test('a failing handler loses its batch only; later messages still arrive', async () => {
  const bus = new InProcessBus()
  const got: number[] = []
  await bus.subscribe<number>({ topics: ['t'], group: 'g', maxBatch: 1, handler: async ([m]) => { if (m?.value === 1) throw new Error('boom'); got.push(m?.value as number) } })
  await bus.publish('t', [{ key: null, value: 0 }, { key: null, value: 1 }, { key: null, value: 2 }])
  await bus.close()
  assert.deepEqual(got, [0, 2])
  assert.equal(bus.handlerErrors, 1)
})

test('normalize shapes every published value and a throwing normalize rejects the publish', async () => {
  const bus = new InProcessBus({ normalize: (_topic, v) => { if (v === 'bad') throw new Error('undecodable'); return { wrapped: v } } })
  const got: unknown[] = []
  await bus.subscribe({ topics: ['t'], group: 'g', handler: async (batch) => { for (const m of batch) got.push(m.value) } })
  await bus.publish('t', [{ key: null, value: 1 }, { key: null, value: null }])
  await assert.rejects(bus.publish('t', [{ key: null, value: 'bad' }]), /undecodable/)
  await bus.close()
  assert.deepEqual(got, [{ wrapped: 1 }, null])
})

test('caughtUp resolves once the replayed messages are handled, at once when there are none', async () => {
  const bus = new InProcessBus()
  const empty = await bus.subscribe({ topics: ['t'], group: 'g0', fromBeginning: true, handler: async () => {} })
  await empty.caughtUp
  await bus.publish('t', [1, 2, 3, 4, 5].map((n) => ({ key: null, value: n })))
  const handled: number[] = []
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const sub = await bus.subscribe<number>({ topics: ['t'], group: 'g1', fromBeginning: true, maxBatch: 2, handler: async (batch) => { await gate; handled.push(...batch.map((m) => m.value ?? 0)) } })
  let caughtUp = false
  void sub.caughtUp.then(() => { caughtUp = true })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(caughtUp, false)
  release()
  await sub.caughtUp
  assert.deepEqual(handled, [1, 2, 3, 4, 5])
  await bus.close()
})
