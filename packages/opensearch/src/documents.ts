import type { Edge, EndpointEnrichment, EnrichedFlow, FlowMetric, Node } from '@topoflow/schemas'
import type { BulkDoc, LazyBulkDoc } from './bulk-indexer.ts'
import { metadataKeywordFields, metadataNumberFields } from './mappings.ts'
import type { IndexNames } from './names.ts'

type Doc = Record<string, unknown>

const finishTypes = ['NOT_FINISHED', 'TIMEOUT', 'TCP_FIN', 'TCP_RST']

/*
 * Flow documents carry only what is known: null and undefined leaves are left out, and so are objects
 * left empty. They are built field by field rather than as literals filtered afterwards, because the
 * enricher builds two per flow update and a generic filter cost more than the rest of indexing.
 */

/** Drops undefined and null leaves, and objects left empty, of a value that is not ours to shape. */
function compact (value: Doc): Doc {
  const out: Doc = {}
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue
    put(out, k, value[k], k === 'labels' || k === 'skydive')
  }
  return out
}

/** Sets a leaf unless it is null or undefined; an object leaf is compacted like the rest unless `whole`. */
function put (out: Doc, key: string, v: unknown, whole = false): void {
  if (v === undefined || v === null) return
  if (!whole && typeof v === 'object' && !Array.isArray(v)) {
    const inner = compact(v as Doc)
    if (!isEmpty(inner)) out[key] = inner
    return
  }
  out[key] = v
}

/** Sets a nested object unless nothing in it was known. */
function putObject (out: Doc, key: string, inner: Doc): void {
  if (!isEmpty(inner)) out[key] = inner
}

function isEmpty (doc: Doc): boolean {
  for (const k in doc) if (Object.hasOwn(doc, k)) return false
  return true
}

/** `{ [key]: v }`, or an empty object when v is unknown. */
function one (key: string, v: unknown): Doc {
  const out: Doc = {}
  put(out, key, v)
  return out
}

function counters (m: FlowMetric): Doc {
  const out: Doc = {}
  put(out, 'ab_packets', m.ABPackets)
  put(out, 'ab_bytes', m.ABBytes)
  put(out, 'ba_packets', m.BAPackets)
  put(out, 'ba_bytes', m.BABytes)
  put(out, 'start', m.Start)
  put(out, 'last', m.Last)
  put(out, 'rtt', m.RTT)
  return out
}

/** host, interface, process, container and kubernetes of one end, into `out`. */
function putEnrichment (out: Doc, e: EndpointEnrichment): void {
  putObject(out, 'host', one('name', e.HostName))
  putObject(out, 'interface', one('name', e.Interface))
  const process: Doc = {}
  put(process, 'pid', e.Pid)
  put(process, 'name', e.ProcessName)
  put(process, 'executable', e.Process)
  putObject(out, 'process', process)
  putObject(out, 'container', one('name', e.Container))
  const k8s: Doc = {}
  put(k8s, 'namespace', e.Namespace)
  putObject(k8s, 'pod', one('name', e.Pod))
  putObject(k8s, 'node', one('name', e.Node))
  putObject(k8s, 'service', one('name', e.Service))
  const workload: Doc = {}
  put(workload, 'name', e.Workload)
  put(workload, 'kind', e.WorkloadKind)
  putObject(k8s, 'workload', workload)
  if (Object.keys(e.Labels).length > 0) put(k8s, 'labels', e.Labels, true)
  putObject(out, 'kubernetes', k8s)
}

/** ECS `network.transport`: the IANA name of the protocol above IP. */
function transportOf (flow: EnrichedFlow): string | undefined {
  if (flow.Transport !== null) return flow.Transport.Protocol.toLowerCase()
  if (flow.ICMP !== null) return flow.Network?.Protocol === 'IPV6' ? 'ipv6-icmp' : 'icmp'
  return undefined
}

/** `source` (A) or `destination` (B); with the end's cumulative totals unless `totals` is false. */
function endpoint (flow: EnrichedFlow, end: 'A' | 'B', totals: boolean): Doc {
  const ab = end === 'A'
  const out: Doc = {}
  if (flow.Network !== null && flow.Network[end] !== '') put(out, 'ip', flow.Network[end])
  put(out, 'port', flow.Transport?.[end])
  if (flow.Link !== null && flow.Link[end] !== '') put(out, 'mac', flow.Link[end])
  if (totals) {
    put(out, 'bytes', ab ? flow.Metric.ABBytes : flow.Metric.BABytes)
    put(out, 'packets', ab ? flow.Metric.ABPackets : flow.Metric.BAPackets)
  }
  const e = ab ? flow.AEnrich : flow.BEnrich
  if (e !== null) putEnrichment(out, e)
  return out
}

function putFlowIdentity (out: Doc, flow: EnrichedFlow): void {
  put(out, 'id', flow.UUID)
  put(out, 'layers_path', flow.LayersPath)
  put(out, 'application', flow.Application)
  put(out, 'tracking_id', flow.TrackingID)
  put(out, 'l3_tracking_id', flow.L3TrackingID)
  if (flow.ParentUUID !== '') put(out, 'parent_id', flow.ParentUUID)
  put(out, 'node_tid', flow.NodeTID)
  put(out, 'capture_id', flow.CaptureID)
  put(out, 'capture_type', flow.CaptureType)
}

/** ECS `network`, with the given byte and packet counts. */
function network (flow: EnrichedFlow, bytes: number, packets: number): Doc {
  const out: Doc = {}
  put(out, 'transport', transportOf(flow))
  put(out, 'type', flow.Network?.Protocol.toLowerCase())
  put(out, 'protocol', flow.Application.toLowerCase())
  put(out, 'community_id', flow.CommunityID)
  put(out, 'bytes', bytes)
  put(out, 'packets', packets)
  return out
}

function event (start: number, end: number): Doc {
  const out: Doc = {}
  put(out, 'start', start)
  put(out, 'end', end)
  return out
}

/**
 * The flow document: ECS-style fields for search and dashboards (A is `source`, B `destination`; the
 * top-level `process`/`kubernetes`/`host` are the server end's when known), plus the flow itself
 * under `skydive`, stored but not indexed, for the API to return as it came.
 */
export function flowDocument (flow: EnrichedFlow): Doc {
  const m = flow.Metric
  const doc: Doc = {}
  put(doc, '@timestamp', flow.Last)
  putObject(doc, 'event', event(flow.Start, flow.Last))
  const f: Doc = {}
  putFlowIdentity(f, flow)
  put(f, 'finish_type', finishTypes[flow.FinishType] ?? String(flow.FinishType))
  put(f, 'sampling_rate', flow.SamplingRate)
  put(f, 'raw_packets_captured', flow.RawPacketsCaptured)
  put(f, 'server_end', flow.ServerEnd)
  if (flow.Link !== null) {
    const link: Doc = {}
    put(link, 'protocol', flow.Link.Protocol)
    put(link, 'id', flow.Link.ID)
    putObject(f, 'link', link)
  }
  if (flow.Network !== null) {
    const net: Doc = {}
    put(net, 'protocol', flow.Network.Protocol)
    put(net, 'id', flow.Network.ID)
    putObject(f, 'network', net)
  }
  if (flow.ICMP !== null) {
    const icmp: Doc = {}
    put(icmp, 'type', flow.ICMP.Type)
    put(icmp, 'code', flow.ICMP.Code)
    put(icmp, 'id', flow.ICMP.ID)
    putObject(f, 'icmp', icmp)
  }
  putObject(f, 'metric', counters(m))
  if (flow.LastUpdateMetric !== null) putObject(f, 'last_update_metric', counters(flow.LastUpdateMetric))
  putObject(doc, 'flow', f)
  putObject(doc, 'source', endpoint(flow, 'A', true))
  putObject(doc, 'destination', endpoint(flow, 'B', true))
  putObject(doc, 'network', network(flow, m.ABBytes + m.BABytes, m.ABPackets + m.BAPackets))
  putObject(doc, 'observer', one('hostname', flow.Host))
  const server = flow.ServerEnd === null ? null : flow.ServerEnd === 'A' ? flow.AEnrich : flow.BEnrich
  if (server !== null) putEnrichment(doc, server)
  doc.skydive = flow
  return doc
}

/** The document of the flow's last update window, for bandwidth over time; null before any window. */
export function flowMetricDocument (flow: EnrichedFlow): Doc | null {
  const window = flow.LastUpdateMetric
  if (window === null) return null
  const doc: Doc = {}
  put(doc, '@timestamp', window.Last)
  putObject(doc, 'event', event(window.Start, window.Last))
  const f: Doc = {}
  putFlowIdentity(f, flow)
  putObject(f, 'metric', counters(window))
  putObject(doc, 'flow', f)
  // Per-window byte counts live in flow.metric; endpoint totals would be cumulative here.
  putObject(doc, 'source', endpoint(flow, 'A', false))
  putObject(doc, 'destination', endpoint(flow, 'B', false))
  putObject(doc, 'network', network(flow, window.ABBytes + window.BABytes, window.ABPackets + window.BAPackets))
  putObject(doc, 'observer', one('hostname', flow.Host))
  return doc
}

/**
 * Bulk actions for one flow update: the flow (its index is the day it started, so every update of a
 * flow overwrites one document) and its update window (`_id` = UUID + window start).
 */
export function flowBulkDocs (flow: EnrichedFlow, names: IndexNames): BulkDoc[] {
  return lazyFlowBulkDocs(flow, names).map(({ index, id, build }) => ({ index, id, doc: build() }))
}

/** The same actions as flowBulkDocs, with documents built only when their bulk request is. */
export function lazyFlowBulkDocs (flow: EnrichedFlow, names: IndexNames): LazyBulkDoc[] {
  const docs: LazyBulkDoc[] = [{ index: names.flows(flow.Start), id: flow.UUID, build: () => flowDocument(flow) }]
  const window = flow.LastUpdateMetric
  if (window !== null) {
    docs.push({ index: names.flowMetrics(window.Start), id: `${flow.UUID}:${window.Start}`, build: () => flowMetricDocument(flow) ?? {} })
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
