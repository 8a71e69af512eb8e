import { readFixture, type EndpointEnrichment, type EnrichedFlow } from '@topoflow/schemas'

const template: EnrichedFlow = readFixture('topoflow.flows.enriched.v1')

export const captureTIDs = ['tid-eth0', 'tid-eth1', 'tid-br0']

const minute = 60_000
const pad = (n: number): string => String(n).padStart(3, '0')

function enrich (fields: Partial<EndpointEnrichment>): EndpointEnrichment {
  return {
    HostName: null, Interface: null, Pid: null, ProcessName: null, Process: null, Container: null, Pod: null,
    Namespace: null, Node: null, Service: null, Workload: null, WorkloadKind: null, Labels: {}, ...fields
  }
}

/**
 * `count` flows of every shape the flow documents handle differently: TCP and UDP over IPv4, TCP over
 * IPv6, ICMP (no Transport), ARP (no Network, no Community ID), a tunnelled flow (ParentUUID), an
 * empty MAC, enrichment on one end or none. Two capture points see each connection (shared
 * TrackingID); starts spread over `count * 37` minutes from `base`, so over several daily indices.
 */
export function makeFlows (base: number, count = 36): EnrichedFlow[] {
  const flows: EnrichedFlow[] = []
  for (let i = 0; i < count; i++) {
    const kind = i % 6
    const start = base + i * 37 * minute
    const last = start + (i % 5) * minute + 1000
    const metric = { ABPackets: 1 + (i % 7), ABBytes: 1000 + i * 13, BAPackets: i % 3, BABytes: 500 + i * 11, Start: start, Last: last, RTT: i % 2 === 0 ? 0 : 1000 * i }
    const window = { ...metric, ABBytes: 100 + i, BABytes: 50 + i, Start: Math.max(start, last - minute), RTT: 0 }
    const flow: EnrichedFlow = {
      ...structuredClone(template),
      UUID: `flow-${pad(i)}`,
      TrackingID: `track-${pad(Math.floor(i / 2))}`,
      L3TrackingID: `l3-${pad(Math.floor(i / 4))}`,
      NodeTID: captureTIDs[i % 3] as string,
      CaptureID: i % 2 === 0 ? 'capture-a' : 'capture-b',
      Host: `host-${i % 2}`,
      Start: start,
      Last: last,
      Metric: metric,
      LastUpdateMetric: window,
      FinishType: i % 4,
      ParentUUID: '',
      Link: { Protocol: 'ETHERNET', A: i === 7 ? '' : `02:42:ac:11:00:${pad(i).slice(1)}`, B: `02:42:ac:11:01:${pad(i % 5).slice(1)}`, ID: i % 4 === 3 ? 100 : 0 },
      CommunityID: `1:community-${i % 9}=`,
      AEnrich: i % 4 === 0 ? enrich({ HostName: `host-${i % 2}`, ProcessName: 'curl', Process: '/usr/bin/curl', Pid: 4000 + i, Pod: `client-${i % 3}`, Namespace: 'default', Labels: { app: 'client' } }) : null,
      BEnrich: i % 4 === 1 ? enrich({ ProcessName: 'nginx', Process: '/usr/sbin/nginx', Pid: 80, Service: 'web', Namespace: 'prod' }) : null,
      ServerEnd: i % 4 === 1 ? 'B' : null
    }
    const a = `10.0.${i % 3}.${i + 1}`
    const b = `10.1.0.${((i * 7) % 50) + 1}`
    switch (kind) {
      case 0:
        flow.Network = { Protocol: 'IPV4', A: a, B: b, ID: 0 }
        flow.Transport = { Protocol: 'TCP', A: 40000 + i, B: 80, ID: 0 }
        flow.LayersPath = 'Ethernet/IPv4/TCP'
        flow.Application = 'HTTP'
        break
      case 1:
        flow.Network = { Protocol: 'IPV4', A: a, B: '10.1.0.53', ID: 0 }
        flow.Transport = { Protocol: 'UDP', A: 50000 + i, B: 53, ID: 0 }
        flow.LayersPath = 'Ethernet/IPv4/UDP/DNS'
        flow.Application = 'DNS'
        flow.TCPMetric = null
        break
      case 2:
        flow.Network = { Protocol: 'IPV6', A: `fd00::${(i + 1).toString(16)}`, B: 'fd00::1:1', ID: 0 }
        flow.Transport = { Protocol: 'TCP', A: 41000 + i, B: 443, ID: 0 }
        flow.LayersPath = 'Ethernet/IPv6/TCP'
        flow.Application = 'TCP'
        break
      case 3:
        flow.Network = { Protocol: 'IPV4', A: a, B: b, ID: 0 }
        flow.Transport = null
        flow.ICMP = { Type: 'ECHO', Code: 0, ID: i }
        flow.LayersPath = 'Ethernet/IPv4/ICMPv4'
        flow.Application = 'ICMPv4'
        flow.TCPMetric = null
        break
      case 4:
        flow.Network = null
        flow.Transport = null
        flow.LayersPath = 'Ethernet/ARP'
        flow.Application = 'ARP'
        flow.CommunityID = null
        flow.TCPMetric = null
        break
      default:
        flow.Network = { Protocol: 'IPV4', A: a, B: b, ID: 4789 }
        flow.Transport = { Protocol: 'TCP', A: 42000 + i, B: 8080, ID: 0 }
        flow.LayersPath = 'Ethernet/IPv4/UDP/VXLAN/Ethernet/IPv4/TCP'
        flow.Application = 'TCP'
        flow.ParentUUID = `flow-${pad(i - 1)}`
    }
    flows.push(flow)
  }
  return flows
}

/** The order flows come in when a query does not sort: least recently updated first, then by UUID. */
export function byUpdate<T extends { Last: number, UUID?: string }> (flows: readonly T[]): T[] {
  return [...flows].sort((x, y) => x.Last - y.Last || ((x.UUID ?? '') < (y.UUID ?? '') ? -1 : (x.UUID ?? '') > (y.UUID ?? '') ? 1 : 0))
}
