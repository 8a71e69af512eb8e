import { parseArgs } from 'node:util'
import { runApiService, type ApiService } from '@topoflow/api'
import { buildCaptureAgent } from '@topoflow/capture'
import { closeAll, createLogger, createRegistry, parseListen, type Bus, type Component, type TopoflowConfig } from '@topoflow/core'
import { buildEnricher } from '@topoflow/enricher'
import { MemoryFlowSource, MemoryGraph, type Flow } from '@topoflow/gremlin'
import { buildGraphBuilder } from '@topoflow/graph-builder'
import type { CliIO } from './cli.ts'
import { createBus, readConfig } from './runtime.ts'

const usage = `Usage: topoflow allinone [--config FILE] [--listen HOST:PORT]

Runs the capture agent of this host, the graph-builder, the enricher and the API with its web UI in
one process, over an in-process bus, keeping analyzer.history.window seconds of topology revisions
and flows in memory. With KAFKA_BROKERS set, the services talk through Kafka instead.
`

/** Credentials the all-in-one uses on its own API (start-up capture) when basic auth is on. */
function ownCredentials (config: TopoflowConfig): string | undefined {
  const backend = config.auth[config.analyzer.auth.api.backend]
  const user = Object.entries(backend?.users ?? {})[0]
  return backend?.type === 'basic' && user !== undefined ? `Basic ${Buffer.from(`${user[0]}:${user[1]}`).toString('base64')}` : undefined
}

export interface AllInOne {
  api: ApiService
  bus: Bus
  graph: MemoryGraph
  flows: MemoryFlowSource
  close(): Promise<void>
}

/** Starts every service in this process; what `topoflow allinone` runs and what tests embed. */
export async function startAllInOne (config: TopoflowConfig, opts: { listen?: { host: string, port: number } } = {}): Promise<AllInOne> {
  const logger = createLogger({ level: config.logging.level, name: 'allinone' })
  const registry = createRegistry('allinone')
  const windowMs = config.analyzer.history.window * 1000
  const graph = new MemoryGraph({ historyWindowMs: windowMs, maxHistoryRevisions: config.analyzer.history.max_revisions })
  const flows = new MemoryFlowSource({
    maxFlows: config.analyzer.history.max_flows,
    // one metric window per flow update within the history window
    maxMetricsPerFlow: Math.max(1, Math.ceil(config.analyzer.history.window / config.flow.update))
  })
  const bus = createBus(config, logger, registry)
  const started: Component[] = []
  const start = async (c: Component): Promise<void> => { await c.start(); started.push(c) }
  try {
    await start(bus)
    await start(buildGraphBuilder({ config, bus, logger, registry }))
    const enricher = buildEnricher({
      config,
      bus,
      logger,
      registry,
      instanceId: 'allinone',
      indexer: { index: async (enriched) => { for (const f of enriched) flows.upsert(f as unknown as Flow) } }
    })
    await start(enricher)
    const api = await runApiService({ config, bus, logger, registry, graph, flows, ...(opts.listen === undefined ? {} : { listen: opts.listen }) })
    started.push({ start: async () => {}, close: async () => { await api.close() } })
    const capture = buildCaptureAgent({ config, bus, logger, registry })
    for (const c of capture.components) await start(c)
    // The window bounds memory: flows idle past it are forgotten (the graph prunes its own history).
    const pruner = setInterval(() => { flows.pruneOlderThan(Date.now() - windowMs) }, Math.min(60_000, windowMs / 4))
    pruner.unref()
    started.push({ start: async () => {}, close: async () => { clearInterval(pruner) } })
    await startupCapture(config, api, logger)
    return { api, bus, graph, flows, close: async () => { await closeAll(started, { logger, deadlineMs: 15_000 }) } }
  } catch (err) {
    await closeAll(started, { logger })
    throw err
  }
}

/** Skydive's `analyzer.startup.capture_gremlin`: a capture created through our own API at start. */
async function startupCapture (config: TopoflowConfig, api: ApiService, logger: ReturnType<typeof createLogger>): Promise<void> {
  const query = config.analyzer.startup.capture_gremlin
  if (query === '') return
  const authorization = ownCredentials(config)
  const res = await api.app.inject({
    method: 'POST',
    url: '/api/capture',
    headers: authorization === undefined ? {} : { authorization },
    payload: {
      GremlinQuery: query,
      BPFFilter: config.analyzer.startup.capture_bpf,
      Name: 'startup',
      Description: 'analyzer.startup.capture_gremlin',
      ...(config.analyzer.startup.capture_type === '' ? {} : { Type: config.analyzer.startup.capture_type })
    }
  })
  if (res.statusCode >= 300) logger.error({ status: res.statusCode, body: res.body }, 'Start-up capture was refused')
  else logger.info({ query }, 'Start-up capture created')
}

export async function runAllInOne (argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, listen: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help === true) { io.stdout.write(usage); return 0 }
  const overrides = values.listen === undefined ? {} : { 'analyzer.listen': values.listen }
  const config = readConfig(values.config, io.env, overrides)
  const listen = parseListen(config.analyzer.listen)
  const shutdown = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const t0 = Date.now()
  const app = await startAllInOne(config, { listen })
  const shown = listen.host === '0.0.0.0' || listen.host === '::' ? 'localhost' : listen.host
  io.stderr.write(`Topoflow all-in-one ready in ${Date.now() - t0} ms: UI and API at http://${shown}:${app.api.port}/ (host ${config.host_id}). Ctrl-C stops it.\n`)
  const signal = await shutdown
  io.stderr.write(`${signal}: shutting down\n`)
  await app.close()
  return 0
}
