import type { Bus, BusMessage, OutgoingMessage, SubscribeOptions, Subscription } from './bus.ts'
import type { Logger } from './log.ts'
import { silentLogger } from './log.ts'

export interface InProcessBusOptions {
  /** Topics whose replay log keeps only the latest message per key, like Kafka's log compaction. */
  compactedTopics?: Iterable<string>
  /** Messages kept per non-compacted topic for subscribers that start from the beginning. */
  retainPerTopic?: number
  /** Messages queued per subscriber before publish() waits (backpressure). */
  queueLimit?: number
  /**
   * Applied to every value on publish; throwing rejects the publish. The all-in-one passes each value
   * through its topic's Avro codec so that in-process messages look exactly like decoded Kafka ones.
   */
  normalize?: (topic: string, value: unknown) => unknown
  logger?: Logger
}

interface Subscriber {
  opts: SubscribeOptions<unknown>
  queue: Array<BusMessage<unknown>>
  closed: boolean
  draining: Promise<void> | null
  waiters: Array<() => void>
  /** Replayed messages not handled yet, and who waits for them to be. */
  replayLeft: number
  caughtUp: () => void
}

/**
 * A bus inside one process, for `topoflow allinone` and tests. Each subscriber has a bounded queue;
 * when it is full the publisher waits, which is the in-process form of Kafka consumer backpressure.
 * A handler that throws is logged and its batch dropped: the next message still gets through.
 */
export class InProcessBus implements Bus {
  readonly #compacted: Set<string>
  readonly #retain: number
  readonly #queueLimit: number
  readonly #logger: Logger
  readonly #normalize: ((topic: string, value: unknown) => unknown) | undefined
  readonly #logs = new Map<string, Array<BusMessage<unknown>>>()
  readonly #latestByKey = new Map<string, Map<string, BusMessage<unknown>>>()
  readonly #subscribers = new Set<Subscriber>()
  #offset = 0n
  #handlerErrors = 0

  constructor (opts: InProcessBusOptions = {}) {
    this.#compacted = new Set(opts.compactedTopics ?? [])
    this.#retain = opts.retainPerTopic ?? 10_000
    this.#queueLimit = opts.queueLimit ?? 10_000
    this.#logger = opts.logger ?? silentLogger()
    this.#normalize = opts.normalize
  }

  get handlerErrors (): number { return this.#handlerErrors }

  async start (): Promise<void> {}

  async close (): Promise<void> {
    await Promise.all([...this.#subscribers].map(async (s) => await this.#closeSubscriber(s)))
  }

  async publish<T>(topic: string, messages: Array<OutgoingMessage<T>>): Promise<void> {
    const normalize = this.#normalize
    const values = normalize === undefined ? messages.map((m) => m.value) : messages.map((m) => m.value === null ? null : normalize(topic, m.value))
    for (const [i, m] of messages.entries()) {
      const msg: BusMessage<unknown> = { topic, key: m.key, value: values[i] ?? null, offset: String(this.#offset++), timestamp: Date.now() }
      if (m.headers !== undefined) msg.headers = m.headers
      this.#remember(msg)
      for (const sub of this.#subscribers) {
        if (sub.closed || !sub.opts.topics.includes(topic)) continue
        while (sub.queue.length >= this.#queueLimit && !sub.closed) {
          await new Promise<void>((resolve) => sub.waiters.push(resolve))
        }
        sub.queue.push(msg)
        this.#drain(sub)
      }
    }
  }

  async subscribe<T>(opts: SubscribeOptions<T>): Promise<Subscription> {
    let caughtUp: () => void = () => {}
    const caughtUpPromise = new Promise<void>((resolve) => { caughtUp = resolve })
    const sub: Subscriber = { opts: opts as SubscribeOptions<unknown>, queue: [], closed: false, draining: null, waiters: [], replayLeft: 0, caughtUp }
    if (opts.fromBeginning === true) {
      // A loop, not push(...spread): a replay of 100k+ messages would overflow the call stack.
      for (const topic of opts.topics) for (const m of this.#replay(topic)) sub.queue.push(m)
    }
    sub.replayLeft = sub.queue.length
    if (sub.replayLeft === 0) caughtUp()
    this.#subscribers.add(sub)
    this.#drain(sub)
    return { close: async () => await this.#closeSubscriber(sub), caughtUp: caughtUpPromise }
  }

  #remember (msg: BusMessage<unknown>): void {
    if (this.#compacted.has(msg.topic)) {
      let byKey = this.#latestByKey.get(msg.topic)
      if (byKey === undefined) this.#latestByKey.set(msg.topic, byKey = new Map())
      const key = msg.key ?? ''
      // Kafka keeps a tombstone for a while, then drops it; we drop it at once.
      if (msg.value === null) byKey.delete(key)
      else { byKey.delete(key); byKey.set(key, msg) }
      return
    }
    let log = this.#logs.get(msg.topic)
    if (log === undefined) this.#logs.set(msg.topic, log = [])
    log.push(msg)
    if (log.length > this.#retain) log.splice(0, log.length - this.#retain)
  }

  #replay (topic: string): Array<BusMessage<unknown>> {
    if (this.#compacted.has(topic)) return [...(this.#latestByKey.get(topic)?.values() ?? [])]
    return [...(this.#logs.get(topic) ?? [])]
  }

  #drain (sub: Subscriber): void {
    if (sub.draining !== null) return
    sub.draining = (async () => {
      // Yield first so `sub.draining` is assigned before the loop can finish and clear it.
      await Promise.resolve()
      const maxBatch = sub.opts.maxBatch ?? 500
      while (sub.queue.length > 0) {
        const batch = sub.queue.splice(0, maxBatch)
        for (const wake of sub.waiters.splice(0)) wake()
        try {
          await sub.opts.handler(batch)
        } catch (err) {
          this.#handlerErrors++
          this.#logger.error({ err, group: sub.opts.group, size: batch.length }, 'Subscriber handler failed; batch dropped')
        }
        if (sub.replayLeft > 0) {
          sub.replayLeft -= batch.length
          if (sub.replayLeft <= 0) sub.caughtUp()
        }
      }
      sub.draining = null
    })()
  }

  /** Stops intake, then lets the handler finish what was already queued. */
  async #closeSubscriber (sub: Subscriber): Promise<void> {
    sub.closed = true
    this.#subscribers.delete(sub)
    for (const wake of sub.waiters.splice(0)) wake()
    await sub.draining
  }
}
