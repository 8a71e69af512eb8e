import { test } from 'node:test'
import assert from 'node:assert/strict'
import { flattenedType, indexFields } from '../../src/mappings.ts'
import { indexTemplates } from '../../src/templates.ts'
import { ismPolicies } from '../../src/ism.ts'

test('one template per index family, each on its own pattern', () => {
  const templates = indexTemplates({ prefix: 'tf', replicas: 0 })
  assert.deepEqual(templates.map((t) => [t.name, t.body.index_patterns]), [
    ['tf-flows', ['tf-flows-*']],
    ['tf-flowmetrics', ['tf-flowmetrics-*']],
    ['tf-topology-live', ['tf-topology-live']],
    ['tf-topology-archive', ['tf-topology-archive-*']]
  ])
  for (const t of templates) {
    assert.equal(t.body.template.settings.number_of_replicas, 0)
    assert.equal(t.body.template.mappings.dynamic, false, 'unknown fields are not indexed')
  }
})

test('flow fields use ECS names with ip, date, keyword and flat types', () => {
  const f = indexFields.flows
  assert.equal(f['source.ip'], 'ip')
  assert.equal(f['destination.ip'], 'ip')
  assert.equal(f['source.port'], 'long')
  assert.equal(f['network.transport'], 'keyword')
  assert.equal(f['network.community_id'], 'keyword')
  assert.equal(f['flow.id'], 'keyword')
  assert.equal(f['flow.layers_path'], 'keyword')
  assert.equal(f['flow.application'], 'keyword')
  assert.equal(f['flow.metric.ab_packets'], 'long')
  assert.equal(f['event.start'], 'date')
  assert.equal(f['event.end'], 'date')
  assert.equal(f['@timestamp'], 'date')
  assert.equal(f['process.name'], 'keyword')
  assert.equal(f['source.process.pid'], 'long')
  assert.equal(f['kubernetes.pod.name'], 'keyword')
  assert.equal(f['source.kubernetes.labels'], flattenedType)
  assert.equal(f.skydive, 'object')
  assert.equal(indexFields.flowMetrics['flow.metric.ba_bytes'], 'long')
})

test('topology fields: keywords, dates, flat Metadata and typed copies of its common keys', () => {
  const f = indexFields.topology
  for (const k of ['ID', 'Host', 'Origin', 'ElementType', 'Parent', 'Child', 'Meta.Type', 'Meta.Name', 'Meta.RelationType']) assert.equal(f[k], 'keyword', k)
  for (const k of ['CreatedAt', 'UpdatedAt', 'DeletedAt', 'ArchivedAt']) assert.equal(f[k], 'date', k)
  assert.equal(f.Revision, 'long')
  assert.equal(f.Metadata, flattenedType)
  assert.equal(f['Meta.IfIndex'], 'long')
})

test('ISM policies delete each dated family after its retention, attached by pattern', () => {
  const policies = ismPolicies('tf', { flows: 3 })
  assert.deepEqual(policies.map((p) => p.id), ['tf-flows-retention', 'tf-flowmetrics-retention', 'tf-topology-archive-retention'])
  const flows = policies[0]!.body.policy
  assert.deepEqual(flows.ism_template, [{ index_patterns: ['tf-flows-*'], priority: 200 }])
  assert.deepEqual(flows.states[0], { name: 'hot', actions: [], transitions: [{ state_name: 'delete', conditions: { min_index_age: '3d' } }] })
  assert.deepEqual(flows.states[1], { name: 'delete', actions: [{ delete: {} }], transitions: [] })
  assert.match(policies[2]!.body.policy.description, /90 days/)
  assert.throws(() => ismPolicies('tf', { flows: 0 }), /Retention of flows must be a whole number of days >= 1, got 0/)
})
