import { isIP } from 'node:net'
import type { Client } from '@opensearch-project/opensearch'
import { TopoflowError, type Logger } from '@topoflow/core'
import { applyFlowQuery, defaultFlowExpireMs, flowField, timeWindow } from '@topoflow/gremlin'
import type { Filter, Flow, FlowFilter, FlowMetric, FlowQueryContext, FlowSource } from '@topoflow/gremlin'
import { indexNames, type IndexNames } from '@topoflow/opensearch'
import { searchPages, type SearchBody } from './opensearch-search.ts'

export type Query = Record<string, unknown>

/**
 * How a Skydive flow field is stored in a flow document. `keyword`, `number` and `date` hold the
 * flow's value as it is; the other kinds only allow a looser query that the in-memory check refines:
 * `ip` (OpenSearch compares addresses, not strings), `lowercase` (`network.transport` is `tcp` for
 * `TCP`, and `icmp` without a Transport layer) and `finish` (the FinishType's name for its number).
 */
export type FieldKind = 'keyword' | 'number' | 'date' | 'ip' | 'lowercase' | 'finish'

export interface FlowDocField {
  field: string
  kind: FieldKind
}

const counters = (key: string, path: string): Record<string, FlowDocField> => ({
  [`${key}.ABPackets`]: { field: `${path}.ab_packets`, kind: 'number' },
  [`${key}.ABBytes`]: { field: `${path}.ab_bytes`, kind: 'number' },
  [`${key}.BAPackets`]: { field: `${path}.ba_packets`, kind: 'number' },
  [`${key}.BABytes`]: { field: `${path}.ba_bytes`, kind: 'number' },
  [`${key}.Start`]: { field: `${path}.start`, kind: 'date' },
  [`${key}.Last`]: { field: `${path}.last`, kind: 'date' },
  [`${key}.RTT`]: { field: `${path}.rtt`, kind: 'number' }
})

const enrichment = (key: string, path: string): Record<string, FlowDocField> => ({
  [`${key}.HostName`]: { field: `${path}.host.name`, kind: 'keyword' },
  [`${key}.Interface`]: { field: `${path}.interface.name`, kind: 'keyword' },
  [`${key}.Pid`]: { field: `${path}.process.pid`, kind: 'number' },
  [`${key}.ProcessName`]: { field: `${path}.process.name`, kind: 'keyword' },
  [`${key}.Process`]: { field: `${path}.process.executable`, kind: 'keyword' },
  [`${key}.Container`]: { field: `${path}.container.name`, kind: 'keyword' },
  [`${key}.Pod`]: { field: `${path}.kubernetes.pod.name`, kind: 'keyword' },
  [`${key}.Namespace`]: { field: `${path}.kubernetes.namespace`, kind: 'keyword' },
  [`${key}.Node`]: { field: `${path}.kubernetes.node.name`, kind: 'keyword' },
  [`${key}.Service`]: { field: `${path}.kubernetes.service.name`, kind: 'keyword' },
  [`${key}.Workload`]: { field: `${path}.kubernetes.workload.name`, kind: 'keyword' },
  [`${key}.WorkloadKind`]: { field: `${path}.kubernetes.workload.kind`, kind: 'keyword' }
})

/** Skydive flow keys with an indexed counterpart in `@topoflow/opensearch`'s flow documents. */
export const flowDocFields: Readonly<Record<string, FlowDocField>> = {
  UUID: { field: 'flow.id', kind: 'keyword' },
  LayersPath: { field: 'flow.layers_path', kind: 'keyword' },
  Application: { field: 'flow.application', kind: 'keyword' },
  TrackingID: { field: 'flow.tracking_id', kind: 'keyword' },
  L3TrackingID: { field: 'flow.l3_tracking_id', kind: 'keyword' },
  ParentUUID: { field: 'flow.parent_id', kind: 'keyword' },
  NodeTID: { field: 'flow.node_tid', kind: 'keyword' },
  CaptureID: { field: 'flow.capture_id', kind: 'keyword' },
  CaptureType: { field: 'flow.capture_type', kind: 'keyword' },
  ServerEnd: { field: 'flow.server_end', kind: 'keyword' },
  CommunityID: { field: 'network.community_id', kind: 'keyword' },
  Host: { field: 'observer.hostname', kind: 'keyword' },
  Start: { field: 'event.start', kind: 'date' },
  Last: { field: 'event.end', kind: 'date' },
  RawPacketsCaptured: { field: 'flow.raw_packets_captured', kind: 'number' },
  SamplingRate: { field: 'flow.sampling_rate', kind: 'number' },
  FinishType: { field: 'flow.finish_type', kind: 'finish' },
  'Link.Protocol': { field: 'flow.link.protocol', kind: 'keyword' },
  'Link.ID': { field: 'flow.link.id', kind: 'number' },
  'Link.A': { field: 'source.mac', kind: 'keyword' },
  'Link.B': { field: 'destination.mac', kind: 'keyword' },
  'Network.Protocol': { field: 'flow.network.protocol', kind: 'keyword' },
  'Network.ID': { field: 'flow.network.id', kind: 'number' },
  'Network.A': { field: 'source.ip', kind: 'ip' },
  'Network.B': { field: 'destination.ip', kind: 'ip' },
  'Transport.Protocol': { field: 'network.transport', kind: 'lowercase' },
  'Transport.A': { field: 'source.port', kind: 'number' },
  'Transport.B': { field: 'destination.port', kind: 'number' },
  'ICMP.Type': { field: 'flow.icmp.type', kind: 'keyword' },
  'ICMP.Code': { field: 'flow.icmp.code', kind: 'number' },
  'ICMP.ID': { field: 'flow.icmp.id', kind: 'number' },
  ...counters('Metric', 'flow.metric'),
  ...counters('LastUpdateMetric', 'flow.last_update_metric'),
  ...enrichment('AEnrich', 'source'),
  ...enrichment('BEnrich', 'destination')
}

// Skydive's layer names as flow keys (`IPV4.A` is `Network.A`), as the in-memory reader has them.
const layerAliases: Record<string, string> = {
  ETHERNET: 'Link', IPV4: 'Network', IPV6: 'Network', TCP: 'Transport', UDP: 'Transport', SCTP: 'Transport'
}

// FlowDocument writes FinishType by name.
const finishTypes = ['NOT_FINISHED', 'TIMEOUT', 'TCP_FIN', 'TCP_RST']

/** Where a flow key (aliases resolved) lives in the flow document, if it is indexed. */
export function flowDocField (key: string): FlowDocField | undefined {
  const dot = key.indexOf('.')
  const alias = dot > 0 ? layerAliases[key.slice(0, dot)] : undefined
  const canonical = alias === undefined ? key : alias + key.slice(dot)
  return Object.hasOwn(flowDocFields, canonical) ? flowDocFields[canonical] : undefined
}

export const matchAll: Query = { match_all: {} }
export const matchNone: Query = { match_none: {} }
const isAll = (q: Query): boolean => 'match_all' in q
const isNone = (q: Query): boolean => 'match_none' in q

export function allOf (queries: Query[]): Query {
  if (queries.some(isNone)) return matchNone
  const rest = queries.filter((q) => !isAll(q))
  if (rest.length === 0) return matchAll
  return rest.length === 1 ? rest[0] as Query : { bool: { filter: rest } }
}

export function anyOf (queries: Query[]): Query {
  if (queries.some(isAll)) return matchAll
  const rest = queries.filter((q) => !isNone(q))
  if (rest.length === 0) return matchNone
  return rest.length === 1 ? rest[0] as Query : { bool: { should: rest, minimum_should_match: 1 } }
}

export function noneOf (query: Query): Query {
  if (isAll(query)) return matchNone
  if (isNone(query)) return matchAll
  return { bool: { must_not: [query] } }
}

const missing = (field: string): Query => noneOf({ exists: { field } })

/**
 * A filter as two OpenSearch queries: `superset` matches every flow the filter matches (maybe more),
 * `subset` only flows it matches (maybe fewer). Searching with `superset` and then running the
 * filter in memory gives the exact answer; `subset` is what makes `not` translatable.
 */
export interface Translation {
  superset: Query
  subset: Query
}

const exact = (q: Query): Translation => ({ superset: q, subset: q })
const loose = (q: Query): Translation => ({ superset: q, subset: matchNone })
const unknown: Translation = { superset: matchAll, subset: matchNone }

type Bounds = { gt?: number, gte?: number, lt?: number, lte?: number }

/** Field values are integers, so a fractional bound rounds to the equivalent integer one. */
function integerBounds (op: 'lt' | 'gt' | 'lte' | 'gte', value: number): Bounds {
  switch (op) {
    case 'lt': return { lt: Math.ceil(value) }
    case 'gt': return { gt: Math.floor(value) }
    case 'lte': return { lte: Math.floor(value) }
    case 'gte': return { gte: Math.ceil(value) }
  }
}

function range (spec: FlowDocField, bounds: Bounds): Query {
  return { range: { [spec.field]: spec.kind === 'date' ? { ...bounds, format: 'epoch_millis' } : bounds } }
}

const validIPv4Cidr = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/

/**
 * A REGEX pattern that is a plain string, optionally followed by `.*`: the string and whether it is a
 * prefix. Anything else (classes, groups, alternatives, `(?i)`) is left to the in-memory check.
 */
export function literalPattern (pattern: string): { text: string, prefix: boolean } | undefined {
  if (pattern.length > 512) return undefined
  let text = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\') {
      const next = pattern[i + 1]
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined
      text += next
      i++
    } else if (c === '.' && pattern[i + 1] === '*' && i + 2 === pattern.length) {
      return { text, prefix: true }
    } else if ('.*+?()[]{}|^$'.includes(c)) {
      return undefined
    } else {
      text += c
    }
  }
  return { text, prefix: false }
}

/** Whether values of this kind are strings in the flow (the others are numbers). */
const stringKind = (kind: FieldKind): boolean => kind === 'keyword' || kind === 'ip' || kind === 'lowercase'

function termLeaf (spec: FlowDocField, value: string | number | boolean): Translation {
  // booleans match only boolean fields and flows have none; strings never match number fields
  if (typeof value === 'boolean') return exact(matchNone)
  if (typeof value === 'string') {
    if (!stringKind(spec.kind)) return exact(matchNone)
    switch (spec.kind) {
      case 'ip':
        // documents leave out empty addresses; OpenSearch refuses a non-address, which no flow document holds
        if (value === '') return loose(missing(spec.field))
        return isIP(value) === 0 ? exact(matchNone) : loose({ term: { [spec.field]: value } })
      case 'lowercase':
        return value === '' ? unknown : loose({ term: { [spec.field]: value.toLowerCase() } })
      default:
        // some empty strings are left out of documents (ParentUUID, MACs)
        if (value === '') return loose(anyOf([{ term: { [spec.field]: '' } }, missing(spec.field)]))
        return exact({ term: { [spec.field]: value } })
    }
  }
  if (!Number.isFinite(value)) return unknown
  switch (spec.kind) {
    case 'number':
    case 'date':
      return exact(range(spec, { gte: value, lte: value }))
    case 'finish':
      return exact({ term: { [spec.field]: finishTypes[value] ?? String(value) } })
    case 'keyword':
      // a decimal string matches an integer ('080' matches 80): left to the in-memory check
      return unknown
    default:
      // addresses and transport names are never decimal strings
      return exact(matchNone)
  }
}

function leaf (filter: Exclude<Filter, { op: 'and' | 'or' | 'not' }>): Translation {
  const spec = flowDocField(filter.key)
  if (spec === undefined) return unknown
  switch (filter.op) {
    case 'term':
      return termLeaf(spec, filter.value)
    case 'lt':
    case 'gt':
    case 'lte':
    case 'gte':
      if (!Number.isFinite(filter.value)) return unknown
      if (spec.kind === 'number' || spec.kind === 'date') return exact(range(spec, integerBounds(filter.op, filter.value)))
      return spec.kind === 'ip' || spec.kind === 'lowercase' ? exact(matchNone) : unknown
    case 'regex': {
      if (!stringKind(spec.kind)) return exact(matchNone)
      const literal = spec.kind === 'keyword' ? literalPattern(filter.pattern) : undefined
      if (literal === undefined) return unknown
      if (!literal.prefix) return literal.text === '' ? loose(anyOf([{ term: { [spec.field]: '' } }, missing(spec.field)])) : exact({ term: { [spec.field]: literal.text } })
      // `.` stops at line breaks in JavaScript, not in OpenSearch: a prefix query may match more
      return loose(literal.text === '' ? matchAll : { prefix: { [spec.field]: literal.text } })
    }
    case 'ipv4range':
      if (!stringKind(spec.kind)) return exact(matchNone)
      return spec.kind === 'ip' && validIPv4Cidr.test(filter.cidr) ? loose({ term: { [spec.field]: filter.cidr } }) : unknown
    case 'null':
      // `network.transport` is also there for ICMP flows, which have no Transport
      if (spec.kind === 'lowercase') return unknown
      // a missing field is a missing key, but also a null value or a left-out empty string
      return loose(missing(spec.field))
  }
}

/** Translates a gremlin filter tree (see Translation). */
export function translateFilter (filter: Filter): Translation {
  switch (filter.op) {
    case 'and': {
      const parts = filter.filters.map(translateFilter)
      return { superset: allOf(parts.map((p) => p.superset)), subset: allOf(parts.map((p) => p.subset)) }
    }
    case 'or': {
      // an empty OR matches everything, as in Skydive
      if (filter.filters.length === 0) return exact(matchAll)
      const parts = filter.filters.map(translateFilter)
      return { superset: anyOf(parts.map((p) => p.superset)), subset: anyOf(parts.map((p) => p.subset)) }
    }
    case 'not': {
      const inner = translateFilter(filter.filter)
      return { superset: noneOf(inner.subset), subset: noneOf(inner.superset) }
    }
    default:
      return leaf(filter)
  }
}

export interface FlowSearchOptions {
  liveWindowMs: number
}

export interface FlowSearchPlan {
  /** Query and sort for the flows indices. */
  body: SearchBody
  /** The window flows must be active in: the filter's, or the time context's when the filter has none. */
  activeIn?: { from: number, to: number }
  /** Last packet bound of live queries (no time context), checked again in memory. */
  liveSince?: number
  /**
   * The hits come in the order of the answer, so once this many distinct flows (per dedup key)
   * have matched, the rest cannot change the answer; undefined reads every hit.
   */
  enough?: number
}

// The order applyFlowQuery keeps when it does not sort: least recently updated first, like MemoryFlowSource.
const defaultOrder = [
  { '@timestamp': { order: 'asc', unmapped_type: 'date' } },
  { 'flow.id': { order: 'asc', unmapped_type: 'keyword' } }
]

/** An OpenSearch sort giving the same order as the in-memory sort, when the field allows one. */
export function pushedSort (sort: { by: string, order: 'asc' | 'desc' }): Query | undefined {
  const spec = flowDocField(sort.by)
  // addresses sort by value in OpenSearch, by text in memory; FinishType and transport are stored as names
  if (spec === undefined || !(spec.kind === 'keyword' || spec.kind === 'number' || spec.kind === 'date')) return undefined
  // a left-out empty string sorts where '' would: first going up, last going down
  return { [spec.field]: { order: sort.order, missing: sort.order === 'asc' ? '_first' : '_last', unmapped_type: spec.kind === 'keyword' ? 'keyword' : 'long' } }
}

/** The search for a FlowFilter: what can be pushed down is, the rest is checked in memory. */
export function flowSearchPlan (filter: FlowFilter, ctx: FlowQueryContext, opts: FlowSearchOptions): FlowSearchPlan {
  const clauses: Query[] = []
  if (filter.where !== undefined) clauses.push(translateFilter(filter.where).superset)
  if (filter.nodeTIDs !== undefined) {
    const tids = filter.nodeTIDs.filter((t) => t !== '')
    const options: Query[] = tids.length === 0 ? [] : [{ terms: { 'flow.node_tid': tids } }]
    if (tids.length !== filter.nodeTIDs.length) options.push({ term: { 'flow.node_tid': '' } }, missing('flow.node_tid'))
    clauses.push(anyOf(options))
  }
  const activeIn = filter.activeIn ?? (ctx.time === undefined ? undefined : timeWindow(ctx.time))
  let liveSince: number | undefined
  if (activeIn !== undefined) {
    clauses.push({ range: { 'event.start': { lte: Math.floor(activeIn.to), format: 'epoch_millis' } } })
    clauses.push({ range: { 'event.end': { gte: Math.ceil(activeIn.from), format: 'epoch_millis' } } })
  }
  if (ctx.time === undefined) {
    liveSince = Math.ceil(ctx.now - opts.liveWindowMs)
    clauses.push({ range: { 'event.end': { gte: liveSince, format: 'epoch_millis' } } })
  }
  const query = allOf(clauses)
  const sortFirst = filter.sort === undefined ? undefined : pushedSort(filter.sort)
  const inOrder = filter.sort === undefined || sortFirst !== undefined
  const body: SearchBody = {
    query,
    sort: sortFirst === undefined ? defaultOrder : [sortFirst, ...defaultOrder],
    _source: ['skydive']
  }
  const plan: FlowSearchPlan = { body }
  if (activeIn !== undefined) plan.activeIn = activeIn
  if (liveSince !== undefined) plan.liveSince = liveSince
  if (inOrder && filter.range !== undefined) plan.enough = Math.max(0, filter.range.to)
  return plan
}

/** The value a flow is deduplicated on, as a set key; undefined when the reference would refuse it. */
function dedupKey (flow: Flow, by: string): string | undefined {
  const v = flowField(flow, by === '' ? 'TrackingID' : by)
  if (typeof v === 'string') return `s${v}`
  if (typeof v === 'number' && Number.isFinite(v)) return `n${Math.trunc(v)}`
  if (typeof v === 'boolean') return v ? 'n1' : 'n0'
  return undefined
}

export interface OpenSearchFlowSourceOptions {
  client: Client
  /** Index prefix the enricher writes under (default `topoflow`). */
  prefix?: string
  /**
   * Live queries (no time context) return flows whose last packet is at most this old, by the
   * query's clock: the flows still in capture tables. Default flow.expire's default, 600 s.
   */
  liveWindowMs?: number
  /** Hits per request (default 1000). */
  pageSize?: number
  /** Most documents one query reads; a larger answer fails asking to narrow the query (default 200,000). */
  maxFlows?: number
  logger?: Logger
}

export const flowSourceDefaults = { liveWindowMs: defaultFlowExpireMs, pageSize: 1000, maxFlows: 200_000 } as const

function tooMany (limit: number, what: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_GREMLIN_EVAL',
    `More than ${limit} ${what} match this query, the limit of one query; narrow it (Has, a shorter time window)`, { context: { limit } })
}

function metricFromDoc (m: unknown): FlowMetric | undefined {
  if (typeof m !== 'object' || m === null) return undefined
  const c = m as Record<string, unknown>
  const n = (v: unknown): number => typeof v === 'number' ? v : 0
  if (typeof c.start !== 'number' || typeof c.last !== 'number') return undefined
  return { ABPackets: n(c.ab_packets), ABBytes: n(c.ab_bytes), BAPackets: n(c.ba_packets), BABytes: n(c.ba_bytes), Start: c.start, Last: c.last, RTT: n(c.rtt) }
}

/**
 * Flows from the OpenSearch flows indices the enricher writes. The FlowFilter is pushed down as far
 * as the documents allow, and `applyFlowQuery` runs on what comes back, so the answer is exactly
 * the in-memory one. Live queries see flows updated within `liveWindowMs`; time-travel queries the
 * flows active in the window the evaluator asks for.
 */
export class OpenSearchFlowSource implements FlowSource {
  readonly #client: Client
  readonly #names: IndexNames
  readonly #liveWindowMs: number
  readonly #pageSize: number
  readonly #maxFlows: number
  readonly #logger: Logger | undefined

  constructor (opts: OpenSearchFlowSourceOptions) {
    this.#client = opts.client
    this.#names = indexNames(opts.prefix)
    this.#liveWindowMs = Math.max(0, opts.liveWindowMs ?? flowSourceDefaults.liveWindowMs)
    this.#pageSize = Math.max(1, Math.min(10_000, opts.pageSize ?? flowSourceDefaults.pageSize))
    this.#maxFlows = Math.max(1, opts.maxFlows ?? flowSourceDefaults.maxFlows)
    this.#logger = opts.logger
  }

  get names (): IndexNames {
    return this.#names
  }

  async query (filter: FlowFilter, ctx: FlowQueryContext): Promise<Flow[]> {
    const window = filter.activeIn
    if (!Number.isFinite(ctx.now) || (window !== undefined && !(Number.isFinite(window.from) && Number.isFinite(window.to)))) {
      throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `Invalid flow query time: now ${ctx.now}, active in ${JSON.stringify(window)}`)
    }
    const plan = flowSearchPlan(filter, ctx, { liveWindowMs: this.#liveWindowMs })
    const check: FlowFilter = {
      ...(filter.where === undefined ? {} : { where: filter.where }),
      ...(filter.nodeTIDs === undefined ? {} : { nodeTIDs: filter.nodeTIDs }),
      ...(plan.activeIn === undefined ? {} : { activeIn: plan.activeIn })
    }
    const matched: Flow[] = []
    const seen = new Set<string>()
    const keys = new Set<string>()
    let read = 0
    let invalid = 0
    pages: for await (const hits of searchPages(this.#client, { index: this.#names.patterns.flows, body: plan.body, pageSize: this.#pageSize, stage: 'flows-query' })) {
      read += hits.length
      if (read > this.#maxFlows) throw tooMany(this.#maxFlows, 'flow documents')
      const page: Flow[] = []
      for (const hit of hits) {
        const flow = (hit.source as { skydive?: unknown } | undefined)?.skydive
        if (typeof flow !== 'object' || flow === null || typeof (flow as Flow).Start !== 'number' || typeof (flow as Flow).Last !== 'number') {
          invalid++
          continue
        }
        const id = `${hit.index}/${hit.id}`
        if (seen.has(id)) continue
        seen.add(id)
        if (plan.liveSince !== undefined && (flow as Flow).Last < plan.liveSince) continue
        page.push(flow as Flow)
      }
      // what the search could only approximate is decided here, with the reference semantics
      for (const flow of applyFlowQuery(page, check)) {
        matched.push(flow)
        if (plan.enough === undefined) continue
        if (filter.dedupBy === undefined) {
          if (matched.length >= plan.enough) break pages
        } else {
          const key = dedupKey(flow, filter.dedupBy)
          if (key !== undefined) keys.add(key)
          if (keys.size >= plan.enough) break pages
        }
      }
    }
    if (invalid > 0) this.#logger?.warn({ invalid, index: this.#names.patterns.flows }, 'Skipped flow documents without a flow under `skydive`')
    return applyFlowQuery(matched, filter)
  }

  /** The stored update windows of these flows that lie within `[from, to]`, oldest first. */
  async metrics (uuids: string[], window: { from: number, to: number }): Promise<Record<string, FlowMetric[]>> {
    const out: Record<string, FlowMetric[]> = {}
    const wanted = [...new Set(uuids.filter((u) => typeof u === 'string' && u !== ''))]
    let read = 0
    // terms queries are capped (index.max_terms_count, 65,536 by default)
    for (let i = 0; i < wanted.length; i += 10_000) {
      const body: SearchBody = {
        query: {
          bool: {
            filter: [
              { terms: { 'flow.id': wanted.slice(i, i + 10_000) } },
              { range: { 'event.start': { gte: Math.ceil(window.from), format: 'epoch_millis' } } },
              { range: { 'event.end': { lte: Math.floor(window.to), format: 'epoch_millis' } } }
            ]
          }
        },
        sort: [{ 'flow.id': { order: 'asc', unmapped_type: 'keyword' } }, { 'event.start': { order: 'asc', unmapped_type: 'date' } }],
        _source: ['flow.id', 'flow.metric']
      }
      for await (const hits of searchPages(this.#client, { index: this.#names.patterns.flowMetrics, body, pageSize: this.#pageSize, stage: 'flow-metrics' })) {
        read += hits.length
        if (read > this.#maxFlows) throw tooMany(this.#maxFlows, 'flow metric windows')
        for (const hit of hits) {
          const doc = hit.source as { flow?: { id?: unknown, metric?: unknown } } | undefined
          const uuid = doc?.flow?.id
          const metric = metricFromDoc(doc?.flow?.metric)
          if (typeof uuid !== 'string' || metric === undefined) continue
          const list = out[uuid]
          if (list === undefined) out[uuid] = [metric]
          else list.push(metric)
        }
      }
    }
    return out
  }
}
