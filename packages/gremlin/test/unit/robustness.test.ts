import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { runGremlin } from '../../src/index.ts'
import { NOW, buildFlows, buildGraph } from './fixture.ts'
import { conformanceRows } from '../conformance/index.ts'
import { seededRandom } from '@topoflow/testing/seeded-random'

const steps = [
  'V()', 'V("host1")', 'V("nope")', 'E()', 'Has("Type", "veth")', 'Has("MTU", GT(1000))', 'Has("Network", "10.0.0.1")',
  'Has("Name")', 'HasKey("IPV4")', 'HasNot("MTU")', 'HasEither("Type", "host", "Name", "lo")', 'Out()', 'In()', 'Both()',
  'OutE()', 'InE()', 'BothE()', 'OutV()', 'InV()', 'BothV()', 'Dedup()', 'Dedup("Name")', 'Count()', 'Range(0, 2)',
  'Limit(1)', 'Sort()', 'Sort(DESC, "Name")', 'Values("Name")', 'ValueMap("Name")', 'Keys()', 'Sum("MTU")', 'Sum()',
  'As("a")', 'Select("a")', 'ShortestPathTo(Metadata("Type", "host"))', 'SubGraph()', 'Flows()', 'Hops()', 'Nodes()',
  'Node()', 'Metrics()', 'Aggregates()', 'Sockets()', 'Group()', 'MoreThan()', 'Descendants()', 'Ascendants(0)',
  'Neighbors(2)', 'NextHop("10.0.0.1")', 'RawPackets()', 'Values("Transport")', 'Has("Transport", NE(""))'
]
const starts = ['V()', 'V("host1")', 'V("ns1-eth0")', 'E()', 'Flows()', 'V().Has("Type", "veth")']
const prefixes = ['G', 'G.At("-1m")', 'G.At("-30m", "10m")', 'G.At(NOW, FOREVER)']

test('random step chains either succeed with JSON or fail with a TopoflowError', async () => {
  const graph = buildGraph()
  const flows = buildFlows()
  let seed = 7
  const random = (n: number): number => {
    seed = (seed * 48271) % 2147483647
    return seed % n
  }
  let ok = 0
  let failed = 0
  for (let i = 0; i < 1500; i++) {
    let query = `${prefixes[random(prefixes.length)] as string}.${starts[random(starts.length)] as string}`
    const length = random(5)
    for (let j = 0; j < length; j++) query += '.' + (steps[random(steps.length)] as string)
    try {
      const result = await runGremlin(query, { graph, flows, now: () => NOW, limits: { timeoutMs: 5000 } })
      assert.doesNotThrow(() => JSON.stringify(result), query)
      ok++
    } catch (err) {
      assert.ok(TopoflowError.is(err), `${query} threw ${String(err)}`)
      assert.ok(['TOPOFLOW_ERR_GREMLIN_SYNTAX', 'TOPOFLOW_ERR_GREMLIN_EVAL'].includes(err.code), `${query}: ${err.code} ${err.message}`)
      failed++
    }
  }
  assert.ok(ok > 100 && failed > 100, `both outcomes exercised (${ok} ok, ${failed} errors)`)
})

test('query text mutated character by character: a result or a Gremlin error, quickly, never another exception', async (t) => {
  const graph = buildGraph()
  const flows = buildFlows()
  const random = seededRandom(0x9e11)
  const pick = (n: number): number => Math.floor(random() * n)
  const queries = conformanceRows.map(([query]) => query)
  // Characters the lexer treats specially, and some it has no rule for.
  const alphabet = ['(', ')', '.', ',', '"', "'", '\\', ' ', '-', '0', '9', 'e', '1e400', 'G', 'V', 'Has', 'NE(', '/', '*', '\n', '\u0000', 'é', '😀', '[', ']']
  const outcomes = { ok: 0, syntax: 0, eval: 0 }
  let slowest = 0
  for (let i = 0; i < 5000; i++) {
    let text = queries[pick(queries.length)] as string
    const edits = 1 + pick(4)
    for (let e = 0; e < edits; e++) {
      const at = pick(text.length + 1)
      const kind = pick(4)
      if (kind === 0) text = text.slice(0, at) + text.slice(at + 1 + pick(4))
      else if (kind === 1) text = text.slice(0, at) + (alphabet[pick(alphabet.length)] as string) + text.slice(at)
      else if (kind === 2) text = text.slice(0, at) + (alphabet[pick(alphabet.length)] as string) + text.slice(at + 1)
      else text = text.slice(0, at) + text.slice(pick(text.length), pick(text.length)) + text.slice(at)
    }
    const started = performance.now()
    try {
      const result = await runGremlin(text, { graph, flows, now: () => NOW, limits: { timeoutMs: 5000 } })
      JSON.stringify(result)
      outcomes.ok++
    } catch (err) {
      assert.ok(TopoflowError.is(err), `${JSON.stringify(text)} threw ${String(err)}`)
      assert.ok(err.code === 'TOPOFLOW_ERR_GREMLIN_SYNTAX' || err.code === 'TOPOFLOW_ERR_GREMLIN_EVAL', `${JSON.stringify(text)}: ${err.code} ${err.message}`)
      outcomes[err.code === 'TOPOFLOW_ERR_GREMLIN_SYNTAX' ? 'syntax' : 'eval']++
    }
    slowest = Math.max(slowest, performance.now() - started)
  }
  t.diagnostic(`5000 mutated queries: ${JSON.stringify(outcomes)}, slowest ${slowest.toFixed(1)} ms`)
  assert.ok(outcomes.ok > 200 && outcomes.syntax > 200, JSON.stringify(outcomes))
  assert.ok(slowest < 1000, `slowest query took ${slowest.toFixed(0)} ms`)
})
