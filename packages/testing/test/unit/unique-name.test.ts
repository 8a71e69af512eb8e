import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { uniqueName } from '../../src/index.ts'

test('uniqueName is test-<kind>-<uuid>', () => {
  const name = uniqueName('flows')
  assert.match(name, /^test-flows-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

test('uniqueName never repeats', () => {
  const names = new Set(Array.from({ length: 1000 }, () => uniqueName('topic')))
  assert.equal(names.size, 1000)
})

test('uniqueName gives names valid as Kafka topics and OpenSearch indices', () => {
  for (const kind of ['a', 'group.v1', 'dlq_2', 'bulk-index']) {
    const name = uniqueName(kind)
    assert.match(name, /^[a-z0-9._-]+$/)
    assert.ok(name.length <= 249, 'Kafka topic names stop at 249 characters')
  }
})

test('uniqueName refuses kinds that would make an invalid name', () => {
  for (const bad of ['', 'Upper', 'with space', '-leading', 'a/b', 'é', 42 as unknown as string]) {
    assert.throws(() => uniqueName(bad), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST' && /uniqueName: kind must be/.test(err.message))
  }
})
