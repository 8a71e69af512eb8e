import { TopoflowError } from '@topoflow/core'
import { runGremlin, type FlowSource, type GraphEdge, type GraphNode, type GraphSource, type GremlinDeps } from '@topoflow/gremlin'

export interface QueryDeps {
  graph: GraphSource
  flows?: FlowSource
  now: () => number
  /** ms a query may run */
  timeoutMs: number
  /** most items in a result */
  maxResultItems: number
  /** Skydive's flow.expire, ms */
  flowExpireMs?: number
}

/** Runs a Gremlin query with the API's sources and limits. Errors are TopoflowErrors. */
export async function runQuery (query: string, deps: QueryDeps): Promise<unknown> {
  const opts: GremlinDeps = { graph: deps.graph, now: deps.now, limits: { timeoutMs: deps.timeoutMs, maxResultItems: deps.maxResultItems } }
  if (deps.flows !== undefined) opts.flows = deps.flows
  if (deps.flowExpireMs !== undefined) opts.flowExpireMs = deps.flowExpireMs
  // the engine checks its own budget between steps; this backstop answers even if a source hangs
  let timer: NodeJS.Timeout | undefined
  const backstop = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TopoflowError('TOPOFLOW_ERR_TIMEOUT', `Gremlin query did not finish within ${deps.timeoutMs} ms`, { retriable: true })), deps.timeoutMs + 1000)
  })
  try {
    return await Promise.race([runGremlin(query, opts), backstop])
  } finally {
    clearTimeout(timer)
  }
}

export interface GraphResult {
  Nodes: GraphNode[]
  Edges: GraphEdge[]
}

/** A query ending with `G` or `SubGraph()` answers `[{Nodes, Edges}]`; that is the only shape DOT can draw. */
export function asGraphResult (result: unknown): GraphResult | undefined {
  if (!Array.isArray(result) || result.length !== 1) return undefined
  const g = result[0] as Partial<GraphResult> | undefined
  if (typeof g !== 'object' || g === null || !Array.isArray(g.Nodes) || !Array.isArray(g.Edges)) return undefined
  return g as GraphResult
}
