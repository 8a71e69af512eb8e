import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { runGremlin } from '../../src/index.ts'
import { NOW, buildFlows, buildGraph } from './fixture.ts'

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
