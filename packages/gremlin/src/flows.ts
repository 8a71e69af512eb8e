import { setOwn, TopoflowError } from '@topoflow/core'
import { evalError } from './errors.ts'
import { dottedKeys, getPath, notFound, toInteger } from './fields.ts'
import type { FieldReader } from './fields.ts'
import { evalFilter } from './filter.ts'
import type { Filter } from './filter.ts'
import type { TimeContext } from './time.ts'

export interface FlowLayer {
  Protocol: string
  A?: string
  B?: string
  ID?: number
}

export interface TransportLayer {
  Protocol: string
  A: number
  B: number
  ID?: number
}

// a type alias (not an interface) so that it is also a Record<string, unknown>
export type FlowMetric = {
  ABPackets: number
  ABBytes: number
  BAPackets: number
  BABytes: number
  Start: number
  Last: number
  RTT?: number
}

/** A flow with Skydive's JSON keys (reference §4.3); extra keys (enrichment) are allowed. */
export interface Flow {
  UUID?: string
  LayersPath?: string
  Application?: string
  Link?: FlowLayer
  Network?: FlowLayer
  Transport?: TransportLayer
  ICMP?: { Type: string, Code?: number, ID?: number }
  LastUpdateMetric?: FlowMetric
  Metric?: FlowMetric
  TCPMetric?: Record<string, number>
  IPMetric?: { Fragments: number, FragmentErrors: number }
  Start: number
  Last: number
  TrackingID?: string
  L3TrackingID?: string
  ParentUUID?: string
  NodeTID?: string
  CaptureID?: string
  RawPacketsCaptured?: number
  FinishType?: number
  [key: string]: unknown
}

/**
 * A flow query, as data so that a store can push it down (OpenSearch) or run it in memory
 * (`applyFlowQuery`). Order of operations: `where`, `nodeTIDs`, `activeIn`, then sort, then dedup
 * (the first flow of each key in sorted order), then `range`.
 */
export interface FlowFilter {
  /** Conditions on flow fields (`Flows(k, v)`, and the `Has`/`HasEither` steps right after). */
  where?: Filter
  /** Only flows captured on one of these nodes (`NodeTID`); from `G.V(...).Flows()`. */
  nodeTIDs?: string[]
  /** Only flows active in the window: `Start <= to && Last >= from` (time-travel queries). */
  activeIn?: { from: number, to: number }
  sort?: { by: string, order: 'asc' | 'desc' }
  /** Keep the first flow per value of this key (Skydive's default key is `TrackingID`). */
  dedupBy?: string
  /** `[from, to)` of the result. */
  range?: { from: number, to: number }
}

export interface FlowQueryContext {
  /** The query's time context; undefined asks for live flows. */
  time?: TimeContext
  /** The query's clock, epoch ms. */
  now: number
}

/** Where flows come from: the in-memory table of the all-in-one, the OpenSearch flows indices. */
export interface FlowSource {
  query(filter: FlowFilter, ctx: FlowQueryContext): Promise<Flow[]>
  /**
   * Past metric windows of the given flows within `[from, to]` (one list per flow UUID), for
   * `Flows().Metrics()` with a time context. Without it, each flow's last metric is used.
   */
  metrics?(uuids: string[], window: { from: number, to: number }): Promise<Record<string, FlowMetric[]>>
}

const layerAliases: Record<string, string> = {
  ETHERNET: 'Link', IPV4: 'Network', IPV6: 'Network', TCP: 'Transport', UDP: 'Transport', SCTP: 'Transport'
}

/** A flow field: dotted keys (`Network.A`, `Metric.ABBytes`) and Skydive's layer aliases (`IPV4.A`). */
export function flowField (flow: Flow, key: string): unknown {
  const dot = key.indexOf('.')
  if (dot > 0) {
    const alias = layerAliases[key.slice(0, dot)]
    if (alias !== undefined) return getPath(flow, alias + key.slice(dot))
  }
  return getPath(flow, key)
}

export function flowReader (flow: Flow): FieldReader {
  return (key) => flowField(flow, key)
}

const coreFlowKeys = [
  'UUID', 'LayersPath', 'Application', 'Link.Protocol', 'Link.A', 'Link.B', 'Link.ID', 'Network.Protocol',
  'Network.A', 'Network.B', 'Network.ID', 'ICMP.Type', 'ICMP.Code', 'ICMP.ID', 'Transport.Protocol', 'Transport.A',
  'Transport.B', 'Transport.ID', 'LastUpdateMetric.ABPackets', 'LastUpdateMetric.ABBytes', 'LastUpdateMetric.BAPackets',
  'LastUpdateMetric.BABytes', 'LastUpdateMetric.Start', 'LastUpdateMetric.Last', 'LastUpdateMetric.RTT', 'Metric.ABPackets',
  'Metric.ABBytes', 'Metric.BAPackets', 'Metric.BABytes', 'Metric.Start', 'Metric.Last', 'Metric.RTT', 'Start', 'Last',
  'TrackingID', 'L3TrackingID', 'ParentUUID', 'NodeTID', 'CaptureID', 'RawPacketsCaptured', 'FinishType'
]

/** `Flows().Keys()`: Skydive lists the fields of its Flow type; we add what the first flow carries. */
export function flowKeys (flows: readonly Flow[]): string[] {
  const keys = new Set(coreFlowKeys)
  const first = flows[0]
  if (first !== undefined) {
    for (const k of dottedKeys(first)) {
      const v = getPath(first, k)
      if (typeof v !== 'object' || v === null || Array.isArray(v)) keys.add(k)
    }
  }
  return [...keys]
}

/** A flow's dedup/sort key value: string or integer field; a missing field is an error in Skydive. */
export function flowKeyValue (flow: Flow, key: string): string | number {
  const v = flowField(flow, key)
  if (typeof v === 'string') return v
  const n = toInteger(v)
  if (v === notFound || n === undefined || typeof v === 'boolean') {
    throw evalError(`Field not found: flow ${flow.UUID ?? '?'} has no string or integer field '${key}'`)
  }
  return n
}

export function sortFlows (flows: Flow[], by: string, order: 'asc' | 'desc'): Flow[] {
  const keyed = flows.map((flow) => ({ flow, key: flowKeyValue(flow, by) }))
  keyed.sort((x, y) => {
    const c = x.key < y.key ? -1 : x.key > y.key ? 1 : 0
    return order === 'asc' ? c : -c
  })
  return keyed.map((k) => k.flow)
}

export function dedupFlows (flows: Flow[], by: string): Flow[] {
  const seen = new Set<string | number>()
  const out: Flow[] = []
  for (const flow of flows) {
    const key = flowKeyValue(flow, by === '' ? 'TrackingID' : by)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(flow)
  }
  return out
}

/** Runs a FlowFilter on flows in memory (reference behaviour for every FlowSource). */
export function applyFlowQuery (flows: Iterable<Flow>, filter: FlowFilter): Flow[] {
  const tids = filter.nodeTIDs === undefined ? undefined : new Set(filter.nodeTIDs)
  let out: Flow[] = []
  for (const flow of flows) {
    if (tids !== undefined && !tids.has(flow.NodeTID ?? '')) continue
    if (filter.activeIn !== undefined && !(flow.Start <= filter.activeIn.to && flow.Last >= filter.activeIn.from)) continue
    if (filter.where !== undefined && !evalFilter(filter.where, flowReader(flow))) continue
    out.push(flow)
  }
  if (filter.sort !== undefined) out = sortFlows(out, filter.sort.by, filter.sort.order)
  if (filter.dedupBy !== undefined) out = dedupFlows(out, filter.dedupBy)
  if (filter.range !== undefined) out = out.slice(filter.range.from, Math.max(filter.range.from, filter.range.to))
  return out
}

export interface MemoryFlowSourceOptions {
  /** Most flows kept; the least recently updated go first. Default 500,000 (Skydive's table size). */
  maxFlows?: number
  /** Live queries return flows updated within this many ms of the query's clock; default all. */
  liveWindowMs?: number
  /** Past metric windows kept per flow for `Metrics()` time travel. Default 1000. */
  maxMetricsPerFlow?: number
}

/** Flows in memory, keyed by UUID: the flow store of the all-in-one, and a fake for tests. */
export class MemoryFlowSource implements FlowSource {
  private readonly flows = new Map<string, Flow>()
  private readonly history = new Map<string, FlowMetric[]>()
  private readonly maxFlows: number
  private readonly liveWindowMs: number | undefined
  private readonly maxMetricsPerFlow: number

  constructor (options: MemoryFlowSourceOptions = {}) {
    this.maxFlows = Math.max(1, options.maxFlows ?? 500_000)
    this.liveWindowMs = options.liveWindowMs
    this.maxMetricsPerFlow = Math.max(1, options.maxMetricsPerFlow ?? 1000)
  }

  get size (): number {
    return this.flows.size
  }

  /** Adds or replaces a flow (by UUID) and records its `LastUpdateMetric` window. */
  upsert (flow: Flow): void {
    const uuid = flow?.UUID
    if (typeof uuid !== 'string' || uuid === '') {
      throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', 'A flow needs a non-empty UUID')
    }
    this.flows.delete(uuid)
    this.flows.set(uuid, flow)
    const m = flow.LastUpdateMetric
    if (m !== undefined) {
      const list = this.history.get(uuid) ?? []
      if (list[list.length - 1]?.Start !== m.Start) list.push(m)
      else list[list.length - 1] = m
      if (list.length > this.maxMetricsPerFlow) list.shift()
      this.history.set(uuid, list)
    }
    while (this.flows.size > this.maxFlows) {
      const oldest = this.flows.keys().next().value as string
      this.delete(oldest)
    }
  }

  delete (uuid: string): boolean {
    this.history.delete(uuid)
    return this.flows.delete(uuid)
  }

  /**
   * Forgets flows last updated before `cutoff` (ms), the all-in-one's history window. Flows sit in
   * update order, so the walk stops at the first one still inside the window.
   */
  pruneOlderThan (cutoff: number): number {
    let removed = 0
    for (const [uuid, flow] of this.flows) {
      if (flow.Last >= cutoff) break
      this.delete(uuid)
      removed++
    }
    return removed
  }

  clear (): void {
    this.flows.clear()
    this.history.clear()
  }

  async query (filter: FlowFilter, ctx: FlowQueryContext): Promise<Flow[]> {
    let candidates: Iterable<Flow> = this.flows.values()
    if (ctx.time === undefined && this.liveWindowMs !== undefined) {
      const since = ctx.now - this.liveWindowMs
      candidates = [...this.flows.values()].filter((f) => f.Last >= since)
    }
    return applyFlowQuery(candidates, filter)
  }

  async metrics (uuids: string[], window: { from: number, to: number }): Promise<Record<string, FlowMetric[]>> {
    const out: Record<string, FlowMetric[]> = {}
    for (const uuid of uuids) {
      const list = (this.history.get(uuid) ?? []).filter((m) => m.Start >= window.from && m.Last <= window.to)
      if (list.length > 0) setOwn(out, uuid, list)
    }
    return out
  }
}
