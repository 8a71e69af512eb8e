/** Kafka topic names, by the camelCase name code refers to them with. */
export const topics = {
  topologyEvents: 'topoflow.topology.events.v1',
  sockets: 'topoflow.sockets.v1',
  flowsRaw: 'topoflow.flows.raw.v1',
  k8s: 'topoflow.k8s.v1',
  flowsEnriched: 'topoflow.flows.enriched.v1',
  topologyChanges: 'topoflow.topology.changes.v1',
  resources: 'topoflow.resources.v1',
  captureStatus: 'topoflow.capture.status.v1',
  dlq: 'topoflow.dlq.v1'
} as const

/**
 * Key prefix of the graph-builder's recovery markers on `topoflow.topology.changes.v1`: a null value
 * under `<prefix><uuid>` that the graph-builder publishes and reads back to know it replayed the topic
 * to its end. Not an element: consumers skip it (as a tombstone, it deletes nothing).
 */
export const topologyChangesMarkerPrefix = '__topoflow_recovery__/'

export type TopicKey = keyof typeof topics
export type TopicName = (typeof topics)[TopicKey]

export type CleanupPolicy = 'delete' | 'compact'

export interface TopicSpec {
  readonly name: TopicName
  readonly partitions: number
  readonly cleanupPolicy: CleanupPolicy
  /** Kafka `retention.ms`; -1 keeps records forever (compacted topics keep the latest per key). */
  readonly retentionMs: number
  /** Kafka `segment.ms`: compaction only cleans closed segments, so a topic rewritten often rolls them early. */
  readonly segmentMs?: number
  /** What the record key holds; compacted topics need one on every record. */
  readonly key: string
  /** The value's Avro schema: its file under `schemas/avro/` without `.v<N>.avsc`, and its full name. */
  readonly schema: { readonly file: string, readonly name: string }
  readonly producers: readonly string[]
  readonly consumers: readonly string[]
}

const day = 24 * 60 * 60 * 1000 // ms
const forever = -1

/** Settings of every topic, from DESIGN.md's topics table. */
export const topicTable: { readonly [T in TopicName]: TopicSpec & { readonly name: T } } = {
  'topoflow.topology.events.v1': {
    name: 'topoflow.topology.events.v1',
    partitions: 6,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
    key: 'host ID for HostSync, element ID otherwise',
    schema: { file: 'topology/TopologyEvent', name: 'topoflow.topology.v1.TopologyEvent' },
    producers: ['capture', 'k8s probe'],
    consumers: ['graph-builder']
  },
  'topoflow.sockets.v1': {
    name: 'topoflow.sockets.v1',
    partitions: 3,
    // Each snapshot replaces its host's last one: a consumer starting now needs the latest per host,
    // not a day of them (a host rewrites its table every few seconds).
    cleanupPolicy: 'compact',
    retentionMs: forever,
    segmentMs: 10 * 60 * 1000,
    key: 'host ID',
    schema: { file: 'socket/SocketSnapshot', name: 'topoflow.socket.v1.SocketSnapshot' },
    producers: ['capture'],
    consumers: ['enricher', 'graph-builder']
  },
  'topoflow.flows.raw.v1': {
    name: 'topoflow.flows.raw.v1',
    partitions: 12,
    cleanupPolicy: 'delete',
    retentionMs: day,
    key: 'flow UUID',
    schema: { file: 'flow/Flow', name: 'topoflow.flow.v1.Flow' },
    producers: ['capture'],
    consumers: ['enricher']
  },
  'topoflow.k8s.v1': {
    name: 'topoflow.k8s.v1',
    partitions: 3,
    cleanupPolicy: 'compact',
    retentionMs: forever,
    key: 'object UID',
    schema: { file: 'k8s/K8sObjectEvent', name: 'topoflow.k8s.v1.K8sObjectEvent' },
    producers: ['k8s probe'],
    consumers: ['enricher', 'graph-builder']
  },
  'topoflow.flows.enriched.v1': {
    name: 'topoflow.flows.enriched.v1',
    partitions: 12,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
    key: 'flow UUID',
    schema: { file: 'flow/EnrichedFlow', name: 'topoflow.flow.v1.EnrichedFlow' },
    producers: ['enricher'],
    consumers: ['OpenSearch sink', 'other systems']
  },
  'topoflow.topology.changes.v1': {
    name: 'topoflow.topology.changes.v1',
    partitions: 6,
    cleanupPolicy: 'compact',
    retentionMs: forever,
    key: 'element ID (tombstone after a delete)',
    schema: { file: 'topology/TopologyChange', name: 'topoflow.topology.v1.TopologyChange' },
    producers: ['graph-builder'],
    consumers: ['api', 'enricher', 'other systems']
  },
  'topoflow.resources.v1': {
    name: 'topoflow.resources.v1',
    partitions: 1,
    cleanupPolicy: 'compact',
    retentionMs: forever,
    key: 'resource UUID (tombstone after a delete)',
    schema: { file: 'resource/Resource', name: 'topoflow.resource.v1.Resource' },
    producers: ['api'],
    consumers: ['capture', 'graph-builder']
  },
  'topoflow.capture.status.v1': {
    name: 'topoflow.capture.status.v1',
    partitions: 3,
    cleanupPolicy: 'compact',
    retentionMs: forever,
    key: '<capture UUID>/<node ID>',
    schema: { file: 'capture/CaptureStatus', name: 'topoflow.capture.v1.CaptureStatus' },
    producers: ['capture'],
    consumers: ['graph-builder']
  },
  'topoflow.dlq.v1': {
    name: 'topoflow.dlq.v1',
    partitions: 3,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
    key: 'the original record key',
    schema: { file: 'dlq/DeadLetter', name: 'topoflow.dlq.v1.DeadLetter' },
    producers: ['any service'],
    consumers: ['operators']
  }
}

export const topicNames: readonly TopicName[] = Object.values(topics)

export function isTopicName (value: string): value is TopicName {
  return Object.hasOwn(topicTable, value)
}
