import { partLogger, silentLogger, TopoflowError, type Bus, type Logger, type OutgoingMessage, type SubscribeOptions } from '@topoflow/core'
import kafkajs from 'kafkajs'
import type { Consumer, Kafka, Message, Producer, TopicMessages } from 'kafkajs'
import type { DeadLetter } from './dead-letter.ts'
import { toKafkaError } from './errors.ts'
import { kafkaLevelFor, pinoLogCreator } from './log-creator.ts'
import { noopKafkaMetrics, type KafkaMetrics } from './metrics.ts'
import { PublishBuffer, type WireMessage } from './publish-buffer.ts'
import { consumerDefaults, KafkaSubscription, partitionKey, type ConsumerTuning, type StartPosition } from './subscription.ts'
import { codecFor as schemaCodecFor, isTopicName, topics } from '@topoflow/schemas'
import { ensureTopics, type EnsureTopicsResult, type TopicTable } from './topics.ts'

const { CompressionTypes, Partitioners } = kafkajs

/** Encodes and decodes one topic's values (the schemas' Avro single-object codecs in production). */
export interface TopicCodec {
  encode(value: unknown): Buffer
  decode(bytes: Buffer): unknown
}

export interface ProducerTuning {
  /** How long a message waits for others to share its request (ms). */
  lingerMs: number
  /** Messages per produce request. */
  maxBatchMessages: number
  /** Messages buffered before publish() waits (backpressure on the publisher). */
  maxBufferedMessages: number
  compression: 'gzip' | 'none'
}

export const producerDefaults: ProducerTuning = {
  lingerMs: 5,
  maxBatchMessages: 2000,
  maxBufferedMessages: 20_000,
  compression: 'gzip'
}

export interface KafkaBusOptions {
  brokers: string[]
  clientId?: string
  /** Prepended to every topic name on the wire, to keep environments (or tests) apart on one cluster. */
  topicPrefix?: string
  /** The codec of a (logical) topic; throws for a topic without one. Defaults to the schemas' codecs. */
  codecFor?: (topic: string) => TopicCodec
  /** Logical name of the dead-letter topic (default `topoflow.dlq.v1`). */
  deadLetterTopic?: string
  producer?: Partial<ProducerTuning>
  consumer?: Partial<ConsumerTuning>
  logger?: Logger
  metrics?: KafkaMetrics
  now?: () => number
}

/** Subscribe options plus per-subscription consumer tuning. */
export type KafkaSubscribeOptions<T> = SubscribeOptions<T> & Partial<ConsumerTuning>

/**
 * The Kafka implementation of the bus. One idempotent producer (acks=all, one request in flight,
 * compressed, batched by a bounded linger buffer) serves publish() and the dead-letter writes;
 * each subscription is its own kafkajs consumer with commit-after-ack.
 */
export class KafkaBus implements Bus {
  readonly #opts: KafkaBusOptions
  readonly #logger: Logger
  readonly #metrics: KafkaMetrics
  readonly #prefix: string
  readonly #producerTuning: ProducerTuning
  readonly #kafka: Kafka
  readonly #codecFor: (topic: string) => TopicCodec
  readonly #deadLetterTopic: string
  readonly #subscriptions = new Set<KafkaSubscription<unknown>>()
  #producer: Producer | null = null
  #buffer: PublishBuffer | null = null
  #state: 'new' | 'starting' | 'started' | 'closed' = 'new'

  constructor (opts: KafkaBusOptions) {
    this.#opts = opts
    this.#logger = partLogger(opts.logger ?? silentLogger(), 'kafka-bus')
    this.#metrics = opts.metrics ?? noopKafkaMetrics
    this.#prefix = opts.topicPrefix ?? ''
    this.#producerTuning = { ...producerDefaults, ...opts.producer }
    this.#codecFor = opts.codecFor ?? schemaCodec
    this.#deadLetterTopic = opts.deadLetterTopic ?? topics.dlq
    const rootLogger = opts.logger ?? silentLogger()
    this.#kafka = new kafkajs.Kafka({
      brokers: opts.brokers,
      clientId: opts.clientId ?? 'topoflow',
      logLevel: kafkaLevelFor(rootLogger.level),
      logCreator: pinoLogCreator(rootLogger)
    })
  }

  /** The name a logical topic has on the wire. */
  physicalTopic (topic: string): string { return this.#prefix + topic }

  logicalTopic (physical: string): string {
    return physical.startsWith(this.#prefix) ? physical.slice(this.#prefix.length) : physical
  }

  async start (): Promise<void> {
    if (this.#state === 'started') return
    if (this.#state !== 'new') throw new TopoflowError('TOPOFLOW_ERR_KAFKA', `Cannot start the Kafka bus: it is ${this.#state}`)
    this.#state = 'starting'
    const producer = this.#kafka.producer({
      idempotent: true,
      // kafkajs requires a single in-flight request for idempotence (ordering under retries).
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner
    })
    try {
      await producer.connect()
    } catch (err) {
      this.#state = 'new'
      throw toKafkaError(err, { stage: 'producer-connect' })
    }
    this.#producer = producer
    const tuning = this.#producerTuning
    this.#buffer = new PublishBuffer({
      send: async (batch) => { await this.#send(producer, batch) },
      lingerMs: tuning.lingerMs,
      maxBatchMessages: tuning.maxBatchMessages,
      maxBufferedMessages: tuning.maxBufferedMessages
    })
    this.#state = 'started'
    this.#logger.info({ brokers: this.#opts.brokers, topicPrefix: this.#prefix }, 'Kafka bus started')
  }

  /** Closes subscriptions, sends what is buffered, disconnects. Safe before start() and twice. */
  async close (): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    await Promise.all([...this.#subscriptions].map(async (s) => { await s.close() }))
    this.#subscriptions.clear()
    try {
      await this.#buffer?.close()
    } catch (err) {
      this.#logger.warn({ err }, 'Buffered messages could not all be sent while closing')
    }
    await this.#producer?.disconnect().catch((err: unknown) => {
      this.#logger.warn({ err }, 'Producer did not disconnect cleanly')
    })
    this.#logger.info('Kafka bus closed')
  }

  /**
   * Encodes with the topic's codec (null value = tombstone) and resolves once Kafka acknowledged
   * every message of the call. Encoding errors reject at once, before anything is sent.
   */
  async publish<T>(topic: string, messages: Array<OutgoingMessage<T>>): Promise<void> {
    const buffer = this.#requireStarted('publish')
    const codec = this.#codec(topic)
    const physical = this.physicalTopic(topic)
    const wire = messages.map((m, index): WireMessage => {
      let value: Buffer | null = null
      if (m.value !== null) {
        try {
          value = codec.encode(m.value)
        } catch (err) {
          const code = TopoflowError.is(err) ? err.code : 'TOPOFLOW_ERR_ENCODE'
          throw new TopoflowError(code, `Message ${index} for topic ${topic} cannot be encoded: ${errorMessage(err)}`, { cause: err, context: { topic, index } })
        }
      }
      const w: WireMessage = { topic: physical, key: m.key, value }
      if (m.headers !== undefined) w.headers = m.headers
      return w
    })
    await buffer.enqueue(wire)
  }

  async subscribe<T>(opts: KafkaSubscribeOptions<T>): Promise<KafkaSubscription<T>> {
    this.#requireStarted('subscribe')
    if (opts.topics.length === 0) throw new TopoflowError('TOPOFLOW_ERR_KAFKA', `Subscription of group ${opts.group} names no topic`)
    for (const topic of opts.topics) this.#codec(topic)
    const tuning = { ...consumerDefaults, ...this.#opts.consumer, ...pickTuning(opts) }
    const consumer: Consumer = this.#kafka.consumer({
      groupId: opts.group,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      maxWaitTimeInMs: tuning.maxWaitTimeMs,
      allowAutoTopicCreation: false
    })
    const sub = new KafkaSubscription<T>({
      consumer,
      group: opts.group,
      topics: opts.topics,
      fromBeginning: opts.fromBeginning ?? false,
      handler: opts.handler,
      tuning,
      physicalTopic: (t) => this.physicalTopic(t),
      logicalTopic: (t) => this.logicalTopic(t),
      decode: (topic, bytes) => this.#codec(topic).decode(bytes) as T,
      deadLetter: async (letters) => { await this.#publishDeadLetters(letters) },
      logger: this.#logger,
      metrics: this.#metrics,
      now: this.#opts.now ?? Date.now,
      onClosed: () => { this.#subscriptions.delete(sub as KafkaSubscription<unknown>) },
      startPositions: async () => await this.#startPositions(opts.group, opts.topics.map((t) => this.physicalTopic(t)))
    })
    this.#subscriptions.add(sub as KafkaSubscription<unknown>)
    try {
      await sub.start()
    } catch (err) {
      await sub.close()
      throw err
    }
    return sub
  }

  /** End offsets of every partition of `topics`, and `group`'s committed offsets there. */
  async #startPositions (group: string, topics: string[]): Promise<StartPosition[]> {
    const admin = this.#kafka.admin()
    try {
      await admin.connect()
      const committed = new Map<string, bigint>()
      for (const t of await admin.fetchOffsets({ groupId: group, topics })) {
        for (const p of t.partitions) committed.set(partitionKey(t.topic, p.partition), BigInt(p.offset))
      }
      const out: StartPosition[] = []
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          out.push({ topic, partition: p.partition, high: BigInt(p.high), low: BigInt(p.low), committed: committed.get(partitionKey(topic, p.partition)) ?? -1n })
        }
      }
      return out
    } catch (err) {
      throw toKafkaError(err, { stage: 'start-positions', group })
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  /** Creates the declared topics that do not exist yet (with this bus's prefix). */
  async ensureTopics (table: TopicTable, opts: { replicationFactor?: number } = {}): Promise<EnsureTopicsResult> {
    const admin = this.#kafka.admin()
    try {
      await admin.connect()
      return await ensureTopics(admin, table, { prefix: this.#prefix, logger: this.#logger, ...opts })
    } catch (err) {
      throw toKafkaError(err, { stage: 'ensure-topics' })
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  async #publishDeadLetters (letters: DeadLetter[]): Promise<void> {
    await this.publish(this.#deadLetterTopic, letters)
  }

  async #send (producer: Producer, batch: WireMessage[]): Promise<void> {
    const byTopic = new Map<string, Message[]>()
    for (const m of batch) {
      let list = byTopic.get(m.topic)
      if (list === undefined) byTopic.set(m.topic, list = [])
      const message: Message = { key: m.key, value: m.value }
      if (m.headers !== undefined) message.headers = m.headers
      list.push(message)
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }))
    try {
      await producer.sendBatch({
        topicMessages,
        acks: -1,
        compression: this.#producerTuning.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None
      })
    } catch (err) {
      const error = toKafkaError(err, { stage: 'produce', topics: [...byTopic.keys()] })
      this.#metrics.error(error.code)
      throw error
    }
    for (const [topic, messages] of byTopic) this.#metrics.produced(this.logicalTopic(topic), messages.length)
  }

  #codec (topic: string): TopicCodec {
    try {
      return this.#codecFor(topic)
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `No codec for topic ${topic}: ${errorMessage(err)}`, { cause: err, context: { topic } })
    }
  }

  #requireStarted (what: string): PublishBuffer {
    if (this.#state !== 'started' || this.#buffer === null) {
      throw new TopoflowError('TOPOFLOW_ERR_KAFKA', `Cannot ${what}: the Kafka bus is ${this.#state === 'closed' ? 'closed' : 'not started'}`)
    }
    return this.#buffer
  }
}

/** The schemas' codec of a declared topic. */
function schemaCodec (topic: string): TopicCodec {
  if (!isTopicName(topic)) throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `${topic} is not a declared topic (see schemas' topicTable)`)
  return schemaCodecFor(topic) as TopicCodec
}

function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function pickTuning (opts: Partial<ConsumerTuning>): Partial<ConsumerTuning> {
  const out: Partial<ConsumerTuning> = {}
  for (const key of Object.keys(consumerDefaults) as Array<keyof ConsumerTuning>) {
    const value = opts[key]
    if (value !== undefined) out[key] = value
  }
  return out
}
