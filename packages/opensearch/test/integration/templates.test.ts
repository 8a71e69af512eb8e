import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFixture, type EnrichedFlow } from '@topoflow/schemas'
import { BulkIndexer, deleteExpiredIndices, ensureTemplates, flattenedType, flowBulkDocs, indexFields, topologyLiveDoc } from '../../src/index.ts'
import { useOpenSearch } from './helpers.ts'

/** Leaf types of a live index mapping, by dotted path. */
function leafTypes (properties: Record<string, any>, path = ''): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, field] of Object.entries(properties)) {
    const full = path === '' ? name : `${path}.${name}`
    if (field.properties !== undefined) Object.assign(out, leafTypes(field.properties, full))
    else out[full] = field.type ?? 'object'
  }
  return out
}

test('templates give created indices their explicit mappings (ip, date, keyword, flat)', async (t) => {
  const os = await useOpenSearch(t, 'templates')
  if (os === null) return
  const { client, prefix } = os
  const result = await ensureTemplates(client, { prefix, replicas: 0 })
  assert.deepEqual(result.templates, [`${prefix}-flows`, `${prefix}-flowmetrics`, `${prefix}-topology-live`, `${prefix}-topology-archive`])
  // The integ-test build of OpenSearch has no plugins, so no ISM; a full build applies the policies.
  assert.ok(['applied', 'unavailable'].includes(result.ism.status))
  await ensureTemplates(client, { prefix, replicas: 0 })

  const flow: EnrichedFlow = readFixture('topoflow.flows.enriched.v1')
  const indexer = new BulkIndexer({ client, refresh: 'wait_for' })
  const docs = [
    ...flowBulkDocs(flow, result.names),
    topologyLiveDoc({ ID: 'n1', Host: 'h', Origin: 'o', CreatedAt: 1, UpdatedAt: 1, DeletedAt: null, Revision: 1, Metadata: { Type: 'host', Name: 'h', K8s: { Labels: { app: 'x' } } } }, 'node', result.names)
  ]
  await Promise.all(docs.map(async (d) => { await indexer.add(d) }))
  await indexer.close()

  const flows = await client.indices.getMapping({ index: result.names.flows(flow.Start) })
  const flowTypes = leafTypes(Object.values(flows.body)[0]!.mappings.properties as Record<string, any>)
  assert.equal(flowTypes['source.ip'], 'ip')
  assert.equal(flowTypes['destination.ip'], 'ip')
  assert.equal(flowTypes['event.start'], 'date')
  assert.equal(flowTypes['@timestamp'], 'date')
  assert.equal(flowTypes['flow.id'], 'keyword')
  assert.equal(flowTypes['network.community_id'], 'keyword')
  assert.equal(flowTypes['source.kubernetes.labels'], flattenedType)
  assert.deepEqual(flowTypes, indexFields.flows, 'the live mapping is exactly the declared one')

  const live = await client.indices.getMapping({ index: result.names.topologyLive })
  const liveTypes = leafTypes(Object.values(live.body)[0]!.mappings.properties as Record<string, any>)
  assert.equal(liveTypes.Metadata, flattenedType)
  assert.equal(liveTypes.CreatedAt, 'date')
  assert.equal(liveTypes['Meta.Type'], 'keyword')

  const metrics = await client.indices.getMapping({ index: result.names.flowMetrics(flow.Start) })
  assert.deepEqual(leafTypes(Object.values(metrics.body)[0]!.mappings.properties as Record<string, any>), indexFields.flowMetrics)

  // Metadata leaves are searchable by dotted path in the flat field.
  const found = await client.search({ index: result.names.topologyLive, body: { query: { term: { 'Metadata.K8s.Labels.app': 'x' } } } })
  assert.equal((found.body.hits.total as { value: number }).value, 1)
})

test('retention by index name deletes only dated indices past their retention', async (t) => {
  const os = await useOpenSearch(t, 'retention')
  if (os === null) return
  const { client, prefix } = os
  const { names } = await ensureTemplates(client, { prefix, replicas: 0 })
  const now = Date.UTC(2024, 5, 15, 12)
  const keep = [names.flows(now), names.flows(now - 6 * 86_400_000), names.topologyArchive(now), names.topologyLive]
  const drop = [names.flows(now - 9 * 86_400_000), names.flowMetrics(now - 30 * 86_400_000), names.topologyArchive(Date.UTC(2023, 0, 1))]
  for (const index of [...keep, ...drop]) await client.indices.create({ index })
  const deleted = await deleteExpiredIndices(client, { prefix, now, retentionDays: { flows: 7, flowMetrics: 7, topologyArchive: 90 } })
  assert.deepEqual(deleted.sort(), [...drop].sort())
  for (const index of keep) assert.equal((await client.indices.exists({ index })).body, true, `${index} kept`)
  for (const index of drop) assert.equal((await client.indices.exists({ index })).body, false, `${index} deleted`)
})
