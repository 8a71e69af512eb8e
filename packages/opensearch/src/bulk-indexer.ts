import { setTimeout as sleep } from 'node:timers/promises'
import { backoffDelay, silentLogger, TopoflowError, type Logger } from '@topoflow/core'
import type { Client } from '@opensearch-project/opensearch'
import { isRetriableStatus, reasonOf, toOpenSearchError } from './errors.ts'

/** One document to write. The caller gives the `_id`, so a replay overwrites instead of duplicating. */
export interface BulkDoc {
  index: string
  id: string
  /** `index` (default) replaces the document; `update` merges `doc` into it, creating it if absent. */
  action?: 'index' | 'update'
  doc: Record<string, unknown>
}

/** Counters the indexer reports; all optional. */
export interface BulkMetrics {
  indexed?(count: number): void
  deadLettered?(count: number): void
  retried?(count: number): void
  error?(code: string): void
}

export interface BulkIndexerOptions {
  client: Client
  /** Documents per bulk request. */
  flushDocs?: number
  /** Bytes of NDJSON per bulk request. */
  flushBytes?: number
  /** Longest a document waits in the buffer (ms). */
  flushIntervalMs?: number
  /** Documents buffered before add() waits for room. */
  maxBufferedDocs?: number
  /** Tries after the first for 429/5xx/connection failures, per document. */
  retries?: number
  minRetryDelayMs?: number
  maxRetryDelayMs?: number
  /** `wait_for` makes acknowledged documents searchable at once (tests); costly under load. */
  refresh?: boolean | 'wait_for'
  /**
   * Documents OpenSearch refuses for good (mapping conflicts, bad values) go here while the rest are
   * indexed; add() resolves once this resolved. Without it, add() rejects with the error.
   */
  onDeadLetter?: (doc: BulkDoc, error: TopoflowError) => Promise<void> | void
  logger?: Logger
  metrics?: BulkMetrics
}

export const bulkDefaults = {
  flushDocs: 1000,
  flushBytes: 5 * 1024 * 1024,
  flushIntervalMs: 1000,
  maxBufferedDocs: 10_000,
  retries: 8,
  minRetryDelayMs: 100,
  maxRetryDelayMs: 10_000
} as const

interface Pending {
  doc: BulkDoc
  ndjson: string
  bytes: number
  resolve: () => void
  reject: (err: unknown) => void
}

interface BulkItemResult {
  status: number
  error?: unknown
}

/**
 * Buffers documents and writes them with the bulk API, one request at a time so that two updates of
 * one `_id` keep their order. Every add() settles with its own document: acknowledged, dead-lettered,
 * or rejected once retries are exhausted (a retriable error, so the caller can retry later).
 */
export class BulkIndexer {
  readonly #client: Client
  readonly #opts: Required<Pick<BulkIndexerOptions, keyof typeof bulkDefaults>>
  readonly #refresh: BulkIndexerOptions['refresh']
  readonly #onDeadLetter: BulkIndexerOptions['onDeadLetter']
  readonly #logger: Logger
  readonly #metrics: BulkMetrics
  readonly #abort = new AbortController()
  #buffer: Pending[] = []
  #bufferedBytes = 0
  #inRequest = 0
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | null = null
  #roomWaiters: Array<() => void> = []
  #closed = false

  constructor (opts: BulkIndexerOptions) {
    this.#client = opts.client
    this.#opts = {
      flushDocs: opts.flushDocs ?? bulkDefaults.flushDocs,
      flushBytes: opts.flushBytes ?? bulkDefaults.flushBytes,
      flushIntervalMs: opts.flushIntervalMs ?? bulkDefaults.flushIntervalMs,
      maxBufferedDocs: opts.maxBufferedDocs ?? bulkDefaults.maxBufferedDocs,
      retries: opts.retries ?? bulkDefaults.retries,
      minRetryDelayMs: opts.minRetryDelayMs ?? bulkDefaults.minRetryDelayMs,
      maxRetryDelayMs: opts.maxRetryDelayMs ?? bulkDefaults.maxRetryDelayMs
    }
    this.#refresh = opts.refresh
    this.#onDeadLetter = opts.onDeadLetter
    this.#logger = (opts.logger ?? silentLogger()).child({ component: 'bulk-indexer' })
    this.#metrics = opts.metrics ?? {}
  }

  /** Documents added and not yet settled. */
  get pending (): number { return this.#buffer.length + this.#inRequest }

  async start (): Promise<void> {}

  /** Resolves when OpenSearch acknowledged the document (or it was dead-lettered). */
  async add (doc: BulkDoc): Promise<void> {
    while (this.pending >= this.#opts.maxBufferedDocs) {
      this.#assertOpen()
      this.#kick()
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    }
    this.#assertOpen()
    let ndjson: string
    try {
      ndjson = toNdjson(doc)
    } catch (err) {
      const error = new TopoflowError('TOPOFLOW_ERR_SINK_REJECTED', `Document ${doc.id} for ${doc.index} cannot be serialized: ${(err as Error).message}`, { cause: err, context: { index: doc.index, id: doc.id } })
      await this.#deadLetter(doc, error)
      return
    }
    const done = new Promise<void>((resolve, reject) => {
      this.#buffer.push({ doc, ndjson, bytes: Buffer.byteLength(ndjson), resolve, reject })
    })
    this.#bufferedBytes += Buffer.byteLength(ndjson)
    if (this.#buffer.length >= this.#opts.flushDocs || this.#bufferedBytes >= this.#opts.flushBytes) this.#kick()
    else this.#timer ??= setTimeout(() => this.#kick(), this.#opts.flushIntervalMs)
    await done
  }

  /** Writes everything buffered and waits for it. */
  async flush (): Promise<void> {
    while (this.#buffer.length > 0 || this.#flushing !== null) {
      this.#kick(true)
      await this.#flushing
    }
  }

  /** Writes what is buffered, then refuses new documents. Safe twice. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const wake of this.#roomWaiters.splice(0)) wake()
    await this.flush()
    this.#abort.abort()
  }

  #assertOpen (): void {
    if (this.#closed) throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', 'Cannot add documents: the bulk indexer is closed')
  }

  #kick (all = false): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#flushing !== null || this.#buffer.length === 0) return
    this.#flushing = this.#drain(all).finally(() => { this.#flushing = null })
  }

  async #drain (all: boolean): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#take()
      this.#inRequest += batch.length
      try {
        await this.#write(batch)
      } finally {
        this.#inRequest -= batch.length
        for (const wake of this.#roomWaiters.splice(0)) wake()
      }
      const full = this.#buffer.length >= this.#opts.flushDocs || this.#bufferedBytes >= this.#opts.flushBytes
      if (!full && !all && !this.#closed) break
    }
    if (this.#buffer.length > 0) this.#timer ??= setTimeout(() => this.#kick(), this.#opts.flushIntervalMs)
  }

  #take (): Pending[] {
    let bytes = 0
    let n = 0
    while (n < this.#buffer.length && n < this.#opts.flushDocs) {
      const size = this.#buffer[n]!.bytes
      if (n > 0 && bytes + size > this.#opts.flushBytes) break
      bytes += size
      n++
    }
    this.#bufferedBytes -= bytes
    return this.#buffer.splice(0, n)
  }

  /** One batch until every document settled: retried items go again, with backoff, in their order. */
  async #write (batch: Pending[]): Promise<void> {
    let pending = batch
    for (let attempt = 0; pending.length > 0; attempt++) {
      let results: BulkItemResult[]
      try {
        results = await this.#request(pending)
      } catch (err) {
        const error = toOpenSearchError(err, { stage: 'bulk' })
        this.#metrics.error?.(error.code)
        if (!error.retriable || attempt >= this.#opts.retries) {
          for (const p of pending) p.reject(error)
          return
        }
        await this.#backoff(attempt, pending.length, error)
        continue
      }
      const again: Pending[] = []
      const letters: Array<Promise<void>> = []
      let indexed = 0
      let lastRetriable: TopoflowError | undefined
      results.forEach((result, i) => {
        const p = pending[i]!
        if (result.status < 300) {
          indexed++
          p.resolve()
          return
        }
        const error = itemError(p.doc, result)
        if (error.retriable) {
          again.push(p)
          lastRetriable = error
        } else {
          letters.push(this.#deadLetter(p.doc, error).then(p.resolve, p.reject))
        }
      })
      this.#metrics.indexed?.(indexed)
      await Promise.all(letters)
      if (again.length > 0 && lastRetriable !== undefined) {
        if (attempt >= this.#opts.retries) {
          for (const p of again) p.reject(lastRetriable)
          return
        }
        await this.#backoff(attempt, again.length, lastRetriable)
      }
      pending = again
    }
  }

  async #request (batch: Pending[]): Promise<BulkItemResult[]> {
    const params: Record<string, unknown> = { body: batch.map((p) => p.ndjson).join('') }
    if (this.#refresh !== undefined) params.refresh = this.#refresh
    const res = await this.#client.bulk(params as never)
    const items = (res.body as { items?: Array<Record<string, BulkItemResult>> }).items ?? []
    if (items.length !== batch.length) {
      throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', `Bulk response has ${items.length} items for ${batch.length} documents`, { retriable: true })
    }
    return items.map((item) => Object.values(item)[0] ?? { status: 500, error: 'empty bulk item' })
  }

  async #backoff (attempt: number, count: number, error: TopoflowError): Promise<void> {
    const delay = backoffDelay(attempt, { minDelayMs: this.#opts.minRetryDelayMs, maxDelayMs: this.#opts.maxRetryDelayMs })
    this.#metrics.retried?.(count)
    this.#logger.warn({ err: error, count, attempt: attempt + 1, delayMs: delay }, 'Bulk write refused for now; retrying')
    try {
      await sleep(delay, undefined, { signal: this.#abort.signal })
    } catch {
      // Closing cuts the wait short; the next attempt still runs.
    }
  }

  async #deadLetter (doc: BulkDoc, error: TopoflowError): Promise<void> {
    this.#metrics.deadLettered?.(1)
    if (this.#onDeadLetter === undefined) throw error
    this.#logger.warn({ index: doc.index, id: doc.id, err: error }, 'Document refused by OpenSearch; dead-lettered')
    await this.#onDeadLetter(doc, error)
  }
}

/** The two NDJSON lines of one document. */
export function toNdjson (doc: BulkDoc): string {
  if (doc.action === 'update') {
    return `${JSON.stringify({ update: { _index: doc.index, _id: doc.id, retry_on_conflict: 3 } })}\n${JSON.stringify({ doc: doc.doc, doc_as_upsert: true })}\n`
  }
  return `${JSON.stringify({ index: { _index: doc.index, _id: doc.id } })}\n${JSON.stringify(doc.doc)}\n`
}

/** A per-item failure: 429, 5xx and version conflicts can pass on a later try; the rest cannot. */
export function itemError (doc: BulkDoc, result: BulkItemResult): TopoflowError {
  const reason = reasonOf({ error: result.error }) ?? `status ${result.status}`
  const retriable = result.status === 409 || (isRetriableStatus(result.status) && result.status !== 401 && result.status !== 403)
  return new TopoflowError(retriable ? 'TOPOFLOW_ERR_OPENSEARCH' : 'TOPOFLOW_ERR_SINK_REJECTED', `OpenSearch refused document ${doc.id} in ${doc.index} (status ${result.status}): ${reason}`, {
    retriable,
    context: { index: doc.index, id: doc.id, status: result.status }
  })
}
