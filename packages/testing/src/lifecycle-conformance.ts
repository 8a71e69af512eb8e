import type { TestContext } from 'node:test'
import type { Component } from '@topoflow/core'

/**
 * The lifecycle contract every component shares (see Component in @topoflow/core): close() is safe
 * before start() and twice, and start() then close() leaves nothing running. Runs one subtest per rule,
 * each on a fresh component from `factory`.
 */
export async function runLifecycleConformance (t: TestContext, factory: () => Component | Promise<Component>): Promise<void> {
  await t.test('close() before start() resolves', async () => {
    const component = await factory()
    await component.close()
  })
  await t.test('start() then close() resolves', async () => {
    const component = await factory()
    await startOrClean(component)
    await component.close()
  })
  await t.test('close() twice resolves both times', async () => {
    const component = await factory()
    await startOrClean(component)
    await component.close()
    await component.close()
  })
}

// A component whose start() fails may hold half-open resources: close it before reporting the failure.
async function startOrClean (component: Component): Promise<void> {
  try {
    await component.start()
  } catch (err) {
    await component.close().catch(() => {})
    throw err
  }
}
