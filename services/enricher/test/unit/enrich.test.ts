import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HostIndex } from '../../src/lookups/hosts.ts'
import { SocketIndex } from '../../src/lookups/sockets.ts'
import { K8sIndex } from '../../src/lookups/k8s.ts'
import { enrichFlow, type Lookups } from '../../src/enrich.ts'
import { JoinBuffer } from '../../src/join-buffer.ts'
import type { RawFlow, SocketEntry } from '../../src/types.ts'
import { iface, nodeUpsert } from './topology-changes.ts'

function sock (s: Partial<SocketEntry>): SocketEntry {
  return { LocalAddress: '', LocalPort: 0, RemoteAddress: '', RemotePort: 0, Protocol: 'TCP', State: 'ESTABLISHED', Pid: 0, Name: '', Process: '', NetnsInode: 0, NetnsName: null, ...s }
}

function tcpFlow (a: string, aPort: number, b: string, bPort: number, extra: Partial<RawFlow> = {}): RawFlow {
  return {
    UUID: `${a}:${aPort}-${b}:${bPort}`,
    Network: { Protocol: 'IPV4', A: a, B: b },
    Transport: { Protocol: 'TCP', A: aPort, B: bPort },
    Metric: { ABPackets: 6, ABBytes: 500, BAPackets: 4, BABytes: 1200, Start: 1000, Last: 2000 },
    LastUpdateMetric: { ABPackets: 6, ABBytes: 500, BAPackets: 4, BABytes: 1200, Start: 1000, Last: 2000 },
    Start: 1000,
    Last: 2000,
    Host: 'client-host',
    ...extra
  }
}

function twoHosts (): Lookups {
  const hosts = new HostIndex()
  for (const n of [iface('client-host', 'eth0', ['10.1.0.1/24']), iface('client-host', 'lo', ['127.0.0.1/8']), iface('server-host', 'eth0', ['10.1.0.2/24'])]) {
    const { key, value } = nodeUpsert(n)
    hosts.applyChange(key, value)
  }
  const sockets = new SocketIndex()
  sockets.apply({ Host: 'client-host', Time: 1, Sockets: [sock({ LocalAddress: '10.1.0.1', LocalPort: 40000, RemoteAddress: '10.1.0.2', RemotePort: 8000, Pid: 11, Name: 'curl', Process: '/usr/bin/curl' })] })
  sockets.apply({
    Host: 'server-host',
    Time: 1,
    Sockets: [
      sock({ LocalAddress: '0.0.0.0', LocalPort: 8000, State: 'LISTEN', Pid: 22, Name: 'python3', Process: '/usr/bin/python3.11' }),
      sock({ LocalAddress: '10.1.0.2', LocalPort: 8000, RemoteAddress: '10.1.0.1', RemotePort: 40000, Pid: 22, Name: 'python3', Process: '/usr/bin/python3.11' })
    ]
  })
  return { hosts, sockets, k8s: new K8sIndex() }
}

test('both ends get their host, interface and process; the listening end is the server', () => {
  const { flow, missingSocket, hits } = enrichFlow(tcpFlow('10.1.0.1', 40000, '10.1.0.2', 8000), twoHosts())
  assert.equal(missingSocket, false)
  assert.deepEqual([flow.AEnrich.HostName, flow.AEnrich.Interface, flow.AEnrich.Pid, flow.AEnrich.ProcessName, flow.AEnrich.Process], ['client-host', 'eth0', 11, 'curl', '/usr/bin/curl'])
  assert.deepEqual([flow.BEnrich.HostName, flow.BEnrich.Pid, flow.BEnrich.ProcessName], ['server-host', 22, 'python3'])
  assert.equal(flow.ServerEnd, 'B')
  assert.deepEqual(hits, { host: 2, process: 2, pod: 0, service: 0 })
})

test('a flow whose first packet came from the server still names the server end', () => {
  const { flow } = enrichFlow(tcpFlow('10.1.0.2', 8000, '10.1.0.1', 40000), twoHosts())
  assert.equal(flow.ServerEnd, 'A')
  assert.equal(flow.AEnrich.ProcessName, 'python3')
})

test('without socket data the well-known port decides the server and nothing is dropped', () => {
  const lookups: Lookups = { hosts: new HostIndex(), sockets: new SocketIndex(), k8s: new K8sIndex() }
  const { flow, missingSocket } = enrichFlow(tcpFlow('192.0.2.1', 51000, '192.0.2.9', 443), lookups)
  assert.equal(missingSocket, false)
  assert.equal(flow.ServerEnd, 'B')
  assert.equal(flow.AEnrich.HostName, null)
  assert.equal(flow.Metric?.ABPackets, 6)
})

test('a known host whose socket table lacks the connection asks for a wait', () => {
  const lookups = twoHosts()
  const { missingSocket } = enrichFlow(tcpFlow('10.1.0.1', 40001, '10.1.0.2', 8000), lookups)
  assert.equal(missingSocket, true)
})

test('IPv4-mapped IPv6 socket addresses match IPv4 flows', () => {
  const lookups = twoHosts()
  lookups.sockets.apply({ Host: 'server-host', Time: 2, Sockets: [sock({ LocalAddress: '::', LocalPort: 9000, State: 'LISTEN', Pid: 33, Name: 'java', Process: '/usr/bin/java' }), sock({ LocalAddress: '::ffff:10.1.0.2', LocalPort: 9000, RemoteAddress: '::ffff:10.1.0.1', RemotePort: 40002, Pid: 33, Name: 'java', Process: '/usr/bin/java' })] })
  const { flow } = enrichFlow(tcpFlow('10.1.0.1', 40002, '10.1.0.2', 9000), lookups)
  assert.equal(flow.BEnrich.ProcessName, 'java')
  assert.equal(flow.ServerEnd, 'B')
})

test('an older socket snapshot never replaces a newer one', () => {
  const idx = new SocketIndex()
  assert.equal(idx.apply({ Host: 'h', Time: 10, Sockets: [] }), true)
  assert.equal(idx.apply({ Host: 'h', Time: 5, Sockets: [] }), false)
})

test('the join buffer re-enriches a parked flow when its sockets arrive', async () => {
  const lookups = twoHosts()
  const buffer = new JoinBuffer({ maxPending: 10, waitMs: 5000, enrich: (f) => enrichFlow(f, lookups) })
  const pending = buffer.enrich(tcpFlow('10.1.0.1', 40005, '10.1.0.2', 8000), 0)
  assert.equal(buffer.size, 1)
  lookups.sockets.apply({ Host: 'client-host', Time: 5, Sockets: [sock({ LocalAddress: '10.1.0.1', LocalPort: 40005, RemoteAddress: '10.1.0.2', RemotePort: 8000, Pid: 44, Name: 'wget', Process: '/usr/bin/wget' })] })
  lookups.sockets.apply({ Host: 'server-host', Time: 5, Sockets: [sock({ LocalAddress: '0.0.0.0', LocalPort: 8000, State: 'LISTEN', Pid: 22, Name: 'python3', Process: '/usr/bin/python3.11' })] })
  buffer.retry()
  const { flow } = await pending
  assert.equal(flow.AEnrich.ProcessName, 'wget')
  assert.equal(flow.BEnrich.ProcessName, 'python3')
  assert.equal(buffer.completedLate, 1)
})

test('the join buffer is bounded and releases flows at their deadline with what is known', async () => {
  const lookups = twoHosts()
  const buffer = new JoinBuffer({ maxPending: 2, waitMs: 1000, enrich: (f) => enrichFlow(f, lookups) })
  const results = [1, 2, 3].map((i) => buffer.enrich(tcpFlow('10.1.0.1', 41000 + i, '10.1.0.2', 8000), i))
  assert.equal(buffer.size, 2)
  assert.equal(buffer.evicted, 1)
  buffer.tick(1002)
  assert.equal(buffer.size, 1)
  buffer.tick(1003)
  assert.equal(buffer.size, 0)
  const flows = await Promise.all(results)
  assert.deepEqual(flows.map((r) => r.flow.BEnrich.ProcessName), ['python3', 'python3', 'python3'])
  assert.deepEqual(flows.map((r) => r.flow.AEnrich.ProcessName), [null, null, null])
  assert.equal(buffer.timedOut, 2)
})

test('pod IPs carry pod, namespace, node, service, owning deployment and labels', () => {
  const k8s = new K8sIndex()
  const meta = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, namespace: 'shop', uid: `uid-${name}`, ...extra })
  k8s.apply({ Kind: 'Added', ObjectKind: 'ReplicaSet', UID: 'uid-web-7d9', Namespace: 'shop', Name: 'web-7d9', Time: 1, Object: { metadata: meta('web-7d9', { ownerReferences: [{ kind: 'Deployment', name: 'web', controller: true }] }) } })
  k8s.apply({ Kind: 'Added', ObjectKind: 'Pod', UID: 'uid-web-7d9-abc', Namespace: 'shop', Name: 'web-7d9-abc', Time: 1, Object: { metadata: meta('web-7d9-abc', { labels: { app: 'web', tier: 'front' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d9', controller: true }] }), spec: { nodeName: 'node-1', containers: [{ name: 'nginx' }] }, status: { podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] } } })
  k8s.apply({ Kind: 'Added', ObjectKind: 'Pod', UID: 'uid-db-0', Namespace: 'shop', Name: 'db-0', Time: 1, Object: { metadata: meta('db-0', { labels: { app: 'db' }, ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }] }), spec: { nodeName: 'node-2', containers: [{ name: 'postgres' }, { name: 'exporter' }] }, status: { podIP: '10.244.2.7' } } })
  k8s.apply({ Kind: 'Added', ObjectKind: 'EndpointSlice', UID: 'uid-db-x', Namespace: 'shop', Name: 'db-x1', Time: 1, Object: { metadata: meta('db-x1', { labels: { 'kubernetes.io/service-name': 'db' } }), endpoints: [{ addresses: ['10.244.2.7'], targetRef: { kind: 'Pod', name: 'db-0', namespace: 'shop' } }] } })
  k8s.apply({ Kind: 'Added', ObjectKind: 'Endpoints', UID: 'uid-web-ep', Namespace: 'shop', Name: 'web', Time: 1, Object: { metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.244.1.5', targetRef: { kind: 'Pod', name: 'web-7d9-abc' } }] }] } })
  const lookups: Lookups = { hosts: new HostIndex(), sockets: new SocketIndex(), k8s }
  const { flow, hits } = enrichFlow(tcpFlow('10.244.1.5', 50000, '10.244.2.7', 5432), lookups)
  assert.deepEqual(flow.AEnrich, { ...flow.AEnrich, Pod: 'web-7d9-abc', Namespace: 'shop', Node: 'node-1', Service: 'web', Workload: 'web', WorkloadKind: 'Deployment', Container: 'nginx', Labels: { app: 'web', tier: 'front' } })
  assert.deepEqual([flow.BEnrich.Pod, flow.BEnrich.Service, flow.BEnrich.Workload, flow.BEnrich.WorkloadKind, flow.BEnrich.Container], ['db-0', 'db', 'db', 'StatefulSet', null])
  assert.equal(hits.pod, 2)
  k8s.apply({ Kind: 'Deleted', ObjectKind: 'Pod', UID: 'uid-db-0', Namespace: 'shop', Name: 'db-0', Time: 2, Object: {} })
  assert.equal(enrichFlow(tcpFlow('10.244.1.5', 50000, '10.244.2.7', 5432), lookups).flow.BEnrich.Pod, null)
})

test('a later update of a flow keeps the process an earlier update found', async () => {
  const { StickyEnrichment } = await import('../../src/sticky.ts')
  const sticky = new StickyEnrichment(10)
  const lookups = twoHosts()
  const first = sticky.apply(enrichFlow(tcpFlow('10.1.0.1', 40000, '10.1.0.2', 8000), lookups).flow)
  assert.equal(first.AEnrich.ProcessName, 'curl')
  // curl exited: its socket is gone from the tables, for longer than the index remembers gone sockets
  lookups.sockets.apply({ Host: 'client-host', Time: 9, Sockets: [] })
  lookups.sockets.apply({ Host: 'client-host', Time: 9 + 181_000, Sockets: [] })
  const later = enrichFlow(tcpFlow('10.1.0.1', 40000, '10.1.0.2', 8000, { Last: 9000 }), lookups).flow
  assert.equal(later.AEnrich.ProcessName, null)
  const kept = sticky.apply(later)
  assert.deepEqual([kept.AEnrich.Pid, kept.AEnrich.ProcessName, kept.AEnrich.Process, kept.Last], [11, 'curl', '/usr/bin/curl', 9000])
  assert.equal(kept.BEnrich.ProcessName, 'python3')
})

test('a socket gone from its host table still answers for a while, behind the current ones', () => {
  const idx = new SocketIndex({ retainMs: 60_000, maxDepartedPerHost: 2 })
  const curl = sock({ LocalAddress: '10.1.0.1', LocalPort: 40100, RemoteAddress: '10.1.0.2', RemotePort: 80, Pid: 7, Name: 'curl' })
  const dns = sock({ LocalAddress: '0.0.0.0', LocalPort: 53000, Protocol: 'UDP', RemotePort: 0, State: 'CLOSE', Pid: 7, Name: 'curl' })
  idx.apply({ Host: 'h', Time: 1000, Sockets: [curl, dns] })
  // The short connection ends before the next scan; its flow is emitted later.
  idx.apply({ Host: 'h', Time: 11_000, Sockets: [] })
  assert.equal(idx.find('h', 'TCP', '10.1.0.1', 40100, '10.1.0.2', 80)?.socket.Name, 'curl')
  assert.equal(idx.find('h', 'UDP', '10.1.0.1', 53000, '10.1.0.53', 53)?.socket.Name, 'curl')
  // A process holding the same endpoints now wins over the one gone.
  const wget = sock({ ...curl, Pid: 8, Name: 'wget' })
  idx.apply({ Host: 'h', Time: 21_000, Sockets: [wget] })
  assert.equal(idx.find('h', 'TCP', '10.1.0.1', 40100, '10.1.0.2', 80)?.socket.Name, 'wget')
  // ... and once it is gone too, it is the one remembered.
  idx.apply({ Host: 'h', Time: 31_000, Sockets: [] })
  assert.equal(idx.find('h', 'TCP', '10.1.0.1', 40100, '10.1.0.2', 80)?.socket.Name, 'wget')
  // Forgotten after the retention, measured in snapshot time.
  idx.apply({ Host: 'h', Time: 72_000, Sockets: [] })
  assert.equal(idx.find('h', 'TCP', '10.1.0.1', 40100, '10.1.0.2', 80)?.socket.Name, 'wget', 'gone at 31 s: kept until 91 s')
  assert.equal(idx.find('h', 'UDP', '10.1.0.1', 53000, '10.1.0.53', 53), undefined, 'gone at 11 s: forgotten after 71 s')
  // Bounded per host: the oldest gone first.
  idx.apply({ Host: 'h', Time: 73_000, Sockets: [1, 2, 3].map((i) => sock({ ...curl, LocalPort: 50000 + i, Name: `p${i}` })) })
  idx.apply({ Host: 'h', Time: 74_000, Sockets: [] })
  assert.equal(idx.find('h', 'TCP', '10.1.0.1', 40100, '10.1.0.2', 80), undefined)
  assert.equal(idx.find('h', 'TCP', '10.1.0.1', 50001, '10.1.0.2', 80), undefined)
  assert.equal(idx.find('h', 'TCP', '10.1.0.1', 50003, '10.1.0.2', 80)?.socket.Name, 'p3')
})
