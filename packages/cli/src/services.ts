import { Client } from '@opensearch-project/opensearch'
import { OpenSearchFlowSource, OpenSearchGraphSource, runApiService } from '@topoflow/api'
import { buildCaptureAgent } from '@topoflow/capture'
import { buildEnricher, K8sProbe, OpenSearchFlowIndexer } from '@topoflow/enricher'
import { buildGraphBuilder, OpenSearchHistorySink } from '@topoflow/graph-builder'
import type { Component, TopoflowConfig } from '@topoflow/core'
import { ensureTemplates, indexNames, startRetentionSweeps, type IsmOutcome, type RetentionDays, type RetentionSweeper } from '@topoflow/opensearch'
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

function retentionDays (config: TopoflowConfig): RetentionDays {
  const { retention_days: days, archive_retention_days: archiveDays } = config.opensearch
  return { flows: days, flowMetrics: days, topologyArchive: archiveDays }
}

/** The OpenSearch client and templates when `opensearch.url` is set; null otherwise. */
async function openSearch (ctx: ServiceContext): Promise<{ client: Client, ism: IsmOutcome } | null> {
  if (ctx.config.opensearch.url === '') return null
  const client = new Client({ node: ctx.config.opensearch.url })
  const { ism } = await ensureTemplates(client, { logger: ctx.logger, prefix: ctx.config.opensearch.index_prefix, replicas: ctx.config.opensearch.replicas, retentionDays: retentionDays(ctx.config) })
  return { client, ism }
}

/** Without ISM on the cluster, the graph-builder (one per deployment) deletes expired indices itself, hourly. */
function retentionFallback (ctx: ServiceContext, os: { client: Client, ism: IsmOutcome }): Component[] {
  if (os.ism.status !== 'unavailable') return []
  let sweeper: RetentionSweeper | undefined
  return [{
    start: async () => {
      sweeper = startRetentionSweeps(os.client, { prefix: ctx.config.opensearch.index_prefix, retentionDays: retentionDays(ctx.config), everyMs: 3_600_000, logger: ctx.logger })
    },
    close: async () => { sweeper?.close() }
  }]
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
      const os = await openSearch(ctx)
      if (os === null) ctx.logger.warn('opensearch.url is empty: the topology history is not written')
      const names = indexNames(ctx.config.opensearch.index_prefix)
      const history = os === null ? undefined : new OpenSearchHistorySink({ client: os.client as never, liveIndex: names.topologyLive, archiveIndex: names.topologyArchive })
      const app = buildGraphBuilder({ config: ctx.config, bus: ctx.bus, history, logger: ctx.logger, registry: ctx.registry })
      return { components: [app, ...(os === null ? [] : retentionFallback(ctx, os))], ready: app.ready }
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
      const client = (await openSearch(ctx))?.client ?? null
      if (client === null) ctx.logger.warn('opensearch.url is empty: flows are published enriched but not indexed')
      const indexer = client === null ? undefined : new OpenSearchFlowIndexer({ client, bus: ctx.bus, indexPrefix: ctx.config.opensearch.index_prefix, maxDocs: ctx.config.opensearch.bulk_max_docs, flushMs: ctx.config.opensearch.bulk_flush_ms })
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
      const client = (await openSearch(ctx))?.client ?? null
      if (client === null) ctx.logger.warn('opensearch.url is empty: no history beyond the live graph, and no flows')
      const stores = client === null
        ? {}
        : { history: new OpenSearchGraphSource({ client, prefix: ctx.config.opensearch.index_prefix, logger: ctx.logger }), flows: new OpenSearchFlowSource({ client, prefix: ctx.config.opensearch.index_prefix, liveWindowMs: ctx.config.flow.expire * 1000, logger: ctx.logger }) }
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
