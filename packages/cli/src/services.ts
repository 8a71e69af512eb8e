import { Client } from '@opensearch-project/opensearch'
import { buildCaptureAgent } from '@topoflow/capture'
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
  await ensureTemplates(client, { logger: ctx.logger })
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
