import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { parseFabric } from '../../../src/fabric/parser.ts'
import { uuidv5 } from '../../../src/uuid.ts'

test('Skydive\'s example fabric parses into nodes, links and a wildcard', () => {
  const spec = parseFabric([
    'TOR1[Name=tor1] -> TOR1_PORT1[Name=port1]',
    'TOR1[Name=tor1] -> [color=red] TOR1_PORT2[Name=port2, MTU=1500]',
    'TOR_PORT1 --> TOR1_PORT1',
    'TOR1_PORT2 --> *[Type=host]/eth0'
  ])
  const id = (name: string): string => uuidv5('fabric' + name)
  assert.deepEqual(spec.nodes.map((n) => [n.name, n.id, n.metadata]), [
    ['TOR1', id('TOR1'), { Name: 'tor1', Type: 'device', Probe: 'fabric', TID: id('TOR1') }],
    ['TOR1_PORT1', id('TOR1_PORT1'), { Name: 'port1', Type: 'device', Probe: 'fabric', TID: id('TOR1_PORT1') }],
    ['TOR1_PORT2', id('TOR1_PORT2'), { Name: 'port2', Type: 'device', MTU: '1500', Probe: 'fabric', TID: id('TOR1_PORT2') }],
    ['TOR_PORT1', id('TOR_PORT1'), { Name: 'TOR_PORT1', Type: 'device', Probe: 'fabric', TID: id('TOR_PORT1') }]
  ])
  assert.deepEqual(spec.links, [
    { parent: id('TOR1'), child: id('TOR1_PORT1'), ownership: true, linkMetadata: { Type: 'fabric' } },
    { parent: id('TOR1'), child: id('TOR1_PORT2'), ownership: true, linkMetadata: { Type: 'fabric', color: 'red' } },
    { parent: id('TOR_PORT1'), child: id('TOR1_PORT1'), ownership: false, linkMetadata: { Type: 'fabric' } }
  ])
  assert.deepEqual(spec.wildcards, [
    { fabricNode: id('TOR1_PORT2'), parentFilter: { Type: 'host' }, childFilter: { Name: 'eth0' }, linkMetadata: { Type: 'fabric' } }
  ])
})

test('node IDs are Skydive\'s: uuidv5(NamespaceOID, "fabric" + NAME)', () => {
  // Python: uuid.uuid5(uuid.NAMESPACE_OID, 'fabricTOR1')
  assert.equal(parseFabric(['TOR1 -> P1'])?.nodes[0]?.id, 'c171d2ee-d356-5a2d-bdb1-a4a3cfd4c9d1')
})

test('quoted values are unquoted and everything stays a string', () => {
  const spec = parseFabric(['SW[Name="sw 1", "Speed"=100] -> P'])
  assert.deepEqual(spec.nodes[0]?.metadata, { Name: 'sw 1', Type: 'device', Speed: '100', Probe: 'fabric', TID: spec.nodes[0]?.id })
})

test('an empty fabric (commented out) gives nothing', () => {
  assert.deepEqual(parseFabric([]), { nodes: [], links: [], wildcards: [] })
})

const bad: Array<[string[], number, RegExp]> = [
  [['TOR1 -> '], 1, /two endpoints, one is empty/],
  [['TOR1 -> P1', 'TOR1 P2'], 2, /exactly two endpoints/],
  [['A -> B -> C'], 1, /exactly two endpoints/],
  [['*[Type=host]/eth0 -> TOR1'], 1, /wildcard \(\*\) may only be the child/],
  [['TOR1 -> *[Type=host]'], 1, /must name the interface/],
  [['TOR1[Name] -> P'], 1, /k=v pairs, got "Name"/],
  [['TOR1[Name=x -> P'], 1, /must close the node definition/],
  [['TOR1 -> [color=red P'], 1, /not closed/],
  [['TOR1 -> TOR1'], 1, /linked to itself/],
  [['[a=b] -> P'], 1, /needs a name before/],
  [['TOR 1 -> P'], 1, /contains spaces/]
]

for (const [lines, lineNo, reason] of bad) {
  test(`fabric error: ${JSON.stringify(lines)}`, () => {
    assert.throws(() => parseFabric(lines), (err: unknown) => {
      assert.ok(TopoflowError.is(err))
      assert.equal(err.code, 'TOPOFLOW_ERR_FABRIC')
      assert.match(err.message, reason)
      assert.match(err.message, new RegExp(`line ${lineNo} `))
      assert.ok(err.message.includes(JSON.stringify(lines[lineNo - 1])), 'the message quotes the line')
      assert.equal(err.context.line, lineNo)
      return true
    })
  })
}
