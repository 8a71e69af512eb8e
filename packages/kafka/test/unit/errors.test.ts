import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import kafkajs from 'kafkajs'
import { isKafkaJSError, toKafkaError } from '../../src/errors.ts'

const { KafkaJSError, KafkaJSNonRetriableError, KafkaJSConnectionError } = kafkajs as unknown as Record<string, new (msg: string) => Error>

test('a retriable kafkajs error becomes a retriable TOPOFLOW_ERR_KAFKA', () => {
  const err = toKafkaError(new KafkaJSConnectionError!('Connection refused'), { topic: 't' })
  assert.equal(err.code, 'TOPOFLOW_ERR_KAFKA')
  assert.equal(err.retriable, true)
  assert.equal(err.context.topic, 't')
  assert.equal(err.context.kafkaError, 'KafkaJSConnectionError')
  assert.match(err.message, /Connection refused/)
})

test('a non-retriable kafkajs error stays permanent', () => {
  const err = toKafkaError(new KafkaJSNonRetriableError!('Bad config'))
  assert.equal(err.retriable, false)
  assert.ok(isKafkaJSError(new KafkaJSError!('x')))
})

test('TopoflowErrors pass through and plain errors become permanent Kafka errors', () => {
  const original = new TopoflowError('TOPOFLOW_ERR_DECODE', 'bad bytes')
  assert.equal(toKafkaError(original), original)
  const plain = toKafkaError(new Error('boom'))
  assert.equal(plain.code, 'TOPOFLOW_ERR_KAFKA')
  assert.equal(plain.retriable, false)
  assert.equal(isKafkaJSError(new Error('boom')), false)
})

test('aggregate errors name the nested reasons', () => {
  const aggregate = Object.assign(new KafkaJSError!('Topic creation errors'), {
    errors: [{ topic: 't1', type: 'POLICY_VIOLATION', message: 'not allowed' }, { topic: 't2', type: 'INVALID_CONFIG', message: 'bad retention' }]
  })
  assert.equal(toKafkaError(aggregate).message, 'Kafka request failed: Topic creation errors [t1: POLICY_VIOLATION: not allowed; t2: INVALID_CONFIG: bad retention]')
})
