import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { backoffDelay, partLogger, silentLogger, TopoflowError, type Logger } from '@topoflow/core'
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
  /** Most bytes of NDJSON in one bulk request (a single larger document still goes, alone). */
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
   * indexed; add() resolves once this resolved. Without it, add() rejects with the error. A lazy
   * document comes here built.
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

const bulkResponseFilter = 'error,errors,items.*.status,items.*.error'

/**
 * A document built only when its bulk request is, then dropped: while it waits, nothing but where it
 * goes is held, so a long queue costs the garbage collector next to nothing. `build` must give the
 * same document every time (a retried document is built again).
 */
export interface LazyBulkDoc {
  index: string
  id: string
  action?: 'index' | 'update'
  build: () => Record<string, unknown>
}

interface Pending {
  source: BulkDoc | LazyBulkDoc
  /** Serialized and then held back from a request that had no room left for it. */
  ndjson?: string
  resolve: () => void
  reject: (err: unknown) => void
}

/** A request's documents and its NDJSON body, serialized once. */
interface Prepared {
  batch: Pending[]
  body: string
  /** Documents that could not be serialized, on their way to the dead-letter callback. */
  letters: Array<Promise<void>>
}

function docOf (source: BulkDoc | LazyBulkDoc): BulkDoc {
  return 'build' in source
    ? { index: source.index, id: source.id, ...(source.action === undefined ? {} : { action: source.action }), doc: source.build() }
    : source
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
    this.#logger = partLogger(opts.logger ?? silentLogger(), 'bulk-indexer')
    this.#metrics = opts.metrics ?? {}
  }

  /** Documents added and not yet settled. */
  get pending (): number { return this.#buffer.length + this.#inRequest }

  async start (): Promise<void> {}

  /** Resolves when OpenSearch acknowledged the document (or it was dead-lettered). */
  async add (doc: BulkDoc | LazyBulkDoc): Promise<void> {
    while (this.pending >= this.#opts.maxBufferedDocs) await this.#waitForRoom()
    this.#assertOpen()
    await new Promise<void>((resolve, reject) => { this.#enqueue({ source: doc, resolve, reject }) })
  }

  /**
   * Resolves when every document was acknowledged (or dead-lettered); rejects with the first that
   * failed, like `Promise.all` over add(), without a promise per document.
   */
  async addAll (docs: Iterable<BulkDoc | LazyBulkDoc>): Promise<void> {
    // One more than the documents queued until all of them are: the batch cannot resolve half-queued.
    let left = 1
    let resolveAll: () => void = () => {}
    let rejectAll: (err: unknown) => void = () => {}
    const all = new Promise<void>((resolve, reject) => { resolveAll = resolve; rejectAll = reject })
    // Documents already queued settle even if a later one is refused here; nobody may be left unheard.
    all.catch(() => {})
    const one = (): void => { if (--left === 0) resolveAll() }
    for (const source of docs) {
      while (this.pending >= this.#opts.maxBufferedDocs) await this.#waitForRoom()
      this.#assertOpen()
      left++
      this.#enqueue({ source, resolve: one, reject: rejectAll })
    }
    one()
    await all
  }

  async #waitForRoom (): Promise<void> {
    this.#assertOpen()
    this.#kick()
    await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
  }

  #enqueue (p: Pending): void {
    this.#buffer.push(p)
    if (this.#buffer.length >= this.#opts.flushDocs) this.#kick()
    else this.#timer ??= setTimeout(() => this.#kick(), this.#opts.flushIntervalMs)
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
    let next: Prepared | null = null
    while (next !== null || this.#buffer.length > 0) {
      const current: Prepared = next ?? this.#prepare()
      next = null
      const writing = this.#write(current)
      writing.catch(() => {}) // settles every document itself; awaited below
      // While OpenSearch works on this request, serialize the next one (once this one has left), so
      // that it goes the moment this one is answered.
      if (this.#buffer.length >= this.#opts.flushDocs || all || this.#closed) {
        await nextTurn()
        if (this.#buffer.length > 0) next = this.#prepare()
      }
      try {
        await writing
      } finally {
        this.#inRequest -= current.batch.length
        for (const wake of this.#roomWaiters.splice(0)) wake()
      }
      if (next === null && this.#buffer.length < this.#opts.flushDocs && !all && !this.#closed) break
    }
    if (this.#buffer.length > 0) this.#timer ??= setTimeout(() => this.#kick(), this.#opts.flushIntervalMs)
  }

  /**
   * Takes the next request's documents off the buffer and serializes them into one body. A string:
   * a Buffer would be memory outside the heap, which V8 collects far more eagerly, whole heap and all.
   */
  #prepare (): Prepared {
    const batch: Pending[] = []
    const lines: string[] = []
    const letters: Array<Promise<void>> = []
    let bytes = 0
    let taken = 0
    while (taken < this.#buffer.length && batch.length < this.#opts.flushDocs) {
      const p = this.#buffer[taken]!
      const line = p.ndjson ?? this.#serialize(p, letters)
      if (line === undefined) {
        taken++
        continue
      }
      const size = Buffer.byteLength(line)
      // The first document goes whatever its size: alone, it cannot be made smaller.
      if (batch.length > 0 && bytes + size > this.#opts.flushBytes) {
        p.ndjson = line
        break
      }
      p.ndjson = undefined
      bytes += size
      batch.push(p)
      lines.push(line)
      taken++
    }
    this.#buffer.splice(0, taken)
    this.#inRequest += batch.length
    return { batch, body: lines.join(''), letters }
  }

  /** The document's NDJSON lines; one that cannot be serialized goes to the dead-letter callback. */
  #serialize (p: Pending, letters: Array<Promise<void>>): string | undefined {
    let doc: BulkDoc | undefined
    try {
      doc = docOf(p.source)
      return toNdjson(doc)
    } catch (err) {
      const { index, id } = p.source
      const error = new TopoflowError('TOPOFLOW_ERR_SINK_REJECTED', `Document ${id} for ${index} cannot be serialized: ${(err as Error).message}`, { cause: err, context: { index, id } })
      // A document that cannot even be built has nothing to hand over: its caller hears of it.
      letters.push(doc === undefined ? Promise.resolve().then(() => { p.reject(error) }) : this.#deadLetter(doc, error).then(p.resolve, p.reject))
      return undefined
    }
  }

  /** One batch until every document settled: retried items go again, with backoff, in their order. */
  async #write (prepared: Prepared): Promise<void> {
    await this.#attempts(prepared)
    await Promise.all(prepared.letters)
  }

  async #attempts (prepared: Prepared): Promise<void> {
    let pending = prepared.batch
    let body = prepared.body
    for (let attempt = 0; pending.length > 0; attempt++) {
      let results: BulkItemResult[]
      try {
        results = await this.#request(body, pending.length)
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
        const error = itemError(p.source, result)
        if (error.retriable) {
          again.push(p)
          lastRetriable = error
        } else {
          letters.push(this.#deadLetter(docOf(p.source), error).then(p.resolve, p.reject))
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
      // Built and serialized again rather than kept: retries are rare, holding every body is not.
      pending = []
      const lines: string[] = []
      for (const p of again) {
        const line = this.#serialize(p, prepared.letters)
        if (line === undefined) continue
        pending.push(p)
        lines.push(line)
      }
      body = lines.join('')
    }
  }

  async #request (body: string, count: number): Promise<BulkItemResult[]> {
    const params: Record<string, unknown> = {
      body,
      // Only what settles each document (and a whole-request error) comes back: far less to send and parse.
      filter_path: bulkResponseFilter
    }
    if (this.#refresh !== undefined) params.refresh = this.#refresh
    const res = await this.#client.bulk(params as never)
    const items = (res.body as { items?: Array<Record<string, BulkItemResult>> }).items ?? []
    if (items.length !== count) {
      throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', `Bulk response has ${items.length} items for ${count} documents`, { retriable: true })
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
  if (typeof doc.index === 'string' && typeof doc.id === 'string') {
    // The same bytes as stringifying the action object, without building it.
    return `{"index":{"_index":${JSON.stringify(doc.index)},"_id":${JSON.stringify(doc.id)}}}\n${JSON.stringify(doc.doc)}\n`
  }
  return `${JSON.stringify({ index: { _index: doc.index, _id: doc.id } })}\n${JSON.stringify(doc.doc)}\n`
}

/** A per-item failure: 429, 5xx and version conflicts can pass on a later try; the rest cannot. */
export function itemError (doc: Pick<BulkDoc, 'index' | 'id'>, result: BulkItemResult): TopoflowError {
  const reason = reasonOf({ error: result.error }) ?? `status ${result.status}`
  const retriable = result.status === 409 || (isRetriableStatus(result.status) && result.status !== 401 && result.status !== 403)
  return new TopoflowError(retriable ? 'TOPOFLOW_ERR_OPENSEARCH' : 'TOPOFLOW_ERR_SINK_REJECTED', `OpenSearch refused document ${doc.id} in ${doc.index} (status ${result.status}): ${reason}`, {
    retriable,
    context: { index: doc.index, id: doc.id, status: result.status }
  })
}
