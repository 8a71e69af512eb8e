import type { Client } from '@opensearch-project/opensearch'
import { TopoflowError, type Logger } from '@topoflow/core'
import { createSnapshot, timeWindow } from '@topoflow/gremlin'
import type { GraphEdge, GraphNode, GraphSnapshot, GraphSource, TimeContext } from '@topoflow/gremlin'
import { indexNames, type IndexNames } from '@topoflow/opensearch'
import { searchPages, type SearchBody } from './opensearch-search.ts'

export interface OpenSearchGraphSourceOptions {
  client: Client
  /** Index prefix the graph-builder writes under (default `topoflow`). */
  prefix?: string
  /** Hits per request (default 5000). */
  pageSize?: number
  /** Most element revisions one snapshot may hold; a larger answer fails asking to narrow the query (default 1,000,000). */
  maxElements?: number
  logger?: Logger
}

export const graphSourceDefaults = { pageSize: 5000, maxElements: 1_000_000 } as const

type Query = Record<string, unknown>

const millis = (op: 'lte' | 'gt', time: number): Query => ({ [op]: time, format: 'epoch_millis' })

/** `field` is missing (never deleted, never archived) or later than `time`. */
function missingOrAfter (field: string, time: number): Query {
  return { bool: { should: [{ bool: { must_not: { exists: { field } } } }, { range: { [field]: millis('gt', time) } }], minimum_should_match: 1 } }
}

/**
 * A revision is the current one from its `UpdatedAt` until the next revision (`ArchivedAt`) or the
 * element's deletion (`DeletedAt`), end excluded: the same spans MemoryGraph keeps, so a query gives
 * the same answer whether the API's own history or OpenSearch serves it.
 */
export function aliveIn (from: number, to: number): Query[] {
  return [
    { range: { CreatedAt: millis('lte', to) } },
    { range: { UpdatedAt: millis('lte', to) } },
    missingOrAfter('DeletedAt', from),
    missingOrAfter('ArchivedAt', from)
  ]
}

/** Newest revision first within one element, so the first hit of each element is the one to keep. */
const latestFirst = [{ ID: 'asc' }, { ElementType: 'asc' }, { UpdatedAt: 'desc' }, { Revision: 'desc' }, { CreatedAt: 'desc' }]
/** Skydive's range answers list revisions by update time. */
const byUpdate = [{ UpdatedAt: 'asc' }, { ID: 'asc' }, { ElementType: 'asc' }, { Revision: 'asc' }, { CreatedAt: 'asc' }]

export interface TopologySearch {
  index: string
  body: SearchBody
  /** keep only the newest revision per element (live and point-in-time queries) */
  latestOnly: boolean
}

/**
 * The search behind `at(time)`: the live index alone for the live graph; live and archive together
 * for a point in time (the revision alive then) or a window (every revision alive in it).
 */
export function topologySearch (names: IndexNames, time?: TimeContext): TopologySearch {
  const source = { excludes: ['Meta'] }
  if (time === undefined) {
    return {
      index: names.topologyLive,
      body: { query: { bool: { must_not: [{ exists: { field: 'DeletedAt' } }] } }, sort: latestFirst, _source: source },
      latestOnly: true
    }
  }
  const index = `${names.patterns.topologyLive},${names.patterns.topologyArchive}`
  const { from, to } = timeWindow(time)
  const query = { bool: { filter: aliveIn(from, to) } }
  if (time.duration === undefined) return { index, body: { query, sort: latestFirst, _source: source }, latestOnly: true }
  return { index, body: { query, sort: byUpdate, _source: source }, latestOnly: false }
}

export type StoredElement = { type: 'node', element: GraphNode } | { type: 'edge', element: GraphEdge }

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isText = (v: unknown): v is string => typeof v === 'string'

/** A topology document back to the node or edge it stores; undefined when it is not one. */
export function elementFromDoc (source: unknown): StoredElement | undefined {
  if (typeof source !== 'object' || source === null) return undefined
  const doc = source as Record<string, unknown>
  const { ID, ElementType, Revision, CreatedAt, UpdatedAt, DeletedAt, Metadata } = doc
  if (!isText(ID) || ID === '' || !isTime(Revision) || !isTime(CreatedAt) || !isTime(UpdatedAt)) return undefined
  if (DeletedAt !== undefined && DeletedAt !== null && !isTime(DeletedAt)) return undefined
  const node: GraphNode = {
    ID,
    Metadata: typeof Metadata === 'object' && Metadata !== null && !Array.isArray(Metadata) ? Metadata as Record<string, unknown> : {},
    Host: isText(doc.Host) ? doc.Host : '',
    Origin: isText(doc.Origin) ? doc.Origin : '',
    CreatedAt,
    UpdatedAt,
    DeletedAt: DeletedAt ?? null,
    Revision
  }
  if (ElementType === 'node') return { type: 'node', element: node }
  if (ElementType !== 'edge' || !isText(doc.Parent) || !isText(doc.Child)) return undefined
  return { type: 'edge', element: { ...node, Parent: doc.Parent, Child: doc.Child } }
}

const revisionKey = (s: StoredElement): string => `${s.type}:${s.element.ID}:${s.element.CreatedAt}:${s.element.Revision}`

/**
 * Topology history from the OpenSearch indices the graph-builder writes: `at()` is the live index,
 * `at({at})` the revision of each element alive at `at`, `at({at, duration})` every revision alive
 * in `[at - duration, at]`. Answers of any size are read page by page.
 */
export class OpenSearchGraphSource implements GraphSource {
  readonly #client: Client
  readonly #names: IndexNames
  readonly #pageSize: number
  readonly #maxElements: number
  readonly #logger: Logger | undefined

  constructor (opts: OpenSearchGraphSourceOptions) {
    this.#client = opts.client
    this.#names = indexNames(opts.prefix)
    this.#pageSize = Math.max(1, Math.min(10_000, opts.pageSize ?? graphSourceDefaults.pageSize))
    this.#maxElements = Math.max(1, opts.maxElements ?? graphSourceDefaults.maxElements)
    this.#logger = opts.logger
  }

  get names (): IndexNames {
    return this.#names
  }

  async at (time?: TimeContext): Promise<GraphSnapshot> {
    if (time !== undefined && (!Number.isFinite(time.at) || (time.duration !== undefined && !(time.duration >= 0)))) {
      throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `Invalid time context ${JSON.stringify(time)}`)
    }
    const search = topologySearch(this.#names, time)
    const nodes: GraphNode[] = []
    const edges: GraphEdge[] = []
    const seen = new Set<string>()
    let last: string | undefined
    let invalid = 0
    for await (const hits of searchPages(this.#client, { ...search, pageSize: this.#pageSize, stage: 'topology-history' })) {
      for (const hit of hits) {
        const stored = elementFromDoc(hit.source)
        if (stored === undefined) {
          invalid++
          continue
        }
        if (search.latestOnly) {
          // hits come grouped by element, newest revision first
          const element = `${stored.type}:${stored.element.ID}`
          if (element === last) continue
          last = element
        } else {
          // a revision caught both in live and archive while it moved counts once
          const key = revisionKey(stored)
          if (seen.has(key)) continue
          seen.add(key)
        }
        if (stored.type === 'node') nodes.push(stored.element)
        else edges.push(stored.element)
        if (nodes.length + edges.length > this.#maxElements) {
          throw new TopoflowError('TOPOFLOW_ERR_GREMLIN_EVAL',
            `The topology ${time === undefined ? 'now' : 'at this time'} holds more than ${this.#maxElements} element revisions, the limit of one query${time?.duration === undefined ? '' : '; use a shorter window'}`,
            { context: { limit: this.#maxElements } })
        }
      }
    }
    if (invalid > 0) this.#logger?.warn({ invalid, index: search.index }, 'Skipped topology documents that are not nodes or edges')
    return time === undefined ? createSnapshot(nodes, edges) : createSnapshot(nodes, edges, time)
  }
}
