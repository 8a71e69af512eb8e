/**
 * `@topoflow/gremlin/conformance`: the Gremlin conformance table and the fixture it runs on, owned
 * here and built on by services/api's HTTP conformance table. Test support, not part of the
 * dialect's runtime.
 */
export { conformanceRows } from './table.ts'
export type { ConformanceExpect, ConformanceRow } from './table.ts'
export { MAC, NOW, T0, conformanceEdges, conformanceFlows, conformanceNodes, fixtureEdge, fixtureNode } from './fixture.ts'
