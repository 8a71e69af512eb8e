import type { Bus, Logger, TopoflowError } from '@topoflow/core'
import { BulkIndexer, indexNames, lazyFlowBulkDocs, type BulkDoc, type IndexNames, type LazyBulkDoc } from '@topoflow/opensearch'
import { topics, type EnrichedFlow as EnrichedFlowRecord } from '@topoflow/schemas'
import type { FlowIndexer } from './app.ts'
import type { EnrichedFlow } from './types.ts'

type Client = ConstructorParameters<typeof BulkIndexer>[0]['client']

export interface OpenSearchFlowIndexerOptions {
  client: Client
  bus: Bus
  /** Documents per bulk request. */
  maxDocs: number
  /** Longest a document waits for its bulk request (ms). */
  flushMs: number
  /** Index names hang off this prefix (default `topoflow`), so tests and deployments stay apart. */
  indexPrefix?: string
  /** Tries after the first while OpenSearch refuses or is unreachable; then index() rejects (retriable). */
  retries?: number
  /** Longest wait between two tries (ms). */
  maxRetryDelayMs?: number
  /** `wait_for` makes indexed flows searchable at once (tests); costly under load. */
  refresh?: boolean | 'wait_for'
  logger?: Logger
  now?: () => number
}

/**
 * Flows into `topoflow-flows-*` (one document per flow, replaced on each update) and
 * `topoflow-flowmetrics-*` (one per update window). A document OpenSearch refuses for good goes to
 * the dead-letter topic; `index()` resolves once every document was acknowledged or dead-lettered,
 * which is when the enricher may commit its offsets.
 */
export class OpenSearchFlowIndexer implements FlowIndexer {
  readonly #bulk: BulkIndexer
  readonly #names: IndexNames

  constructor (opts: OpenSearchFlowIndexerOptions) {
    this.#names = indexNames(opts.indexPrefix)
    const now = opts.now ?? Date.now
    this.#bulk = new BulkIndexer({
      client: opts.client,
      flushDocs: opts.maxDocs,
      flushIntervalMs: opts.flushMs,
      ...(opts.retries === undefined ? {} : { retries: opts.retries }),
      ...(opts.maxRetryDelayMs === undefined ? {} : { maxRetryDelayMs: opts.maxRetryDelayMs }),
      ...(opts.refresh === undefined ? {} : { refresh: opts.refresh }),
      ...(opts.logger === undefined ? {} : { logger: opts.logger }),
      onDeadLetter: async (doc: BulkDoc, error: TopoflowError) => {
        await opts.bus.publish(topics.dlq, [{
          key: doc.id,
          value: {
            OriginalTopic: topics.flowsEnriched,
            OriginalPartition: -1,
            OriginalOffset: -1,
            OriginalKey: Buffer.from(doc.id),
            OriginalValue: Buffer.from(JSON.stringify(doc.doc)),
            ErrorCode: error.code,
            ErrorMessage: error.message,
            Stage: 'enricher.opensearch',
            Time: now()
          }
        }])
      }
    })
  }

  async index (flows: EnrichedFlow[]): Promise<void> {
    // Lazy: each document is built as its bulk request is serialized, and dropped right after.
    const docs: LazyBulkDoc[] = []
    for (const f of flows) docs.push(...lazyFlowBulkDocs(f as unknown as EnrichedFlowRecord, this.#names))
    await this.#bulk.addAll(docs)
  }

  async start (): Promise<void> { await this.#bulk.start() }
  async close (): Promise<void> { await this.#bulk.close() }
}
