import type { Edge, EndpointEnrichment, EnrichedFlow, FlowMetric, Node } from '@topoflow/schemas'
import type { BulkDoc } from './bulk-indexer.ts'
import { metadataKeywordFields, metadataNumberFields } from './mappings.ts'
import type { IndexNames } from './names.ts'

type Doc = Record<string, unknown>

const finishTypes = ['NOT_FINISHED', 'TIMEOUT', 'TCP_FIN', 'TCP_RST']

/** Drops undefined and null leaves so documents carry only what is known. */
function compact (value: Doc): Doc {
  const out: Doc = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue
    if (typeof v === 'object' && !Array.isArray(v) && !(k === 'labels' || k === 'skydive')) {
      const inner = compact(v as Doc)
      if (Object.keys(inner).length > 0) out[k] = inner
    } else {
      out[k] = v
    }
  }
  return out
}

function counters (m: FlowMetric | null): Doc | undefined {
  if (m === null) return undefined
  return { ab_packets: m.ABPackets, ab_bytes: m.ABBytes, ba_packets: m.BAPackets, ba_bytes: m.BABytes, start: m.Start, last: m.Last, rtt: m.RTT }
}

function enrichment (e: EndpointEnrichment | null): Doc {
  if (e === null) return {}
  const labels = Object.keys(e.Labels).length > 0 ? e.Labels : undefined
  return {
    host: { name: e.HostName },
    interface: { name: e.Interface },
    process: { pid: e.Pid, name: e.ProcessName, executable: e.Process },
    container: { name: e.Container },
    kubernetes: {
      namespace: e.Namespace,
      pod: { name: e.Pod },
      node: { name: e.Node },
      service: { name: e.Service },
      workload: { name: e.Workload, kind: e.WorkloadKind },
      labels
    }
  }
}

/** ECS `network.transport`: the IANA name of the protocol above IP. */
function transportOf (flow: EnrichedFlow): string | undefined {
  if (flow.Transport !== null) return flow.Transport.Protocol.toLowerCase()
  if (flow.ICMP !== null) return flow.Network?.Protocol === 'IPV6' ? 'ipv6-icmp' : 'icmp'
  return undefined
}

function endpoint (flow: EnrichedFlow, end: 'A' | 'B'): Doc {
  const ab = end === 'A'
  return {
    ip: flow.Network !== null && flow.Network[end] !== '' ? flow.Network[end] : undefined,
    port: flow.Transport?.[end],
    mac: flow.Link !== null && flow.Link[end] !== '' ? flow.Link[end] : undefined,
    bytes: ab ? flow.Metric.ABBytes : flow.Metric.BABytes,
    packets: ab ? flow.Metric.ABPackets : flow.Metric.BAPackets,
    ...enrichment(ab ? flow.AEnrich : flow.BEnrich)
  }
}

function flowIdentity (flow: EnrichedFlow): Doc {
  return {
    id: flow.UUID,
    layers_path: flow.LayersPath,
    application: flow.Application,
    tracking_id: flow.TrackingID,
    l3_tracking_id: flow.L3TrackingID,
    parent_id: flow.ParentUUID === '' ? undefined : flow.ParentUUID,
    node_tid: flow.NodeTID,
    capture_id: flow.CaptureID,
    capture_type: flow.CaptureType
  }
}

function network (flow: EnrichedFlow): Doc {
  return {
    transport: transportOf(flow),
    type: flow.Network?.Protocol.toLowerCase(),
    protocol: flow.Application.toLowerCase(),
    community_id: flow.CommunityID,
    bytes: flow.Metric.ABBytes + flow.Metric.BABytes,
    packets: flow.Metric.ABPackets + flow.Metric.BAPackets
  }
}

/**
 * The flow document: ECS-style fields for search and dashboards (A is `source`, B `destination`; the
 * top-level `process`/`kubernetes`/`host` are the server end's when known), plus the flow itself
 * under `skydive`, stored but not indexed, for the API to return as it came.
 */
export function flowDocument (flow: EnrichedFlow): Doc {
  const server = flow.ServerEnd === null ? null : flow.ServerEnd === 'A' ? flow.AEnrich : flow.BEnrich
  return {
    ...compact({
      '@timestamp': flow.Last,
      event: { start: flow.Start, end: flow.Last },
      flow: {
        ...flowIdentity(flow),
        finish_type: finishTypes[flow.FinishType] ?? String(flow.FinishType),
        sampling_rate: flow.SamplingRate,
        raw_packets_captured: flow.RawPacketsCaptured,
        server_end: flow.ServerEnd,
        link: flow.Link === null ? undefined : { protocol: flow.Link.Protocol, id: flow.Link.ID },
        network: flow.Network === null ? undefined : { protocol: flow.Network.Protocol, id: flow.Network.ID },
        icmp: flow.ICMP === null ? undefined : { type: flow.ICMP.Type, code: flow.ICMP.Code, id: flow.ICMP.ID },
        metric: counters(flow.Metric),
        last_update_metric: counters(flow.LastUpdateMetric)
      },
      source: endpoint(flow, 'A'),
      destination: endpoint(flow, 'B'),
      network: network(flow),
      observer: { hostname: flow.Host },
      ...enrichment(server)
    }),
    skydive: flow
  }
}

/** The document of the flow's last update window, for bandwidth over time; null before any window. */
export function flowMetricDocument (flow: EnrichedFlow): Doc | null {
  const window = flow.LastUpdateMetric
  if (window === null) return null
  const source = endpoint(flow, 'A')
  const destination = endpoint(flow, 'B')
  // Per-window byte counts live in flow.metric; endpoint totals would be cumulative here.
  for (const e of [source, destination]) { delete e.bytes; delete e.packets }
  return compact({
    '@timestamp': window.Last,
    event: { start: window.Start, end: window.Last },
    flow: { ...flowIdentity(flow), metric: counters(window) },
    source,
    destination,
    network: { ...network(flow), bytes: window.ABBytes + window.BABytes, packets: window.ABPackets + window.BAPackets },
    observer: { hostname: flow.Host }
  })
}

/**
 * Bulk actions for one flow update: the flow (its index is the day it started, so every update of a
 * flow overwrites one document) and its update window (`_id` = UUID + window start).
 */
export function flowBulkDocs (flow: EnrichedFlow, names: IndexNames): BulkDoc[] {
  const docs: BulkDoc[] = [{ index: names.flows(flow.Start), id: flow.UUID, doc: flowDocument(flow) }]
  const metric = flowMetricDocument(flow)
  if (metric !== null && flow.LastUpdateMetric !== null) {
    docs.push({ index: names.flowMetrics(flow.LastUpdateMetric.Start), id: `${flow.UUID}:${flow.LastUpdateMetric.Start}`, doc: metric })
  }
  return docs
}

/** A node or edge revision as stored in topology live and archive. */
export function topologyDocument (element: Node | Edge, elementType: 'node' | 'edge', archivedAt: number | null = null): Doc {
  const meta: Doc = {}
  for (const key of metadataKeywordFields) {
    const v = element.Metadata[key]
    if (typeof v === 'string') meta[key] = v
    else if (Array.isArray(v) && v.every((s) => typeof s === 'string')) meta[key] = v
  }
  for (const key of metadataNumberFields) {
    const v = element.Metadata[key]
    if (typeof v === 'number' && Number.isFinite(v)) meta[key] = v
  }
  const doc: Doc = {
    ID: element.ID,
    ElementType: elementType,
    Host: element.Host,
    Origin: element.Origin,
    Revision: element.Revision,
    CreatedAt: element.CreatedAt,
    UpdatedAt: element.UpdatedAt,
    DeletedAt: element.DeletedAt,
    ArchivedAt: archivedAt,
    Metadata: element.Metadata,
    Meta: meta
  }
  if ('Parent' in element) {
    doc.Parent = element.Parent
    doc.Child = element.Child
  }
  return doc
}

/** The live document of an element (`_id` = element ID). */
export function topologyLiveDoc (element: Node | Edge, elementType: 'node' | 'edge', names: IndexNames): BulkDoc {
  return { index: names.topologyLive, id: element.ID, doc: topologyDocument(element, elementType) }
}

/** An archived revision (`_id` = element ID + revision), in the index of the month it was archived. */
export function topologyArchiveDoc (element: Node | Edge, elementType: 'node' | 'edge', archivedAt: number, names: IndexNames): BulkDoc {
  return { index: names.topologyArchive(archivedAt), id: `${element.ID}:${element.Revision}`, doc: topologyDocument(element, elementType, archivedAt) }
}
