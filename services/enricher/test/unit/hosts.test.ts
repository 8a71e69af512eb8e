import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { OutgoingMessage } from '@topoflow/core'
import { seededRandom } from '@topoflow/testing/seeded-random'
import type { NodeInput, TopologyChange, TopologyEventInput as TopologyEvent } from '@topoflow/schemas'
import { HostIndex, type AddressOwner } from '../../src/lookups/hosts.ts'
import { decoded, edgeUpsert, iface, nodeDelete, nodeUpsert, recoveryMarker, type NodeSpec } from './topology-changes.ts'

function indexOf (messages: Array<OutgoingMessage<TopologyChange>>): HostIndex {
  const hosts = new HostIndex()
  for (const m of messages) assert.equal(hosts.applyChange(m.key, m.value), m.key?.startsWith('__topoflow_recovery__/') === true || m.value?.ElementType === 'edge' ? 'ignored' : 'applied')
  return hosts
}

test('interface addresses of node revisions answer with their host and interface; loopback and prefix lengths are left out', () => {
  const hosts = indexOf([
    nodeUpsert(iface('h1', 'eth0', ['10.1.0.1/24', 'fd00::1/64'])),
    nodeUpsert(iface('h1', 'lo', ['127.0.0.1/8', '::1/128'])),
    nodeUpsert(iface('h2', 'eth0', ['10.1.0.2/24'])),
    nodeUpsert({ ID: 'h1-netns', Host: 'h1', Metadata: { Type: 'netns', Name: 'blue' } })
  ])
  assert.deepEqual(hosts.lookup('10.1.0.1'), { host: 'h1', interface: 'eth0' })
  assert.deepEqual(hosts.lookup('fd00::1'), { host: 'h1', interface: 'eth0' })
  assert.deepEqual(hosts.lookup('10.1.0.2'), { host: 'h2', interface: 'eth0' })
  assert.equal(hosts.lookup('127.0.0.1'), undefined)
  assert.equal(hosts.lookup('::1'), undefined)
  assert.equal(hosts.lookup('10.1.0.1/24'), undefined)
  assert.equal(hosts.hostCount, 2)
  assert.equal(hosts.addressCount, 3)
})

test('a later revision moves, renames or drops addresses; one that changes only metrics changes nothing', () => {
  const eth0 = iface('h1', 'eth0', ['10.1.0.1/24'])
  const hosts = indexOf([nodeUpsert(eth0)])
  assert.equal(hosts.applyChange(eth0.ID, nodeUpsert({ ...eth0, Metadata: { ...eth0.Metadata, Metric: { RxBytes: 42 } } }, 2).value), 'applied')
  assert.deepEqual(hosts.lookup('10.1.0.1'), { host: 'h1', interface: 'eth0' })
  hosts.applyChange(eth0.ID, nodeUpsert({ ...eth0, Metadata: { Name: 'eth0', IPV4: ['10.1.0.9/24'] } }, 3).value)
  assert.equal(hosts.lookup('10.1.0.1'), undefined)
  assert.deepEqual(hosts.lookup('10.1.0.9'), { host: 'h1', interface: 'eth0' })
  hosts.applyChange(eth0.ID, nodeUpsert({ ...eth0, Metadata: { Name: 'uplink', IPV4: ['10.1.0.9/24'] } }, 4).value)
  assert.deepEqual(hosts.lookup('10.1.0.9'), { host: 'h1', interface: 'uplink' })
  hosts.applyChange(eth0.ID, nodeUpsert({ ...eth0, Metadata: { Name: 'uplink' } }, 5).value)
  assert.equal(hosts.lookup('10.1.0.9'), undefined)
  assert.equal(hosts.hostCount, 0)
})

test('a delete revision, a tombstone keyed by the node ID, or a node the graph-builder owns (no host) removes the addresses', () => {
  const a = iface('h1', 'eth0', ['10.1.0.1/24'])
  const b = iface('h1', 'eth1', ['10.1.1.1/24'])
  const c = iface('h2', 'eth0', ['10.2.0.1/24'])
  const hosts = indexOf([nodeUpsert(a), nodeUpsert(b), nodeUpsert(c)])
  const [deleteRevision, tombstone] = nodeDelete(a)
  assert.equal(hosts.applyChange(deleteRevision?.key ?? null, deleteRevision?.value), 'applied')
  assert.equal(hosts.lookup('10.1.0.1'), undefined)
  assert.equal(hosts.applyChange(tombstone?.key ?? null, null), 'applied')
  // A tombstone alone (the delete revision compacted away, or a Kafka consumer that missed it).
  assert.equal(hosts.applyChange(b.ID, null), 'applied')
  assert.equal(hosts.lookup('10.1.1.1'), undefined)
  // The graph-builder's own nodes (Kubernetes, fabric, rules) carry no host.
  hosts.applyChange(c.ID, nodeUpsert({ ...c, Host: '', Origin: 'analyzer.gb' }, 2).value)
  assert.equal(hosts.lookup('10.2.0.1'), undefined)
  assert.equal(hosts.hostCount, 0)
})

test('edges, the graph-builder recovery marker and edge tombstones are ignored; undecodable messages are counted as invalid and change nothing', () => {
  const eth0 = iface('h1', 'eth0', ['10.1.0.1/24'])
  const hosts = indexOf([nodeUpsert(eth0)])
  const edge = edgeUpsert('e1', 'h1-host', eth0.ID, 'h1')
  assert.equal(hosts.applyChange(edge.key, edge.value), 'ignored')
  const marker = recoveryMarker()
  assert.equal(hosts.applyChange(marker.key, marker.value), 'ignored')
  assert.equal(hosts.applyChange('e1', null), 'applied')
  const garbage: Array<[string | null, unknown]> = [
    [null, null],
    ['', null],
    [eth0.ID, 42],
    [eth0.ID, 'not a change'],
    [eth0.ID, { ElementType: 'node', Op: 'upsert', Node: null, Time: 1 }],
    [eth0.ID, { ElementType: 'node', Op: 'rename', Node: { ...eth0, Metadata: {} }, Time: 1 }],
    [eth0.ID, { ElementType: 'vertex', Op: 'upsert', Node: eth0, Time: 1 }],
    [eth0.ID, { ElementType: 'node', Op: 'upsert', Node: { ...eth0, Metadata: '{"Name":"eth0"}' }, Time: 1 }],
    [eth0.ID, { ElementType: 'node', Op: 'upsert', Node: { ...eth0, Metadata: ['x'] }, Time: 1 }],
    [eth0.ID, { ElementType: 'node', Op: 'upsert', Node: { ...eth0, Host: 7 }, Time: 1 }],
    [eth0.ID, { ElementType: 'node', Op: 'delete', Node: { Metadata: {} }, Time: 1 }],
    [eth0.ID, { ElementType: 'node', Op: 'upsert', Node: { ...eth0, Metadata: { Name: 'eth0', IPV4: '10.1.0.1/24' } }, Time: 1 }]
  ]
  const outcomes = garbage.map(([key, value]) => hosts.applyChange(key, value))
  // The last one is well formed: an IPV4 that is not a list is no address, as before.
  assert.deepEqual(outcomes, [...Array<string>(garbage.length - 1).fill('invalid'), 'applied'])
  assert.equal(hosts.lookup('10.1.0.1'), undefined)
  hosts.applyChange(eth0.ID, nodeUpsert(eth0, 3).value)
  assert.deepEqual(hosts.lookup('10.1.0.1'), { host: 'h1', interface: 'eth0' })
})

test('an address on several nodes answers the same whatever order the changes came in, and falls back when the winner goes', () => {
  const nodes = [iface('h3', 'docker0', ['172.17.0.1/16']), iface('h1', 'docker0', ['172.17.0.1/16']), iface('h2', 'docker0', ['172.17.0.1/16'])]
  const answers = [[0, 1, 2], [2, 1, 0], [1, 0, 2]].map((order) => indexOf(order.map((i) => nodeUpsert(nodes[i] as NodeSpec))).lookup('172.17.0.1'))
  assert.deepEqual(answers, Array(3).fill({ host: 'h1', interface: 'docker0' }))
  const hosts = indexOf(nodes.map((n) => nodeUpsert(n)))
  hosts.applyChange('h1-docker0', null)
  assert.deepEqual(hosts.lookup('172.17.0.1'), { host: 'h2', interface: 'docker0' })
  hosts.applyChange('h3-docker0', null)
  assert.deepEqual(hosts.lookup('172.17.0.1'), { host: 'h2', interface: 'docker0' })
  hosts.applyChange('h2-docker0', null)
  assert.equal(hosts.lookup('172.17.0.1'), undefined)
  assert.equal(hosts.addressCount, 0)
})

test('kept up change by change, the index answers as a rebuild from the latest revision of every node would', () => {
  // Few nodes, hosts and addresses, so that addresses are shared, renamed, moved between hosts and dropped.
  const random = seededRandom(7)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T
  const pool = Array.from({ length: 12 }, (_, i) => i % 4 === 3 ? `fd00::${i}` : `10.0.0.${i}`)
  const latest = new Map<string, NodeSpec>()
  const rebuilt = (address: string): AddressOwner | undefined => {
    const owners = [...latest.values()]
      .filter((n) => n.Host !== '' && [...(n.Metadata.IPV4 as string[]), ...(n.Metadata.IPV6 as string[])].some((c) => c.split('/')[0] === address))
      .sort((a, b) => a.Host < b.Host ? -1 : a.Host > b.Host ? 1 : a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)
    const first = owners[0]
    return first === undefined ? undefined : { host: first.Host, interface: String(first.Metadata.Name) }
  }
  const hosts = new HostIndex()
  for (let step = 0; step < 5000; step++) {
    const id = `n${Math.floor(random() * 10)}`
    const r = random()
    if (r < 0.15) {
      latest.delete(id)
      if (r < 0.07) hosts.applyChange(id, null)
      else hosts.applyChange(id, { ElementType: 'node', Op: 'delete', Node: { ID: id, Host: 'h0', Metadata: {}, DeletedAt: 5 }, Time: 5 })
    } else {
      const cidrs = Array.from({ length: Math.floor(random() * 4) }, () => `${pick([...pool, '127.0.0.1', '::1'])}/24`)
      const node: NodeSpec = { ID: id, Host: pick(['h0', 'h1', 'h2', '']), Metadata: { Name: pick(['eth0', 'eth1']), IPV4: cidrs.filter((c) => !c.includes(':')), IPV6: cidrs.filter((c) => c.includes(':')), Metric: { RxBytes: step } } }
      latest.set(id, node)
      assert.equal(hosts.applyChange(id, { ElementType: 'node', Op: 'upsert', Node: node, Time: step }), 'applied')
    }
    for (const address of pool) assert.deepEqual(hosts.lookup(address), rebuilt(address), `step ${step}, ${address}`)
  }
  const addressed = [...latest.values()].filter((n) => n.Host !== '' && [...(n.Metadata.IPV4 as string[]), ...(n.Metadata.IPV6 as string[])].some((c) => pool.includes(c.split('/')[0] ?? '')))
  assert.equal(hosts.hostCount, new Set(addressed.map((n) => n.Host)).size)
})

// ---- restart: the compacted changes topic is enough ----

/** The enricher's host index as it was, fed with every topology event: the reference for what lookups answer. */
class EventHistoryHostIndex {
  readonly #nodesByHost = new Map<string, Map<string, NodeInput>>()

  apply (event: TopologyEvent): void {
    const hostNodes = (): Map<string, NodeInput> => {
      let nodes = this.#nodesByHost.get(event.Host)
      if (nodes === undefined) this.#nodesByHost.set(event.Host, nodes = new Map())
      return nodes
    }
    if (event.Kind === 'HostSync') this.#nodesByHost.set(event.Host, new Map((event.Nodes ?? []).map((n) => [n.ID, n])))
    else if (event.Kind === 'NodeUpdated' && event.Node != null) hostNodes().set(event.Node.ID, event.Node)
    else if (event.Kind === 'NodeDeleted' && event.Node != null) hostNodes().delete(event.Node.ID)
  }

  lookup (address: string): AddressOwner | undefined {
    let found: AddressOwner | undefined
    for (const [host, nodes] of this.#nodesByHost) {
      for (const node of nodes.values()) {
        for (const key of ['IPV4', 'IPV6']) {
          const cidrs = node.Metadata[key]
          if (!Array.isArray(cidrs)) continue
          for (const cidr of cidrs) {
            const ip = typeof cidr === 'string' ? cidr.split('/')[0] ?? '' : ''
            if (ip === '' || ip.startsWith('127.') || ip === '::1') continue
            if (ip === address) found = { host, interface: typeof node.Metadata.Name === 'string' ? node.Metadata.Name : '' }
          }
        }
      }
    }
    return found
  }
}


/**
 * A week of topology events from a few hosts (mostly interface metric updates, some address changes,
 * interfaces coming and going, full host syncs, edges), and the changes the graph-builder publishes for
 * them: a revision per changed node, delete revision plus tombstone per deleted one, edge revisions,
 * and a recovery marker each time it restarts. Addresses are never reused, so no two nodes share one.
 */
function history (seed: number, steps: number): { events: TopologyEvent[], changes: Array<OutgoingMessage<TopologyChange>>, addresses: string[] } {
  const random = seededRandom(seed)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T
  const hosts = Array.from({ length: 6 }, (_, i) => `host-${i}`)
  const live = new Map<string, Map<string, NodeSpec>>(hosts.map((h) => [h, new Map()]))
  const revisions = new Map<string, number>()
  const events: TopologyEvent[] = []
  const changes: Array<OutgoingMessage<TopologyChange>> = []
  const addresses: string[] = []
  let next = 1
  let time = 1_700_000_000_000
  const freshAddresses = (): string[] => {
    const n = next++
    const v4 = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
    addresses.push(v4)
    if (random() < 0.3) {
      const v6 = `fd00::${n.toString(16)}`
      addresses.push(v6)
      return [`${v4}/24`, `${v6}/64`]
    }
    return [`${v4}/24`]
  }
  const newInterface = (host: string): NodeSpec => {
    const name = random() < 0.1 ? `lo${next}` : `eth${next}`
    const ips = name.startsWith('lo') ? ['127.0.0.1/8', '::1/128'] : freshAddresses()
    return { ID: `${host}/${name}`, Host: host, Metadata: { Name: name, Type: 'device', IPV4: ips.filter((ip) => !ip.includes(':')), IPV6: ips.filter((ip) => ip.includes(':')) } }
  }
  const publishUpsert = (n: NodeSpec): void => {
    const revision = (revisions.get(n.ID) ?? 0) + 1
    revisions.set(n.ID, revision)
    changes.push(nodeUpsert(n, revision, time))
    changes.push(edgeUpsert(`${n.Host}->${n.ID}`, `${n.Host}/host`, n.ID, n.Host, time))
  }
  const publishDelete = (n: NodeSpec): void => {
    changes.push(...nodeDelete(n, (revisions.get(n.ID) ?? 0) + 1, time))
    revisions.delete(n.ID)
    changes.push({ key: `${n.Host}->${n.ID}`, value: decoded({ ElementType: 'edge', Op: 'delete', Edge: { ID: `${n.Host}->${n.ID}`, Parent: `${n.Host}/host`, Child: n.ID, Metadata: { RelationType: 'ownership' }, Host: n.Host, Origin: `agent.${n.Host}`, CreatedAt: time, UpdatedAt: time, DeletedAt: time, Revision: 2 }, Time: time }) })
    changes.push({ key: `${n.Host}->${n.ID}`, value: null })
  }
  // Nodes the graph-builder makes itself: no host, whatever their metadata says.
  changes.push(nodeUpsert({ ID: 'fabric-tor1', Host: '', Origin: 'analyzer.gb', Metadata: { Name: 'tor1', Type: 'switch', IPV4: ['192.0.2.1/24'] } }))
  addresses.push('192.0.2.1')
  for (let step = 0; step < steps; step++) {
    time += 60_000
    const host = pick(hosts)
    const nodes = live.get(host) as Map<string, NodeSpec>
    const r = random()
    if (r < 0.05 || nodes.size === 0) {
      // Full sync: some interfaces gone, some new, the rest as they were.
      const kept = [...nodes.values()].filter(() => random() < 0.8)
      const synced = [...kept, ...Array.from({ length: 1 + Math.floor(random() * 3) }, () => newInterface(host))]
      events.push({ Kind: 'HostSync', Host: host, Origin: `agent.${host}`, Time: time, Nodes: synced.map((n) => ({ ...n, Origin: `agent.${host}`, CreatedAt: time, UpdatedAt: time, DeletedAt: null, Revision: 1 })) })
      for (const n of nodes.values()) if (!synced.includes(n)) publishDelete(n)
      for (const n of synced) if (!kept.includes(n)) publishUpsert(n)
      live.set(host, new Map(synced.map((n) => [n.ID, n])))
      continue
    }
    let node: NodeSpec
    if (r < 0.1) {
      node = newInterface(host)
    } else if (r < 0.15) {
      const gone = pick([...nodes.values()])
      nodes.delete(gone.ID)
      events.push({ Kind: 'NodeDeleted', Host: host, Origin: `agent.${host}`, Time: time, Node: { ...gone, Origin: `agent.${host}`, CreatedAt: time, UpdatedAt: time, DeletedAt: null, Revision: 1 } })
      publishDelete(gone)
      continue
    } else if (r < 0.25) {
      const old = pick([...nodes.values()])
      const ips = String(old.Metadata.Name).startsWith('lo') ? ['127.0.0.1/8'] : freshAddresses()
      node = { ...old, Metadata: { ...old.Metadata, IPV4: ips.filter((ip) => !ip.includes(':')), IPV6: ips.filter((ip) => ip.includes(':')) } }
    } else {
      // Interface metrics: the bulk of a real topic.
      const old = pick([...nodes.values()])
      node = { ...old, Metadata: { ...old.Metadata, Metric: { RxBytes: step * 1500, TxBytes: step * 900 } } }
    }
    nodes.set(node.ID, node)
    events.push({ Kind: 'NodeUpdated', Host: host, Origin: `agent.${host}`, Time: time, Node: { ...node, Origin: `agent.${host}`, CreatedAt: time, UpdatedAt: time, DeletedAt: null, Revision: 1 } })
    publishUpsert(node)
    if (random() < 0.002) changes.push(recoveryMarker())
  }
  return { events, changes, addresses }
}

/** What a consumer reading the topic from the beginning gets after log compaction: the latest message per key. */
function compacted (changes: Array<OutgoingMessage<TopologyChange>>, partitions: number, seed: number, opts: { keepTombstones: boolean }): Array<OutgoingMessage<TopologyChange>> {
  const logs = Array.from({ length: partitions }, () => new Map<string, OutgoingMessage<TopologyChange>>())
  for (const m of changes) {
    const key = m.key ?? ''
    let h = 0
    for (const c of key) h = (h * 31 + c.charCodeAt(0)) >>> 0
    const log = logs[h % partitions] as Map<string, OutgoingMessage<TopologyChange>>
    log.delete(key)
    if (m.value !== null || opts.keepTombstones) log.set(key, m)
  }
  // Partitions are read side by side: their messages interleave in no particular order.
  const random = seededRandom(seed)
  const queues = logs.map((l) => [...l.values()])
  const out: Array<OutgoingMessage<TopologyChange>> = []
  while (queues.some((q) => q.length > 0)) {
    const q = queues[Math.floor(random() * queues.length)] as Array<OutgoingMessage<TopologyChange>>
    out.push(...q.splice(0, 1 + Math.floor(random() * 5)))
  }
  return out
}

test('after a restart, the compacted changes topic alone answers every lookup as a replay of the whole event history did', () => {
  for (const seed of [1, 2, 3]) {
    const { events, changes, addresses } = history(seed, 4000)
    const reference = new EventHistoryHostIndex()
    for (const e of events) reference.apply(e)
    const probes = [...addresses, '127.0.0.1', '::1', '203.0.113.7']
    const expected = probes.map((ip) => reference.lookup(ip))
    const known = expected.filter((o) => o !== undefined).length
    assert.ok(known >= 20 && known < addresses.length / 2, `a fair mix of live and gone addresses (${known} of ${addresses.length} live)`)

    const replays = {
      'the live stream': changes,
      'the compacted topic': compacted(changes, 6, seed, { keepTombstones: false }),
      'the compacted topic, tombstones not yet removed': compacted(changes, 6, seed + 100, { keepTombstones: true })
    }
    for (const [name, messages] of Object.entries(replays)) {
      const hosts = new HostIndex()
      let invalid = 0
      for (const m of messages) if (hosts.applyChange(m.key, m.value) === 'invalid') invalid++
      assert.equal(invalid, 0, name)
      assert.deepEqual(probes.map((ip) => hosts.lookup(ip)), expected, `seed ${seed}, ${name}`)
    }
    // What a restart reads: the live graph, not the week of events.
    const compactedSize = replays['the compacted topic'].length
    assert.ok(compactedSize * 10 < events.length, `${compactedSize} compacted changes for ${events.length} events`)
  }
})
