import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { waitFor } from '../../src/index.ts'

test('waitFor resolves with the first truthy value', async () => {
  let calls = 0
  const value = await waitFor(() => { calls++; return calls >= 3 ? { calls } : null }, { interval: 1, timeout: 1000 })
  assert.deepEqual(value, { calls: 3 })
})

test('waitFor awaits async conditions', async () => {
  let calls = 0
  const value = await waitFor(async () => { calls++; return calls === 2 ? 'ready' : '' }, { interval: 1 })
  assert.equal(value, 'ready')
})

test('waitFor treats a throwing check as not yet, and keeps its error as the cause on timeout', async () => {
  const boom = new Error('connection refused')
  await assert.rejects(waitFor(() => { throw boom }, { interval: 5, timeout: 30, what: 'the broker' }), (err: unknown) => {
    assert.ok(TopoflowError.is(err))
    assert.equal(err.code, 'TOPOFLOW_ERR_TIMEOUT')
    assert.match(err.message, /Timed out after 30 ms waiting for the broker; last check threw: connection refused/)
    assert.equal(err.cause, boom)
    return true
  })
})

test('waitFor times out near the deadline', async () => {
  const started = Date.now()
  await assert.rejects(waitFor(() => false, { interval: 10, timeout: 60 }), /waiting for condition$/)
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 55, `gave up after ${elapsed} ms, before the timeout`)
  assert.ok(elapsed < 1000, `gave up after ${elapsed} ms, long after the timeout`)
})

test('waitFor with timeout 0 checks exactly once', async () => {
  let calls = 0
  await assert.rejects(waitFor(() => { calls++; return false }, { timeout: 0 }))
  assert.equal(calls, 1)
  assert.equal(await waitFor(() => 7, { timeout: 0 }), 7)
})

test('waitFor rejects nonsense options with a clear error', async () => {
  await assert.rejects(waitFor(() => true, { interval: -1 }), /interval must be a number >= 0, got -1/)
  await assert.rejects(waitFor(() => true, { timeout: Number.NaN }), /timeout must be a number >= 0, got NaN/)
})
