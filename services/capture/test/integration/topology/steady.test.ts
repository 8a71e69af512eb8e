/**
 * What keeps the agent cheap while nothing changes, on real namespaces (needs root, iproute2,
 * util-linux): namespaces read through long-lived `ip -batch` sessions, watched namespaces re-read
 * only when their counters move, socket scans only when the socket counters move. Each of these
 * must leave the published graph and socket table what a full re-read would give.
 *
 *   node --import tsx --test services/capture/test/integration/topology/steady.test.ts
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { silentLogger } from '@topoflow/core'
import { TopologyAgent, type TopologyIntervals } from '../../../src/topology/agent.ts'
import { fixtureFsReader, nodeFsReader, type FsRecording } from '../../../src/topology/fs-reader.ts'
import { IpSession } from '../../../src/topology/ip-session.ts'
import { socketCounters, SocketWatcher } from '../../../src/topology/socket-watch.ts'
import { assertRunnable, ipn, namespaces, Replica, sh, skip, waitFor } from './netns.ts'

async function startAgent (t: TestContext, intervals: Partial<TopologyIntervals>): Promise<{ agent: TopologyAgent, replica: Replica }> {
  const replica = new Replica()
  const agent = new TopologyAgent({
    hostId: `itest-${randomBytes(3).toString('hex')}`,
    logger: silentLogger(),
    publish: (e) => replica.apply(e),
    intervals
  })
  t.after(async () => { await agent.close() })
  await agent.start()
  return { agent, replica }
}

/** The kernel's own counters of an interface, as `ip -s -s` prints them. */
function kernelCounters (ns: string, dev: string): { rx: number, tx: number } {
  const [link] = JSON.parse(ipn(ns, '-json', '-stats', '-stats', 'link', 'show', 'dev', dev)) as Array<{ stats64: { rx: { packets: number }, tx: { packets: number } } }>
  return { rx: link?.stats64.rx.packets ?? -1, tx: link?.stats64.tx.packets ?? -1 }
}

test('watched namespaces: idle ones publish nothing, moving counters still reach the metrics at each resync', { skip }, async (t) => {
  assertRunnable()
  const [a, b] = namespaces(t, 'a', 'b') as [string, string]
  ipn(a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b)
  ipn(a, 'addr', 'add', '10.51.0.1/24', 'dev', 'va')
  ipn(b, 'addr', 'add', '10.51.0.2/24', 'dev', 'vb')
  // No IPv6 link-local addresses: no router solicitations moving the counters behind the test's back.
  for (const [ns, dev] of [[a, 'va'], [b, 'vb']] as const) {
    ipn(ns, 'link', 'set', dev, 'addrgenmode', 'none')
    ipn(ns, 'link', 'set', dev, 'up')
  }
  const { agent, replica } = await startAgent(t, { resync: 200, watchedResync: 60_000 })
  await waitFor('both ends watched and up', () => agent.stats().monitors >= 2 &&
    replica.interfacesOf(a).get('va')?.Metadata.State === 'UP' && replica.interfacesOf(b).get('vb')?.Metadata.State === 'UP', 5000)

  // Idle: several resyncs go by and nothing about these namespaces is published again.
  const ids = new Set(replica.labels([a, b]).keys())
  ids.delete(replica.host()?.ID ?? '')
  await new Promise(resolve => setTimeout(resolve, 500)) // let the monitors' first re-read pass
  const quietFrom = Date.now()
  const resyncs = agent.stats().resyncs
  await waitFor('three resyncs', () => agent.stats().resyncs >= resyncs + 3, 3000)
  const labels = replica.labels([a, b])
  const republished = [...ids].filter(id => (replica.seenAt.get(id) ?? 0) >= quietFrom).map(id => `${labels.get(id) ?? id} ${JSON.stringify(replica.nodes.get(id)?.Metadata ?? replica.edges.get(id)?.Metadata)}`)
  assert.deepEqual(republished, [], 'idle namespaces were published again')

  // Traffic moves the counters (and no link, address or route event says so): the next resync reads them.
  sh('ip', 'netns', 'exec', a, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '10.51.0.2')
  const kernel = kernelCounters(a, 'va')
  assert.ok(kernel.tx >= 3, `ping sent ${kernel.tx} packets`)
  await waitFor('the metrics of va to equal the kernel counters', () => {
    const metric = replica.interfacesOf(a).get('va')?.Metadata.Metric as Record<string, number> | undefined
    return metric?.TxPackets === kernel.tx && metric.RxPackets === kernel.rx
  }, 2000)
  await waitFor('the metrics of vb too', () => {
    const metric = replica.interfacesOf(b).get('vb')?.Metadata.Metric as Record<string, number> | undefined
    const k = kernelCounters(b, 'vb')
    return metric?.TxPackets === k.tx && metric.RxPackets === k.rx
  }, 2000)
  const metric = replica.interfacesOf(a).get('va')?.Metadata.LastUpdateMetric as Record<string, number> | undefined
  assert.ok((metric?.TxPackets ?? 0) > 0, 'LastUpdateMetric carries the delta')
})

/** Pids of the processes inside the namespace with this inode (read from /proc here: a readlink process per pid is too slow to poll). */
function processesIn (inode: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === `net:[${inode}]`) out.push(Number(entry))
    } catch {}
  }
  return out
}

test('a deleted namespace is let go: the agent leaves it, so the kernel destroys it and its veth peer elsewhere', { skip }, async (t) => {
  assertRunnable()
  const [a, b] = namespaces(t, 'a', 'b') as [string, string]
  ipn(a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b)
  const { agent, replica } = await startAgent(t, {})
  await waitFor('b watched and read through its session', () => agent.stats().monitors >= 2 && agent.stats().ipSessions >= 2 && replica.interfacesOf(b).has('vb'), 5000)
  const inode = Number(sh('stat', '-L', '-c', '%i', `/var/run/netns/${b}`).trim())
  // Counted once spawned; `ip -n` enters the namespace a moment later.
  await waitFor('ip monitor and ip -batch of the agent inside b', () => processesIn(inode).length === 2, 2000)
  const vaId = replica.interfacesOf(a).get('va')?.ID ?? ''
  const t0 = Date.now()
  sh('ip', 'netns', 'del', b)
  // Left running, the agent's processes inside b would keep it, and the veth, alive for good.
  await waitFor('the agent to leave b', () => processesIn(inode).length === 0, 2000)
  await waitFor('b and va to leave the graph', () => !replica.nodes.has(vaId) && replica.netns(b) === undefined, 2000)
  t.diagnostic(`graph updated after ${Date.now() - t0} ms`)
  // The kernel destroys namespaces in the background, slower when it has many to destroy.
  await waitFor('the kernel to remove va', () => !ipn(a, '-json', 'link', 'show').includes('"va"'), 10_000)
  t.diagnostic(`veth destroyed after ${Date.now() - t0} ms`)
})

test('an agent killed outright leaves no process behind to hold a namespace', { skip }, async (t) => {
  assertRunnable()
  const [a] = namespaces(t, 'a') as [string]
  const inode = Number(sh('stat', '-L', '-c', '%i', `/var/run/netns/${a}`).trim())
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'agent-child.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => child.kill('SIGKILL'))
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => { if (d.includes('synced')) resolve() })
    child.once('exit', (code) => reject(new Error(`the agent exited early (${String(code)})`)))
  })
  await waitFor('its ip monitor and ip -batch inside the namespace', () => processesIn(inode).length === 2, 5000)
  child.kill('SIGKILL')
  // The ip session sees its input end; the monitor, which only notices a dead reader when it writes, is killed with it.
  await waitFor('nothing of the agent left inside the namespace', () => processesIn(inode).length === 0, 5000)
})

test('an ip session answers requests in order, reports a failing command and keeps going', { skip }, async (t) => {
  assertRunnable()
  const [a] = namespaces(t, 'a') as [string]
  ipn(a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb')
  let exited = 0
  const session = new IpSession('nsenter', [`--net=/var/run/netns/${a}`, 'ip', '-json', '-force', '-batch', '-'], () => { exited++ })
  t.after(() => session.close())
  const [links, addrs] = await Promise.all([session.run('link show\n', 5000), session.run('addr show dev lo\nnetns list-id\n', 5000)])
  assert.deepEqual((JSON.parse(links ?? '') as Array<{ ifname: string }>).map(l => l.ifname).sort(), ['lo', 'va', 'vb'])
  assert.equal(addrs?.trim().split('\n').length, 2)
  assert.deepEqual(JSON.parse(addrs?.trim().split('\n')[1] ?? ''), [])
  await assert.rejects(session.run('link show\nlink show dev nosuchdev\n', 5000), /"nosuchdev"/)
  // The same session goes on, and what it prints matches a fresh ip run.
  assert.equal(await session.run('link show dev va\n', 5000), ipn(a, '-json', 'link', 'show', 'dev', 'va'))
  assert.ok(session.alive)
  session.close()
  await assert.rejects(session.run('link show\n', 5000), /not running/)
  await waitFor('the exit to be reported', () => exited === 1, 2000)

  const missing = new IpSession('/nonexistent/ip', ['-json', '-force', '-batch', '-'], () => { exited++ })
  await assert.rejects(missing.run('link show\n', 5000), /exited|not running|could not run/)
})

test('socket scans run again only when the socket counters move, and then see every change', { skip }, async (t) => {
  assertRunnable()
  const [a] = namespaces(t, 'a') as [string]
  ipn(a, 'addr', 'add', '10.52.0.1/32', 'dev', 'lo')
  const children: ChildProcess[] = []
  t.after(() => { for (const c of children) c.kill('SIGKILL') })
  // A process that holds the namespace (and one socket), so the scan reads its tables.
  const holder = spawn('ip', ['netns', 'exec', a, process.execPath, '-e',
    "require('node:dgram').createSocket('udp4').bind(5353, '10.52.0.1'); setInterval(() => {}, 1000)"], { stdio: 'ignore' })
  children.push(holder)
  await waitFor('the UDP socket', () => sh('ip', 'netns', 'exec', a, 'ss', '-Hunl').includes('10.52.0.1:5353'), 5000)

  const watcher = new SocketWatcher(nodeFsReader, { fullScanMs: 60_000 })
  const ours = (s: { Pid: number }): boolean => s.Pid === holder.pid
  const first = await watcher.scan()
  assert.equal(first.full, true)
  assert.deepEqual(first.sockets.filter(ours).map(s => `${s.Protocol} ${s.LocalAddress}:${s.LocalPort} ${s.State}`), ['UDP 10.52.0.1:5353 CLOSE'])

  // A TCP listener appears in the namespace: its counters move, the scan runs and finds it.
  const server = spawn('ip', ['netns', 'exec', a, process.execPath, '-e',
    "require('node:net').createServer(() => {}).listen(8081, '10.52.0.1'); setInterval(() => {}, 1000)"], { stdio: 'ignore' })
  children.push(server)
  await waitFor('the listener', () => sh('ip', 'netns', 'exec', a, 'ss', '-Htln').includes('10.52.0.1:8081'), 5000)
  const second = await watcher.scan()
  assert.equal(second.reused, false)
  assert.deepEqual(second.sockets.filter(s => s.Pid === server.pid).map(s => `${s.LocalAddress}:${s.LocalPort} ${s.State}`), ['10.52.0.1:8081 LISTEN'])

  // A socket's owner goes away while the socket stays with nobody else: the next scan drops it.
  server.kill('SIGKILL')
  await waitFor('the listener to close', () => !sh('ip', 'netns', 'exec', a, 'ss', '-Htln').includes('10.52.0.1:8081'), 5000)
  const third = await watcher.scan()
  assert.equal(third.reused, false)
  assert.deepEqual(third.sockets.filter(s => s.LocalPort === 8081), [])

  // What the counters keep: the namespace's socket counts and TCP opens, never memory, traffic or host-wide counts.
  const counters = socketCounters(
    sh('cat', `/proc/${holder.pid}/net/sockstat`), sh('cat', `/proc/${holder.pid}/net/sockstat6`), sh('cat', `/proc/${holder.pid}/net/snmp`))
  assert.match(counters, /^TCP: inuse \d+ tw \d+$/m)
  assert.match(counters, /^UDP: inuse 1$/m)
  assert.match(counters, /^ActiveOpens=\d+ PassiveOpens=\d+ AttemptFails=\d+ EstabResets=\d+ CurrEstab=\d+$/m)
  assert.doesNotMatch(counters, /mem|Segs|alloc|orphan/)
})

test('the socket watcher reuses the last table while counters and owners stand still, and reads everything every fullScanMs', async () => {
  // A recorded /proc: one process in one namespace, holding one listening socket.
  const tcpHeader = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
  const listening = (port: string): string => `${tcpHeader}   0: 0100007F:${port} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0 100 0 0 10 0\n`
  const sockstat = (inuse: number): string => `sockets: used 9\nTCP: inuse ${inuse} orphan 0 tw 0 alloc 3 mem ${inuse * 7}\nUDP: inuse 0 mem 0\n`
  const rec: FsRecording = {
    dirs: { '/proc': ['100', 'self'], '/proc/100/fd': ['3'] },
    links: { '/proc/100/ns/net': 'net:[4026530001]', '/proc/100/fd/3': 'socket:[555]', '/proc/100/exe': '/usr/bin/server' },
    files: {
      '/proc/100/stat': '100 (server) S 1 100 100 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0',
      '/proc/100/net/tcp': listening('1F90'),
      '/proc/100/net/tcp6': tcpHeader,
      '/proc/100/net/udp': tcpHeader,
      '/proc/100/net/udp6': tcpHeader,
      '/proc/100/net/sockstat': sockstat(1),
      '/proc/100/net/sockstat6': 'TCP6: inuse 0\nUDP6: inuse 0\n',
      '/proc/100/net/snmp': 'Tcp: RtoAlgorithm ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs\nTcp: 1 0 0 0 0 0 77\n'
    },
    stats: {}
  }
  let now = 1_000_000
  const watcher = new SocketWatcher(fixtureFsReader(rec), { fullScanMs: 60_000, now: () => now })
  const ports = (r: { sockets: Array<{ LocalPort: number }> }): number[] => r.sockets.map(s => s.LocalPort)

  const first = await watcher.scan()
  assert.deepEqual([first.full, first.reused, ports(first)], [true, false, [8080]])
  // Traffic alone (memory, segments), or TCP sockets made in other namespaces (alloc, orphan count the
  // whole host), moves nothing that counts: the table is reused.
  rec.files['/proc/100/net/sockstat'] = sockstat(1).replace('mem 7', 'mem 99').replace('orphan 0', 'orphan 2').replace('alloc 3', 'alloc 40')
  rec.files['/proc/100/net/snmp'] = 'Tcp: RtoAlgorithm ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs\nTcp: 1 0 0 0 0 0 12345\n'
  now += 10_000
  const second = await watcher.scan()
  assert.deepEqual([second.full, second.reused, ports(second)], [false, true, [8080]])
  // A change the counters do not show waits for the full scan...
  rec.files['/proc/100/net/tcp'] = listening('1F91')
  now += 10_000
  assert.deepEqual(ports(await watcher.scan()), [8080])
  // ...which comes fullScanMs after the last one.
  now += 40_000
  const full = await watcher.scan()
  assert.deepEqual([full.full, ports(full)], [true, [8081]])
  // A socket more in the namespace moves its counters: the table is read again at once.
  rec.files['/proc/100/net/tcp'] = listening('1F92')
  rec.files['/proc/100/net/sockstat'] = sockstat(2)
  now += 10_000
  const moved = await watcher.scan()
  assert.deepEqual([moved.full, moved.reused, ports(moved)], [false, false, [8082]])
  // The owner is replaced by another process under the same pid (new start time): read again.
  rec.files['/proc/100/stat'] = '100 (other) S 1 100 100 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9999 0 0'
  now += 10_000
  const replaced = await watcher.scan()
  assert.deepEqual([replaced.reused, replaced.sockets.map(s => s.Name)], [false, ['other']])
})
