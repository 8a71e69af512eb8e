import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { seededRandom } from '@topoflow/testing/seeded-random'
import { parseFabric } from '../../../src/fabric/parser.ts'
import type { ChangeRecord } from '../../../src/graph/store.ts'
import type { GraphEdge, GraphInput, GraphNode, TopologyChange } from '../../../src/types.ts'
import { newEngine, summary, T0 } from '../helpers.ts'

// Random streams of what agents, the k8s probe and the API publish (updates, deletes, host syncs,
// edges to nodes not there yet, sockets, capture statuses, node rules, re-deliveries, silent
// hosts), applied to the engine. After every input the published changes must materialize to
// exactly the graph the engine holds; at the end a second engine recovered from those changes
// must hold the same graph.

const hosts = ['h1', 'h2', 'h3']
const types = ['device', 'veth', 'bridge', 'netns', 'host']

function randomInputs (seed: number, count: number): GraphInput[] {
  const random = seededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
  const nodeId = (host: string): string => `${host}-n${Math.floor(random() * 8)}`
  const node = (host: string, id = nodeId(host)): GraphNode => ({
    ID: id, Host: host, Origin: `agent.${host}`, CreatedAt: 0, UpdatedAt: 0, Revision: 1,
    Metadata: { Name: id.slice(host.length + 1), Type: pick(types), MTU: pick([1500, 9000]), ...(random() < 0.3 ? { IPV4: [`10.0.${hosts.indexOf(host)}.${Math.floor(random() * 4)}/24`] } : {}) }
  })
  const edge = (host: string): GraphEdge => {
    const parent = nodeId(pick(random() < 0.8 ? [host] : hosts))
    const child = nodeId(host)
    return { ...node(host, `${parent}>${child}`), Parent: parent, Child: child, Metadata: { RelationType: pick(['ownership', 'layer2']) } }
  }
  const out: GraphInput[] = []
  let time = T0
  for (let i = 0; i < count; i++) {
    time += Math.floor(random() * 5000)
    const host = pick(hosts)
    const base = { Host: host, Origin: `agent.${host}`, Time: time }
    const r = random()
    let input: GraphInput
    if (r < 0.3) input = { kind: 'topology', event: { ...base, Kind: 'NodeUpdated', Node: node(host) } }
    else if (r < 0.4) input = { kind: 'topology', event: { ...base, Kind: 'NodeDeleted', Node: { ID: nodeId(host), Metadata: {} } } }
    else if (r < 0.6) input = { kind: 'topology', event: { ...base, Kind: 'EdgeUpdated', Edge: edge(host) } }
    else if (r < 0.65) {
      const e = edge(host)
      input = { kind: 'topology', event: { ...base, Kind: 'EdgeDeleted', Edge: { ...e, Metadata: {} } } }
    } else if (r < 0.75) {
      const nodes = [node(host, `${host}-n0`), ...Array.from({ length: Math.floor(random() * 5) }, () => node(host))]
      const ids = [...new Set(nodes.map((n) => n.ID))]
      input = { kind: 'topology', event: { ...base, Kind: 'HostSync', Nodes: ids.map((id) => nodes.find((n) => n.ID === id) as GraphNode), Edges: Array.from({ length: Math.floor(random() * 4) }, () => edge(host)) } }
    } else if (r < 0.82) {
      input = { kind: 'sockets', snapshot: { Host: host, Time: time, Sockets: Array.from({ length: Math.floor(random() * 3) }, (_, j) => ({ Pid: j + 1, Process: '/bin/x', Name: 'x', LocalAddress: '10.0.0.1', LocalPort: 1000 + j, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' })) } } as GraphInput
    } else if (r < 0.9) {
      input = { kind: 'capture', status: { CaptureID: pick(['c1', 'c2']), Host: host, Time: time, NodeID: nodeId(host), State: pick(['active', 'active', 'stopped', 'error']), PacketsReceived: Math.floor(random() * 100) } }
    } else if (r < 0.95) {
      input = { kind: 'resource', resource: { ResourceType: 'noderule', UUID: pick(['r1', 'r2']), Resource: { Action: 'update', Query: `G.V().Has('Type', '${pick(types)}')`, Metadata: { Color: pick(['blue', 'red']) } }, Deleted: random() < 0.2, Time: time } } as GraphInput
    } else {
      // At-least-once delivery: an earlier input again.
      input = out.length > 0 ? pick(out) : { kind: 'topology', event: { ...base, Kind: 'NodeUpdated', Node: node(host) } }
    }
    out.push(input)
  }
  return out
}

/** The compacted changes topic: the latest change per element ID. */
function materialize (records: ChangeRecord[]): Map<string, TopologyChange> {
  const latest = new Map<string, TopologyChange>()
  for (const { change } of records) {
    const id = (change.Node ?? change.Edge)?.ID as string
    latest.delete(id)
    latest.set(id, change)
  }
  return latest
}

function assertMaterializes (records: ChangeRecord[], engine: ReturnType<typeof newEngine>, when: string): void {
  const live = new Map<string, GraphNode | GraphEdge>()
  for (const [id, change] of materialize(records)) if (change.Op !== 'delete') live.set(id, (change.Node ?? change.Edge) as GraphNode)
  const held = [...engine.store.nodes(), ...engine.store.edges()]
  assert.equal(live.size, held.length, `${when}: ${live.size} live elements published, ${held.length} held`)
  for (const el of held) assert.deepEqual(live.get(el.ID), el, `${when}: ${el.ID} as published`)
  for (const e of engine.store.edges()) assert.ok(engine.store.hasNode(e.Parent) && engine.store.hasNode(e.Child), `${when}: edge ${e.ID} has both ends`)
}

for (const seed of [1, 2, 3, 4]) {
  test(`random input stream ${seed}: the published changes are the graph after every input, and a recovered engine holds the same graph`, () => {
    const fabric = parseFabric(['TOR1 -> P1', 'P1 --> *[Type=host,Name=n0]/n1'])
    const engine = newEngine({ fabric, hostTimeoutMs: 60_000, pendingMax: 50 })
    const published: ChangeRecord[] = [...engine.start(T0)]
    const inputs = randomInputs(seed, 1500)
    let rejected = 0
    for (const [i, input] of inputs.entries()) {
      try {
        published.push(...engine.apply(input))
      } catch (err) {
        assert.ok(TopoflowError.is(err), `input ${i} threw ${String(err)}`)
        rejected++
      }
      // Now and then a host falls silent past the timeout.
      if (i % 97 === 96) published.push(...engine.tick(((input as { event?: { Time?: number } }).event?.Time ?? T0) + 30_000))
      assertMaterializes(published, engine, `after input ${i}`)
    }
    assert.equal(engine.stats.internalErrors, 0)
    assert.ok(rejected < inputs.length / 10, `${rejected} inputs rejected`)
    assert.ok(engine.store.nodeCount > 5, `${engine.store.nodeCount} nodes at the end`)

    // Each life of an element (from its creation to its delete) publishes revisions 1, 2, 3… with none repeated or skipped.
    const last = new Map<string, number>()
    for (const [i, { change }] of published.entries()) {
      const el = change.Node ?? change.Edge
      if (el === undefined || el === null) continue
      if (change.Op === 'delete') { last.delete(el.ID); continue }
      assert.equal(el.Revision, (last.get(el.ID) ?? 0) + 1, `change ${i}: revision of ${el.ID}`)
      last.set(el.ID, el.Revision)
    }

    // A restart as the app does it: the compacted changes, then the rules read again, then the fabric.
    const recovered = newEngine({ fabric, hostTimeoutMs: 60_000, pendingMax: 50 })
    for (const change of materialize(published).values()) recovered.restore(change)
    assert.deepEqual(recovered.finishRestore(T0 + 10_000_000), [], 'recovery changes nothing')
    // The resources topic is compacted: the latest of each rule.
    const rules = new Map<string, GraphInput>()
    for (const input of inputs) if (input.kind === 'resource') { rules.delete(input.resource.UUID); rules.set(input.resource.UUID, input) }
    for (const input of rules.values()) assert.deepEqual(recovered.apply(input), [], 'the rules read again change nothing')
    assert.deepEqual(recovered.installFabric(T0 + 10_000_000), [], 'installing the fabric again changes nothing')
    assert.deepEqual(summary(recovered.store), summary(engine.store))
    const byId = (a: { ID: string }, b: { ID: string }): number => a.ID < b.ID ? -1 : 1
    assert.deepEqual([...recovered.store.nodes()].sort(byId), [...engine.store.nodes()].sort(byId))
    assert.deepEqual([...recovered.store.edges()].sort(byId), [...engine.store.edges()].sort(byId))
  })
}
