import { test } from 'node:test'
import assert from 'node:assert/strict'
import { silentLogger } from '@topoflow/core'
import type { Client } from '@opensearch-project/opensearch'
import { startRetentionSweeps } from '../../src/index.ts'

/** A cluster without ISM holding some dated indices; `failing` makes every call fail, as when it is down. */
function fakeCluster (indices: string[], failing = false): { client: Client, deleted: string[], calls: () => number } {
  const deleted: string[] = []
  let calls = 0
  const client = {
    transport: {
      request: async ({ path }: { path: string }) => {
        calls++
        if (failing) throw new Error('connect ECONNREFUSED')
        const pattern = new RegExp(`^${decodeURIComponent(path.replace('/_cat/indices/', '')).replace(/[.]/g, '\\.').replace('*', '.*')}$`)
        return { body: indices.filter((i) => pattern.test(i)).map((index) => ({ index })) }
      }
    },
    indices: { delete: async ({ index }: { index: string }) => { deleted.push(...index.split(',')) } }
  } as unknown as Client
  return { client, deleted, calls: () => calls }
}

test('without ISM, sweeps delete what expired, at start and then periodically, and outlive a failing cluster', async () => {
  const now = Date.UTC(2026, 10, 24, 12)
  const cluster = fakeCluster(['tf-flows-2026.11.10', 'tf-flows-2026.11.23', 'tf-flowmetrics-2026.11.01', 'tf-topology-archive-2026.07', 'tf-topology-live', 'other-flows-2026.01.01'])
  const sweeper = startRetentionSweeps(cluster.client, { prefix: 'tf', retentionDays: { flows: 7, flowMetrics: 7, topologyArchive: 90 }, everyMs: 20, logger: silentLogger(), now: () => now })
  const until = async (ok: () => boolean): Promise<void> => { const end = Date.now() + 5000; while (!ok() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5)) }
  await until(() => sweeper.stats.sweeps >= 3)
  sweeper.close()
  // July's archive ended 2026-08-01, +90 days = 2026-10-30: expired. Other prefixes and the live index stay.
  assert.deepEqual([...new Set(cluster.deleted)].sort(), ['tf-flowmetrics-2026.11.01', 'tf-flows-2026.11.10', 'tf-topology-archive-2026.07'])
  assert.equal(sweeper.stats.failures, 0)

  const down = fakeCluster([], true)
  const failing = startRetentionSweeps(down.client, { prefix: 'tf', everyMs: 20, logger: silentLogger() })
  await until(() => failing.stats.failures >= 2)
  failing.close()
  assert.ok(failing.stats.failures >= 2 && failing.stats.deleted === 0)
})
