import { createSnapshot, runGremlin, type GraphEdge, type GraphNode } from '@topoflow/gremlin'
import type { CaptureTarget } from './capture/index.ts'
import type { PublishedGraph } from './topology/index.ts'

/** Node types a packet capture can open. */
const capturable = new Set(['device', 'veth', 'bridge', 'bond', 'vlan', 'vxlan', 'macvlan', 'macvtap', 'ipvlan', 'tuntap', 'tun', 'dummy', 'geneve', 'gre', 'gretap', 'ifb', 'openvswitch', 'internal'])

/**
 * Resolves a capture's Gremlin query on this host's own graph to the interfaces to capture on, with
 * the namespace each lives in (the netns node that owns it; none for the agent's own namespace).
 */
export async function resolveCaptureTargets (graph: PublishedGraph, query: string, now: () => number): Promise<CaptureTarget[]> {
  const nodes = [...graph.nodes.values()] as unknown as GraphNode[]
  const edges = [...graph.edges.values()] as unknown as GraphEdge[]
  const snapshot = createSnapshot(nodes, edges)
  const result = await runGremlin(query, { graph: { at: async () => snapshot }, now })
  if (!Array.isArray(result)) return []
  const owner = new Map<string, string>()
  for (const e of edges) if (e.Metadata.RelationType === 'ownership') owner.set(e.Child, e.Parent)
  const targets: CaptureTarget[] = []
  for (const item of result as Array<Partial<GraphNode>>) {
    const md = item.Metadata
    if (item.ID === undefined || md === undefined || !capturable.has(String(md.Type)) || typeof md.Name !== 'string') continue
    const parent = graph.nodes.get(owner.get(item.ID) ?? '')
    const netnsPath = parent?.Metadata.Type === 'netns' && typeof parent.Metadata.Path === 'string' ? parent.Metadata.Path : null
    targets.push({ nodeId: item.ID, nodeTID: typeof md.TID === 'string' ? md.TID : item.ID, name: md.Name, netnsPath })
  }
  return targets
}
