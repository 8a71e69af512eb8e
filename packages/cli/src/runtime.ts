import { parseArgs } from 'node:util'
import {
  closeAll, createLogger, TopoflowError, createRegistry, InProcessBus, loadConfig, OpsServer, parseListen,
  type Bus, type Component, type Logger, type Registry, type TopoflowConfig
} from '@topoflow/core'
import { KafkaBus, promKafkaMetrics } from '@topoflow/kafka'
import { codecFor, isTopicName, topicTable, topics } from '@topoflow/schemas'
import type { CliIO } from './cli.ts'

export interface ServiceContext {
  config: TopoflowConfig
  logger: Logger
  registry: Registry
  bus: Bus
  /** Remaining command-line arguments after the common options. */
  args: string[]
  values: Record<string, string | boolean | undefined>
}

/** Options every service command accepts; commands add their own. */
export const commonOptions = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' }
} as const

export function readConfig (file: string | undefined, env: NodeJS.ProcessEnv, overrides: Record<string, unknown> = {}): TopoflowConfig {
  return loadConfig({ env, overrides, ...(file === undefined ? {} : { file }) })
}

const compacted = Object.values(topicTable).filter((t) => t.cleanupPolicy === 'compact').map((t) => t.name)

/** Kafka when brokers are configured (`kafka.brokers` / KAFKA_BROKERS), else the in-process bus. */
export function createBus (config: TopoflowConfig, logger: Logger, registry: Registry): Bus {
  if (config.kafka.brokers.length === 0) {
    return new InProcessBus({
      compactedTopics: compacted,
      logger,
      normalize: (topic, value) => {
        if (!isTopicName(topic)) return value
        const codec = codecFor(topic)
        return codec.decode(codec.encode(value as never))
      }
    })
  }
  const kafka = new KafkaBus({
    brokers: config.kafka.brokers,
    clientId: config.kafka.client_id,
    codecFor: (topic) => {
      if (!isTopicName(topic)) throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `No schema for topic "${topic}"`)
      return codecFor(topic)
    },
    deadLetterTopic: topics.dlq,
    logger,
    metrics: promKafkaMetrics(registry)
  })
  // Topics come from the one declared table before anything is produced or consumed.
  return {
    start: async () => { await kafka.start(); await kafka.ensureTopics(Object.values(topicTable)) },
    close: async () => { await kafka.close() },
    publish: async (topic, messages) => { await kafka.publish(topic, messages) },
    subscribe: async (opts) => await kafka.subscribe(opts)
  }
}

/**
 * Runs one long-lived service: config, root logger, registry, bus, the service itself and its
 * operations endpoints, until SIGINT/SIGTERM; then closes everything in reverse order.
 */
export async function runService (opts: {
  name: string
  argv: string[]
  io: CliIO
  options?: Record<string, { type: 'string' | 'boolean', short?: string }>
  /** standalone services talk to the others through Kafka only */
  requiresKafka?: boolean
  /** ops endpoints address; null when the service serves them itself (the API) */
  opsListen: (config: TopoflowConfig) => string | null
  build: (ctx: ServiceContext) => Promise<{ components: Component[], ready: () => boolean }>
}): Promise<number> {
  const { values, positionals } = parseArgs({ args: opts.argv, options: { ...commonOptions, ...opts.options }, allowPositionals: true })
  if (values.help === true) {
    opts.io.stdout.write(`Usage: topoflow ${opts.name} [--config FILE]${Object.keys(opts.options ?? {}).map((o) => ` [--${o}]`).join('')}\n`)
    return 0
  }
  const config = readConfig(values.config as string | undefined, opts.io.env)
  if (opts.requiresKafka === true && config.kafka.brokers.length === 0) {
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${opts.name} runs in a distributed deployment and needs Kafka: set KAFKA_BROKERS or kafka.brokers (or run \`topoflow allinone\`)`)
  }
  const logger = createLogger({ level: config.logging.level, name: opts.name })
  const registry = createRegistry(opts.name)
  const bus = createBus(config, logger, registry)
  const started: Component[] = []
  let readiness = (): boolean => false
  const shutdown = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  try {
    await bus.start()
    started.push(bus)
    const built = await opts.build({ config, logger, registry, bus, args: positionals, values: values as ServiceContext['values'] })
    readiness = built.ready
    for (const c of built.components) { await c.start(); started.push(c) }
    const ops = opts.opsListen(config)
    if (ops !== null) {
      const { host, port } = parseListen(ops)
      const server = new OpsServer({ host, port, registry, logger, health: { healthy: () => true, ready: () => readiness() } })
      await server.start()
      started.push(server)
    }
    logger.info({ service: opts.name }, 'Service started')
  } catch (err) {
    logger.error({ err }, 'Service failed to start')
    await closeAll(started, { logger })
    throw err
  }
  const signal = await shutdown
  logger.info({ signal }, 'Shutting down')
  await closeAll(started, { logger, deadlineMs: 15_000 })
  // Whatever a client library left behind (a reconnect timer, a child that ignores us) must not keep a
  // stopped service alive for good: it gets a moment to end by itself, then the process exits.
  setTimeout(() => {
    logger.warn('Still running after shutdown; exiting')
    process.exit(0)
  }, exitGraceMs).unref()
  return 0
}

const exitGraceMs = 3000
