import { test } from 'node:test'
import assert from 'node:assert/strict'
import { jsonEqual } from '../../src/json.ts'

test('jsonEqual compares as the JSON texts would once parsed', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }), 'key order does not count')
  assert.ok(jsonEqual({ a: 1, gone: undefined }, { a: 1 }), 'an undefined value is no key')
  assert.ok(jsonEqual({ a: 1 }, { a: 1, gone: undefined }))
  assert.ok(jsonEqual(null, null))
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: null }), 'null is a value')
  assert.ok(!jsonEqual([1, 2], [2, 1]), 'arrays are ordered')
  assert.ok(!jsonEqual([1], { 0: 1 }))
  assert.ok(!jsonEqual({ a: { b: 1 } }, { a: { b: '1' } }))
  assert.ok(!jsonEqual({ a: 1 }, { b: 1 }))
  assert.ok(!jsonEqual({ a: undefined, b: 1 }, { a: 1, b: 1 }))
  assert.ok(!jsonEqual(0, null))
})
