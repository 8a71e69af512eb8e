import { Counter, Gauge, type Registry } from '@topoflow/core'

/**
 * Counters the Kafka adapter reports. Injected so services can back them with Prometheus
 * (`promKafkaMetrics`) and tests with plain numbers (`memoryKafkaMetrics`).
 */
export interface KafkaMetrics {
  produced(topic: string, count: number): void
  consumed(topic: string, count: number): void
  deadLettered(topic: string, code: string, count: number): void
  error(code: string): void
  paused(topic: string): void
  /** Messages of a partition written but not yet handled by this group, after each handled chunk. */
  lag(group: string, topic: string, partition: number, messages: number): void
}

export const noopKafkaMetrics: KafkaMetrics = {
  produced () {},
  consumed () {},
  deadLettered () {},
  error () {},
  paused () {},
  lag () {}
}

export interface MemoryKafkaMetrics extends KafkaMetrics {
  readonly counts: { produced: number, consumed: number, deadLettered: number, errors: number, pauses: number }
  /** Latest lag per `group/topic/partition`. */
  readonly lags: Map<string, number>
}

/** Totals kept in memory, for tests and the bench. */
export function memoryKafkaMetrics (): MemoryKafkaMetrics {
  const counts = { produced: 0, consumed: 0, deadLettered: 0, errors: 0, pauses: 0 }
  const lags = new Map<string, number>()
  return {
    counts,
    lags,
    lag (group, topic, partition, messages) { lags.set(`${group}/${topic}/${partition}`, messages) },
    produced (_topic, count) { counts.produced += count },
    consumed (_topic, count) { counts.consumed += count },
    deadLettered (_topic, _code, count) { counts.deadLettered += count },
    error () { counts.errors++ },
    paused () { counts.pauses++ }
  }
}

/** Prometheus counters on the given registry (created once per registry). */
export function promKafkaMetrics (registry: Registry): KafkaMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> => {
    const existing = registry.getSingleMetric(name)
    if (existing !== undefined) return existing as Counter<L>
    return new Counter({ name, help, labelNames, registers: [registry] })
  }
  const produced = counter('topoflow_kafka_produced_total', 'Messages acknowledged by Kafka', ['topic'])
  const consumed = counter('topoflow_kafka_consumed_total', 'Messages consumed and acknowledged by a handler', ['topic'])
  const dead = counter('topoflow_kafka_dead_lettered_total', 'Messages sent to the dead-letter topic', ['topic', 'code'])
  const errors = counter('topoflow_kafka_errors_total', 'Kafka adapter errors by code', ['code'])
  const pauses = counter('topoflow_kafka_partition_pauses_total', 'Partitions paused because handlers lag', ['topic'])
  const lag = (registry.getSingleMetric('topoflow_kafka_consumer_lag_messages') as Gauge<'group' | 'topic' | 'partition'> | undefined) ??
    new Gauge({ name: 'topoflow_kafka_consumer_lag_messages', help: 'Messages of a partition not yet handled by the group, as of its last handled chunk', labelNames: ['group', 'topic', 'partition'], registers: [registry] })
  return {
    lag (group, t, partition, messages) { lag.set({ group, topic: t, partition: String(partition) }, messages) },
    produced (topic, count) { produced.inc({ topic }, count) },
    consumed (topic, count) { consumed.inc({ topic }, count) },
    deadLettered (topic, code, count) { dead.inc({ topic, code }, count) },
    error (code) { errors.inc({ code }) },
    paused (topic) { pauses.inc({ topic }) }
  }
}
