import type { Client } from '@opensearch-project/opensearch'
import { toOpenSearchError } from '@topoflow/opensearch'

export type SearchBody = Record<string, unknown>

/** One hit as the stores read it: where it lives, its source and its sort values. */
export interface SearchHit {
  index: string
  id: string
  source: unknown
  sort: unknown[]
}

export interface PagedSearch {
  /** Index names or patterns, comma-separated. */
  index: string
  /** `query`, `sort` (ending with fields that make the order total) and `_source`. */
  body: SearchBody
  pageSize: number
  /** Names the request in errors. */
  stage: string
}

const pitKeepAlive = '1m'

// A dated family may have no index yet (no flow today, nothing archived): that is an empty result.
const lenient = { ignore_unavailable: true, allow_no_indices: true } as const

function hitsOf (body: unknown): SearchHit[] {
  const hits = (body as { hits?: { hits?: unknown[] } }).hits?.hits ?? []
  return hits.map((raw) => {
    const h = raw as { _index?: string, _id?: string, _source?: unknown, sort?: unknown[] }
    return { index: h._index ?? '', id: h._id ?? '', source: h._source, sort: h.sort ?? [] }
  })
}

async function openPit (client: Client, search: PagedSearch): Promise<string | undefined> {
  try {
    const res = await client.createPit({ index: search.index.split(','), keep_alive: pitKeepAlive, ...lenient })
    return res.body.pit_id
  } catch {
    // Without a point in time the walk still completes; pages may then see concurrent updates.
    return undefined
  }
}

async function closePit (client: Client, pitId: string): Promise<void> {
  try {
    await client.deletePit({ body: { pit_id: [pitId] } })
  } catch {
    // it expires on its own after pitKeepAlive
  }
}

/**
 * Every hit of a sorted search, one page at a time (`search_after`). Most answers fit in the first
 * page; past it the walk reads from a point in time, so that documents rewritten meanwhile (flows are
 * updated in place) are neither skipped nor seen twice. Breaking out of the loop releases it.
 */
export async function * searchPages (client: Client, search: PagedSearch): AsyncGenerator<SearchHit[]> {
  const size = Math.max(1, Math.trunc(search.pageSize))
  const run = async (params: Record<string, unknown>): Promise<{ hits: SearchHit[], pitId?: string }> => {
    try {
      const res = await client.search(params as never)
      const body = res.body as { pit_id?: string }
      return { hits: hitsOf(res.body), ...(typeof body.pit_id === 'string' ? { pitId: body.pit_id } : {}) }
    } catch (err) {
      throw toOpenSearchError(err, { stage: search.stage, index: search.index })
    }
  }
  let { hits } = await run({ index: search.index, ...lenient, body: { ...search.body, size } })
  if (hits.length > 0) yield hits
  if (hits.length < size) return
  let pitId = await openPit(client, search)
  try {
    while (hits.length === size) {
      const after = (hits[hits.length - 1] as SearchHit).sort
      const body = { ...search.body, size, search_after: after }
      const page = pitId === undefined
        ? await run({ index: search.index, ...lenient, body })
        : await run({ body: { ...body, pit: { id: pitId, keep_alive: pitKeepAlive } } })
      pitId = page.pitId ?? pitId
      hits = page.hits
      if (hits.length > 0) yield hits
    }
  } finally {
    if (pitId !== undefined) await closePit(client, pitId)
  }
}
