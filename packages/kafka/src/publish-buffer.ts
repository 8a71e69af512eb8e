import { TopoflowError } from '@topoflow/core'

/** One message ready for the wire: topic already physical, value already encoded. */
export interface WireMessage {
  topic: string
  key: string | null
  value: Buffer | null
  headers?: Record<string, string>
}

export interface PublishBufferOptions {
  /** Sends one batch; resolves once the broker acknowledged all of it. */
  send: (batch: WireMessage[]) => Promise<void>
  /** How long a lone message waits for company before it is sent. */
  lingerMs: number
  /** Messages per send. A single publish() call larger than this is sent whole. */
  maxBatchMessages: number
  /** Messages buffered before publish() waits for room (backpressure on the caller). */
  maxBufferedMessages: number
}

interface Entry {
  messages: WireMessage[]
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Collects publish() calls into larger sends. One send is in flight at a time, which is what an
 * idempotent producer with one in-flight request does anyway; while it runs, the next batch fills.
 * Each publish() promise settles with the send that carried its messages.
 */
export class PublishBuffer {
  readonly #opts: PublishBufferOptions
  #entries: Entry[] = []
  #buffered = 0
  #timer: NodeJS.Timeout | undefined
  #sending: Promise<void> | null = null
  #roomWaiters: Array<() => void> = []
  #closed = false

  constructor (opts: PublishBufferOptions) {
    this.#opts = opts
  }

  get buffered (): number { return this.#buffered }

  async enqueue (messages: WireMessage[]): Promise<void> {
    if (messages.length === 0) return
    while (this.#buffered > 0 && this.#buffered + messages.length > this.#opts.maxBufferedMessages) {
      this.#assertOpen()
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    }
    this.#assertOpen()
    const done = new Promise<void>((resolve, reject) => {
      this.#entries.push({ messages, resolve, reject })
    })
    this.#buffered += messages.length
    if (this.#buffered >= this.#opts.maxBatchMessages) this.#kick()
    else this.#timer ??= setTimeout(() => this.#kick(), this.#opts.lingerMs)
    await done
  }

  /** Sends everything buffered now and waits for it. */
  async flush (): Promise<void> {
    while (this.#entries.length > 0 || this.#sending !== null) {
      this.#kick()
      await this.#sending
    }
  }

  /** Refuses new messages, sends the buffered ones. */
  async close (): Promise<void> {
    this.#closed = true
    for (const wake of this.#roomWaiters.splice(0)) wake()
    await this.flush()
  }

  #assertOpen (): void {
    if (this.#closed) throw new TopoflowError('TOPOFLOW_ERR_KAFKA', 'Cannot publish: the Kafka bus is closing or closed')
  }

  #kick (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#sending !== null || this.#entries.length === 0) return
    this.#sending = this.#drain().finally(() => { this.#sending = null })
  }

  async #drain (): Promise<void> {
    while (this.#entries.length > 0) {
      const taken = this.#take()
      const wire = taken.flatMap((e) => e.messages)
      try {
        await this.#opts.send(wire)
        for (const e of taken) e.resolve()
      } catch (err) {
        for (const e of taken) e.reject(err)
      } finally {
        this.#buffered -= wire.length
        for (const wake of this.#roomWaiters.splice(0)) wake()
      }
      // Below a full batch, let the linger timer gather more unless we are flushing for close.
      if (this.#buffered < this.#opts.maxBatchMessages && !this.#closed) break
    }
    if (this.#entries.length > 0) this.#timer ??= setTimeout(() => this.#kick(), this.#opts.lingerMs)
  }

  /** Whole entries up to the batch size; at least one, so an oversized call still goes out. */
  #take (): Entry[] {
    let count = 0
    let n = 0
    while (n < this.#entries.length) {
      const size = this.#entries[n]!.messages.length
      if (n > 0 && count + size > this.#opts.maxBatchMessages) break
      count += size
      n++
    }
    return this.#entries.splice(0, n)
  }
}
