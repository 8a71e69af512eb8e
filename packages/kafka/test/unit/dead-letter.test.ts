import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { deadLetterFor, deadLetterHeaders, headersToStrings } from '../../src/dead-letter.ts'

test('a dead letter keeps the original bytes and names the error in value and headers', () => {
  const raw = { topic: 'topoflow.flows.raw.v1', partition: 3, offset: '42', key: Buffer.from('k1'), value: Buffer.from([0xde, 0xad]), headers: { trace: 'abc' } }
  const err = new TopoflowError('TOPOFLOW_ERR_DECODE', 'Expected magic C3 01, got DE AD')
  const letter = deadLetterFor(raw, err, 'decode', 1_700_000_000_000)
  assert.equal(letter.key, 'k1')
  assert.deepEqual(letter.value, {
    OriginalTopic: 'topoflow.flows.raw.v1',
    OriginalPartition: 3,
    OriginalOffset: 42,
    OriginalKey: Buffer.from('k1'),
    OriginalValue: Buffer.from([0xde, 0xad]),
    ErrorCode: 'TOPOFLOW_ERR_DECODE',
    ErrorMessage: 'Expected magic C3 01, got DE AD',
    Stage: 'decode',
    Time: 1_700_000_000_000
  })
  assert.deepEqual(letter.headers, {
    trace: 'abc',
    [deadLetterHeaders.errorCode]: 'TOPOFLOW_ERR_DECODE',
    [deadLetterHeaders.errorStage]: 'decode',
    [deadLetterHeaders.originalTopic]: 'topoflow.flows.raw.v1',
    [deadLetterHeaders.originalPartition]: '3',
    [deadLetterHeaders.originalOffset]: '42'
  })
})

test('a null key and a tombstone value still make a valid dead letter', () => {
  const letter = deadLetterFor({ topic: 't', partition: 0, offset: '0', key: null, value: null, headers: {} }, new TopoflowError('TOPOFLOW_ERR_INTERNAL', 'x'), 'handler:g', 1)
  assert.equal(letter.key, null)
  assert.equal(letter.value.OriginalKey, null)
  assert.equal(letter.value.OriginalValue.length, 0)
})

test('kafkajs header buffers and arrays become strings (last value wins)', () => {
  assert.deepEqual(headersToStrings({ a: Buffer.from('x'), b: 'y', c: [Buffer.from('1'), Buffer.from('2')], d: undefined }), { a: 'x', b: 'y', c: '2' })
  assert.deepEqual(headersToStrings(undefined), {})
})
