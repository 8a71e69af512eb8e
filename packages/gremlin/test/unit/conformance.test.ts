import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { conformanceRows as table } from '../conformance/index.ts'
import { ids, q } from './fixture.ts'

// the rows live in ../conformance, where services/api's HTTP conformance table builds on them
test(`conformance table (${table.length} queries)`, async (t) => {
  for (const [query, expected] of table) {
    await t.test(query, async () => {
      let result: unknown
      try {
        result = await q(query)
      } catch (err) {
        assert.ok(TopoflowError.is(err), `not a TopoflowError: ${String(err)}`)
        if ('syntax' in expected) {
          assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_SYNTAX')
          assert.match(err.message, expected.syntax)
          return
        }
        if ('eval' in expected) {
          assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_EVAL')
          assert.match(err.message, expected.eval)
          return
        }
        throw err
      }
      if ('ids' in expected) {
        const got = (result as Array<{ ID?: string, UUID?: string }>).map((x) => x.ID ?? x.UUID)
        assert.deepEqual(got, expected.ids)
      } else if ('json' in expected) {
        assert.deepEqual(result, expected.json)
      } else {
        assert.fail(`expected an error, got ${JSON.stringify(result).slice(0, 200)}`)
      }
    })
  }
  assert.ok(table.length >= 140)
  assert.equal(typeof ids, 'function')
})
