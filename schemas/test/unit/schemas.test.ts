import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type avsc from 'avsc'
import { avroDir, schemaVersions } from '../../src/registry.ts'
import { isTopicName, topicNames, topicTable, topics } from '../../src/topics.ts'

interface Field { name: string, type: avsc.Type }
const fieldsOf = (type: avsc.Type): Field[] => (type as unknown as { fields: Field[] }).fields
const latest = (topic: (typeof topicNames)[number]): avsc.Type => {
  const type = schemaVersions(topic).at(-1)?.type
  assert.ok(type !== undefined)
  return type
}

test('the topic table covers every topic once, with settings from DESIGN.md (sockets compacted: see topics.ts)', () => {
  assert.deepEqual(Object.keys(topicTable).sort(), [...topicNames].sort())
  assert.equal(new Set(topicNames).size, topicNames.length)
  for (const [name, spec] of Object.entries(topicTable)) {
    assert.equal(spec.name, name)
    assert.match(name, /^topoflow\.[a-z0-9.]+\.v\d+$/)
    assert.ok(Number.isInteger(spec.partitions) && spec.partitions > 0, name)
    assert.ok(spec.key.length > 0)
    if (spec.cleanupPolicy === 'compact') assert.equal(spec.retentionMs, -1, name)
    else assert.ok(spec.retentionMs > 0, name)
  }
  const day = 86_400_000
  assert.equal(topicTable[topics.flowsRaw].retentionMs, day)
  assert.equal(topicTable[topics.topologyEvents].retentionMs, 7 * day)
  assert.equal(topicTable[topics.flowsEnriched].retentionMs, 7 * day)
  assert.equal(topicTable[topics.dlq].retentionMs, 7 * day)
  for (const compacted of [topics.sockets, topics.k8s, topics.topologyChanges, topics.resources, topics.captureStatus]) {
    assert.equal(topicTable[compacted].cleanupPolicy, 'compact')
  }
  assert.equal(isTopicName('topoflow.flows.raw.v1'), true)
  assert.equal(isTopicName('toString'), false)
})

test('every .avsc file belongs to a topic, and its namespace is versioned', () => {
  const used = new Set(topicNames.flatMap((t) => schemaVersions(t).map((v) => v.path)))
  for (const domain of readdirSync(avroDir)) {
    for (const file of readdirSync(join(avroDir, domain))) {
      assert.ok(used.has(join(avroDir, domain, file)), `${domain}/${file} is not the schema of any topic`)
    }
  }
  for (const topic of topicNames) {
    for (const v of schemaVersions(topic)) assert.match(v.name, /^topoflow\.[a-z0-9]+\.v\d+\.[A-Z]\w+$/)
  }
})

test('types shared between schemas have the same definition everywhere', () => {
  const definitions = new Map<string, string>()
  const walk = (type: avsc.Type & Record<string, unknown>): void => {
    if (type.name !== undefined) {
      const shape = JSON.stringify(type.schema({ exportAttrs: true }))
      const seen = definitions.get(type.name)
      assert.ok(seen === undefined || seen === shape, `${type.name} differs between schemas`)
      definitions.set(type.name, shape)
    }
    if (type.typeName === 'record') for (const f of fieldsOf(type)) walk(f.type as avsc.Type & Record<string, unknown>)
    if (type.typeName.startsWith('union')) for (const t of type.types as avsc.Type[]) walk(t as avsc.Type & Record<string, unknown>)
    if (type.typeName === 'array') walk(type.itemsType as avsc.Type & Record<string, unknown>)
  }
  for (const topic of topicNames) walk(latest(topic) as avsc.Type & Record<string, unknown>)
  for (const name of ['topoflow.topology.v1.Node', 'topoflow.topology.v1.Edge', 'topoflow.flow.v1.FlowLayer', 'topoflow.flow.v1.FlowMetric']) {
    assert.ok(definitions.has(name), name)
  }
})

test('the enriched flow carries every field of the latest raw flow, with the same type', () => {
  const raw = fieldsOf(latest(topics.flowsRaw))
  const enriched = new Map(fieldsOf(latest(topics.flowsEnriched)).map((f) => [f.name, f]))
  for (const field of raw) {
    const twin = enriched.get(field.name)
    assert.ok(twin !== undefined, `EnrichedFlow lacks ${field.name}`)
    assert.equal(JSON.stringify(twin.type.schema()), JSON.stringify(field.type.schema()), field.name)
  }
  for (const name of ['AEnrich', 'BEnrich', 'ServerEnd']) assert.ok(enriched.has(name), name)
})

test('flows use Skydive JSON field names', () => {
  const names = fieldsOf(latest(topics.flowsRaw)).map((f) => f.name)
  for (const name of ['UUID', 'LayersPath', 'Application', 'Link', 'Network', 'Transport', 'ICMP', 'Metric', 'LastUpdateMetric',
    'TCPMetric', 'IPMetric', 'Start', 'Last', 'TrackingID', 'L3TrackingID', 'ParentUUID', 'NodeTID', 'CaptureID', 'FinishType',
    'RawPacketsCaptured', 'CommunityID', 'SamplingRate', 'Host']) {
    assert.ok(names.includes(name), name)
  }
})
