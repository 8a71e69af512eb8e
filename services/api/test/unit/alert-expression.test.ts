import { test } from 'node:test'
import assert from 'node:assert/strict'
import { evaluateExpression, isGremlinExpression, parseExpression, truthy } from '../../src/alerts/expression.ts'

const gremlin = async (q: string): Promise<unknown> => {
  if (q === 'G.Flows().Metrics().Sum()') return { ABBytes: 2048, BABytes: 10 }
  if (q === "G.V().Has('Type','host')") return [{ ID: 'h' }]
  return []
}

test('evaluates Skydive\'s JavaScript alert expressions', async () => {
  const run = async (src: string): Promise<unknown> => await evaluateExpression(parseExpression(src), gremlin)
  assert.equal(await run('Gremlin("G.Flows().Metrics().Sum()").ABBytes > 1*1024'), true)
  assert.equal(await run('Gremlin("G.Flows().Metrics().Sum()").ABBytes > 4*1024'), false)
  assert.equal(await run("Gremlin(\"G.V().Has('Type','host')\").length == 1 && !false"), true)
  assert.equal(await run('(1 + 2) * 3 - 4 / 2 % 3'), 7)
  assert.equal(await run('Gremlin("G.V()")["length"] || "none"'), 'none')
})

test('rejects what it cannot evaluate with the column', () => {
  assert.throws(() => parseExpression('process.exit(1)'), /column 1: unknown name "process"/)
  assert.throws(() => parseExpression('Gremlin(G)'), /Gremlin\(\) takes one string/)
  assert.throws(() => parseExpression('1 +'), /unexpected end/)
  assert.throws(() => parseExpression('"open'), /unterminated string/)
  assert.throws(() => parseExpression('1 ; 2'), /unexpected character ";"/)
})

test('tells Gremlin from expressions and what counts as firing', () => {
  assert.equal(isGremlinExpression("G.V().Has('Type','host')"), true)
  assert.equal(isGremlinExpression('g.v()'), true)
  assert.equal(isGremlinExpression('Gremlin("G.V()").length > 0'), false)
  assert.deepEqual([[], [1], {}, { a: 1 }, 0, 3, true, false, null, ''].map(truthy), [false, true, false, true, false, true, true, false, false, false])
})
