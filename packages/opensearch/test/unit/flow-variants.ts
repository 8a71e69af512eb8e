import { readFixture, type EndpointEnrichment, type EnrichedFlow } from '@topoflow/schemas'

const base: EnrichedFlow = readFixture('topoflow.flows.enriched.v1')

const unknownEnd: EndpointEnrichment = {
  HostName: null, Interface: null, Pid: null, ProcessName: null, Process: null, Container: null,
  Pod: null, Namespace: null, Node: null, Service: null, Workload: null, WorkloadKind: null, Labels: {}
}

/**
 * Flows that between them take every branch of the flow documents: known and unknown ends, each
 * server end, missing layers, ICMP over v4 and v6, empty strings, no update window.
 */
export const flowVariants: Array<[string, EnrichedFlow]> = [
  ['fixture', base],
  ['server A, parent, unknown finish type', { ...base, ServerEnd: 'A', ParentUUID: 'p-1', FinishType: 7, RawPacketsCaptured: 3 }],
  ['no server, unknown ends', { ...base, ServerEnd: null, AEnrich: unknownEnd, BEnrich: unknownEnd, CommunityID: null }],
  ['ends known in part', {
    ...base,
    AEnrich: { ...unknownEnd, HostName: 'h1', Pid: 0, Labels: { a: '' } },
    BEnrich: { ...unknownEnd, Interface: '', Namespace: 'ns', Workload: 'w' }
  }],
  ['icmp v6', { ...base, Transport: null, ICMP: { Type: 'ECHO', Code: 0, ID: 7 }, Network: { Protocol: 'IPV6', A: 'fe80::1', B: 'fe80::2', ID: 0 } }],
  ['icmp v4 without link', { ...base, Transport: null, Link: null, ICMP: { Type: 'DESTINATION_UNREACHABLE', Code: 3, ID: 1 } }],
  ['layer 2 only', { ...base, Network: null, Transport: null, Application: 'ARP', LayersPath: 'Ethernet/ARP' }],
  ['empty addresses', { ...base, Network: { Protocol: 'IPV4', A: '', B: '10.0.0.2', ID: 5 }, Link: { Protocol: 'ETHERNET', A: '02:00:00:00:00:01', B: '', ID: 0 } }],
  ['no update window', { ...base, LastUpdateMetric: null, SamplingRate: 0 }],
  ['no host, no tracking ids', { ...base, Host: null as unknown as string, TrackingID: null as unknown as string, L3TrackingID: null as unknown as string, CaptureType: null as unknown as string }]
]
