import type { Client } from '@opensearch-project/opensearch'
import { toOpenSearchError } from './errors.ts'
import type { IndexNames } from './names.ts'

export type Query = Record<string, unknown>

export interface Hit<T> {
  index: string
  id: string
  source: T
}

// Dated index families may not exist yet (no flow today, nothing archived): that is an empty result.
const lenient = { ignore_unavailable: true, allow_no_indices: true } as const

/** Largest page OpenSearch returns without scrolling (`index.max_result_window`). */
export const maxPageSize = 10_000

async function search<T> (client: Client, index: string, body: Record<string, unknown>, stage: string): Promise<{ hits: Array<Hit<T>>, total: number }> {
  try {
    const res = await client.search({ index, ...lenient, body: body as never })
    const hits = res.body.hits
    const total = typeof hits.total === 'number' ? hits.total : hits.total?.value ?? 0
    return { hits: hits.hits.map((h) => ({ index: h._index ?? '', id: h._id ?? '', source: h._source as T })), total }
  } catch (err) {
    throw toOpenSearchError(err, { stage, index })
  }
}

export interface TimeRangeSearch {
  index: string
  /** Inclusive bounds, epoch ms; omit one for an open range. */
  from?: number
  to?: number
  /** Date field to filter and sort on (default `@timestamp`). */
  field?: string
  /** Extra filter clauses, ANDed. */
  filter?: Query[]
  size?: number
  order?: 'asc' | 'desc'
}

/** Documents whose `field` falls in [from, to], newest first by default. */
export async function searchTimeRange<T = Record<string, unknown>> (client: Client, q: TimeRangeSearch): Promise<{ hits: Array<Hit<T>>, total: number }> {
  const field = q.field ?? '@timestamp'
  const range: Record<string, number> = {}
  if (q.from !== undefined) range.gte = q.from
  if (q.to !== undefined) range.lte = q.to
  const filter = [...(q.filter ?? []), ...(Object.keys(range).length > 0 ? [{ range: { [field]: { ...range, format: 'epoch_millis' } } }] : [])]
  return await search<T>(client, q.index, {
    size: Math.min(q.size ?? 1000, maxPageSize),
    track_total_hits: true,
    query: { bool: { filter } },
    sort: [{ [field]: { order: q.order ?? 'desc' } }]
  }, 'search-time-range')
}

/** Number of documents matching `query` (all when omitted). */
export async function count (client: Client, index: string, query?: Query): Promise<number> {
  try {
    const res = await client.count({ index, ...lenient, body: query === undefined ? undefined : { query } as never })
    return res.body.count
  } catch (err) {
    throw toOpenSearchError(err, { stage: 'count', index })
  }
}

/**
 * Skydive's history filter (graffiti `getTimeFilter`): a revision is alive in [start, end] when it was
 * created and updated by `end`, and neither deleted nor archived before `start`.
 */
export function aliveBetween (start: number, end: number): Query[] {
  const missingOrFrom = (field: string): Query => ({
    bool: { should: [{ bool: { must_not: { exists: { field } } } }, { range: { [field]: { gte: start, format: 'epoch_millis' } } }], minimum_should_match: 1 }
  })
  return [
    { range: { CreatedAt: { lte: end, format: 'epoch_millis' } } },
    { range: { UpdatedAt: { lte: end, format: 'epoch_millis' } } },
    missingOrFrom('DeletedAt'),
    missingOrFrom('ArchivedAt')
  ]
}

function topologyIndices (names: IndexNames): string {
  return `${names.patterns.topologyLive},${names.patterns.topologyArchive}`
}

export interface TopologyQuery {
  /** Extra filter clauses (e.g. `{ term: { 'Meta.Type': 'netns' } }`), ANDed. */
  filter?: Query[]
  elementType?: 'node' | 'edge'
  size?: number
}

/**
 * The graph as it was at `at`: the latest revision of every element alive then, from live and
 * archive together (collapse on ID, highest Revision first).
 */
export async function topologyAt<T = Record<string, unknown>> (client: Client, names: IndexNames, at: number, q: TopologyQuery = {}): Promise<Array<Hit<T>>> {
  const filter = [...aliveBetween(at, at), ...(q.filter ?? [])]
  if (q.elementType !== undefined) filter.push({ term: { ElementType: q.elementType } })
  const { hits } = await search<T>(client, topologyIndices(names), {
    size: Math.min(q.size ?? maxPageSize, maxPageSize),
    query: { bool: { filter } },
    collapse: { field: 'ID' },
    sort: [{ Revision: { order: 'desc' } }]
  }, 'topology-at')
  return hits
}

/** Every revision alive at some point of [start, end], oldest update first (Skydive's range semantics). */
export async function topologyBetween<T = Record<string, unknown>> (client: Client, names: IndexNames, start: number, end: number, q: TopologyQuery = {}): Promise<Array<Hit<T>>> {
  const filter = [...aliveBetween(start, end), ...(q.filter ?? [])]
  if (q.elementType !== undefined) filter.push({ term: { ElementType: q.elementType } })
  const { hits } = await search<T>(client, topologyIndices(names), {
    size: Math.min(q.size ?? maxPageSize, maxPageSize),
    query: { bool: { filter } },
    sort: [{ UpdatedAt: { order: 'asc' } }, { Revision: { order: 'asc' } }]
  }, 'topology-between')
  return hits
}
