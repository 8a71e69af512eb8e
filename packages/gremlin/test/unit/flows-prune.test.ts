import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryFlowSource } from '../../src/index.ts'

test('pruneOlderThan forgets flows last updated before the cutoff and keeps the rest', async () => {
  const store = new MemoryFlowSource()
  for (let i = 0; i < 10; i++) store.upsert({ UUID: `f${i}`, Start: i * 1000, Last: i * 1000 + 500 } as never)
  store.upsert({ UUID: 'f1', Start: 1000, Last: 20_000 } as never) // updated again: now the newest
  assert.equal(store.pruneOlderThan(5000), 4) // f0, f2, f3, f4
  assert.equal(store.size, 6)
  const left = await store.query({} as never, { now: 30_000 } as never)
  assert.deepEqual(left.map((f) => f.UUID).sort(), ['f1', 'f5', 'f6', 'f7', 'f8', 'f9'])
})
