import { TopoflowError } from '@topoflow/core'
import { evaluateGremlin, evaluateGremlinText, parseGremlin, syntaxError, type FlowSource, type GraphEdge, type GraphNode, type GraphSource, type GremlinDeps, type Query } from '@topoflow/gremlin'

export interface QueryDeps {
  graph: GraphSource
  flows?: FlowSource
  now: () => number
  /** ms a query may run */
  timeoutMs: number
  /** most items in a result */
  maxResultItems: number
  /** most steps in a query */
  maxSteps?: number
  /** Skydive's flow.expire, ms */
  flowExpireMs?: number
}

/** Runs a Gremlin query with the API's sources and limits. Errors are TopoflowErrors. */
export async function runQuery (query: string, deps: QueryDeps): Promise<unknown> {
  return await runLimited(query, deps, evaluateGremlin)
}

/** `runQuery`, answered as the JSON text of the result (the same bytes as `JSON.stringify`). */
export async function runQueryText (query: string, deps: QueryDeps): Promise<string> {
  return await runLimited(query, deps, evaluateGremlinText)
}

async function runLimited<T> (query: string, deps: QueryDeps, evaluator: (parsed: Query, opts: GremlinDeps) => Promise<T>): Promise<T> {
  const opts: GremlinDeps = { graph: deps.graph, now: deps.now, limits: { timeoutMs: deps.timeoutMs, maxResultItems: deps.maxResultItems } }
  if (deps.flows !== undefined) opts.flows = deps.flows
  if (deps.flowExpireMs !== undefined) opts.flowExpireMs = deps.flowExpireMs
  const parsed = parseGremlin(query)
  const maxSteps = deps.maxSteps ?? Infinity
  if (parsed.steps.length > maxSteps) {
    const first = parsed.steps[Math.floor(maxSteps)]
    throw syntaxError(query, first?.start ?? 0, `the query chains ${parsed.steps.length} steps, more than the limit of ${maxSteps}`)
  }
  // the engine checks its own budget between steps; this backstop answers even if a source hangs
  let timer: NodeJS.Timeout | undefined
  const backstop = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TopoflowError('TOPOFLOW_ERR_TIMEOUT', `Gremlin query did not finish within ${deps.timeoutMs} ms`, { retriable: true })), deps.timeoutMs + 1000)
  })
  try {
    return await Promise.race([evaluate(parsed, opts, evaluator), backstop])
  } finally {
    clearTimeout(timer)
  }
}

async function evaluate<T> (parsed: Query, opts: GremlinDeps, evaluator: (parsed: Query, opts: GremlinDeps) => Promise<T>): Promise<T> {
  try {
    return await evaluator(parsed, opts)
  } catch (err) {
    if (TopoflowError.is(err)) throw err
    throw new TopoflowError('TOPOFLOW_ERR_GREMLIN_EVAL', `Gremlin evaluation failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/**
 * The engine's own time limit: the query itself is too expensive (a client error, unlike a store
 * that does not answer, which is retriable).
 */
export function isQueryTooSlow (err: unknown): err is TopoflowError {
  return TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_TIMEOUT' && !err.retriable
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
