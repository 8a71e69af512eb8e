import { TopoflowError } from '@topoflow/core'
import type { ChangeRecord } from '../graph/store.ts'
import { historyWrites } from './documents.ts'
import type { HistorySink } from './sink.ts'

/** The part of `@opensearch-project/opensearch`'s Client this sink uses. */
export interface OpenSearchBulkClient {
  bulk(params: { body: unknown[], refresh?: boolean | 'wait_for' }): Promise<{ body: { errors?: boolean, items?: Array<Record<string, { status?: number, error?: unknown }>> } }>
}

export interface OpenSearchHistoryOptions {
  client: OpenSearchBulkClient
  /** `topoflow-topology-live` */
  liveIndex: string
  /** `topoflow-topology-archive-YYYY.MM` of the month a revision was archived */
  archiveIndex: (archivedAt: number) => string
  refresh?: boolean | 'wait_for'
}

/**
 * Writes the topology history with one bulk request per batch: archive documents first (so a revision
 * is never missing from both indices), then the live upserts and deletes. Every `_id` is deterministic,
 * so a batch replayed after a crash overwrites what it wrote before.
 */
export class OpenSearchHistorySink implements HistorySink {
  readonly #opts: OpenSearchHistoryOptions

  constructor (opts: OpenSearchHistoryOptions) {
    this.#opts = opts
  }

  async write (records: readonly ChangeRecord[]): Promise<void> {
    const { live, archive } = historyWrites(records)
    const body: unknown[] = []
    for (const [id, doc] of archive) body.push({ index: { _index: this.#opts.archiveIndex(doc.ArchivedAt ?? doc.UpdatedAt), _id: id } }, doc)
    for (const [id, doc] of live) {
      if (doc === null) body.push({ delete: { _index: this.#opts.liveIndex, _id: id } })
      else body.push({ index: { _index: this.#opts.liveIndex, _id: id } }, doc)
    }
    if (body.length === 0) return
    let response
    try {
      response = await this.#opts.client.bulk({ body, ...(this.#opts.refresh === undefined ? {} : { refresh: this.#opts.refresh }) })
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', `Topology history bulk write failed: ${(err as Error).message}`, { cause: err, retriable: true, context: { stage: 'history' } })
    }
    if (response.body.errors !== true) return
    const failures = (response.body.items ?? []).flatMap((item) => Object.entries(item))
      // Deleting a live document that is already gone is what we wanted anyway.
      .filter(([op, r]) => r.error !== undefined && !(op === 'delete' && r.status === 404))
    if (failures.length === 0) return
    const retriable = failures.every(([, r]) => r.status === 429 || (r.status ?? 0) >= 500)
    const first = failures[0] as [string, { status?: number, error?: unknown }]
    throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH',
      `Topology history: ${failures.length} bulk item(s) failed, first: ${first[0]} status ${String(first[1].status)} ${JSON.stringify(first[1].error)}`,
      { retriable, context: { stage: 'history', failed: failures.length } })
  }
}
