import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fixtureFsReader, type FsReader, type FsRecording } from '../../../src/topology/fs-reader.ts'
import { emptyTables, peerNamespaces, socketCounters, socketCounts, SocketWatcher } from '../../../src/topology/socket-watch.ts'
import { connectionKey } from '../../../src/topology/sockets.ts'

const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
/** One /proc/net/tcp line: addresses as `0100007F:1F90`, state in hex. */
const row = (local: string, remote: string, state: string, inode: number): string =>
  `   0: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0 100 0 0 10 0\n`
const sockstat = (tcp: number, tw = 0, udp = 0): string =>
  `sockets: used 9\nTCP: inuse ${tcp} orphan 3 tw ${tw} alloc 40 mem 7\nUDP: inuse ${udp} mem 0\nUDPLITE: inuse 0\n`
const sockstat6 = (tcp = 0, udp = 0): string => `TCP6: inuse ${tcp}\nUDP6: inuse ${udp}\nUDPLITE6: inuse 0\n`
const snmp = (opens: number): string =>
  `Tcp: RtoAlgorithm ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs\nTcp: 1 ${opens} 0 0 0 ${opens} 77\n`

/** Wraps a reader and counts the reads of each kind of /proc path. */
function counting (inner: FsReader): { fs: FsReader, reads: Map<string, number> } {
  const reads = new Map<string, number>()
  const count = (path: string): void => {
    const kind = path.replace(/\/proc\/\d+\//, '/proc/<pid>/').replace(/fd\/\d+$/, 'fd/<n>')
    reads.set(kind, (reads.get(kind) ?? 0) + 1)
  }
  return {
    reads,
    fs: {
      readFile: async (p) => { count(p); return await inner.readFile(p) },
      readlink: async (p) => { count(p); return await inner.readlink(p) },
      readdir: async (p) => { count(p); return await inner.readdir(p) },
      stat: async (p) => { count(p); return await inner.stat(p) }
    }
  }
}

test('socket counters keep what is the namespace\'s own: no host-wide orphan or alloc counts, no memory', () => {
  const one = socketCounters(sockstat(2), sockstat6(), snmp(5))
  assert.match(one, /^TCP: inuse 2 tw 0$/m)
  assert.doesNotMatch(one, /orphan|alloc|mem/)
  // A TCP socket made in another namespace moves orphan and alloc everywhere: not a change here.
  assert.equal(socketCounters(sockstat(2).replace('alloc 40', 'alloc 41').replace('orphan 3', 'orphan 4'), sockstat6(), snmp(5)), one)
  assert.notEqual(socketCounters(sockstat(2), sockstat6(), snmp(6)), one)
})

test('empty tables: a table whose counts are zero lists nothing; unreadable counts empty nothing', () => {
  const empty = (v4: string, v6: string): string[] => [...emptyTables(socketCounts(v4, v6))].sort()
  assert.deepEqual(empty(sockstat(0), sockstat6()), ['tcp', 'tcp6', 'udp', 'udp6'])
  assert.deepEqual(empty(sockstat(1), sockstat6(0, 2)), ['tcp6', 'udp'])
  // TIME_WAIT sockets are counted in the IPv4 line for both families.
  assert.deepEqual(empty(sockstat(0, 1), sockstat6()), ['udp', 'udp6'])
  assert.deepEqual(empty(sockstat(0), ''), ['tcp', 'udp'])
  assert.deepEqual(empty('', ''), [])
  assert.deepEqual(empty('TCP: inuse x tw 0\n', ''), [])
  assert.deepEqual(socketCounts('sockets: used 2\nTCP: inuse 12 orphan 0 tw 345 alloc 9 mem 2\nUDP: inuse 0 mem 0\n', 'TCP6: inuse 7\nUDP6: inuse 1\n'),
    { tcp: 12, tw: 345, udp: 0, tcp6: 7, udp6: 1 })
})

test('peer namespaces: those holding the other end of a connection of the given ones', () => {
  const a = 1
  const b = 2
  const c = 3
  const connections = new Map([
    [a, [connectionKey('10.0.0.1', 8080, '10.0.0.2', 40000)]],
    [b, [connectionKey('10.0.0.2', 40000, '10.0.0.1', 8080)]],
    [c, [connectionKey('10.0.0.3', 40000, '10.0.0.1', 8080)]]
  ])
  assert.deepEqual([...peerNamespaces(connections, new Set([b]))], [a])
  assert.deepEqual([...peerNamespaces(connections, new Set([a]))], [b])
  assert.deepEqual([...peerNamespaces(connections, new Set([c]))], [])
  assert.deepEqual([...peerNamespaces(connections, new Set())], [])
})

/**
 * Two namespaces: a server (pid 100, namespace 11) with a listener and an accepted connection, a
 * client (pid 200, namespace 22) with its end; and a namespace with a process but no socket (pid
 * 300, namespace 33), like a container running a daemon that only uses netlink.
 */
function twoEnds (): FsRecording {
  const server = '0100000A:1F90' // 10.0.0.1:8080
  const client = '0200000A:9C40' // 10.0.0.2:40000
  const any = '00000000:0000'
  return {
    dirs: { '/proc': ['100', '200', '300', 'self'], '/proc/100/fd': ['3', '4'], '/proc/200/fd': ['3'], '/proc/300/fd': ['0'] },
    links: {
      '/proc/100/ns/net': 'net:[11]',
      '/proc/200/ns/net': 'net:[22]',
      '/proc/300/ns/net': 'net:[33]',
      '/proc/100/fd/3': 'socket:[501]',
      '/proc/100/fd/4': 'socket:[502]',
      '/proc/200/fd/3': 'socket:[601]',
      '/proc/300/fd/0': '/dev/null',
      '/proc/100/exe': '/usr/bin/server',
      '/proc/200/exe': '/usr/bin/client'
    },
    files: {
      '/proc/100/stat': '100 (server) S 1 100 100 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0',
      '/proc/200/stat': '200 (client) S 1 200 200 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4343 0 0',
      '/proc/100/net/tcp': header + row(server, any, '0A', 501) + row(server, client, '01', 502),
      '/proc/100/net/tcp6': header,
      '/proc/100/net/udp': header,
      '/proc/100/net/udp6': header,
      '/proc/100/net/sockstat': sockstat(2),
      '/proc/100/net/sockstat6': sockstat6(),
      '/proc/100/net/snmp': snmp(1),
      '/proc/200/net/tcp': header + row(client, server, '01', 601),
      '/proc/200/net/tcp6': header,
      '/proc/200/net/udp': header,
      '/proc/200/net/udp6': header,
      '/proc/200/net/sockstat': sockstat(1),
      '/proc/200/net/sockstat6': sockstat6(),
      '/proc/200/net/snmp': snmp(1),
      // Namespace 33 has no socket table worth reading: reading one would fail the test.
      '/proc/300/net/sockstat': sockstat(0),
      '/proc/300/net/sockstat6': sockstat6()
    },
    stats: {}
  }
}

const states = (r: { sockets: Array<{ Name: string, State: string, LocalPort: number }> }): string[] =>
  r.sockets.map(s => `${s.Name} ${s.LocalPort} ${s.State}`).sort()

test('a namespace without sockets costs its counts only; fds are walked again only for sockets not seen before', async () => {
  const rec = twoEnds()
  const { fs, reads } = counting(fixtureFsReader(rec))
  let now = 1_000_000
  const watcher = new SocketWatcher(fs, { fullScanMs: 60_000, now: () => now })
  const first = await watcher.scan()
  assert.deepEqual(states(first), ['client 40000 ESTABLISHED', 'server 8080 ESTABLISHED', 'server 8080 LISTEN'])
  assert.equal(reads.get('/proc/<pid>/net/snmp'), 2) // not for namespace 33
  assert.equal(first.walked, true)

  // The client's socket changes state and its namespace's counters move: its table (and the server's,
  // at the other end) is read again, but every socket in them was seen by the last walk: no walk.
  rec.files['/proc/200/net/tcp'] = (rec.files['/proc/200/net/tcp'] ?? '').replace(' 01 ', ' 04 ')
  rec.files['/proc/200/net/snmp'] = snmp(2)
  now += 10_000
  reads.clear()
  const second = await watcher.scan()
  assert.deepEqual([second.reused, second.walked], [false, false])
  assert.equal(reads.get('/proc/<pid>/fd/<n>'), undefined)
  assert.equal(reads.get('/proc/<pid>/net/tcp'), 2)
  assert.deepEqual(states(second), ['client 40000 FIN_WAIT1', 'server 8080 ESTABLISHED', 'server 8080 LISTEN'])

  // A socket with a new inode: found by walking the fds.
  rec.files['/proc/200/net/tcp'] += row('0200000A:9C42', '0100000A:1F90', '02', 602)
  rec.files['/proc/200/net/sockstat'] = sockstat(2)
  rec.links['/proc/200/fd/4'] = 'socket:[602]'
  rec.dirs['/proc/200/fd'] = ['3', '4']
  now += 10_000
  const third = await watcher.scan()
  assert.equal(third.walked, true)
  assert.deepEqual(states(third), ['client 40000 FIN_WAIT1', 'client 40002 SYN_SENT', 'server 8080 ESTABLISHED', 'server 8080 LISTEN'])
})

test('the other end of a connection is read again when one end closes, though its own counters stand still', async () => {
  const rec = twoEnds()
  let now = 1_000_000
  const watcher = new SocketWatcher(fixtureFsReader(rec), { fullScanMs: 60_000, now: () => now })
  await watcher.scan()
  // The client exits: its namespace has no process left; the server's end goes to CLOSE_WAIT, and
  // nothing in the server namespace's counters says so (CurrEstab counts CLOSE_WAIT too).
  rec.dirs['/proc'] = ['100', '300', 'self']
  rec.files['/proc/100/net/tcp'] = (rec.files['/proc/100/net/tcp'] ?? '').replace(' 01 ', ' 08 ')
  now += 10_000
  const after = await watcher.scan()
  assert.equal(after.full, false)
  assert.deepEqual(states(after), ['server 8080 CLOSE_WAIT', 'server 8080 LISTEN'])
})

test('a full scan reads every table, and walks every fd only when an owner no longer holds its socket', async () => {
  const rec = twoEnds()
  // A forking server: the child (pid 150) holds the accepted connection too.
  rec.dirs['/proc'] = ['100', '150', '200', '300', 'self']
  rec.dirs['/proc/150/fd'] = ['5']
  rec.links['/proc/150/ns/net'] = 'net:[11]'
  rec.links['/proc/150/fd/5'] = 'socket:[502]'
  rec.links['/proc/150/exe'] = '/usr/bin/server'
  rec.files['/proc/150/stat'] = '150 (server-child) S 100 100 100 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4400 0 0'
  const { fs, reads } = counting(fixtureFsReader(rec))
  let now = 1_000_000
  const watcher = new SocketWatcher(fs, { fullScanMs: 60_000, now: () => now })
  const owners = (r: { sockets: Array<{ Name: string, LocalPort: number, RemotePort: number }> }): string[] =>
    r.sockets.map(s => `${s.LocalPort}>${s.RemotePort} ${s.Name}`).sort()
  assert.deepEqual(owners(await watcher.scan()), ['40000>8080 client', '8080>0 server', '8080>40000 server'])

  // Nothing moved, a minute later: every table is read, only the owners' fds are looked at.
  now += 60_000
  reads.clear()
  const full = await watcher.scan()
  assert.deepEqual([full.full, full.walked], [true, false])
  assert.equal(reads.get('/proc/<pid>/net/tcp'), 2)
  assert.deepEqual(reads.get('/proc/<pid>/fd'), 2) // pids 100 and 200
  // The parent closes its copy, which moves no counter: the next full scan credits the child.
  rec.dirs['/proc/100/fd'] = ['3']
  now += 10_000
  assert.deepEqual(owners(await watcher.scan()), ['40000>8080 client', '8080>0 server', '8080>40000 server'])
  now += 60_000
  const after = await watcher.scan()
  assert.equal(after.walked, true)
  assert.deepEqual(owners(after), ['40000>8080 client', '8080>0 server', '8080>40000 server-child'])
})
