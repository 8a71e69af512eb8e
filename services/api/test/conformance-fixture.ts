import type { Flow, GraphEdge, GraphNode } from '@topoflow/gremlin'
import { T0, conformanceEdges, conformanceFlows, conformanceNodes, fixtureEdge, fixtureNode } from '@topoflow/gremlin/conformance'

/**
 * The graph and flows of the HTTP conformance table: packages/gremlin's conformance fixture
 * (`@topoflow/gremlin/conformance`), plus a boolean `Promisc` on br0 and veth1, and one interface that
 * lived for a few seconds, for time travel through the API.
 *
 * host1 ─┬─ ns1 ─┬─ ns1-eth0 (veth 10.0.0.1/24, capture active) ═══ veth1 (veth, on host1)
 *        │       └─ ns1-lo (device 127.0.0.1/8)
 *        ├─ veth1 ══ br0 (bridge, member veth1)
 *        ├─ br0 (bridge 192.168.1.1/24)
 *        ├─ h1-eth0 (device 172.16.0.10/16, routes, neighbors, metrics)
 *        ├─ ns2 ── ns2-eth0 (veth 10.0.0.2/24)    ═ layer2, ─ ownership
 *        └─ tmp0 (veth, created at T0+23 s, deleted at T0+30 s)
 * host2 ── h2-eth0 (device 172.16.0.20/16)
 */

/** T0: epoch ms of the first element; NOW: the API's clock, one hour later. */
export { MAC, NOW, T0 } from '@topoflow/gremlin/conformance'
/** When tmp0 and its edge were deleted. */
export const DELETED_AT = T0 + 30_000

/** `Promisc` by node ID: the shared fixture has no boolean metadata, the table's boolean rows need some. */
const promiscuous: Record<string, boolean> = { veth1: false, br0: true }

export function fixtureNodes (): GraphNode[] {
  return conformanceNodes().map((node) => {
    const promisc = promiscuous[node.ID]
    return promisc === undefined ? node : { ...node, Metadata: { ...node.Metadata, Promisc: promisc } }
  })
}

export function fixtureEdges (): GraphEdge[] {
  return conformanceEdges()
}

/** An interface that came and went before the rest of the history: created, linked, deleted. */
export function shortLived (): { node: GraphNode, edge: GraphEdge } {
  return {
    node: fixtureNode(23, 'tmp0', 'host1', { Name: 'tmp0', Type: 'veth', TID: 'tid-tmp0', MTU: 1500, IfIndex: 9, State: 'UP' }),
    edge: fixtureEdge(24, 'host1', 'tmp0', { RelationType: 'ownership' })
  }
}

export function fixtureFlows (): Flow[] {
  return conformanceFlows()
}
