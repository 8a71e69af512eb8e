import type { Logger } from '@topoflow/core'
import type { Client } from '@opensearch-project/opensearch'
import { toOpenSearchError } from './errors.ts'
import { indexDate, indexNames } from './names.ts'

/** Days an index is kept after the period it covers ends. Topology live is never deleted. */
export interface RetentionDays {
  flows: number
  flowMetrics: number
  topologyArchive: number
}

export const retentionDefaults: RetentionDays = { flows: 7, flowMetrics: 7, topologyArchive: 90 }

export interface IsmPolicy {
  id: string
  body: {
    policy: {
      description: string
      default_state: string
      states: unknown[]
      ism_template: Array<{ index_patterns: string[], priority: number }>
    }
  }
}

/**
 * One ISM policy per dated index family: `hot` until `min_index_age`, then `delete`. Its
 * `ism_template` attaches it to every new index matching the family's pattern, which is how ISM
 * ties a policy to index templates.
 */
export function ismPolicies (prefix?: string, retention: Partial<RetentionDays> = {}): IsmPolicy[] {
  const names = indexNames(prefix)
  const days = { ...retentionDefaults, ...retention }
  const policy = (kind: string, pattern: string, keepDays: number): IsmPolicy => {
    if (!Number.isInteger(keepDays) || keepDays < 1) throw new RangeError(`Retention of ${kind} must be a whole number of days >= 1, got ${keepDays}`)
    return {
      id: `${names.prefix}-${kind}-retention`,
      body: {
        policy: {
          description: `Topoflow: delete ${pattern} indices ${keepDays} days after creation`,
          default_state: 'hot',
          states: [
            { name: 'hot', actions: [], transitions: [{ state_name: 'delete', conditions: { min_index_age: `${keepDays}d` } }] },
            { name: 'delete', actions: [{ delete: {} }], transitions: [] }
          ],
          ism_template: [{ index_patterns: [pattern], priority: 200 }]
        }
      }
    }
  }
  return [
    policy('flows', names.patterns.flows, days.flows),
    policy('flowmetrics', names.patterns.flowMetrics, days.flowMetrics),
    policy('topology-archive', names.patterns.topologyArchive, days.topologyArchive)
  ]
}

export interface IsmOutcome {
  /** `unavailable` when the cluster has no index-management plugin (e.g. the minimal integ-test build). */
  status: 'applied' | 'unavailable'
  created: string[]
  updated: string[]
  unchanged: string[]
}

interface StoredPolicy {
  _seq_no: number
  _primary_term: number
  policy: { description?: string, default_state?: string, states?: unknown, ism_template?: Array<{ index_patterns?: unknown, priority?: unknown }> }
}

/** Creates or updates the retention policies; only what differs is written. */
export async function ensureIsmPolicies (client: Client, opts: { prefix?: string | undefined, retentionDays?: Partial<RetentionDays> | undefined, logger?: Logger | undefined } = {}): Promise<IsmOutcome> {
  const outcome: IsmOutcome = { status: 'applied', created: [], updated: [], unchanged: [] }
  const policies = ismPolicies(opts.prefix, opts.retentionDays)
  if (!(await hasIsmPlugin(client))) {
    opts.logger?.warn({ policies: policies.map((p) => p.id) }, 'OpenSearch has no index-management plugin; retention policies not installed')
    return { ...outcome, status: 'unavailable' }
  }
  for (const p of policies) {
    const path = `/_plugins/_ism/policies/${encodeURIComponent(p.id)}`
    try {
      const stored = await getPolicy(client, path)
      if (stored === null) {
        await client.transport.request({ method: 'PUT', path, body: p.body })
        outcome.created.push(p.id)
      } else if (!samePolicy(stored.policy, p.body.policy)) {
        await client.transport.request({ method: 'PUT', path, body: p.body, querystring: { if_seq_no: stored._seq_no, if_primary_term: stored._primary_term } })
        outcome.updated.push(p.id)
      } else {
        outcome.unchanged.push(p.id)
      }
    } catch (err) {
      throw toOpenSearchError(err, { stage: 'ism-policy', policy: p.id })
    }
  }
  return outcome
}

async function hasIsmPlugin (client: Client): Promise<boolean> {
  try {
    const res = await client.transport.request({ method: 'GET', path: '/_cat/plugins', querystring: { format: 'json' } })
    const plugins = res.body as Array<{ component?: string }>
    return plugins.some((p) => p.component === 'opensearch-index-management')
  } catch (err) {
    throw toOpenSearchError(err, { stage: 'list-plugins' })
  }
}

async function getPolicy (client: Client, path: string): Promise<StoredPolicy | null> {
  try {
    const res = await client.transport.request({ method: 'GET', path })
    return res.body as StoredPolicy
  } catch (err) {
    if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return null
    throw err
  }
}

/**
 * Compares what decides behaviour. The server expands actions with its own defaults (retry, timeouts),
 * so states are compared through the description, which names the pattern and the age.
 */
function samePolicy (stored: StoredPolicy['policy'], wanted: IsmPolicy['body']['policy']): boolean {
  const pick = (p: StoredPolicy['policy']): string => JSON.stringify([
    p.description,
    p.default_state,
    (p.ism_template ?? []).map((t) => [t.index_patterns, t.priority])
  ])
  return pick(stored) === pick(wanted)
}

/**
 * Retention without ISM (clusters built without the index-management plugin): deletes dated indices
 * whose period ended more than the retention ago. Returns the deleted names.
 */
export async function deleteExpiredIndices (client: Client, opts: { prefix?: string, retentionDays?: Partial<RetentionDays>, now: number }): Promise<string[]> {
  const names = indexNames(opts.prefix)
  const days = { ...retentionDefaults, ...opts.retentionDays }
  const dayMs = 24 * 60 * 60 * 1000
  const families = [
    { pattern: names.patterns.flows, keep: days.flows },
    { pattern: names.patterns.flowMetrics, keep: days.flowMetrics },
    { pattern: names.patterns.topologyArchive, keep: days.topologyArchive }
  ]
  const expired: string[] = []
  for (const { pattern, keep } of families) {
    let indices: string[]
    try {
      const res = await client.transport.request({ method: 'GET', path: `/_cat/indices/${pattern}`, querystring: { format: 'json', h: 'index' } })
      indices = (res.body as Array<{ index: string }>).map((i) => i.index)
    } catch (err) {
      throw toOpenSearchError(err, { stage: 'list-indices', pattern })
    }
    for (const index of indices) {
      const end = periodEnd(index)
      if (end !== null && end + keep * dayMs <= opts.now) expired.push(index)
    }
  }
  if (expired.length > 0) {
    try {
      await client.indices.delete({ index: expired.join(',') })
    } catch (err) {
      throw toOpenSearchError(err, { stage: 'delete-indices' })
    }
  }
  return expired
}

/** End (exclusive, UTC ms) of the day or month a dated index covers. */
export function periodEnd (index: string): number | null {
  const start = indexDate(index)
  if (start === null) return null
  const d = new Date(start)
  return /\d{4}\.\d{2}\.\d{2}$/.test(index)
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

export interface RetentionSweeper {
  /** Sweeps done so far, and indices they deleted. */
  readonly stats: { sweeps: number, deleted: number, failures: number }
  close(): void
}

/**
 * `deleteExpiredIndices` now and every `everyMs`, for clusters without ISM. A failed sweep is logged
 * and counted; the next one tries again.
 */
export function startRetentionSweeps (client: Client, opts: { prefix?: string, retentionDays?: Partial<RetentionDays>, everyMs: number, logger: Logger, now?: () => number }): RetentionSweeper {
  const stats = { sweeps: 0, deleted: 0, failures: 0 }
  let running: Promise<void> | undefined
  const sweep = (): void => {
    if (running !== undefined) return
    running = (async () => {
      try {
        const deleted = await deleteExpiredIndices(client, { prefix: opts.prefix, retentionDays: opts.retentionDays, now: (opts.now ?? Date.now)() })
        stats.deleted += deleted.length
        if (deleted.length > 0) opts.logger.info({ deleted }, 'Expired indices deleted')
      } catch (err) {
        stats.failures++
        opts.logger.warn({ err }, 'Retention sweep failed; the next one will try again')
      } finally {
        stats.sweeps++
        running = undefined
      }
    })()
  }
  sweep()
  const timer = setInterval(sweep, opts.everyMs)
  timer.unref()
  return { stats, close: () => { clearInterval(timer) } }
}
