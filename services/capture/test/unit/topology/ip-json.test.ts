import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TopoflowError } from '@topoflow/core'
import { parseIdNameFile, parseNamespaceDump, parseRoute, routePrefix } from '../../../src/topology/ip-json.ts'
import { splitJsonValues } from '../../../src/topology/util.ts'
import { A, B, batchText, ipJson } from './fixtures.ts'

test('splitJsonValues cuts concatenated ip -batch outputs, brackets inside strings included', () => {
  assert.deepEqual(splitJsonValues('[1,[2]]\n[{"a":"]["}]\n[]\n'), ['[1,[2]]', '[{"a":"]["}]', '[]'])
  assert.deepEqual(splitJsonValues('[{"s":"a\\"]b"}]'), ['[{"s":"a\\"]b"}]'])
  assert.deepEqual(splitJsonValues('Command failed -:4\n'), [])
})

test('recorded links equal what ip -json -details link and ip -json addr print in the namespace', () => {
  for (const ns of [A, B]) {
    const dump = parseNamespaceDump(batchText(ns))
    const links = ipJson(`${ns}.link.json`)
    const addrs = ipJson(`${ns}.addr.json`)
    assert.equal(dump.links.length, links.length, ns)
    for (const expected of links) {
      const link = dump.links.find(l => l.ifIndex === expected.ifindex)
      assert.ok(link, `${ns}: ifindex ${String(expected.ifindex)} parsed`)
      assert.equal(link.name, expected.ifname)
      assert.equal(link.address, expected.address)
      assert.equal(link.mtu, expected.mtu)
      assert.equal(link.operState, expected.operstate)
      const addr = addrs.find(a => a.ifindex === expected.ifindex) as { addr_info: Array<{ local: string, prefixlen: number }> }
      assert.deepEqual(link.addresses.map(a => `${a.local}/${a.prefixLen}`), addr.addr_info.map(a => `${a.local}/${a.prefixlen}`))
    }
  }
})

test('links keep kind, master, IFLA_LINK, nsid, bus and counters', () => {
  const a = parseNamespaceDump(batchText(A))
  const byName = new Map(a.links.map(l => [l.name, l]))
  assert.equal(byName.get('br0')?.kind, 'bridge')
  assert.equal(byName.get('port0')?.master, 'br0')
  assert.equal(byName.get('port0')?.slaveKind, 'bridge')
  assert.equal(byName.get('port0')?.linkName, 'port0-peer')
  assert.equal(byName.get('veth-a')?.linkIndex, 2)
  assert.equal(byName.get('veth-a')?.linkNetnsId, 0)
  assert.equal(byName.get('mv0')?.linkName, 'veth-a')
  assert.equal(byName.get('vx0')?.infoData.link, 'veth-a')
  assert.equal(byName.get('vx0')?.infoData.id, 42)
  assert.equal(byName.get('tap0')?.kind, 'tun')
  assert.equal(byName.get('lo')?.kind, undefined)
  assert.equal(typeof byName.get('veth-a')?.stats?.rx_bytes, 'number')
  assert.equal(typeof byName.get('veth-a')?.stats?.tx_window_errors, 'number')
  assert.deepEqual([...a.nsids], [[0, B]])
  const root = parseNamespaceDump(batchText('root'))
  const eth0 = root.links.find(l => l.name === 'eth0')
  assert.equal(eth0?.parentBus, 'virtio')
  assert.equal(eth0?.kind, undefined)
})

test('routes get numeric tables and protocols, canonical prefixes and a family', () => {
  const a = parseNamespaceDump(batchText(A))
  const via = a.routes.find(r => r.prefix === '10.20.0.0/16')
  assert.deepEqual(via, { table: 254, prefix: '10.20.0.0/16', protocol: 3, family: 4, type: 'unicast', dev: 'veth-a', gateway: '10.10.0.2', metric: 50, nexthops: [] })
  const local = a.routes.find(r => r.prefix === '10.10.0.1/32')
  assert.equal(local?.table, 255)
  assert.equal(local?.protocol, 2)
  assert.equal(a.routes.find(r => r.prefix === 'fd10::1/128')?.family, 6)
  const root = parseNamespaceDump(batchText('root'))
  assert.deepEqual(root.routes.filter(r => r.prefix.endsWith('/0')).map(r => [r.prefix, r.family, r.gateway]), [
    ['0.0.0.0/0', 4, '192.0.2.1'],
    ['::/0', 6, 'fd00::1']
  ])
  assert.equal(routePrefix('default', 6), '::/0')
  assert.equal(routePrefix('10.0.0.1', 4), '10.0.0.1/32')
})

test('multipath routes and custom table or protocol names', () => {
  const names = { tables: { ...parseIdNameFile('# comment\n100 blue\n0x65 red\n'), main: 254 }, protocols: { zebra: 11 } }
  assert.deepEqual(names.tables, { blue: 100, red: 101, main: 254 })
  const r = parseRoute({ dst: '10.9.0.0/16', table: 'blue', protocol: 'zebra', nexthops: [{ gateway: '10.0.0.1', dev: 'eth0' }, { gateway: '10.0.1.1', dev: 'eth1' }] }, names)
  assert.equal(r?.table, 100)
  assert.equal(r?.protocol, 11)
  assert.deepEqual(r?.nexthops, [{ gateway: '10.0.0.1', dev: 'eth0' }, { gateway: '10.0.1.1', dev: 'eth1' }])
  assert.equal(parseRoute({ dst: 'default', table: 'unheard-of' })?.table, -1)
})

test('neighbours keep state and flags', () => {
  const a = parseNamespaceDump(batchText(A))
  const permanent = a.neighbors.find(n => n.dst === '10.10.0.9')
  assert.deepEqual(permanent, { dev: 'veth-a', state: ['PERMANENT'], flags: [], dst: '10.10.0.9', lladdr: '02:00:00:00:00:09' })
  const dump = parseNamespaceDump('[]\n[]\n[{"dst":"10.0.0.1","dev":"eth0","lladdr":"02:00:00:00:00:01","router":null,"state":["STALE"]}]\n[]')
  assert.deepEqual(dump.neighbors[0]?.flags, ['NTF_ROUTER'])
})

test('bad ip output fails clearly, malformed entries are counted', () => {
  assert.throws(() => parseNamespaceDump(''), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_DECODE')
  assert.throws(() => parseNamespaceDump('{"not":"an array"}'), /Expected a JSON array of links/)
  const dump = parseNamespaceDump('[{"ifindex":1,"ifname":"lo"},{"ifname":"no-index"},7]\n[{"dev":"lo"}]\n[]')
  assert.equal(dump.links.length, 1)
  assert.equal(dump.malformed, 3)
  assert.equal(dump.nsids.size, 0)
})
