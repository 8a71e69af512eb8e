import { Client } from '@opensearch-project/opensearch'
import { OpenSearchFlowSource, OpenSearchGraphSource, runApiService } from '@topoflow/api'
import { buildCaptureAgent } from '@topoflow/capture'
import { buildEnricher, K8sProbe, OpenSearchFlowIndexer } from '@topoflow/enricher'
import { buildGraphBuilder, OpenSearchHistorySink } from '@topoflow/graph-builder'
import { ensureTemplates, indexNames } from '@topoflow/opensearch'
import type { CliIO } from './cli.ts'
import { runService, type ServiceContext } from './runtime.ts'

/** `topoflow capture`: this host's agent, publishing to Kafka. */
export async function runCapture (argv: string[], io: CliIO): Promise<number> {
  return await runService({
    name: 'capture',
    argv,
    io,
    requiresKafka: true,
    opsListen: (config) => config.agent.listen,
    build: async (ctx) => {
      const agent = buildCaptureAgent(ctx)
      return { components: agent.components, ready: agent.ready }
    }
  })
}

/** The OpenSearch client and templates when `opensearch.url` is set; null otherwise. */
async function openSearch (ctx: ServiceContext): Promise<Client | null> {
  if (ctx.config.opensearch.url === '') return null
  const client = new Client({ node: ctx.config.opensearch.url })
  const { retention_days: days, archive_retention_days: archiveDays, replicas } = ctx.config.opensearch
  await ensureTemplates(client, { logger: ctx.logger, replicas, retentionDays: { flows: days, flowMetrics: days, topologyArchive: archiveDays } })
  return client
}

/** `topoflow graph-builder`: the materialized graph, its history in OpenSearch and the changes topic. */
export async function runGraphBuilder (argv: string[], io: CliIO): Promise<number> {
  return await runService({
    name: 'graph-builder',
    argv,
    io,
    requiresKafka: true,
    opsListen: (config) => config.graph_builder.listen,
    build: async (ctx) => {
      const client = await openSearch(ctx)
      if (client === null) ctx.logger.warn('opensearch.url is empty: the topology history is not written')
      const names = indexNames()
      const history = client === null ? undefined : new OpenSearchHistorySink({ client: client as never, liveIndex: names.topologyLive, archiveIndex: names.topologyArchive })
      const app = buildGraphBuilder({ config: ctx.config, bus: ctx.bus, history, logger: ctx.logger, registry: ctx.registry })
      return { components: [app], ready: app.ready }
    }
  })
}

/** `topoflow enricher`: raw flows in, enriched flows out to Kafka and OpenSearch. */
export async function runEnricher (argv: string[], io: CliIO): Promise<number> {
  return await runService({
    name: 'enricher',
    argv,
    io,
    requiresKafka: true,
    opsListen: (config) => config.enricher.listen,
    build: async (ctx) => {
      const client = await openSearch(ctx)
      if (client === null) ctx.logger.warn('opensearch.url is empty: flows are published enriched but not indexed')
      const indexer = client === null ? undefined : new OpenSearchFlowIndexer({ client, bus: ctx.bus, maxDocs: ctx.config.opensearch.bulk_max_docs, flushMs: ctx.config.opensearch.bulk_flush_ms })
      const enricher = buildEnricher({ config: ctx.config, bus: ctx.bus, logger: ctx.logger, registry: ctx.registry, ...(indexer === undefined ? {} : { indexer }) })
      return { components: [...(indexer === undefined ? [] : [indexer]), enricher], ready: enricher.ready }
    }
  })
}

/** `topoflow k8s-probe [--kubeconfig FILE]`: one per cluster, Kubernetes objects to Kafka. */
export async function runK8sProbe (argv: string[], io: CliIO): Promise<number> {
  return await runService({
    name: 'k8s-probe',
    argv,
    io,
    requiresKafka: true,
    options: { kubeconfig: { type: 'string' } },
    opsListen: (config) => config.analyzer.topology.k8s.listen,
    build: async (ctx) => {
      const kubeconfig = (ctx.values.kubeconfig as string | undefined) ?? ctx.config.analyzer.topology.k8s.config_file
      let synced = false
      const probe = new K8sProbe({
        bus: ctx.bus,
        logger: ctx.logger,
        clusterName: ctx.config.analyzer.topology.k8s.cluster_name,
        ...(kubeconfig === undefined ? {} : { kubeconfig }),
        ...(ctx.config.analyzer.topology.k8s.probes === undefined ? {} : { types: ctx.config.analyzer.topology.k8s.probes })
      })
      return { components: [{ start: async () => { await probe.start(); synced = true }, close: async () => { await probe.close() } }], ready: () => synced }
    }
  })
}

/** `topoflow api`: the Skydive-compatible API on `analyzer.listen`, fed by the topology changes topic. */
export async function runApi (argv: string[], io: CliIO): Promise<number> {
  return await runService({
    name: 'api',
    argv,
    io,
    requiresKafka: true,
    opsListen: () => null,
    build: async (ctx) => {
      // History (At/Context) and flows come from OpenSearch, where the graph-builder and enricher write them.
      const client = await openSearch(ctx)
      if (client === null) ctx.logger.warn('opensearch.url is empty: no history beyond the live graph, and no flows')
      const stores = client === null
        ? {}
        : { history: new OpenSearchGraphSource({ client, logger: ctx.logger }), flows: new OpenSearchFlowSource({ client, liveWindowMs: ctx.config.flow.expire * 1000, logger: ctx.logger }) }
      let api: Awaited<ReturnType<typeof runApiService>> | undefined
      return {
        components: [{
          start: async () => { api = await runApiService({ config: ctx.config, bus: ctx.bus, logger: ctx.logger, registry: ctx.registry, ...stores }) },
          close: async () => { await api?.close(); await client?.close() }
        }],
        ready: () => api !== undefined
      }
    }
  })
}
