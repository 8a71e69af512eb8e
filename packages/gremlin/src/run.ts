import { TopoflowError } from '@topoflow/core'
import type { Step } from './ast.ts'
import { evalError, positionOf } from './errors.ts'
import type { Flow, FlowSource } from './flows.ts'
import type { GraphEdge, GraphNode, GraphSnapshot, GraphSource } from './graph.ts'
import type { Metric } from './metrics.ts'
import type { TimeContext } from './time.ts'

/** What a query runs against. */
export interface GremlinDeps {
  graph: GraphSource
  /** Needed by `Flows()`; a query that reads flows fails clearly without it. */
  flows?: FlowSource
  /** The query's clock (epoch ms): relative `At('-1m')` and live flow windows use it. */
  now: () => number
  /** Skydive's `flow.expire` (ms): flows are looked up that far back before a time context. Default 600 s. */
  flowExpireMs?: number
  limits?: GremlinLimits
}

export interface GremlinLimits {
  /** Wall-clock budget of the evaluation (ms); TOPOFLOW_ERR_TIMEOUT beyond it. */
  timeoutMs?: number
  /** Largest result (items of the returned array); TOPOFLOW_ERR_GREMLIN_EVAL beyond it. */
  maxResultItems?: number
}

/** What flows from one step to the next. */
export type Value =
  | { kind: 'graph' }
  | { kind: 'nodes', items: GraphNode[] }
  | { kind: 'edges', items: GraphEdge[] }
  | { kind: 'paths', items: GraphNode[][] }
  | { kind: 'subgraph', nodes: GraphNode[], edges: GraphEdge[] }
  | { kind: 'flows', items: Flow[] }
  | { kind: 'metrics', byId: Map<string, Metric[]> }
  | { kind: 'sockets', byId: Map<string, Array<Record<string, unknown>>> }
  | { kind: 'groups', byKey: Map<string, Flow[]> }
  | { kind: 'nexthops', byId: Map<string, Record<string, unknown>> }
  | { kind: 'values', items: unknown[] }
  | { kind: 'scalar', value: unknown }

export type ValueKind = Value['kind']

export const kindLabels: Record<ValueKind, string> = {
  graph: 'G',
  nodes: 'nodes',
  edges: 'edges',
  paths: 'shortest paths',
  subgraph: 'a subgraph',
  flows: 'flows',
  metrics: 'metrics',
  sockets: 'sockets',
  groups: 'flow groups',
  nexthops: 'next hops',
  values: 'values',
  scalar: 'a single value'
}

/** Checks the wall clock every so many units of work. */
export class Budget {
  private work = 0
  private readonly deadline: number
  private readonly timeoutMs: number

  constructor (timeoutMs: number | undefined) {
    this.timeoutMs = timeoutMs ?? Infinity
    this.deadline = performance.now() + this.timeoutMs
  }

  tick (units = 1): void {
    this.work += units
    if (this.work < 1024) return
    this.work = 0
    this.check()
  }

  check (): void {
    if (performance.now() > this.deadline) {
      throw new TopoflowError('TOPOFLOW_ERR_TIMEOUT', `Gremlin query exceeded its time limit of ${this.timeoutMs} ms`, { retriable: false })
    }
  }
}

/** State of one query evaluation. */
export class Run {
  readonly source: string
  readonly snapshot: GraphSnapshot
  readonly deps: GremlinDeps
  readonly now: number
  readonly time: TimeContext | undefined
  readonly budget: Budget
  /** Node sets saved by `As('name')`. */
  readonly saved = new Map<string, GraphNode[]>()
  private indexes = new Map<string, Map<string, GraphNode[]>>()

  constructor (source: string, snapshot: GraphSnapshot, deps: GremlinDeps, now: number, time: TimeContext | undefined) {
    this.source = source
    this.snapshot = snapshot
    this.deps = deps
    this.now = now
    this.time = time
    this.budget = new Budget(deps.limits?.timeoutMs)
  }

  /** An evaluation error that names the step and where it is in the query. */
  stepError (step: Step, message: string, extra: Record<string, unknown> = {}): TopoflowError {
    const pos = positionOf(this.source, step.start)
    return evalError(message, { step: step.name, position: pos.offset, line: pos.line, column: pos.column, ...extra })
  }

  /** Nodes indexed by the string value of a metadata key (e.g. `TID`, `MAC`), in graph order. */
  nodesBy (keys: string[]): Map<string, GraphNode[]> {
    const name = keys.join('|')
    let index = this.indexes.get(name)
    if (index !== undefined) return index
    index = new Map()
    for (const node of this.snapshot.nodes()) {
      const seen = new Set<string>()
      for (const key of keys) {
        const v = node.Metadata[key]
        if (typeof v !== 'string' || v === '' || seen.has(v)) continue
        seen.add(v)
        const list = index.get(v)
        if (list === undefined) index.set(v, [node])
        else list.push(node)
      }
    }
    this.indexes.set(name, index)
    return index
  }
}
