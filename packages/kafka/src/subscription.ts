import { setTimeout as sleep } from 'node:timers/promises'
import { backoffDelay, partLogger, retry, toTopoflowError, type TopoflowError, type BusMessage, type Logger, type Subscription } from '@topoflow/core'
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs'
import { deadLetterFor, headersToStrings, type DeadLetter, type RawMessage } from './dead-letter.ts'
import { isKafkaJSError, toKafkaError } from './errors.ts'
import type { KafkaMetrics } from './metrics.ts'

/** How a subscription consumes; every field has a default in `consumerDefaults`. */
export interface ConsumerTuning {
  /** Messages per handler call. */
  maxBatch: number
  /** Messages handed to handlers and not yet acknowledged, across partitions; beyond it partitions pause. */
  maxInFlight: number
  /** Partitions whose batches are handled at the same time (each partition stays in order). */
  partitionsConcurrently: number
  /** Backoff for handler calls that fail with a retriable error (ms). */
  retryMinDelayMs: number
  retryMaxDelayMs: number
  /** How often the group is told we are alive while a handler runs (ms). */
  heartbeatIntervalMs: number
  sessionTimeoutMs: number
  /** Longest a fetch waits for data on an idle partition (ms). */
  maxWaitTimeMs: number
  /** How long close() lets running handlers finish before abandoning them (ms). */
  closeGraceMs: number
}

export const consumerDefaults: ConsumerTuning = {
  maxBatch: 500,
  maxInFlight: 2000,
  partitionsConcurrently: 4,
  retryMinDelayMs: 200,
  retryMaxDelayMs: 30_000,
  heartbeatIntervalMs: 3000,
  sessionTimeoutMs: 30_000,
  maxWaitTimeMs: 500,
  closeGraceMs: 5000
}

export interface SubscriptionDeps<T> {
  consumer: Consumer
  group: string
  /** Topic names as the handler knows them (without the bus prefix). */
  topics: string[]
  fromBeginning: boolean
  handler: (batch: Array<BusMessage<T>>) => Promise<void>
  tuning: ConsumerTuning
  physicalTopic: (logical: string) => string
  logicalTopic: (physical: string) => string
  decode: (logicalTopic: string, bytes: Buffer) => T
  /** Publishes dead letters; resolves once Kafka acknowledged them. */
  deadLetter: (letters: DeadLetter[]) => Promise<void>
  logger: Logger
  metrics: KafkaMetrics
  now: () => number
  /** Called once the subscription closed (the bus forgets it). */
  onClosed?: () => void
  /**
   * Per physical topic, the partitions and their end offsets when the subscription starts, and the
   * group's committed offsets: what `caughtUp` waits for.
   */
  startPositions: () => Promise<StartPosition[]>
}

export interface StartPosition {
  topic: string
  partition: number
  /** offset of the next message to be written: the partition is read once `high - 1` is handled */
  high: bigint
  low: bigint
  /** the group's committed offset, -1 when none */
  committed: bigint
}

interface Heartbeater {
  failed: boolean
  stop(): void
}

interface Item<T> {
  message: BusMessage<T>
  raw: RawMessage
}

type Outcome = 'done' | 'closed' | TopoflowError

/**
 * One consumer group member. Offsets are resolved and committed only after the handler (or the
 * dead-letter write) resolved, so a crash replays exactly what was not acknowledged. Messages that
 * cannot be decoded, and messages a handler rejects with a permanent error, go to the dead-letter
 * topic and the partition moves on; retriable failures are retried with backoff.
 */
export class KafkaSubscription<T> implements Subscription {
  readonly #deps: SubscriptionDeps<T>
  readonly #logger: Logger
  readonly #abort = new AbortController()
  readonly #abandoners = new Set<() => void>()
  readonly #paused = new Map<string, { topic: string, partition: number, resume: () => void }>()
  #inFlight = 0
  #idleWaiters: Array<() => void> = []
  #stopping = false
  #closing: Promise<void> | null = null
  /** `topic\u0000partition` → last offset to handle before the subscription has caught up */
  #behind: Map<string, bigint> | undefined
  #assigned: Set<string> | undefined
  #markCaughtUp: () => void = () => {}
  readonly caughtUp = new Promise<void>((resolve) => { this.#markCaughtUp = resolve })

  constructor (deps: SubscriptionDeps<T>) {
    this.#deps = deps
    this.#logger = partLogger(deps.logger, 'kafka-subscription', { group: deps.group })
  }

  /** Messages currently in handlers. */
  get inFlight (): number { return this.#inFlight }

  /** Partitions paused because handlers lag behind (logical topic names). */
  pausedPartitions (): Array<{ topic: string, partition: number }> {
    return [...this.#paused.values()].map(({ topic, partition }) => ({ topic: this.#deps.logicalTopic(topic), partition }))
  }

  async start (): Promise<void> {
    const { consumer, tuning } = this.#deps
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.#logger.info({ memberAssignment: e.payload.memberAssignment }, 'Joined consumer group')
      // Partitions another member reads are not ours to wait for.
      this.#assigned = new Set(Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionKey(topic, p))))
      this.#checkCaughtUp()
    })
    consumer.on(consumer.events.CRASH, (e) => {
      this.#deps.metrics.error('TOPOFLOW_ERR_KAFKA')
      this.#logger.error({ err: e.payload.error, restart: e.payload.restart }, 'Consumer crashed')
    })
    try {
      await this.#learnStartPositions()
      await consumer.connect()
      await consumer.subscribe({ topics: this.#deps.topics.map(this.#deps.physicalTopic), fromBeginning: this.#deps.fromBeginning })
      await consumer.run({
        autoCommit: true,
        // Commit as soon as anything is resolved: we only resolve what a handler acknowledged.
        autoCommitThreshold: 1,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: tuning.partitionsConcurrently,
        eachBatch: async (payload) => { await this.#onBatch(payload) }
      })
    } catch (err) {
      throw toKafkaError(err, { stage: 'subscribe', group: this.#deps.group })
    }
  }

  /**
   * Stops taking new chunks, lets running handlers finish for `closeGraceMs` (their offsets are then
   * committed), abandons the ones still running, and leaves the group. What was not acknowledged is
   * redelivered to whichever member gets the partition next.
   */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    await this.#closing
  }

  async #close (): Promise<void> {
    this.#stopping = true
    if (this.#inFlight > 0) {
      this.#logger.info({ inFlight: this.#inFlight, graceMs: this.#deps.tuning.closeGraceMs }, 'Closing: waiting for running handlers')
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve))
      const grace = new AbortController()
      await Promise.race([idle, sleep(this.#deps.tuning.closeGraceMs, undefined, { signal: grace.signal }).catch(() => {})])
      grace.abort()
    }
    this.#abort.abort()
    for (const abandon of this.#abandoners) abandon()
    try {
      await this.#deps.consumer.disconnect()
    } catch (err) {
      this.#logger.warn({ err }, 'Consumer did not disconnect cleanly')
    }
    this.#deps.onClosed?.()
    this.#logger.info('Consumer closed')
  }

  get #closed (): boolean { return this.#abort.signal.aborted }

  async #onBatch (payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    const { maxBatch, maxInFlight } = this.#deps.tuning
    const heartbeat = this.#startHeartbeat(payload)
    try {
      for (let start = 0; start < batch.messages.length; start += maxBatch) {
        if (this.#stopping || heartbeat.failed || !payload.isRunning() || payload.isStale()) return
        const chunk = batch.messages.slice(start, start + maxBatch)
        if (this.#inFlight > 0 && this.#inFlight + chunk.length > maxInFlight) {
          // The rest of this batch stays unresolved: kafkajs fetches it again after resume.
          this.#pause(batch.topic, batch.partition, payload.pause)
          return
        }
        this.#inFlight += chunk.length
        let acknowledged = false
        try {
          acknowledged = await this.#process(batch.topic, batch.partition, chunk, heartbeat)
        } finally {
          this.#inFlight -= chunk.length
          this.#resumeIfRoom()
          if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake()
        }
        if (!acknowledged) return
        const last = chunk[chunk.length - 1]!.offset
        payload.resolveOffset(last)
        const lastOffset = BigInt(last)
        this.#handled(batch.topic, batch.partition, lastOffset)
        // highWatermark is the next offset to be written: what is left after `last`.
        this.#deps.metrics.lag(this.#deps.group, this.#deps.logicalTopic(batch.topic), batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - lastOffset - 1n)))
        // A failed commit (e.g. a rebalance) is rethrown to kafkajs, which rejoins; replay covers the rest.
        await payload.commitOffsetsIfNecessary()
      }
    } finally {
      heartbeat.stop()
    }
  }

  /** Decodes, dead-letters what cannot be decoded, hands the rest to the handler. True once all acknowledged. */
  async #process (physical: string, partition: number, chunk: KafkaMessage[], heartbeat: Heartbeater): Promise<boolean> {
    const topic = this.#deps.logicalTopic(physical)
    const items: Array<Item<T>> = []
    const letters: DeadLetter[] = []
    for (const m of chunk) {
      const raw: RawMessage = { topic: physical, partition, offset: m.offset, key: m.key, value: m.value, headers: headersToStrings(m.headers) }
      const message: BusMessage<T> = {
        topic,
        key: m.key === null ? null : m.key.toString('utf8'),
        value: null,
        headers: raw.headers,
        partition,
        offset: m.offset,
        timestamp: Number(m.timestamp)
      }
      if (m.value !== null) {
        try {
          message.value = this.#deps.decode(topic, m.value)
        } catch (err) {
          const error = toTopoflowError(err, 'TOPOFLOW_ERR_DECODE')
          letters.push(deadLetterFor(raw, error, `${this.#deps.group}/decode`, this.#deps.now()))
          continue
        }
      }
      items.push({ message, raw })
    }
    if (letters.length > 0 && !(await this.#sendDeadLetters(topic, letters))) return false
    if (items.length > 0 && !(await this.#deliver(topic, items, heartbeat))) return false
    this.#deps.metrics.consumed(topic, chunk.length)
    return true
  }

  async #deliver (topic: string, items: Array<Item<T>>, heartbeat: Heartbeater): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#callHandler(items.map((i) => i.message))
      if (outcome === 'done') return true
      if (outcome === 'closed') return false
      this.#deps.metrics.error(outcome.code)
      if (outcome.retriable) {
        if (heartbeat.failed || this.#stopping) return false
        const delay = this.#retryDelay(attempt)
        this.#logger.warn({ err: outcome, topic, attempt: attempt + 1, delayMs: delay }, 'Handler failed with a retriable error; retrying')
        if (!(await this.#sleep(delay))) return false
        continue
      }
      if (items.length > 1) {
        // Find the message(s) the handler refuses by handing them over one at a time.
        for (const item of items) {
          if (!(await this.#deliver(topic, [item], heartbeat))) return false
        }
        return true
      }
      const letter = deadLetterFor(items[0]!.raw, outcome, `${this.#deps.group}/handler`, this.#deps.now())
      return await this.#sendDeadLetters(topic, [letter])
    }
  }

  /** Runs the handler, unless the subscription closes first (then the call is abandoned). */
  async #callHandler (messages: Array<BusMessage<T>>): Promise<Outcome> {
    if (this.#closed) return 'closed'
    let abandon: () => void = () => {}
    const abandoned = new Promise<'closed'>((resolve) => { abandon = () => resolve('closed') })
    this.#abandoners.add(abandon)
    try {
      return await Promise.race([this.#deps.handler(messages).then(() => 'done' as const), abandoned])
    } catch (err) {
      if (isKafkaJSError(err)) return toKafkaError(err, { stage: 'handler' })
      return toTopoflowError(err)
    } finally {
      this.#abandoners.delete(abandon)
    }
  }

  /** Dead-letter writes are retried until they succeed or the subscription closes. */
  async #sendDeadLetters (topic: string, letters: DeadLetter[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) return false
      try {
        await this.#deps.deadLetter(letters)
        const byCode = new Map<string, number>()
        for (const l of letters) byCode.set(l.value.ErrorCode, (byCode.get(l.value.ErrorCode) ?? 0) + 1)
        for (const [code, count] of byCode) this.#deps.metrics.deadLettered(topic, code, count)
        this.#logger.warn({ topic, count: letters.length, codes: [...byCode.keys()], stage: letters[0]?.value.Stage }, 'Messages sent to the dead-letter topic')
        return true
      } catch (err) {
        const error = toKafkaError(err, { stage: 'dead-letter', topic })
        this.#deps.metrics.error(error.code)
        const delay = this.#retryDelay(attempt)
        this.#logger.error({ err: error, topic, attempt: attempt + 1, delayMs: delay }, 'Dead-letter write failed; retrying')
        if (!(await this.#sleep(delay))) return false
      }
    }
  }

  #retryDelay (attempt: number): number {
    const { retryMinDelayMs, retryMaxDelayMs } = this.#deps.tuning
    return backoffDelay(attempt, { minDelayMs: retryMinDelayMs, maxDelayMs: retryMaxDelayMs })
  }

  /** False when the subscription closed during the wait. */
  async #sleep (ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.#abort.signal })
      return true
    } catch {
      return false
    }
  }

  /**
   * Where the topics end now, for `caughtUp`. Right after topics are made their leaders may not be
   * elected yet: retried for a while; failing that, the subscription goes on and `caughtUp` resolves
   * at once (readiness is then not vouched for, which the log says), rather than not consuming at all.
   */
  async #learnStartPositions (): Promise<void> {
    try {
      const positions = await retry(async () => await this.#deps.startPositions(), { retries: 8, minDelayMs: this.#deps.tuning.retryMinDelayMs, maxDelayMs: Math.min(3000, this.#deps.tuning.retryMaxDelayMs), signal: this.#abort.signal })
      this.#behind = behindAtStart(positions, this.#deps.fromBeginning)
    } catch (err) {
      this.#logger.warn({ err }, 'Could not learn where the topics end; caughtUp resolves now')
      this.#behind = new Map()
    }
    this.#checkCaughtUp()
  }

  #handled (topic: string, partition: number, offset: bigint): void {
    const key = partitionKey(topic, partition)
    const target = this.#behind?.get(key)
    if (target === undefined || offset < target) return
    this.#behind?.delete(key)
    this.#checkCaughtUp()
  }

  #checkCaughtUp (): void {
    if (this.#behind === undefined) return
    const assigned = this.#assigned
    for (const key of this.#behind.keys()) if (assigned === undefined || assigned.has(key)) return
    this.#markCaughtUp()
  }

  #startHeartbeat (payload: EachBatchPayload): Heartbeater {
    const state: Heartbeater = { failed: false, stop: () => { clearInterval(timer) } }
    const timer = setInterval(() => {
      payload.heartbeat().catch((err: unknown) => {
        // Usually a rebalance: stop taking new chunks so kafkajs can rejoin.
        state.failed = true
        this.#logger.info({ err }, 'Heartbeat refused; finishing the current batch early')
      })
    }, this.#deps.tuning.heartbeatIntervalMs)
    return state
  }

  #pause (topic: string, partition: number, pause: () => () => void): void {
    const key = partitionKey(topic, partition)
    if (this.#paused.has(key)) return
    this.#paused.set(key, { topic, partition, resume: pause() })
    this.#deps.metrics.paused(this.#deps.logicalTopic(topic))
    this.#logger.debug({ topic, partition, inFlight: this.#inFlight }, 'Partition paused: handlers are behind')
  }

  /** Resumes every paused partition once in-flight work is back under half the bound. */
  #resumeIfRoom (): void {
    if (this.#paused.size === 0 || this.#inFlight > this.#deps.tuning.maxInFlight / 2) return
    for (const { resume } of this.#paused.values()) resume()
    this.#paused.clear()
  }
}

/** One key per topic partition, for the maps that track partitions. */
export function partitionKey (topic: string, partition: number): string { return `${topic}\u0000${partition}` }

/**
 * The last offset to handle in each partition that holds something this group has not read: from
 * its committed offset, or, without one, from the start (`fromBeginning`) or nothing (from the end).
 */
export function behindAtStart (positions: StartPosition[], fromBeginning: boolean): Map<string, bigint> {
  const behind = new Map<string, bigint>()
  for (const p of positions) {
    const from = p.committed >= 0n ? p.committed : fromBeginning ? p.low : p.high
    if (from < p.high) behind.set(partitionKey(p.topic, p.partition), p.high - 1n)
  }
  return behind
}
