// What the graph-builder publishes on `topoflow.topology.changes.v1`, for the enricher's tests: one
// message per element revision keyed by element ID, `Op: 'delete'` with the last revision (DeletedAt set)
// followed by a tombstone, and its recovery marker (a null value under `__topoflow_recovery__/<uuid>`).
// Values go through the topic's Avro codec, so they look exactly like what a consumer decodes.
import { randomUUID } from 'node:crypto'
import type { BusMessage, OutgoingMessage } from '@topoflow/core'
import { codecFor, topics, type TopologyChange, type TopologyChangeInput } from '@topoflow/schemas'

const codec = codecFor(topics.topologyChanges)

export interface NodeSpec { ID: string, Host: string, Metadata: Record<string, unknown>, Origin?: string }

/** A change as a consumer decodes it (the Avro round trip fills defaults and checks the shape). */
export function decoded (change: TopologyChangeInput): TopologyChange {
  return codec.decode(codec.encode(change))
}

function graphNode (n: NodeSpec, revision: number, time: number, deletedAt: number | null = null): NonNullable<TopologyChangeInput['Node']> {
  return { ID: n.ID, Metadata: n.Metadata, Host: n.Host, Origin: n.Origin ?? `agent.${n.Host}`, CreatedAt: time, UpdatedAt: time, DeletedAt: deletedAt, Revision: revision }
}

export function nodeUpsert (n: NodeSpec, revision = 1, time = 1): OutgoingMessage<TopologyChange> {
  return { key: n.ID, value: decoded({ ElementType: 'node', Op: 'upsert', Node: graphNode(n, revision, time), Time: time }) }
}

/** A node's delete revision, then the tombstone that lets compaction forget it. */
export function nodeDelete (n: NodeSpec, revision = 2, time = 2): Array<OutgoingMessage<TopologyChange>> {
  return [
    { key: n.ID, value: decoded({ ElementType: 'node', Op: 'delete', Node: graphNode(n, revision, time, time), Time: time }) },
    { key: n.ID, value: null }
  ]
}

export function edgeUpsert (id: string, parent: string, child: string, host: string, time = 1): OutgoingMessage<TopologyChange> {
  return {
    key: id,
    value: decoded({
      ElementType: 'edge',
      Op: 'upsert',
      Edge: { ID: id, Parent: parent, Child: child, Metadata: { RelationType: 'ownership' }, Host: host, Origin: `agent.${host}`, CreatedAt: time, UpdatedAt: time, DeletedAt: null, Revision: 1 },
      Time: time
    })
  }
}

export function recoveryMarker (): OutgoingMessage<TopologyChange> {
  return { key: `__topoflow_recovery__/${randomUUID()}`, value: null }
}

/** Outgoing messages as a subscriber receives them. */
export function received (messages: Array<OutgoingMessage<TopologyChange>>): Array<BusMessage<TopologyChange>> {
  return messages.map((m, i) => ({ topic: topics.topologyChanges, key: m.key, value: m.value, offset: String(i) }))
}

/** An interface node of `host` with the given CIDRs. */
export function iface (host: string, name: string, ips: string[], extra: Record<string, unknown> = {}): NodeSpec {
  const v4 = ips.filter((ip) => !ip.includes(':'))
  const v6 = ips.filter((ip) => ip.includes(':'))
  return { ID: `${host}-${name}`, Host: host, Metadata: { Name: name, Type: 'veth', ...(v4.length > 0 ? { IPV4: v4 } : {}), ...(v6.length > 0 ? { IPV6: v6 } : {}), ...extra } }
}
