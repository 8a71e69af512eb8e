/**
 * The bus carries every event between services. Two implementations share this contract:
 * `InProcessBus` (below; all-in-one mode and unit tests) and `KafkaBus` in `@topoflow/kafka`.
 * Delivery is at-least-once: a subscriber's offsets advance only after its handler resolved.
 */
export interface BusMessage<T> {
  topic: string
  key: string | null
  /** null is a tombstone (deletion on a compacted topic) */
  value: T | null
  headers?: Record<string, string>
  partition?: number
  offset?: string
  timestamp?: number
}

export interface OutgoingMessage<T> {
  key: string | null
  value: T | null
  headers?: Record<string, string>
}

export interface Subscription {
  close(): Promise<void>
  /**
   * Resolves once the handler acknowledged every message its topics held when the subscription
   * started (at once when there was nothing to read). Consumers that rebuild state from a topic
   * wait for it before they act on that state. For a group shared by several members, only the
   * partitions this member is assigned count.
   */
  readonly caughtUp: Promise<void>
}

export interface SubscribeOptions<T> {
  topics: string[]
  group: string
  fromBeginning?: boolean
  /** Resolves only after the downstream write succeeded: offsets are committed after it resolves. */
  handler: (batch: Array<BusMessage<T>>) => Promise<void>
  maxBatch?: number
}

export interface Bus {
  start(): Promise<void>
  close(): Promise<void>
  publish<T>(topic: string, messages: Array<OutgoingMessage<T>>): Promise<void>
  subscribe<T>(opts: SubscribeOptions<T>): Promise<Subscription>
}
