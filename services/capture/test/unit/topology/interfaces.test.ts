import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseLink, parseNamespaceDump, type IpLink } from '../../../src/topology/ip-json.ts'
import { interfaceMetadata, linkCounters, linkDriver, linkType, routingTablesOf } from '../../../src/topology/interfaces.ts'
import { firstMetric, refreshMetric } from '../../../src/topology/metrics.ts'
import { A, batchText } from './fixtures.ts'

const dumpA = parseNamespaceDump(batchText(A))
const linkA = (name: string): IpLink => {
  const link = dumpA.links.find(l => l.name === name)
  assert.ok(link, `${name} in the fixture`)
  return link
}
const metaA = (name: string): Record<string, unknown> =>
  interfaceMetadata(linkA(name), { nsLinks: dumpA.links, routes: dumpA.routes, neighbors: dumpA.neighbors })

test('veth: Skydive keys, peer index, addresses as CIDR arrays, oper state and flags', () => {
  const m = metaA('veth-a')
  const raw = linkA('veth-a')
  assert.equal(m.Name, 'veth-a')
  assert.equal(m.Type, 'veth')
  assert.equal(m.EncapType, 'ether')
  assert.equal(m.IfIndex, raw.ifIndex)
  assert.equal(m.Driver, 'veth')
  assert.equal(m.MTU, 1500)
  assert.equal(m.MAC, raw.address)
  assert.equal(m.PeerIfIndex, 2)
  assert.equal(m.ParentIndex, 2)
  assert.equal(m.LinkNetNsID, 0)
  assert.deepEqual(m.IPV4, ['10.10.0.1/24'])
  assert.ok(Array.isArray(m.IPV6) && m.IPV6.includes('fd10::1/64'))
  assert.equal(m.State, 'UP')
  assert.deepEqual(m.LinkFlags, ['UP', 'BROADCAST', 'MULTICAST'])
})

test('bridge, member, macvlan, vxlan, tap and loopback get their types and relations', () => {
  const br0 = metaA('br0')
  assert.equal(br0.Type, 'bridge')
  assert.equal(br0.Driver, 'bridge')
  const port0 = metaA('port0')
  assert.equal(port0.MasterIndex, br0.IfIndex)
  assert.equal(port0.PeerIfIndex, linkA('port0-peer').ifIndex)
  const mv0 = metaA('mv0')
  assert.equal(mv0.Type, 'macvlan')
  assert.equal(mv0.ParentIndex, linkA('veth-a').ifIndex)
  assert.equal(mv0.PeerIfIndex, undefined)
  const vx0 = metaA('vx0')
  assert.equal(vx0.Type, 'vxlan')
  assert.equal(vx0.MTU, 1450)
  assert.equal(vx0.ParentIndex, linkA('veth-a').ifIndex)
  assert.equal(vx0.State, 'DOWN')
  assert.equal(vx0.IPV4, undefined)
  const tap = metaA('tap0')
  assert.equal(tap.Type, 'tuntap')
  assert.equal(tap.Driver, 'tun')
  const lo = metaA('lo')
  assert.equal(lo.Type, 'device')
  assert.equal(lo.EncapType, 'loopback')
  assert.equal(lo.Driver, '')
  assert.deepEqual(lo.LinkFlags, ['UP', 'LOOPBACK'])
})

test('routing tables group the routes leaving through the interface', () => {
  const tables = routingTablesOf(linkA('veth-a'), dumpA.routes)
  assert.deepEqual(tables.map(t => t.ID), [254, 255])
  const main = tables[0]
  assert.ok(main)
  assert.deepEqual(main.Routes.find(r => r.Prefix === '10.20.0.0/16'), {
    Protocol: 3,
    Prefix: '10.20.0.0/16',
    NextHops: [{ Priority: 50, IP: '10.10.0.2', IfIndex: linkA('veth-a').ifIndex }]
  })
  assert.equal(main.Src, '10.10.0.1')
  const multi = routingTablesOf(linkA('veth-a'), [
    { table: 254, prefix: '0.0.0.0/0', protocol: 4, family: 4, nexthops: [{ gateway: '10.10.0.2', dev: 'veth-a' }, { gateway: '10.0.0.1', dev: 'other' }] },
    { table: 254, prefix: '0.0.0.0/0', protocol: 4, family: 4, dev: 'veth-a', gateway: '10.10.0.3', metric: 10, nexthops: [] }
  ])
  assert.deepEqual(multi[0]?.Routes, [{
    Protocol: 4,
    Prefix: '0.0.0.0/0',
    NextHops: [{ Priority: 0, IP: '10.10.0.2', IfIndex: 2 }, { Priority: 10, IP: '10.10.0.3', IfIndex: 2 }]
  }])
})

test('neighbours in Skydive shape', () => {
  const m = metaA('veth-a')
  const permanent = (m.Neighbors as Array<Record<string, unknown>>).find(n => n.IP === '10.10.0.9')
  assert.deepEqual(permanent, { MAC: '02:00:00:00:00:09', IP: '10.10.0.9', State: ['NUD_PERMANENT'], IfIndex: linkA('veth-a').ifIndex })
})

test('vlan and bond links (no 802.1Q or bonding module here: hand-written iproute2 output)', () => {
  const eth0 = parseLink({ ifindex: 2, ifname: 'eth0', flags: ['UP'], operstate: 'UP', link_type: 'ether', address: '02:00:00:00:00:01', master: 'bond0', linkinfo: { info_slave_kind: 'bond', info_slave_data: { state: 'ACTIVE', mii_status: 'UP', link_failure_count: 0, perm_hwaddr: '02:00:00:00:00:01', queue_id: 0 } } })
  const bond0 = parseLink({ ifindex: 3, ifname: 'bond0', flags: ['UP', 'MASTER'], operstate: 'UP', link_type: 'ether', linkinfo: { info_kind: 'bond', info_data: { mode: '802.3ad' } } })
  const vlan = parseLink({ ifindex: 4, ifname: 'bond0.10', link: 'bond0', flags: ['UP'], operstate: 'LOWERLAYERDOWN', link_type: 'ether', linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 10 } } })
  assert.ok(eth0 && bond0 && vlan)
  const links = [eth0, bond0, vlan]
  const facts = { nsLinks: links, routes: [], neighbors: [] }
  const v = interfaceMetadata(vlan, facts)
  assert.equal(v.Type, 'vlan')
  assert.equal(v.Vlan, 10)
  assert.equal(v.ParentIndex, 3)
  assert.equal(v.Driver, '802.1Q VLAN Support')
  assert.equal(v.State, 'LOWERLAYERDOWN')
  const b = interfaceMetadata(bond0, facts)
  assert.equal(b.BondMode, '802.3ad')
  assert.equal(b.Driver, 'bonding')
  const e = interfaceMetadata(eth0, { ...facts, busDriver: 'virtio_net', speed: 10000 })
  assert.equal(e.MasterIndex, 3)
  assert.equal(e.Driver, 'virtio_net')
  assert.equal(e.Speed, 10000)
  assert.deepEqual(e.BondSlave, { Type: 'bond', State: 'ACTIVE', MiiStatus: 'UP', LinkFailureCount: 0, QueueId: 0, PermMAC: '02:00:00:00:00:01' })
  assert.equal(linkType(eth0), 'device')
  assert.equal(linkDriver(eth0, undefined), '')
})

test('counters use InterfaceMetric names; refresh yields the delta since the last refresh', () => {
  const link = parseLink({ ifindex: 1, ifname: 'x', stats64: { rx: { bytes: 100, packets: 2, errors: 0 }, tx: { bytes: 50, packets: 1, collisions: 0 } } })
  assert.ok(link)
  const counters = linkCounters(link)
  assert.deepEqual(counters, { RxBytes: 100, RxPackets: 2, TxBytes: 50, TxPackets: 1 })
  const m0 = firstMetric(counters ?? {}, 1000)
  assert.deepEqual(m0.Metric, { RxBytes: 100, RxPackets: 2, TxBytes: 50, TxPackets: 1, Start: 1000, Last: 1000 })
  assert.equal(m0.LastUpdateMetric, undefined)
  const m1 = refreshMetric(m0, { RxBytes: 160, RxPackets: 3, TxBytes: 50, TxPackets: 1 }, 31000)
  assert.deepEqual(m1.Metric, { RxBytes: 160, RxPackets: 3, TxBytes: 50, TxPackets: 1, Start: 1000, Last: 31000 })
  assert.deepEqual(m1.LastUpdateMetric, { RxBytes: 60, RxPackets: 1, Start: 1000, Last: 31000 })
  const reset = refreshMetric(m1, { RxBytes: 5 }, 61000)
  assert.deepEqual(reset.LastUpdateMetric, { RxBytes: 5, Start: 31000, Last: 61000 })
  assert.equal(refreshMetric(reset, { RxBytes: 5 }, 91000), reset, 'idle interface: nothing to publish')
})
