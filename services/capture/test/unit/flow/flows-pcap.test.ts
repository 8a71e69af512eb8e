import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FinishType, type Flow } from '../../../src/flow/index.ts'
import { collectFlows, counts } from './helpers.ts'

// Expected per-direction [packets, bytes] come from `tcpdump -nn -e -r FILE` (frame lengths summed
// per conversation, A = source of the first packet). Skydive identifiers come from a model of
// Skydive's flow/flow.go on gopacket v1.1.17 and pierrec/xxHash v0.1.5 run on the same files.

function one (flows: Flow[], pred: (f: Flow) => boolean, what: string): Flow {
  const found = flows.filter(pred)
  assert.equal(found.length, 1, `one flow expected for ${what}, got ${found.length}`)
  return found[0] as Flow
}

test('TCP over Ethernet: counts equal tcpdump, SYN→SYN-ACK RTT, FIN finish, TCPMetric (ssh.pcap)', async () => {
  const flows = await collectFlows('ssh.pcap', { extraTcpMetric: true })
  assert.equal(flows.length, 1)
  const f = flows[0] as Flow
  assert.equal(f.LayersPath, 'Ethernet/IPv4/TCP')
  assert.equal(f.Application, 'TCP')
  assert.deepEqual(f.Network, { Protocol: 'IPV4', A: '202.108.87.165', B: '223.132.53.222', ID: 0 })
  assert.deepEqual(f.Transport, { Protocol: 'TCP', A: 62146, B: 22, ID: 0 })
  assert.deepEqual(counts(f), [[30, 7021], [24, 4939]])
  // tcpdump -tt: SYN at 1545562209.891237, SYN-ACK at 1545562209.916918
  assert.equal(f.Metric.RTT, 25681000)
  assert.equal(f.FinishType, FinishType.TCP_FIN)
  assert.equal(f.TCPMetric?.ABSynStart, 1545562209891)
  assert.equal(f.TCPMetric?.BASynStart, 1545562209916)
  assert.equal(f.TCPMetric?.ABSynTTL, 64)
  assert.equal(f.TCPMetric?.BASynTTL, 54)
  assert.ok((f.TCPMetric?.ABFinStart ?? 0) > 0 && (f.TCPMetric?.BAFinStart ?? 0) > 0)
  assert.equal(f.Start, 1545562209891)
  assert.equal(f.CommunityID, '1:k6wCkRBMrQsIchR4lXFOEVxatDI=')
})

test('more TCP conversations match tcpdump per direction', async () => {
  const expected: Record<string, Array<[string, [number, number], [number, number]]>> = {
    'dns_tcp.pcap': [['192.168.1.11:33779', [6, 402], [5, 520]]],
    // Linux cooked capture: IP lengths, i.e. tcpdump's frame lengths less the 16-byte SLL header
    'mptcp-v1.pcap': [['10.0.1.1:33306', [11, 11200 - 11 * 16], [9, 11044 - 9 * 16]]]
  }
  for (const [file, convs] of Object.entries(expected)) {
    const flows = await collectFlows(file)
    for (const [a, ab, ba] of convs) {
      const [ip, port] = a.split(':')
      const f = one(flows, x => x.Network?.A === ip && x.Transport?.A === Number(port), `${file} ${a}`)
      assert.deepEqual(counts(f), [ab, ba], `${file} ${a}`)
    }
  }
})

test('nanosecond Linux-cooked capture: TCP RTT to the nanosecond, no link layer', async () => {
  const [f, ...rest] = await collectFlows('tcp-handshake-nano.pcap')
  assert.equal(rest.length, 0)
  assert.ok(f !== undefined)
  assert.equal(f.LayersPath, 'IPv4/TCP') // Linux SLL is not part of LayersPath
  assert.equal(f.Link, undefined)
  // 1418145370.052027262 - 1418145369.924505488
  assert.equal(f.Metric.RTT, 127521774)
  assert.equal(f.Metric.ABPackets, 2)
  assert.equal(f.Metric.BAPackets, 1)
})

test('VXLAN: outer flow keyed by VNI (source ports ignored) and inner flows with ParentUUID (vxlan.pcap)', async () => {
  const flows = await collectFlows('vxlan.pcap')
  const outer = one(flows, f => f.LayersPath === 'Ethernet/IPv4/UDP/VXLAN', 'outer')
  assert.equal(outer.Application, 'VXLAN')
  assert.equal(outer.Network?.ID, 100)
  // tcpdump: 4×148 + 1×92 bytes each way, over four different UDP source ports
  assert.deepEqual(counts(outer), [[5, 684], [5, 684]])
  const icmp = one(flows, f => f.LayersPath === 'Ethernet/IPv4/ICMPv4', 'inner ICMP')
  assert.equal(icmp.ParentUUID, outer.UUID)
  assert.deepEqual(icmp.Network, { Protocol: 'IPV4', A: '192.168.203.3', B: '192.168.203.5', ID: 0 })
  assert.deepEqual(icmp.ICMP, { Type: 'ECHO', ID: 1292 })
  assert.deepEqual(counts(icmp), [[4, 392], [4, 392]])
  // last echo pair: request 1368908507.841976, reply 1368908507.885359
  assert.equal(icmp.Metric.RTT, 43383000)
  const arps = flows.filter(f => f.LayersPath === 'Ethernet/ARP')
  assert.equal(arps.length, 2)
  assert.ok(arps.every(f => f.ParentUUID === outer.UUID))
})

test('VXLAN on Linux port 8472: identifiers equal Skydive\'s', async () => {
  const flows = await collectFlows('vxlan_port_8472.pcap')
  const byUuid = new Map(flows.map(f => [f.UUID, f]))
  const reference: Array<[string, string, string, string, string]> = [
    // UUID, ParentUUID, LayersPath, TrackingID, L3TrackingID
    ['820ba73068d68d14', '', 'Ethernet/IPv4/UDP/VXLAN', 'e0a5c00ddbbf2d66', '95ba459d9939dfce'],
    ['b5880f3f5370689a', '820ba73068d68d14', 'Ethernet/IPv4/ICMPv4', '76268b09160d8a1d', '9760a9601ffba18e'],
    ['32414c14f94b7af4', '820ba73068d68d14', 'Ethernet/ARP', '59639520619bb68e', 'ef46db3751d8e999'],
    ['77d3846347b312c7', '820ba73068d68d14', 'Ethernet/ARP', '59ab3e24427ef0fe', 'ef46db3751d8e999']
  ]
  assert.equal(flows.length, reference.length)
  for (const [uuid, parent, path, tid, l3] of reference) {
    const f = byUuid.get(uuid)
    assert.ok(f !== undefined, `flow ${uuid}`)
    assert.deepEqual([f.ParentUUID, f.LayersPath, f.TrackingID, f.L3TrackingID], [parent, path, tid, l3])
  }
})

test('Geneve over IPv6 and IPv4: outer and inner flows, identifiers equal Skydive\'s', async () => {
  const flows = await collectFlows('gso-ipv6-vxlan-ipv4.pcap')
  assert.deepEqual(flows.map(f => [f.UUID, f.ParentUUID, f.LayersPath, f.TrackingID, f.L3TrackingID]).sort(), [
    ['3c66e25aac3f714', '', 'Ethernet/IPv6/UDP/VXLAN', 'dbdcc2de00f4f2c7', 'd865ff617ede79a7'],
    ['4f1808dd5bab38dc', '3c66e25aac3f714', 'Ethernet/IPv4/TCP', 'aa8c9e00b3e1fa75', '2aff258af7c86431']
  ].sort())
  const g = await collectFlows('geneve.pcap')
  const outers = g.filter(f => f.LayersPath === 'Ethernet/IPv4/UDP/Geneve')
  assert.deepEqual(outers.map(f => [f.Network?.A, f.Network?.ID, counts(f)]).sort(), [
    // tcpdump: 20.0.0.1 → 20.0.0.2 VNI 10 over two source ports: 3/468 + 16/4559; the other way VNI 11: 3/444 + 17/3809
    ['20.0.0.1', 10, [[19, 5027], [0, 0]]],
    ['20.0.0.2', 11, [[20, 4253], [0, 0]]]
  ])
  const inner = g.filter(f => f.ParentUUID !== '')
  assert.ok(inner.length >= 2)
  for (const f of inner) assert.ok(outers.some(o => o.UUID === f.ParentUUID), `${f.LayersPath} has an outer parent`)
})

test('QinQ: stacked VLAN ids in Link.ID, identifiers equal Skydive\'s (802.1ad_QinQ.pcap)', async () => {
  const flows = await collectFlows('802.1ad_QinQ.pcap')
  assert.deepEqual(flows.map(f => [f.UUID, f.LayersPath, f.Link?.ID, f.TrackingID, counts(f)]), [
    // outer tag 200, inner tag 2001: (2001 << 12) | 200
    ['126be26ed06be7af', 'Ethernet/Dot1Q/Dot1Q/ARP', 8196296, 'ce8d077016dc7e5f', [[1, 64], [0, 0]]],
    ['da009390b79259f4', 'Ethernet/Dot1Q/Dot1Q/ARP', 8196296, 'b4a3d5f095a96408', [[1, 64], [0, 0]]]
  ])
  assert.ok(flows.every(f => f.Application === 'ARP' && f.Network === undefined))
})

test('IPv6 extension headers: hop-by-hop, routing (SRH) with IPv6 inside, ICMPv6 echo', async () => {
  const [hbh] = await collectFlows('bigtcp-ipv6-hbh.pcap')
  assert.equal(hbh?.LayersPath, 'Ethernet/IPv6/IPv6HopByHop/TCP')
  assert.equal(hbh?.UUID, 'be2758f2497d0844') // equal to Skydive's
  assert.equal(hbh?.Network?.A, '2604:1380:4091:ce00::d')
  const [srh] = await collectFlows('ipv6-srh-ext-header.pcap')
  assert.equal(srh?.LayersPath, 'Ethernet/IPv6/IPv6Routing/IPv6/ICMPv6/ICMPv6Echo')
  assert.equal(srh?.Application, 'ICMPv6Echo')
  assert.deepEqual(srh?.ICMP, { Type: 'ECHO', ID: 1774 })
})

test('loopback TCP between equal addresses: direction by port, counts as tcpdump, FIN', async () => {
  const flows = await collectFlows('resp_1_benchmark.pcap')
  const f = one(flows, x => x.Transport?.A === 35911, 'port 35911')
  // Linux cooked capture: Skydive counts IP lengths; tcpdump frames add 16 bytes each (6/459, 4/1186)
  assert.deepEqual(counts(f), [[6, 459 - 6 * 16], [4, 1186 - 4 * 16]])
  assert.equal(f.FinishType, FinishType.TCP_FIN)
})

test('L3 key mode merges MAC pairs and still counts frame lengths', async () => {
  const l2 = await collectFlows('vxlan.pcap', { layerKeyMode: 'L3' })
  const outer = one(l2, f => f.LayersPath === 'Ethernet/IPv4/UDP/VXLAN', 'outer')
  assert.deepEqual(counts(outer), [[5, 684], [5, 684]])
  assert.notEqual(outer.TrackingID, '')
  assert.equal(outer.TrackingID, outer.L3TrackingID) // no link part in the key
})
