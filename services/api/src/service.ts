import { parseListen, type Bus, type Logger, type Registry, type TopoflowConfig } from '@topoflow/core'
import { MemoryGraph, type FlowSource, type GraphSource } from '@topoflow/gremlin'
import { buildApp, type ApiApp, type BuildAppOptions } from './app.ts'
import type { ApiLimits } from './context.ts'

export interface ApiServiceOptions {
  config: TopoflowConfig
  bus: Bus
  logger: Logger
  registry?: Registry
  /** flows for `G.Flows()` (all-in-one: the in-memory table; distributed: OpenSearch) */
  flows?: FlowSource
  /** history beyond the replica's own window (OpenSearch) */
  history?: GraphSource
  /** defaults to a MemoryGraph keeping `analyzer.history` worth of revisions */
  graph?: MemoryGraph
  limits?: Partial<ApiLimits>
  /** overrides `analyzer.listen` (tests: port 0) */
  listen?: { host: string, port: number }
}

export interface ApiService {
  app: ApiApp
  /** where it listens, e.g. `127.0.0.1:8082` */
  address: string
  port: number
  close(): Promise<void>
}

/** Builds the API and listens on `analyzer.listen`: what `topoflow api` and the all-in-one run. */
export async function runApiService (opts: ApiServiceOptions): Promise<ApiService> {
  const { config } = opts
  const graph = opts.graph ?? new MemoryGraph({
    historyWindowMs: config.analyzer.history.window * 1000,
    maxHistoryRevisions: config.analyzer.history.max_revisions
  })
  const appOpts: BuildAppOptions = { config, bus: opts.bus, graph, logger: opts.logger }
  if (opts.registry !== undefined) appOpts.registry = opts.registry
  if (opts.flows !== undefined) appOpts.flows = opts.flows
  if (opts.history !== undefined) appOpts.history = opts.history
  if (opts.limits !== undefined) appOpts.limits = opts.limits
  const app = await buildApp(appOpts)
  const { host, port } = opts.listen ?? parseListen(config.analyzer.listen)
  await app.listen({ host, port })
  const addr = app.server.address()
  const actualPort = typeof addr === 'object' && addr !== null ? addr.port : port
  const shownHost = host.includes(':') ? `[${host}]` : host
  opts.logger.info({ host, port: actualPort }, 'API listening')
  let closed = false
  return {
    app,
    address: `${shownHost}:${actualPort}`,
    port: actualPort,
    close: async () => {
      if (closed) return
      closed = true
      await app.close()
    }
  }
}
