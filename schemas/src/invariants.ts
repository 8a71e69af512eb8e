import type { TopicName } from './topics.ts'

/**
 * Rules across fields that Avro cannot express, checked on encode after the schema. Pure and cheap:
 * they run for every message of their topic.
 */
export const invariants: Partial<Record<TopicName, (value: Record<string, unknown>) => string[]>> = {
  'topoflow.topology.events.v1': (event) => {
    const kind = event.Kind
    if ((kind === 'NodeUpdated' || kind === 'NodeDeleted') && event.Node == null) return [`Node: required when Kind is ${kind}`]
    if ((kind === 'EdgeUpdated' || kind === 'EdgeDeleted') && event.Edge == null) return [`Edge: required when Kind is ${kind}`]
    return []
  },
  'topoflow.topology.changes.v1': (change) => {
    if (change.ElementType === 'node' && (change.Node == null || change.Edge != null)) return ['Node: required, and Edge null, when ElementType is node']
    if (change.ElementType === 'edge' && (change.Edge == null || change.Node != null)) return ['Edge: required, and Node null, when ElementType is edge']
    return []
  }
}
