import type { Logger } from '@topoflow/core'
import type { Admin, ITopicConfig } from 'kafkajs'

/** What ensureTopics needs of a row of the declared topic table (schemas' `topicTable`). */
export interface TopicSpec {
  readonly name: string
  readonly partitions: number
  readonly cleanupPolicy: 'delete' | 'compact'
  /** Kafka `retention.ms`; -1 keeps records forever. */
  readonly retentionMs: number
  readonly segmentMs?: number
}

/** The table as schemas declares it (keyed by name) or as a plain list. */
export type TopicTable = readonly TopicSpec[] | { readonly [name: string]: TopicSpec }

export interface EnsureTopicsOptions {
  /** Prepended to every name, as the bus does on the wire. */
  prefix?: string
  /** Defaults to the broker's `default.replication.factor`. */
  replicationFactor?: number
  logger?: Logger
}

export interface EnsureTopicsResult {
  created: string[]
  existing: string[]
}

/** The kafkajs create request for one declared topic. */
export function topicConfigFor (spec: TopicSpec, opts: Pick<EnsureTopicsOptions, 'prefix' | 'replicationFactor'> = {}): ITopicConfig {
  const configEntries = [
    { name: 'cleanup.policy', value: spec.cleanupPolicy },
    { name: 'retention.ms', value: String(spec.retentionMs) }
  ]
  if (spec.segmentMs !== undefined) configEntries.push({ name: 'segment.ms', value: String(spec.segmentMs) })
  const config: ITopicConfig = { topic: (opts.prefix ?? '') + spec.name, numPartitions: spec.partitions, configEntries }
  if (opts.replicationFactor !== undefined) config.replicationFactor = opts.replicationFactor
  return config
}

/**
 * Creates every declared topic that does not exist yet and waits for its leaders. Topics that exist are
 * left alone (changing partitions or policy of a live topic is an operator's decision), so this is
 * safe to run at every start.
 */
export async function ensureTopics (admin: Admin, table: TopicTable, opts: EnsureTopicsOptions = {}): Promise<EnsureTopicsResult> {
  const specs: readonly TopicSpec[] = Array.isArray(table) ? table : Object.values(table)
  const existingNames = new Set(await admin.listTopics())
  const wanted = specs.map((spec) => topicConfigFor(spec, opts))
  const missing = wanted.filter((t) => !existingNames.has(t.topic))
  const existing = wanted.filter((t) => existingNames.has(t.topic)).map((t) => t.topic)
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true })
    } catch (err) {
      // Another instance may have created some of them meanwhile; only a topic still missing is an error.
      const now = new Set(await admin.listTopics())
      if (missing.some((t) => !now.has(t.topic))) throw err
    }
    opts.logger?.info({ topics: missing.map((t) => t.topic) }, 'Created Kafka topics')
  }
  return { created: missing.map((t) => t.topic), existing }
}
