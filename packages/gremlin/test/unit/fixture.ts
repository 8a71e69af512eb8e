import { MemoryFlowSource, MemoryGraph, runGremlin } from '../../src/index.ts'
import type { Flow, GremlinDeps } from '../../src/index.ts'
import { NOW, T0, conformanceEdges, conformanceFlows, conformanceNodes } from '../conformance/index.ts'

// the data lives in ../conformance (shared with services/api); the unit tests keep importing it from here
export { MAC, NOW, T0 } from '../conformance/index.ts'

/**
 * The conformance fixture as a MemoryGraph whose clock stands at each element's creation while it is
 * added, then at NOW (see ../conformance/fixture.ts for the picture).
 */
export function buildGraph (options: { historyWindowMs?: number, indexedKeys?: readonly string[] } = {}): MemoryGraph {
  let clock = T0
  const graph = new MemoryGraph({
    now: () => clock,
    historyWindowMs: options.historyWindowMs ?? 7_200_000,
    ...(options.indexedKeys === undefined ? {} : { indexedKeys: options.indexedKeys })
  })
  for (const node of conformanceNodes()) {
    clock = node.CreatedAt
    graph.addNode(node)
  }
  for (const edge of conformanceEdges()) {
    clock = edge.CreatedAt
    graph.addEdge(edge)
  }
  clock = NOW
  return graph
}

export const flows: Flow[] = conformanceFlows()

export function buildFlows (): MemoryFlowSource {
  const source = new MemoryFlowSource()
  for (const f of flows) source.upsert(f)
  return source
}

export function fixtureDeps (overrides: Partial<GremlinDeps> = {}): GremlinDeps {
  return { graph: buildGraph(), flows: buildFlows(), now: () => NOW, ...overrides }
}

/** Runs a query on a fresh fixture. */
export async function q (query: string, overrides: Partial<GremlinDeps> = {}): Promise<any> {
  return await runGremlin(query, fixtureDeps(overrides))
}

/** IDs of a node/edge list result. */
export function ids (result: unknown): string[] {
  return (result as Array<{ ID: string }>).map((n) => n.ID)
}
