/**
 * Explicit mappings of every Topoflow index. `dynamic: false` keeps unknown fields in `_source` without
 * indexing them, so the field count stays bounded however flows and metadata grow; unbounded maps
 * (labels, raw Kubernetes objects, node Metadata) are `flat_object`, OpenSearch's counterpart of
 * Elasticsearch's `flattened`: one field whose leaves are searchable by dotted path.
 */

export interface FieldMapping {
  type: string
  [option: string]: unknown
}

export interface ObjectMapping {
  properties: Record<string, FieldMapping | ObjectMapping>
  [option: string]: unknown
}

export interface IndexMapping extends ObjectMapping {
  dynamic: false | 'strict' | true
}

/** The mapping type OpenSearch uses for a map of arbitrary keys (Elasticsearch calls it `flattened`). */
export const flattenedType = 'flat_object'

const keyword = { type: 'keyword' } as const
const long = { type: 'long' } as const
const ip = { type: 'ip' } as const
const date = { type: 'date', format: 'epoch_millis||strict_date_optional_time' } as const
const flattened = { type: flattenedType } as const

const counters = (): ObjectMapping => ({
  properties: {
    ab_packets: long,
    ab_bytes: long,
    ba_packets: long,
    ba_bytes: long,
    start: date,
    last: date,
    rtt: long
  }
})

/** What Topoflow knows about one end of a flow; ECS names where ECS has them. */
const enrichment = (): Record<string, FieldMapping | ObjectMapping> => ({
  host: { properties: { name: keyword } },
  interface: { properties: { name: keyword } },
  process: { properties: { pid: long, name: keyword, executable: keyword } },
  container: { properties: { name: keyword } },
  kubernetes: {
    properties: {
      namespace: keyword,
      pod: { properties: { name: keyword } },
      node: { properties: { name: keyword } },
      service: { properties: { name: keyword } },
      workload: { properties: { name: keyword, kind: keyword } },
      labels: flattened
    }
  }
})

const endpoint = (): ObjectMapping => ({
  properties: { ip, port: long, mac: keyword, bytes: long, packets: long, ...enrichment() }
})

const flowIdentity = (): Record<string, FieldMapping | ObjectMapping> => ({
  id: keyword,
  layers_path: keyword,
  application: keyword,
  tracking_id: keyword,
  l3_tracking_id: keyword,
  parent_id: keyword,
  node_tid: keyword,
  capture_id: keyword,
  capture_type: keyword
})

const network = (): ObjectMapping => ({
  properties: { transport: keyword, type: keyword, protocol: keyword, community_id: keyword, bytes: long, packets: long }
})

/** One document per flow (`_id` = flow UUID), overwritten on each update. */
export const flowMapping: IndexMapping = {
  dynamic: false,
  properties: {
    '@timestamp': date,
    event: { properties: { start: date, end: date } },
    flow: {
      properties: {
        ...flowIdentity(),
        finish_type: keyword,
        sampling_rate: long,
        raw_packets_captured: long,
        server_end: keyword,
        link: { properties: { protocol: keyword, id: long } },
        network: { properties: { protocol: keyword, id: long } },
        icmp: { properties: { type: keyword, code: long, id: long } },
        metric: counters(),
        last_update_metric: counters()
      }
    },
    source: endpoint(),
    destination: endpoint(),
    network: network(),
    observer: { properties: { hostname: keyword } },
    // The server end's process and pod, when known: what "who serves this" dashboards group by.
    ...enrichment(),
    // The flow as Skydive's API returns it; kept for round trips, never indexed.
    skydive: { type: 'object', enabled: false }
  }
}

/** One document per flow update window (`_id` = flow UUID + window start), for bandwidth over time. */
export const flowMetricMapping: IndexMapping = {
  dynamic: false,
  properties: {
    '@timestamp': date,
    event: { properties: { start: date, end: date } },
    flow: { properties: { ...flowIdentity(), metric: counters() } },
    source: endpoint(),
    destination: endpoint(),
    network: network(),
    observer: { properties: { hostname: keyword } }
  }
}

/** Metadata keys copied out of the flat `Metadata` into typed fields, for filters and aggregations. */
export const metadataKeywordFields = ['Type', 'Name', 'RelationType', 'Manager', 'Probe', 'MAC', 'State', 'Driver', 'TID', 'IPV4', 'IPV6'] as const
export const metadataNumberFields = ['IfIndex', 'MTU'] as const

/** One document per revision of a node or edge; the same mapping serves live and archive. */
export const topologyMapping: IndexMapping = {
  dynamic: false,
  properties: {
    ID: keyword,
    ElementType: keyword,
    Host: keyword,
    Origin: keyword,
    Revision: long,
    CreatedAt: date,
    UpdatedAt: date,
    DeletedAt: date,
    ArchivedAt: date,
    Parent: keyword,
    Child: keyword,
    Metadata: flattened,
    Meta: {
      properties: {
        ...Object.fromEntries(metadataKeywordFields.map((k) => [k, keyword])),
        ...Object.fromEntries(metadataNumberFields.map((k) => [k, long]))
      }
    }
  }
}

/** Every mapped leaf field with its type, by dotted path (`source.ip` → `ip`). */
export function mappedFields (mapping: ObjectMapping): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (props: ObjectMapping['properties'], path: string): void => {
    for (const [name, field] of Object.entries(props)) {
      const full = path === '' ? name : `${path}.${name}`
      if ('properties' in field) walk((field as ObjectMapping).properties, full)
      else out[full] = field.type
    }
  }
  walk(mapping.properties, '')
  return out
}

/** Field lists per index kind, for checks that dashboards and queries only use fields that exist. */
export const indexFields = {
  flows: mappedFields(flowMapping),
  flowMetrics: mappedFields(flowMetricMapping),
  topology: mappedFields(topologyMapping)
} as const
