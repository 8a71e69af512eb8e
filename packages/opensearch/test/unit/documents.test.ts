import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFixture, type Edge, type EnrichedFlow, type Node } from '@topoflow/schemas'
import { flowBulkDocs, flowDocument, flowMetricDocument, topologyArchiveDoc, topologyDocument } from '../../src/documents.ts'
import { indexFields } from '../../src/mappings.ts'
import { indexNames } from '../../src/names.ts'
import { toNdjson } from '../../src/bulk-indexer.ts'
import { flowVariants } from './flow-variants.ts'

const flow: EnrichedFlow = readFixture('topoflow.flows.enriched.v1')

/** Dotted paths of the leaves of a document, stopping at flat and unindexed fields. */
function leafPaths (doc: Record<string, unknown>, stopAt: Set<string>, path = ''): string[] {
  return Object.entries(doc).flatMap(([k, v]) => {
    const full = path === '' ? k : `${path}.${k}`
    if (stopAt.has(full) || typeof v !== 'object' || v === null || Array.isArray(v)) return [full]
    return leafPaths(v as Record<string, unknown>, stopAt, full)
  })
}

test('a flow document has ECS fields from the flow and keeps the flow itself', () => {
  const doc = flowDocument(flow) as Record<string, any>
  assert.equal(doc.source.ip, '172.17.0.2')
  assert.equal(doc.source.port, 43210)
  assert.equal(doc.destination.ip, '172.17.0.3')
  assert.equal(doc.destination.port, 80)
  assert.equal(doc.source.mac, '02:42:ac:11:00:02')
  assert.equal(doc.network.transport, 'tcp')
  assert.equal(doc.network.type, 'ipv4')
  assert.equal(doc.network.community_id, flow.CommunityID)
  assert.equal(doc.network.bytes, 1600)
  assert.equal(doc.flow.id, flow.UUID)
  assert.equal(doc.flow.layers_path, 'Ethernet/IPv4/TCP')
  assert.equal(doc.flow.metric.ab_packets, 10)
  assert.equal(doc.flow.finish_type, 'NOT_FINISHED')
  assert.equal(doc.flow.parent_id, undefined, 'empty ParentUUID is left out')
  assert.equal(doc.event.start, flow.Start)
  assert.equal(doc['@timestamp'], flow.Last)
  assert.equal(doc.observer.hostname, flow.Host)
  assert.equal(doc.skydive, flow)
})

test('every field a flow document carries is mapped', () => {
  const docs = [flowDocument(flow), flowMetricDocument(flow)!]
  const fields = [indexFields.flows, indexFields.flowMetrics]
  docs.forEach((doc, i) => {
    const flat = new Set(Object.entries(fields[i]!).filter(([, type]) => type === 'flat_object' || type === 'object').map(([p]) => p))
    for (const path of leafPaths(doc, flat)) assert.ok(path in fields[i]!, `${path} is mapped`)
  })
})

test('the flow and its update window get deterministic ids in their day indices', () => {
  const names = indexNames('tf')
  const docs = flowBulkDocs(flow, names)
  assert.deepEqual(docs.map((d) => [d.index, d.id]), [
    ['tf-flows-2023.11.14', flow.UUID],
    ['tf-flowmetrics-2023.11.14', `${flow.UUID}:1700000000000`]
  ])
  const window = docs[1]!.doc as Record<string, any>
  assert.equal(window.flow.metric.ab_bytes, 250, 'window counters, not cumulative')
  assert.equal(window.network.bytes, 430)
  assert.equal(flowMetricDocument({ ...flow, LastUpdateMetric: null }), null)
})

test('flow documents keep their exact bytes: same ids, fields and field order as recorded', () => {
  // Recorded from the first, literal-then-filter version of these builders: the fast ones must not drift.
  const recorded = JSON.parse(readFileSync(new URL('../fixtures/flow-documents.json', import.meta.url), 'utf8')) as Record<string, string>
  assert.deepEqual(flowVariants.map(([name]) => name), Object.keys(recorded))
  const names = indexNames('tf')
  for (const [name, variant] of flowVariants) {
    assert.equal(flowBulkDocs(variant, names).map(toNdjson).join(''), recorded[name], name)
  }
})

test('ICMP flows and flows without IP map cleanly', () => {
  const icmp = flowDocument({ ...flow, Transport: null, ICMP: { Type: 'ECHO', Code: 0, ID: 7 }, Network: { Protocol: 'IPV6', A: 'fe80::1', B: 'fe80::2', ID: 0 } }) as Record<string, any>
  assert.equal(icmp.network.transport, 'ipv6-icmp')
  assert.equal(icmp.source.port, undefined)
  assert.equal(icmp.flow.icmp.type, 'ECHO')
  const l2 = flowDocument({ ...flow, Network: null, Transport: null }) as Record<string, any>
  assert.equal(l2.source.ip, undefined)
  assert.equal(l2.source.mac, '02:42:ac:11:00:02')
})

test('topology documents copy common Metadata keys to typed fields', () => {
  const node: Node = { ID: 'n1', Host: 'h1', Origin: 'capture.h1', CreatedAt: 1, UpdatedAt: 2, DeletedAt: null, Revision: 3, Metadata: { Type: 'veth', Name: 'eth0', MTU: 1500, IPV4: ['10.0.0.1/24'], IfIndex: 'not a number', Extra: { deep: 1 } } }
  const doc = topologyDocument(node, 'node')
  assert.deepEqual(doc.Meta, { Type: 'veth', Name: 'eth0', IPV4: ['10.0.0.1/24'], MTU: 1500 })
  assert.equal(doc.ArchivedAt, null)
  assert.equal(doc.Metadata, node.Metadata)
  const edge: Edge = { ID: 'e1', Host: 'h1', Origin: 'o', Parent: 'n1', Child: 'n2', CreatedAt: 1, UpdatedAt: 1, DeletedAt: null, Revision: 1, Metadata: { RelationType: 'ownership' } }
  const archived = topologyArchiveDoc(edge, 'edge', Date.UTC(2024, 4, 3), indexNames('tf'))
  assert.deepEqual([archived.index, archived.id], ['tf-topology-archive-2024.05', 'e1:1'])
  assert.equal(archived.doc.Parent, 'n1')
  assert.equal(archived.doc.ArchivedAt, Date.UTC(2024, 4, 3))
})
