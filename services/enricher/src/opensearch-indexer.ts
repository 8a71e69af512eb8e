import type { Bus, TopoflowError } from '@topoflow/core'
import { BulkIndexer, flowBulkDocs, indexNames, type BulkDoc, type IndexNames } from '@topoflow/opensearch'
import { topics, type EnrichedFlow as EnrichedFlowRecord } from '@topoflow/schemas'
import type { FlowIndexer } from './app.ts'
import type { EnrichedFlow } from './types.ts'

type Client = ConstructorParameters<typeof BulkIndexer>[0]['client']

/**
 * Flows into `topoflow-flows-*` (one document per flow, replaced on each update) and
 * `topoflow-flowmetrics-*` (one per update window). A document OpenSearch refuses for good goes to
 * the dead-letter topic; `index()` resolves once every document was acknowledged or dead-lettered,
 * which is when the enricher may commit its offsets.
 */
export class OpenSearchFlowIndexer implements FlowIndexer {
  readonly #bulk: BulkIndexer
  readonly #names: IndexNames

  constructor (opts: { client: Client, bus: Bus, maxDocs: number, flushMs: number, now?: () => number }) {
    this.#names = indexNames()
    const now = opts.now ?? Date.now
    this.#bulk = new BulkIndexer({
      client: opts.client,
      flushDocs: opts.maxDocs,
      flushIntervalMs: opts.flushMs,
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
    const docs = flows.flatMap((f) => flowBulkDocs(f as unknown as EnrichedFlowRecord, this.#names))
    await Promise.all(docs.map(async (d) => { await this.#bulk.add(d) }))
  }

  async start (): Promise<void> { await this.#bulk.start() }
  async close (): Promise<void> { await this.#bulk.close() }
}
