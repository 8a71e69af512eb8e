import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseProcAddress, parseProcNet, parseStatComm, scanSockets } from '../../../src/topology/sockets.ts'
import { formatIPv6 } from '../../../src/flow/decode/bytes.ts'
import type { SocketInfo } from '../../../src/topology/types.ts'
import { A, B, fixtureDir, fixtureFs, manifest } from './fixtures.ts'

/** What `ss -Htuanp` printed in a namespace, in SocketInfo terms. */
function ssSockets (ns: string): Array<Omit<SocketInfo, 'Process'>> {
  const states: Record<string, string> = { ESTAB: 'ESTABLISHED', LISTEN: 'LISTEN', UNCONN: 'CLOSE' }
  const endpoint = (s: string): [string, number] => {
    const i = s.lastIndexOf(':')
    const host = s.slice(0, i).replace(/^\[|\]$/g, '')
    return [host === '*' ? '::' : host, s.slice(i + 1) === '*' ? 0 : Number(s.slice(i + 1))]
  }
  return readFileSync(join(fixtureDir, 'ip', `${ns}.ss.txt`), 'utf8').trim().split('\n').map((line) => {
    const f = line.trim().split(/\s+/)
    const [la, lp] = endpoint(f[4] ?? '')
    const [ra, rp] = endpoint(f[5] ?? '')
    const user = /\("([^"]+)",pid=(\d+)/.exec(line)
    return {
      Pid: Number(user?.[2]),
      Name: user?.[1] ?? '',
      LocalAddress: la,
      LocalPort: lp,
      RemoteAddress: ra,
      RemotePort: rp,
      Protocol: f[0] === 'tcp' ? 'TCP' as const : 'UDP' as const,
      State: states[f[1] ?? ''] ?? '?'
    }
  })
}

test('every socket of the recorded namespaces, with its process, as ss reported it', async () => {
  const result = await scanSockets(fixtureFs())
  const expected = [...ssSockets(A), ...ssSockets(B)]
  const key = (s: Omit<SocketInfo, 'Process'>): string => JSON.stringify([s.Protocol, s.LocalAddress, s.LocalPort, s.RemoteAddress, s.RemotePort, s.State, s.Pid, s.Name])
  assert.deepEqual(result.sockets.map(key).sort(), expected.map(key).sort())
  for (const s of result.sockets) assert.equal(s.Process, manifest.execPath)
  const listener = result.sockets.find(s => s.LocalPort === 8080 && s.State === 'LISTEN')
  assert.deepEqual(listener, {
    Process: manifest.execPath,
    Pid: manifest.pids.server,
    Name: 'node',
    LocalAddress: '10.10.0.1',
    LocalPort: 8080,
    RemoteAddress: '0.0.0.0',
    RemotePort: 0,
    Protocol: 'TCP',
    State: 'LISTEN'
  })
  assert.equal(result.namespaces, 2)
  assert.equal(result.skippedProcesses, 0)
})

test('a process that exits mid-scan loses its sockets, counted, never a failure', async () => {
  const fs = fixtureFs((rec) => {
    delete rec.links[`/proc/${manifest.pids.client}/exe`] // exited between the fd walk and the process read
    rec.dirs['/proc']?.push('999999') // listed but already gone
  })
  const result = await scanSockets(fs)
  assert.equal(result.sockets.some(s => s.Pid === manifest.pids.client), false)
  assert.equal(result.sockets.filter(s => s.Pid === manifest.pids.server).length, 4)
  assert.equal(result.skippedProcesses, 2)
  assert.equal(result.unowned, 1)
})

test('a namespace whose only process vanished is skipped', async () => {
  const fs = fixtureFs((rec) => {
    for (const f of ['tcp', 'tcp6', 'udp', 'udp6']) delete rec.files[`/proc/${manifest.pids.server}/net/${f}`]
  })
  const result = await scanSockets(fs)
  assert.equal(result.namespaces, 1)
  assert.deepEqual(result.sockets.map(s => s.Pid), [manifest.pids.client])
})

test('/proc/net lines: addresses, ports, states, bad lines counted', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0 100 0 0 10 0',
    '   1: 0100000A:1F90 0200000A:B012 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0 20 4 30 10 -1',
    '   2: garbage',
    ''
  ].join('\n')
  const { entries, malformed } = parseProcNet(text)
  assert.equal(malformed, 1)
  assert.deepEqual(entries[0], { localAddress: '10.0.0.1', localPort: 8080, remoteAddress: '0.0.0.0', remotePort: 0, state: 'LISTEN', inode: 12345 })
  assert.deepEqual(entries[1], { localAddress: '10.0.0.1', localPort: 8080, remoteAddress: '10.0.0.2', remotePort: 45074, state: 'ESTABLISHED', inode: 12346 })
  // UDP sockets that are not connected are in kernel state 7, CLOSE.
  const udp = parseProcNet('hdr\n 0: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 777 2 0 0\n')
  assert.equal(udp.entries[0]?.state, 'CLOSE')
})

test('IPv6 addresses print like Go does, IPv4-mapped ones as IPv4', () => {
  assert.deepEqual(parseProcAddress('00000000000000000000000000000000:1F91'), { address: '::', port: 8081 })
  assert.deepEqual(parseProcAddress('00000000000000000000000001000000:0016'), { address: '::1', port: 22 })
  assert.deepEqual(parseProcAddress('0000000000000000FFFF00000100007F:0050'), { address: '127.0.0.1', port: 80 })
  assert.deepEqual(parseProcAddress('000010FD000000000000000001000000:0050'), { address: 'fd10::1', port: 80 })
  assert.equal(formatIPv6(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), 0), '2001:db8:0:1::1')
  assert.equal(formatIPv6(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]), 0), '2001:db8:1::1:0:1')
  assert.equal(parseProcAddress('zz:1'), undefined)
})

test('process name comes from the comm field, even with spaces and parentheses', () => {
  assert.equal(parseStatComm('1234 (my (odd) name) S 1 1234 1234 0'), 'my (odd) name')
  assert.equal(parseStatComm('garbage'), undefined)
})
