import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { errorCodes, TopoflowError, toTopoflowError } from '@topoflow/core'

test('docs/errors.md lists exactly the error codes of the code', () => {
  const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^\| `(TOPOFLOW_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1])
  assert.deepEqual(documented, [...errorCodes])
})

test('TopoflowError carries its code, retriable flag, context and cause', () => {
  const cause = new Error('socket closed')
  const err = new TopoflowError('TOPOFLOW_ERR_KAFKA', 'Produce failed', { cause, retriable: true, context: { topic: 't', partition: 1 } })
  assert.ok(TopoflowError.is(err))
  assert.equal(err.cause, cause)
  assert.deepEqual(err.toJSON(), { code: 'TOPOFLOW_ERR_KAFKA', message: 'Produce failed', retriable: true, topic: 't', partition: 1 })
  assert.equal(TopoflowError.is(new Error('x')), false)
  const wrapped = toTopoflowError(new Error('boom'), 'TOPOFLOW_ERR_PACKET')
  assert.equal(wrapped.code, 'TOPOFLOW_ERR_PACKET')
  assert.equal(toTopoflowError(err), err)
})
