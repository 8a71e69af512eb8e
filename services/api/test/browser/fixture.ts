// A realistic small topology in Skydive's JSON: one host with a bridge, two network namespaces
// joined to it by veth pairs, a loopback, an uplink and a bridge that is down; sockets on the host,
// an active capture on a veth, and enriched flows through it.

export interface FixtureNode {
  ID: string
  Metadata: Record<string, unknown>
  Host: string
  Origin: string
  CreatedAt: number
  UpdatedAt: number
  DeletedAt: null
  Revision: number
}

export interface FixtureEdge extends FixtureNode {
  Parent: string
  Child: string
}

export type FixtureFlow = Record<string, unknown> & { UUID: string, NodeTID: string, CaptureID: string }

const host = 'compute-1'
const created = Date.UTC(2024, 2, 1, 8, 0, 0)

function node (id: string, metadata: Record<string, unknown>, createdAt = created): FixtureNode {
  return { ID: id, Metadata: metadata, Host: host, Origin: `agent.${host}`, CreatedAt: createdAt, UpdatedAt: createdAt + 5000, DeletedAt: null, Revision: 2 }
}

function edge (parent: string, child: string, metadata: Record<string, unknown>): FixtureEdge {
  return { ...node(`e-${parent}-${child}`, metadata), Parent: parent, Child: child }
}

const tid = (name: string): string => `tid-${name}`

export const captureOnVeth = {
  ID: 'cap-0f1e2d3c-veth',
  Name: 'veth-ns1 capture',
  Type: 'afpacket',
  State: 'active',
  BPFFilter: '',
  PacketsReceived: 1843,
  PacketsDropped: 0
}

/** Nodes created after `historyTime` (ns2 and its veth) are absent from the past snapshot. */
export const historyTime = Date.UTC(2024, 2, 1, 9, 0, 0)
const later = historyTime + 600_000

export function fixtureNodes (): FixtureNode[] {
  return [
    node('host', {
      Name: host,
      Type: 'host',
      Hostname: host,
      TID: tid('host'),
      OS: 'linux',
      Platform: 'debian',
      KernelVersion: '6.1.0-18-amd64',
      Sockets: [
        { Process: '/usr/sbin/sshd', Pid: 812, Name: 'sshd', LocalAddress: '0.0.0.0', LocalPort: 22, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' },
        { Process: '/usr/sbin/sshd', Pid: 20431, Name: 'sshd', LocalAddress: '192.168.1.10', LocalPort: 22, RemoteAddress: '192.168.1.50', RemotePort: 52814, Protocol: 'TCP', State: 'ESTABLISHED' },
        { Process: '/usr/sbin/nginx', Pid: 1204, Name: 'nginx', LocalAddress: '10.0.0.3', LocalPort: 80, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' },
        { Process: '/usr/bin/curl', Pid: 4711, Name: 'curl', LocalAddress: '10.0.0.2', LocalPort: 43210, RemoteAddress: '10.0.0.3', RemotePort: 80, Protocol: 'TCP', State: 'ESTABLISHED' },
        { Process: '/usr/lib/systemd/systemd-resolved', Pid: 402, Name: 'systemd-resolve', LocalAddress: '127.0.0.53', LocalPort: 53, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'UDP', State: 'TIME_WAIT' }
      ]
    }),
    node('lo', { Name: 'lo', Type: 'device', EncapType: 'loopback', IfIndex: 1, MTU: 65536, State: 'UNKNOWN', TID: tid('lo'), IPV4: ['127.0.0.1/8'], IPV6: ['::1/128'] }),
    node('eth0', {
      Name: 'eth0', Type: 'device', EncapType: 'ether', IfIndex: 2, MTU: 1500, State: 'UP', Driver: 'virtio_net', Speed: 10000,
      MAC: '52:54:00:12:34:56', TID: tid('eth0'), IPV4: ['192.168.1.10/24'], IPV6: ['fe80::5054:ff:fe12:3456/64'],
      Metric: { RxBytes: 918273645, TxBytes: 123456789, RxPackets: 812345, TxPackets: 401234, RxDropped: 3, TxDropped: 0, RxErrors: 0, TxErrors: 0 }
    }),
    node('br0', { Name: 'br0', Type: 'bridge', EncapType: 'ether', IfIndex: 5, MTU: 1500, State: 'UP', MAC: '8a:1f:00:aa:bb:01', TID: tid('br0'), IPV4: ['10.0.0.1/24'] }),
    node('docker0', { Name: 'docker0', Type: 'bridge', EncapType: 'ether', IfIndex: 4, MTU: 1500, State: 'DOWN', MAC: '02:42:5e:1c:9a:10', TID: tid('docker0'), IPV4: ['172.17.0.1/16'] }),
    node('veth-ns1', {
      Name: 'veth-ns1', Type: 'veth', EncapType: 'ether', IfIndex: 7, MTU: 1500, State: 'UP', MAC: 'a6:3b:21:00:00:01', MasterIndex: 5,
      PeerIfIndex: 2, TID: tid('veth-ns1'), Captures: [captureOnVeth]
    }),
    node('veth-ns2', { Name: 'veth-ns2', Type: 'veth', EncapType: 'ether', IfIndex: 9, MTU: 1500, State: 'UP', MAC: 'a6:3b:21:00:00:02', MasterIndex: 5, PeerIfIndex: 2, TID: tid('veth-ns2') }, later),
    node('ns1', { Name: 'ns1', Type: 'netns', Path: '/var/run/netns/ns1', Inode: 4026532281, TID: tid('ns1') }),
    node('ns2', { Name: 'ns2', Type: 'netns', Path: '/var/run/netns/ns2', Inode: 4026532345, TID: tid('ns2') }, later),
    node('ns1-lo', { Name: 'lo', Type: 'device', EncapType: 'loopback', IfIndex: 1, MTU: 65536, State: 'UNKNOWN', TID: tid('ns1-lo'), IPV4: ['127.0.0.1/8'] }),
    node('ns1-eth0', { Name: 'eth0', Type: 'veth', EncapType: 'ether', IfIndex: 2, MTU: 1500, State: 'UP', MAC: '4e:00:00:00:01:02', PeerIfIndex: 7, TID: tid('ns1-eth0'), IPV4: ['10.0.0.2/24'] }),
    node('ns2-lo', { Name: 'lo', Type: 'device', EncapType: 'loopback', IfIndex: 1, MTU: 65536, State: 'UNKNOWN', TID: tid('ns2-lo'), IPV4: ['127.0.0.1/8'] }, later),
    node('ns2-eth0', { Name: 'eth0', Type: 'veth', EncapType: 'ether', IfIndex: 2, MTU: 1500, State: 'UP', MAC: '4e:00:00:00:02:02', PeerIfIndex: 9, TID: tid('ns2-eth0'), IPV4: ['10.0.0.3/24'] }, later)
  ]
}

export function fixtureEdges (): FixtureEdge[] {
  const own = { RelationType: 'ownership' }
  return [
    ...['lo', 'eth0', 'br0', 'docker0', 'veth-ns1', 'veth-ns2', 'ns1', 'ns2'].map((c) => edge('host', c, own)),
    edge('ns1', 'ns1-lo', own),
    edge('ns1', 'ns1-eth0', own),
    edge('ns2', 'ns2-lo', own),
    edge('ns2', 'ns2-eth0', own),
    edge('br0', 'veth-ns1', { RelationType: 'layer2' }),
    edge('br0', 'veth-ns2', { RelationType: 'layer2' }),
    edge('veth-ns1', 'ns1-eth0', { RelationType: 'layer2', Type: 'veth' }),
    edge('veth-ns2', 'ns2-eth0', { RelationType: 'layer2', Type: 'veth' })
  ]
}

function flow (uuid: string, nodeTid: string, fields: Record<string, unknown> & { Metric: { Start: number, Last: number } & Record<string, number> }): FixtureFlow {
  return {
    UUID: uuid,
    LayersPath: 'Ethernet/IPv4/TCP',
    Application: 'TCP',
    Start: fields.Metric.Start,
    Last: fields.Metric.Last,
    TrackingID: `trk-${uuid}`,
    L3TrackingID: `l3-${uuid}`,
    ParentUUID: '',
    NodeTID: nodeTid,
    CaptureID: captureOnVeth.ID,
    RawPacketsCaptured: 0,
    ...fields
  }
}

const curl = { HostName: host, Interface: 'eth0', Pid: 4711, ProcessName: 'curl', Process: '/usr/bin/curl', Container: null, Pod: null, Namespace: null }
const nginx = { HostName: host, Interface: 'eth0', Pid: 1204, ProcessName: 'nginx', Process: '/usr/sbin/nginx', Container: null, Pod: null, Namespace: null }

export function fixtureFlows (): FixtureFlow[] {
  return [
    flow('flow-http', tid('veth-ns1'), {
      Application: 'HTTP',
      Link: { Protocol: 'ETHERNET', A: '4e:00:00:00:01:02', B: '4e:00:00:00:02:02', ID: 0 },
      Network: { Protocol: 'IPV4', A: '10.0.0.2', B: '10.0.0.3', ID: 0 },
      Transport: { Protocol: 'TCP', A: 43210, B: 80, ID: 0 },
      Metric: { ABPackets: 42, ABBytes: 5210, BAPackets: 61, BABytes: 734220, Start: created + 60_000, Last: Date.now() - 4000 },
      AEnrich: curl,
      BEnrich: nginx,
      ServerEnd: 'B'
    }),
    flow('flow-dns', tid('veth-ns1'), {
      LayersPath: 'Ethernet/IPv4/UDP/DNS',
      Application: 'DNS',
      Link: { Protocol: 'ETHERNET', A: '4e:00:00:00:01:02', B: '8a:1f:00:aa:bb:01', ID: 0 },
      Network: { Protocol: 'IPV4', A: '10.0.0.2', B: '10.0.0.1', ID: 0 },
      Transport: { Protocol: 'UDP', A: 51000, B: 53, ID: 0 },
      Metric: { ABPackets: 2, ABBytes: 148, BAPackets: 2, BABytes: 312, Start: created + 61_000, Last: Date.now() - 20_000 },
      AEnrich: { ...curl },
      BEnrich: { HostName: host, Interface: 'br0', Pid: 402, ProcessName: 'systemd-resolve', Process: '/usr/lib/systemd/systemd-resolved' },
      ServerEnd: 'B'
    }),
    flow('flow-icmp', tid('veth-ns1'), {
      LayersPath: 'Ethernet/IPv4/ICMPv4',
      Application: 'ICMPv4',
      Link: { Protocol: 'ETHERNET', A: '4e:00:00:00:01:02', B: '4e:00:00:00:02:02', ID: 0 },
      Network: { Protocol: 'IPV4', A: '10.0.0.2', B: '10.0.0.3', ID: 0 },
      ICMP: { Type: 'ECHO', Code: 0, ID: 3121 },
      Metric: { ABPackets: 120, ABBytes: 11760, BAPackets: 120, BABytes: 11760, Start: created + 62_000, Last: Date.now() - 90_000 }
    }),
    flow('flow-ssh', tid('eth0'), {
      Application: 'SSH',
      Link: { Protocol: 'ETHERNET', A: '52:54:00:aa:bb:cc', B: '52:54:00:12:34:56', ID: 0 },
      Network: { Protocol: 'IPV4', A: '192.168.1.50', B: '192.168.1.10', ID: 0 },
      Transport: { Protocol: 'TCP', A: 52814, B: 22, ID: 0 },
      Metric: { ABPackets: 950, ABBytes: 88000, BAPackets: 1010, BABytes: 240000, Start: created + 70_000, Last: Date.now() - 1000 },
      CaptureID: 'cap-eth0',
      BEnrich: { HostName: host, Interface: 'eth0', Pid: 20431, ProcessName: 'sshd', Process: '/usr/sbin/sshd' },
      ServerEnd: 'B'
    })
  ]
}

/**
 * A larger generated topology: `hosts` hosts, each with `ifaces` interfaces on a bridge and
 * `namespaces` netns joined by veth pairs, plus a fabric switch wired to every host's uplink.
 */
export function largeTopology (hosts: number, ifaces: number, namespaces: number): { nodes: FixtureNode[], edges: FixtureEdge[] } {
  const nodes: FixtureNode[] = [node('fabric-sw', { Name: 'tor-switch', Type: 'switch', Probe: 'fabric' })]
  const edges: FixtureEdge[] = []
  for (let h = 0; h < hosts; h++) {
    const hid = `h${h}`
    nodes.push(node(hid, { Name: `compute-${h}`, Type: 'host', TID: tid(hid) }))
    nodes.push(node(`${hid}-br`, { Name: 'br0', Type: 'bridge', State: 'UP', TID: tid(`${hid}-br`) }))
    nodes.push(node(`${hid}-up`, { Name: 'eth0', Type: 'device', State: 'UP', TID: tid(`${hid}-up`), IPV4: [`192.168.0.${h + 10}/24`] }))
    edges.push(edge(hid, `${hid}-br`, { RelationType: 'ownership' }), edge(hid, `${hid}-up`, { RelationType: 'ownership' }))
    edges.push(edge('fabric-sw', `${hid}-up`, { RelationType: 'layer2', Type: 'fabric' }))
    for (let i = 0; i < ifaces; i++) {
      const id = `${hid}-if${i}`
      nodes.push(node(id, { Name: `tap${i}`, Type: 'tun', State: i % 7 === 3 ? 'DOWN' : 'UP', TID: tid(id) }))
      edges.push(edge(hid, id, { RelationType: 'ownership' }), edge(`${hid}-br`, id, { RelationType: 'layer2' }))
    }
    for (let n = 0; n < namespaces; n++) {
      const ns = `${hid}-ns${n}`
      nodes.push(node(ns, { Name: `cni-${n}`, Type: 'netns', TID: tid(ns) }))
      nodes.push(node(`${ns}-veth`, { Name: `veth${n}`, Type: 'veth', State: 'UP', TID: tid(`${ns}-veth`) }))
      nodes.push(node(`${ns}-eth0`, { Name: 'eth0', Type: 'veth', State: 'UP', TID: tid(`${ns}-eth0`), IPV4: [`10.${h}.${n}.2/24`] }))
      nodes.push(node(`${ns}-lo`, { Name: 'lo', Type: 'device', EncapType: 'loopback', TID: tid(`${ns}-lo`) }))
      edges.push(edge(hid, ns, { RelationType: 'ownership' }), edge(hid, `${ns}-veth`, { RelationType: 'ownership' }))
      edges.push(edge(ns, `${ns}-eth0`, { RelationType: 'ownership' }), edge(ns, `${ns}-lo`, { RelationType: 'ownership' }))
      edges.push(edge(`${hid}-br`, `${ns}-veth`, { RelationType: 'layer2' }), edge(`${ns}-veth`, `${ns}-eth0`, { RelationType: 'layer2', Type: 'veth' }))
    }
  }
  return { nodes, edges }
}
