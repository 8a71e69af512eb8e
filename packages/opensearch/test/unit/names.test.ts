import { test } from 'node:test'
import assert from 'node:assert/strict'
import { indexDate, indexNames } from '../../src/names.ts'
import { periodEnd } from '../../src/ism.ts'

test('dated index names use the UTC day or month', () => {
  const names = indexNames()
  const t = Date.UTC(2024, 1, 29, 23, 59, 59)
  assert.equal(names.flows(t), 'topoflow-flows-2024.02.29')
  assert.equal(names.flowMetrics(t), 'topoflow-flowmetrics-2024.02.29')
  assert.equal(names.topologyArchive(t), 'topoflow-topology-archive-2024.02')
  assert.equal(names.topologyLive, 'topoflow-topology-live')
  assert.deepEqual(names.patterns, { flows: 'topoflow-flows-*', flowMetrics: 'topoflow-flowmetrics-*', topologyLive: 'topoflow-topology-live', topologyArchive: 'topoflow-topology-archive-*' })
  assert.equal(indexNames('test-1').flows(0), 'test-1-flows-1970.01.01')
})

test('bad prefixes and times are refused with the value in the message', () => {
  assert.throws(() => indexNames('Topoflow'), /Index prefix must be lowercase.*"Topoflow"/)
  assert.throws(() => indexNames().flows(Number.NaN), /Not a time in ms: NaN/)
})

test('the period of a dated index can be read back from its name', () => {
  assert.equal(indexDate('topoflow-flows-2024.02.29'), Date.UTC(2024, 1, 29))
  assert.equal(indexDate('topoflow-topology-archive-2024.12'), Date.UTC(2024, 11, 1))
  assert.equal(indexDate('topoflow-topology-live'), null)
  assert.equal(periodEnd('topoflow-flows-2024.02.29'), Date.UTC(2024, 2, 1))
  assert.equal(periodEnd('topoflow-topology-archive-2024.12'), Date.UTC(2025, 0, 1))
})
