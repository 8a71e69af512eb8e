import type { Bus, Logger, OutgoingMessage } from '@topoflow/core'

export interface OutboxOptions {
  bus: Bus
  topic: string
  logger: Logger
  /** Messages held at most; more are dropped and counted. */
  maxPending?: number
  /** Messages per publish call. */
  batchSize?: number
  /** First retry delay after a failed publish, ms (doubles up to 30 s). */
  retryMs?: number
  /** Told about each message dropped (queue full, or given up at close). */
  onDrop?: (message: OutgoingMessage<unknown>) => void
}

/**
 * A bounded queue in front of `bus.publish`: packets must never wait for Kafka, so flows are
 * queued and published in batches by one pump; when the queue is full, new messages are dropped
 * and counted. A failed batch is retried (with backoff) before anything behind it.
 */
export class Outbox<T> {
  readonly maxPending: number
  dropped = 0
  published = 0
  publishErrors = 0
  readonly #o: OutboxOptions
  #queue: Array<OutgoingMessage<T>> = []
  #head = 0
  #pumping: Promise<void> | undefined
  #closed = false
  #wake: (() => void) | undefined

  constructor (opts: OutboxOptions) {
    this.#o = opts
    this.maxPending = opts.maxPending ?? 100000
  }

  get pending (): number { return this.#queue.length - this.#head }

  /** Queues messages; returns how many were accepted. */
  push (messages: Array<OutgoingMessage<T>>): number {
    let accepted = 0
    for (const m of messages) {
      if (this.#closed || this.pending >= this.maxPending) {
        this.dropped++
        this.#o.onDrop?.(m)
        continue
      }
      this.#queue.push(m)
      accepted++
    }
    if (accepted > 0 && this.#pumping === undefined) this.#pumping = this.#pump().finally(() => { this.#pumping = undefined })
    return accepted
  }

  async #pump (): Promise<void> {
    const size = this.#o.batchSize ?? 1000
    let delay = this.#o.retryMs ?? 500
    while (this.pending > 0) {
      const batch = this.#queue.slice(this.#head, this.#head + size)
      try {
        await this.#o.bus.publish(this.#o.topic, batch)
        this.#head += batch.length
        this.published += batch.length
        delay = this.#o.retryMs ?? 500
        // Compact now and then instead of shifting on every batch.
        if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head)
          this.#head = 0
        }
      } catch (err) {
        this.publishErrors++
        this.#o.logger.warn({ err, topic: this.#o.topic, pending: this.pending, retryInMs: delay }, 'Publishing failed; will retry')
        if (this.#closed) return
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay)
          this.#wake = () => { clearTimeout(t); resolve() }
        })
        this.#wake = undefined
        delay = Math.min(delay * 2, 30000)
      }
    }
  }

  /** Resolves when everything queued so far was published (or the outbox was closed). */
  async idle (): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping
  }

  /** Waits up to `timeoutMs` for the queue to drain, then drops (and counts) what is left. */
  async close (timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.idle(), new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })])
    clearTimeout(timer)
    this.#closed = true
    this.#wake?.()
    for (let i = this.#head; i < this.#queue.length; i++) {
      this.dropped++
      this.#o.onDrop?.(this.#queue[i] as OutgoingMessage<T>)
    }
    this.#queue = []
    this.#head = 0
  }
}
