import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { Component } from '@topoflow/core'
import { runLifecycleConformance } from '../../src/index.ts'

class Toy implements Component {
  state: 'new' | 'started' | 'closed' = 'new'
  readonly quirk: 'none' | 'close-before-start' | 'close-twice' | 'start'

  constructor (quirk: Toy['quirk'] = 'none') {
    this.quirk = quirk
  }

  async start (): Promise<void> {
    if (this.quirk === 'start') throw new Error('port taken')
    this.state = 'started'
  }

  async close (): Promise<void> {
    if (this.state === 'new' && this.quirk === 'close-before-start') throw new Error('not started')
    if (this.state === 'closed' && this.quirk === 'close-twice') throw new Error('already closed')
    this.state = 'closed'
  }
}

// The suite only calls t.test(name, fn): a stand-in context records each rule's outcome, so a broken
// component can be shown to fail without failing this file.
async function outcomes (factory: () => Component | Promise<Component>): Promise<Record<string, string>> {
  const seen: Record<string, string> = {}
  const context = {
    test: async (name: string, fn: () => Promise<void>) => {
      try {
        await fn()
        seen[name] = 'pass'
      } catch (err) {
        seen[name] = `fail: ${(err as Error).message}`
      }
    }
  }
  await runLifecycleConformance(context as unknown as TestContext, factory)
  return seen
}

test('a component that keeps the contract passes every rule and ends closed', async () => {
  const made: Toy[] = []
  const seen = await outcomes(() => { const toy = new Toy(); made.push(toy); return toy })
  assert.deepEqual(seen, {
    'close() before start() resolves': 'pass',
    'start() then close() resolves': 'pass',
    'close() twice resolves both times': 'pass'
  })
  assert.equal(made.length, 3, 'each rule gets a fresh component')
  assert.ok(made.every((toy) => toy.state === 'closed'))
})

test('each broken rule fails its own check only', async () => {
  assert.deepEqual(await outcomes(() => new Toy('close-before-start')), {
    'close() before start() resolves': 'fail: not started',
    'start() then close() resolves': 'pass',
    'close() twice resolves both times': 'pass'
  })
  assert.deepEqual(await outcomes(async () => new Toy('close-twice')), {
    'close() before start() resolves': 'pass',
    'start() then close() resolves': 'pass',
    'close() twice resolves both times': 'fail: already closed'
  })
})

test('a component whose start() fails is closed before the failure is reported', async () => {
  const made: Toy[] = []
  const seen = await outcomes(() => { const toy = new Toy('start'); made.push(toy); return toy })
  assert.equal(seen['start() then close() resolves'], 'fail: port taken')
  assert.equal(seen['close() twice resolves both times'], 'fail: port taken')
  assert.ok(made.every((toy) => toy.state === 'closed'))
})

test('runs for real under node:test', async (t) => {
  await runLifecycleConformance(t, () => new Toy())
})
