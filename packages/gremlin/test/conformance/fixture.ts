import type { Flow, GraphEdge, GraphNode } from '../../src/index.ts'

/**
 * The graph and flows that packages/gremlin's conformance table runs on, shared with services/api's
 * HTTP conformance table (which adds to them): one element per second from T0, so that time-travel
 * queries can tell them apart.
 *
 * host1 ─┬─ ns1 ─┬─ ns1-eth0 (veth 10.0.0.1/24, capture active) ═══ veth1 (veth, on host1)
 *        │       └─ ns1-lo (device 127.0.0.1/8)
 *        ├─ veth1 ══ br0 (bridge, member veth1)
 *        ├─ br0 (bridge 192.168.1.1/24)
 *        ├─ h1-eth0 (device 172.16.0.10/16, routes, neighbors, metrics)
 *        └─ ns2 ── ns2-eth0 (veth 10.0.0.2/24)    ═ layer2, ─ ownership
 * host2 ── h2-eth0 (device 172.16.0.20/16)
 */

/** Epoch ms of the fixture's first element; the fixture clock stands one hour later. */
export const T0 = 1_700_000_000_000
export const NOW = T0 + 3_600_000

export const MAC = {
  ns1eth0: '02:00:00:00:00:01',
  veth1: '02:00:00:00:00:02',
  ns2eth0: '02:00:00:00:00:03',
  br0: '02:00:00:00:00:04',
  eth0: '02:00:00:00:00:05'
}

const at = (second: number): number => T0 + second * 1000

/** A node's first revision, created `second` seconds after T0. */
export function fixtureNode (second: number, ID: string, Host: string, Metadata: Record<string, unknown>): GraphNode {
  return { ID, Host, Origin: `agent.${Host}`, Metadata, CreatedAt: at(second), UpdatedAt: at(second), Revision: 1 }
}

/** An edge's first revision, `<Parent>-><Child>` reported by host1, created `second` seconds after T0. */
export function fixtureEdge (second: number, Parent: string, Child: string, Metadata: Record<string, unknown>): GraphEdge {
  return { ID: `${Parent}->${Child}`, Parent, Child, Host: 'host1', Origin: 'agent.host1', Metadata, CreatedAt: at(second), UpdatedAt: at(second), Revision: 1 }
}

/** The fixture's nodes, fresh objects on every call: a consumer may mutate what it is given. */
export function conformanceNodes (): GraphNode[] {
  return [
    fixtureNode(0, 'host1', 'host1', {
      Name: 'host1',
      Type: 'host',
      TID: 'tid-host1',
      OS: 'linux',
      Sockets: [
        { Process: '/usr/bin/curl', Pid: 100, Name: 'curl', LocalAddress: '10.0.0.1', LocalPort: 43210, RemoteAddress: '10.0.0.2', RemotePort: 80, Protocol: 'TCP', State: 'ESTABLISHED' },
        { Process: '/usr/sbin/sshd', Pid: 22, Name: 'sshd', LocalAddress: '0.0.0.0', LocalPort: 22, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' }
      ]
    }),
    fixtureNode(1, 'ns1', 'host1', { Name: 'ns1', Type: 'netns', Path: '/var/run/netns/ns1', TID: 'tid-ns1' }),
    fixtureNode(2, 'ns1-eth0', 'host1', {
      Name: 'eth0',
      Type: 'veth',
      TID: 'tid-ns1-eth0',
      MAC: MAC.ns1eth0,
      PeerIntfMAC: MAC.veth1,
      MTU: 1500,
      IfIndex: 2,
      State: 'UP',
      IPV4: ['10.0.0.1/24'],
      LinkFlags: ['UP', 'BROADCAST', 'MULTICAST'],
      Captures: [{ ID: 'cap-1', Type: 'afpacket', State: 'active', PacketsReceived: 12 }]
    }),
    fixtureNode(3, 'ns1-lo', 'host1', { Name: 'lo', Type: 'device', TID: 'tid-ns1-lo', MTU: 65536, IfIndex: 1, State: 'UNKNOWN', IPV4: ['127.0.0.1/8'] }),
    fixtureNode(4, 'veth1', 'host1', { Name: 'veth1', Type: 'veth', TID: 'tid-veth1', MAC: MAC.veth1, PeerIntfMAC: MAC.ns1eth0, MTU: 1500, IfIndex: 7, State: 'UP' }),
    fixtureNode(5, 'br0', 'host1', { Name: 'br0', Type: 'bridge', TID: 'tid-br0', MAC: MAC.br0, MTU: 1500, IfIndex: 5, State: 'UP', IPV4: ['192.168.1.1/24'] }),
    fixtureNode(6, 'h1-eth0', 'host1', {
      Name: 'eth0',
      Type: 'device',
      TID: 'tid-h1-eth0',
      MAC: MAC.eth0,
      MTU: 9000,
      IfIndex: 3,
      State: 'UP',
      Speed: 1000,
      IPV4: ['172.16.0.10/16'],
      IPV6: ['fe80::1/64'],
      Neighbors: [{ IP: '172.16.0.1', MAC: '02:00:00:00:00:fe', IfIndex: 3, State: ['REACHABLE'] }],
      RoutingTables: [{
        ID: 254,
        Src: '172.16.0.10',
        Routes: [
          { Protocol: 2, Prefix: '0.0.0.0/0', NextHops: [{ Priority: 0, IP: '172.16.0.1', IfIndex: 3 }] },
          { Protocol: 2, Prefix: '172.16.0.0/16', NextHops: [{ Priority: 0, IfIndex: 3 }] },
          { Protocol: 2, Prefix: '10.9.0.0/16', NextHops: [{ Priority: 5, IP: '172.16.0.99', IfIndex: 3 }] }
        ]
      }],
      LastUpdateMetric: { RxBytes: 3000, TxBytes: 1500, RxPackets: 30, TxPackets: 15, Start: T0 + 3_540_000, Last: T0 + 3_570_000 },
      Metric: { RxBytes: 90000, TxBytes: 45000, RxPackets: 900, TxPackets: 450, Start: T0, Last: T0 + 3_570_000 }
    }),
    fixtureNode(7, 'ns2', 'host1', { Name: 'ns2', Type: 'netns', Path: '/var/run/netns/ns2', TID: 'tid-ns2' }),
    fixtureNode(8, 'ns2-eth0', 'host1', { Name: 'eth0', Type: 'veth', TID: 'tid-ns2-eth0', MAC: MAC.ns2eth0, MTU: 1500, IfIndex: 2, State: 'DOWN', IPV4: ['10.0.0.2/24'] }),
    fixtureNode(9, 'host2', 'host2', {
      Name: 'host2',
      Type: 'host',
      TID: 'tid-host2',
      OS: 'linux',
      Sockets: [
        { Process: '/usr/sbin/nginx', Pid: 80, Name: 'nginx', LocalAddress: '10.0.0.2', LocalPort: 80, RemoteAddress: '10.0.0.1', RemotePort: 43210, Protocol: 'TCP', State: 'ESTABLISHED' },
        { Process: '/usr/sbin/unbound', Pid: 53, Name: 'unbound', LocalAddress: '::ffff:10.0.0.2', LocalPort: 53, RemoteAddress: '10.0.0.1', RemotePort: 5353, Protocol: 'UDP', State: 'ESTABLISHED' }
      ]
    }),
    fixtureNode(10, 'h2-eth0', 'host2', { Name: 'eth0', Type: 'device', TID: 'tid-h2-eth0', MAC: '02:00:00:00:01:05', MTU: 1500, IfIndex: 2, State: 'UP', IPV4: ['172.16.0.20/16'] })
  ]
}

/** The fixture's edges, created after every node (seconds 11 to 22), fresh objects on every call. */
export function conformanceEdges (): GraphEdge[] {
  const own = { RelationType: 'ownership' }
  return [
    fixtureEdge(11, 'host1', 'ns1', own),
    fixtureEdge(12, 'ns1', 'ns1-eth0', own),
    fixtureEdge(13, 'ns1', 'ns1-lo', own),
    fixtureEdge(14, 'host1', 'veth1', own),
    fixtureEdge(15, 'host1', 'br0', own),
    fixtureEdge(16, 'host1', 'h1-eth0', own),
    fixtureEdge(17, 'host1', 'ns2', own),
    fixtureEdge(18, 'ns2', 'ns2-eth0', own),
    fixtureEdge(19, 'host2', 'h2-eth0', own),
    fixtureEdge(20, 'ns1-eth0', 'veth1', { RelationType: 'layer2', Type: 'veth' }),
    fixtureEdge(21, 'br0', 'veth1', { RelationType: 'layer2' }),
    fixtureEdge(22, 'h1-eth0', 'h2-eth0', { RelationType: 'layer2', Type: 'fabric' })
  ]
}

function metric (ab: number, ba: number, start: number, last: number): { ABPackets: number, ABBytes: number, BAPackets: number, BABytes: number, Start: number, Last: number } {
  return { ABPackets: ab, ABBytes: ab * 100, BAPackets: ba, BABytes: ba * 100, Start: start, Last: last }
}

/** The fixture's flows, fresh objects on every call. */
export function conformanceFlows (): Flow[] {
  return [
    {
      UUID: 'f-tcp-ns1',
      LayersPath: 'Ethernet/IPv4/TCP',
      Application: 'TCP',
      Link: { Protocol: 'ETHERNET', A: MAC.ns1eth0, B: MAC.ns2eth0, ID: 0 },
      Network: { Protocol: 'IPV4', A: '10.0.0.1', B: '10.0.0.2', ID: 0 },
      Transport: { Protocol: 'TCP', A: 43210, B: 80, ID: 0 },
      Metric: { ...metric(10, 8, NOW - 120_000, NOW - 5_000), RTT: 512_000 },
      LastUpdateMetric: metric(3, 2, NOW - 60_000, NOW - 5_000),
      Start: NOW - 120_000,
      Last: NOW - 5_000,
      TrackingID: 'track-tcp',
      L3TrackingID: 'l3-tcp',
      ParentUUID: '',
      NodeTID: 'tid-ns1-eth0',
      CaptureID: 'cap-1',
      RawPacketsCaptured: 0
    },
    {
      UUID: 'f-tcp-veth1',
      LayersPath: 'Ethernet/IPv4/TCP',
      Application: 'TCP',
      Link: { Protocol: 'ETHERNET', A: MAC.ns1eth0, B: MAC.ns2eth0, ID: 0 },
      Network: { Protocol: 'IPV4', A: '10.0.0.1', B: '10.0.0.2', ID: 0 },
      Transport: { Protocol: 'TCP', A: 43210, B: 80, ID: 0 },
      Metric: metric(10, 8, NOW - 119_000, NOW - 4_000),
      Start: NOW - 119_000,
      Last: NOW - 4_000,
      TrackingID: 'track-tcp',
      L3TrackingID: 'l3-tcp',
      ParentUUID: '',
      NodeTID: 'tid-veth1',
      CaptureID: 'cap-2',
      RawPacketsCaptured: 0
    },
    {
      UUID: 'f-dns',
      LayersPath: 'Ethernet/IPv4/UDP/DNS',
      Application: 'DNS',
      Link: { Protocol: 'ETHERNET', A: MAC.ns1eth0, B: MAC.ns2eth0, ID: 0 },
      Network: { Protocol: 'IPV4', A: '10.0.0.1', B: '10.0.0.2', ID: 0 },
      Transport: { Protocol: 'UDP', A: 5353, B: 53, ID: 0 },
      Metric: metric(1, 1, NOW - 30_000, NOW - 29_000),
      LastUpdateMetric: metric(1, 1, NOW - 30_000, NOW - 29_000),
      Start: NOW - 30_000,
      Last: NOW - 29_000,
      TrackingID: 'track-dns',
      L3TrackingID: 'l3-dns',
      ParentUUID: '',
      NodeTID: 'tid-ns1-eth0',
      CaptureID: 'cap-1',
      RawPacketsCaptured: 0
    },
    {
      UUID: 'f-icmp',
      LayersPath: 'Ethernet/IPv4/ICMPv4',
      Application: 'ICMPv4',
      Link: { Protocol: 'ETHERNET', A: MAC.ns2eth0, B: MAC.ns1eth0, ID: 0 },
      Network: { Protocol: 'IPV4', A: '10.0.0.2', B: '10.0.0.1', ID: 0 },
      ICMP: { Type: 'ECHO', Code: 0, ID: 7 },
      Metric: metric(4, 4, NOW - 50_000, NOW - 46_000),
      Start: NOW - 50_000,
      Last: NOW - 46_000,
      TrackingID: 'track-icmp',
      L3TrackingID: 'l3-icmp',
      ParentUUID: '',
      NodeTID: 'tid-ns1-eth0',
      CaptureID: 'cap-1',
      RawPacketsCaptured: 0,
      FinishType: 1
    },
    {
      UUID: 'f-old',
      LayersPath: 'Ethernet/IPv4/TCP',
      Application: 'TCP',
      Link: { Protocol: 'ETHERNET', A: MAC.eth0, B: '02:00:00:00:01:05', ID: 0 },
      Network: { Protocol: 'IPV4', A: '172.16.0.10', B: '172.16.0.20', ID: 0 },
      Transport: { Protocol: 'TCP', A: 50000, B: 22, ID: 0 },
      Metric: metric(100, 90, T0 + 600_000, T0 + 900_000),
      LastUpdateMetric: metric(20, 18, T0 + 840_000, T0 + 900_000),
      Start: T0 + 600_000,
      Last: T0 + 900_000,
      TrackingID: 'track-old',
      L3TrackingID: 'l3-old',
      ParentUUID: '',
      NodeTID: 'tid-h1-eth0',
      CaptureID: 'cap-3',
      RawPacketsCaptured: 0,
      FinishType: 2
    }
  ]
}
