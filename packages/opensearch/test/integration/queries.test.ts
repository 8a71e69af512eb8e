import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Node } from '@topoflow/schemas'
import { BulkIndexer, count, ensureTemplates, searchTimeRange, topologyArchiveDoc, topologyAt, topologyBetween, topologyLiveDoc } from '../../src/index.ts'
import { useOpenSearch } from './helpers.ts'

const t0 = Date.UTC(2024, 4, 1)
const min = 60_000

const rev = (id: string, revision: number, updatedAt: number, extra: Partial<Node> = {}): Node => ({
  ID: id, Host: 'h1', Origin: 'capture.h1', CreatedAt: t0, UpdatedAt: updatedAt, DeletedAt: null, Revision: revision, Metadata: { Type: 'veth', Name: `${id}-r${revision}` }, ...extra
})

test('point-in-time and range queries over topology live and archive', async (t) => {
  const os = await useOpenSearch(t, 'topo')
  if (os === null) return
  const { client, prefix } = os
  const { names } = await ensureTemplates(client, { prefix, replicas: 0 })
  const indexer = new BulkIndexer({ client, refresh: 'wait_for' })
  const docs = [
    // a: revision 1 at t0, revision 2 at t0+10m (archived then), revision 3 at t0+20m (live).
    topologyArchiveDoc(rev('a', 1, t0), 'node', t0 + 10 * min, names),
    topologyArchiveDoc(rev('a', 2, t0 + 10 * min), 'node', t0 + 20 * min, names),
    topologyLiveDoc(rev('a', 3, t0 + 20 * min), 'node', names),
    // b: created at t0+5m, deleted at t0+15m (the deletion is its live revision).
    topologyLiveDoc(rev('b', 2, t0 + 15 * min, { CreatedAt: t0 + 5 * min, DeletedAt: t0 + 15 * min }), 'node', names),
    topologyArchiveDoc(rev('b', 1, t0 + 5 * min, { CreatedAt: t0 + 5 * min }), 'node', t0 + 15 * min, names)
  ]
  await Promise.all(docs.map(async (d) => { await indexer.add(d) }))
  await indexer.close()

  const at = async (time: number): Promise<string[]> =>
    (await topologyAt<{ ID: string, Revision: number }>(client, names, time)).map((h) => `${h.source.ID}@${h.source.Revision}`).sort()
  assert.deepEqual(await at(t0 - min), [], 'nothing before creation')
  assert.deepEqual(await at(t0 + min), ['a@1'])
  assert.deepEqual(await at(t0 + 7 * min), ['a@1', 'b@1'])
  assert.deepEqual(await at(t0 + 12 * min), ['a@2', 'b@1'])
  assert.deepEqual(await at(t0 + 30 * min), ['a@3'], 'b is gone after its deletion')

  const range = await topologyBetween<{ ID: string, Revision: number }>(client, names, t0 + 8 * min, t0 + 12 * min)
  assert.deepEqual(range.map((h) => `${h.source.ID}@${h.source.Revision}`), ['a@1', 'b@1', 'a@2'], 'every revision alive in the window, by update time')

  const filtered = await topologyAt(client, names, t0 + 30 * min, { filter: [{ term: { 'Meta.Name': 'a-r3' } }] })
  assert.equal(filtered.length, 1)
  assert.equal(await count(client, `${names.patterns.topologyLive},${names.patterns.topologyArchive}`), 5)

  const recent = await searchTimeRange<{ ID: string }>(client, { index: names.patterns.topologyArchive, field: 'UpdatedAt', from: t0 + 5 * min, to: t0 + 10 * min })
  assert.equal(recent.total, 2)
  assert.deepEqual(recent.hits.map((h) => h.source.ID), ['a', 'b'], 'newest first')
  assert.equal((await searchTimeRange(client, { index: `${prefix}-flows-*` })).total, 0, 'a family without indices is an empty result')
})
