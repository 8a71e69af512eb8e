import type { Logger } from '@topoflow/core'
import type { Client } from '@opensearch-project/opensearch'
import { ensureIsmPolicies, type IsmOutcome, type RetentionDays } from './ism.ts'
import { flowMapping, flowMetricMapping, topologyMapping, type IndexMapping } from './mappings.ts'
import { indexNames, type IndexNames } from './names.ts'
import { toOpenSearchError } from './errors.ts'

export interface TemplateOptions {
  /** Index name prefix (default `topoflow`). */
  prefix?: string
  shards?: number
  /** 1 in production; 0 on a single-node cluster keeps it green. */
  replicas?: number
  /** Seconds between refreshes of flow indices: larger is cheaper for heavy ingest. */
  flowRefreshInterval?: string
}

export interface IndexTemplate {
  name: string
  body: {
    index_patterns: string[]
    priority: number
    template: { settings: Record<string, unknown>, mappings: IndexMapping }
    _meta: Record<string, unknown>
  }
}

/** Bumped when a mapping changes, so operators can see which template version an index came from. */
export const templateVersion = 1

/** The four composable index templates, as code. */
export function indexTemplates (opts: TemplateOptions = {}): IndexTemplate[] {
  const names = indexNames(opts.prefix)
  const settings = (refresh: string): Record<string, unknown> => ({
    number_of_shards: opts.shards ?? 1,
    number_of_replicas: opts.replicas ?? 1,
    refresh_interval: refresh
  })
  const flowRefresh = opts.flowRefreshInterval ?? '5s'
  const make = (kind: string, pattern: string, mappings: IndexMapping, refresh: string): IndexTemplate => ({
    name: `${names.prefix}-${kind}`,
    body: {
      index_patterns: [pattern],
      // Above OpenSearch's built-in templates; distinct prefixes never overlap with each other.
      priority: 200,
      template: { settings: settings(refresh), mappings },
      _meta: { managed_by: 'topoflow', version: templateVersion }
    }
  })
  return [
    make('flows', names.patterns.flows, flowMapping, flowRefresh),
    make('flowmetrics', names.patterns.flowMetrics, flowMetricMapping, flowRefresh),
    make('topology-live', names.patterns.topologyLive, topologyMapping, '1s'),
    make('topology-archive', names.patterns.topologyArchive, topologyMapping, '1s')
  ]
}

export interface EnsureTemplatesOptions extends TemplateOptions {
  retentionDays?: Partial<RetentionDays>
  logger?: Logger
}

export interface EnsureTemplatesResult {
  names: IndexNames
  templates: string[]
  ism: IsmOutcome
}

/**
 * Puts the index templates and the ISM retention policies. Safe at every start: templates are
 * replaced with the current definition, policies updated only when they changed.
 */
export async function ensureTemplates (client: Client, opts: EnsureTemplatesOptions = {}): Promise<EnsureTemplatesResult> {
  const templates = indexTemplates(opts)
  for (const t of templates) {
    try {
      await client.indices.putIndexTemplate({ name: t.name, body: t.body as never })
    } catch (err) {
      throw toOpenSearchError(err, { stage: 'put-index-template', template: t.name })
    }
  }
  const ism = await ensureIsmPolicies(client, { prefix: opts.prefix, retentionDays: opts.retentionDays, logger: opts.logger })
  opts.logger?.info({ templates: templates.map((t) => t.name), ism: ism.status }, 'OpenSearch index templates in place')
  return { names: indexNames(opts.prefix), templates: templates.map((t) => t.name), ism }
}
