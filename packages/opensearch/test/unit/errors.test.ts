import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { toOpenSearchError } from '../../src/errors.ts'

const responseError = (status: number, body: unknown): Error => Object.assign(new Error('Response Error'), { name: 'ResponseError', meta: { statusCode: status, body } })

test('overload, server errors and lost connections are retriable', () => {
  for (const status of [429, 500, 502, 503, 504]) assert.equal(toOpenSearchError(responseError(status, {})).retriable, true, String(status))
  for (const name of ['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError']) {
    assert.equal(toOpenSearchError(Object.assign(new Error('x'), { name })).retriable, true, name)
  }
})

test('bad requests are permanent and the message carries the server reason', () => {
  const err = toOpenSearchError(responseError(400, { error: { type: 'illegal_argument_exception', reason: 'unknown setting' } }), { stage: 'put' })
  assert.equal(err.code, 'TOPOFLOW_ERR_OPENSEARCH')
  assert.equal(err.retriable, false)
  assert.equal(err.message, 'OpenSearch request failed (status 400): illegal_argument_exception: unknown setting')
  assert.equal(err.context.status, 400)
  assert.equal(err.context.stage, 'put')
  const mine = new TopoflowError('TOPOFLOW_ERR_INTERNAL', 'x')
  assert.equal(toOpenSearchError(mine), mine)
})
