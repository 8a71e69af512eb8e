import { setOwn, TopoflowError } from '@topoflow/core'
import type { Param, Query, Step } from './ast.ts'
import { evalError, positionOf } from './errors.ts'
import {
  captureNodes, dedupFlowsStep, filterFlows, filterSockets, flowEndpoints, flowMetrics, flowNodes, flowSockets,
  flowSum, flowValues, groupFlows, moreThan, queryFlows, socketValues, sortFlowsStep
} from './eval-flows.ts'
import {
  adjacentEdges, adjacentNodes, edgeNodes, matches, nextHop, nodeMetrics, nodeSockets, optionalFilter, shortestPaths,
  subGraphOfEdges, subGraphOfNodes, walk
} from './eval-topology.ts'
import { canonicalJson, getPath, isRecord, notFound, toInteger } from './fields.ts'
import { evalFilter, paramsToFilter } from './filter.ts'
import { flowKeys } from './flows.ts'
import { elementField, elementJson, elementJsonText, elementKeys } from './graph.ts'
import type { GraphEdge, GraphElement, GraphNode } from './graph.ts'
import { addMetrics, aggregateMetrics, defaultAggregateSliceMs, metricLast, metricStart, sumMetrics } from './metrics.ts'
import type { Metric } from './metrics.ts'
import { parseGremlin, metricsKeys } from './parser.ts'
import { Run, kindLabels } from './run.ts'
import type { GremlinDeps, Value } from './run.ts'
import { resolveTimeSpec } from './time.ts'

export type { GremlinDeps, GremlinLimits } from './run.ts'

function invalid (run: Run, step: Step, value: Value): TopoflowError {
  const { column } = positionOf(run.source, step.start)
  return run.stepError(step, `Invalid step '${step.name}' on ${kindLabels[value.kind]} at column ${column}`, { input: value.kind })
}

function rangeOf (step: Step): [number, number] {
  if (step.name === 'Limit') return [0, step.params[0] as number]
  return [step.params[0] as number, step.params[1] as number]
}

function slice<T> (items: T[], step: Step): T[] {
  const [from, to] = rangeOf(step)
  return items.slice(from, Math.max(from, to))
}

/** Skydive's Dedup on nodes/edges: by ID, or by the values of keys (elements without any are kept). */
function dedupElements<T extends GraphElement> (items: T[], keys: string[]): T[] {
  const seen = new Set<string>()
  const out: T[] = []
  for (const el of items) {
    let key: string | undefined
    if (keys.length === 0) {
      key = el.ID
    } else {
      const values = keys.map((k) => elementField(el, k)).filter((v) => v !== notFound)
      key = values.length === 0 ? undefined : canonicalJson(values)
    }
    if (key !== undefined) {
      if (seen.has(key)) continue
      seen.add(key)
    }
    out.push(el)
  }
  return out
}

/**
 * The nodes an AND filter of `Has`-style params can keep: those the snapshot's index gives for the
 * most selective `key, 'string'` pair, or every node when it has no index on any. The filter itself
 * still runs on them, so predicates, other pairs and bad params behave exactly as without an index.
 */
function candidateNodes (run: Run, params: Param[]): readonly GraphNode[] {
  let best: readonly GraphNode[] | undefined
  if (params.length % 2 === 0) {
    for (let i = 0; i < params.length; i += 2) {
      const key = params[i]
      const value = params[i + 1]
      if (typeof key !== 'string' || typeof value !== 'string') continue
      const hits = run.snapshot.nodesWithValue?.(key, value)
      if (hits !== undefined && (best === undefined || hits.length < best.length)) best = hits
    }
  }
  return best ?? run.snapshot.nodes()
}

function filterElements<T extends GraphElement> (run: Run, items: T[], step: Step): T[] {
  const filter = step.name === 'HasNot'
    ? { op: 'null' as const, key: step.params[0] as string }
    : paramsToFilter(step.name === 'HasEither' ? 'or' : 'and', step.params)
  return items.filter((el) => {
    run.budget.tick()
    return matches(el, filter)
  })
}

/** Sort nodes by a key: numerically if any node has a number there (missing = 0), else as strings. */
function sortNodes (nodes: GraphNode[], step: Step): GraphNode[] {
  let key = '@CreatedAt'
  let desc = false
  if (step.params.length === 1) key = step.params[0] as string
  if (step.params.length === 2) {
    const order = step.params[0]
    desc = typeof order === 'object' && order.kind === 'keyword' && order.word === 'DESC'
    key = step.params[1] as string
  }
  const raw = nodes.map((n) => elementField(n, key))
  const numeric = raw.some((v) => typeof v === 'number')
  const keyed = nodes.map((node, i) => {
    const v = raw[i]
    return { node, key: numeric ? (toInteger(v) ?? 0) : (typeof v === 'string' ? v : '') }
  })
  keyed.sort((a, b) => {
    const c = a.key < b.key ? -1 : a.key > b.key ? 1 : 0
    return desc ? -c : c
  })
  return keyed.map((k) => k.node)
}

function elementValues (items: GraphElement[], key: string): unknown[] {
  const out: unknown[] = []
  for (const el of items) {
    const v = elementField(el, key)
    if (v === notFound) continue
    if (Array.isArray(v) && v.length === 0) continue
    if (isRecord(v) && Object.keys(v).length === 0) continue
    out.push(v)
  }
  return out
}

function elementValueMaps (items: GraphElement[], keys: string[]): unknown[] {
  const out: unknown[] = []
  for (const el of items) {
    const map: Record<string, unknown> = {}
    let found = false
    for (const k of keys) {
      const v = elementField(el, k)
      if (v === notFound) continue
      setOwn(map, k, v)
      found = true
    }
    if (found) out.push(map)
  }
  return out
}

function unionKeys (items: GraphElement[]): string[] {
  const keys = new Set<string>()
  for (const el of items) for (const k of elementKeys(el)) keys.add(k)
  return [...keys]
}

function sumElements (run: Run, items: GraphElement[], step: Step): number {
  const key = step.params[0]
  if (typeof key !== 'string') throw run.stepError(step, 'Sum requires 1 parameter')
  let total = 0
  for (const el of items) {
    const v = elementField(el, key)
    if (v === notFound) continue
    const n = toInteger(v)
    if (n === undefined) throw run.stepError(step, `Sum: the value of '${key}' on ${el.ID} is not an integer`)
    total += n
  }
  return total
}

function filterValues (run: Run, items: unknown[], step: Step): unknown[] {
  const filter = paramsToFilter(step.name === 'HasEither' ? 'or' : 'and', step.params)
  return items.filter((item) => isRecord(item) && evalFilter(filter, (k) => getPath(item, k)))
}

function dedupValues (items: unknown[]): unknown[] {
  const seen = new Set<string>()
  return items.filter((v) => {
    const key = canonicalJson(v)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function allMetrics (byId: Map<string, Metric[]>): Metric[] {
  return [...byId.values()].flat()
}

function metricsSum (run: Run, byId: Map<string, Metric[]>, step: Step): unknown {
  const key = step.params[0]
  if (key === undefined) return sumMetrics(allMetrics(byId))
  let total = 0
  for (const m of allMetrics(byId)) {
    const v = getPath(m, key as string)
    if (typeof v !== 'number') throw run.stepError(step, `Field not found: a metric has no integer field '${String(key)}'`)
    total += v
  }
  return total
}

function aggregates (run: Run, byId: Map<string, Metric[]>, step: Step): Map<string, Metric[]> {
  const sliceMs = step.params.length === 0 ? defaultAggregateSliceMs : (step.params[0] as number) * 1000
  const metrics = allMetrics(byId)
  let start: number
  let last: number
  if (run.time?.duration !== undefined) {
    start = run.time.at - run.time.duration
    last = run.time.at
  } else {
    start = Math.min(...metrics.map(metricStart))
    last = Math.max(...metrics.map(metricLast))
  }
  const aggregated = metrics.length === 0 ? [] : aggregateMetrics(metrics, start, last, sliceMs)
  return new Map([['Aggregated', aggregated.map((m) => addMetrics(m, {}))]])
}

function count (value: Value): number | undefined {
  switch (value.kind) {
    case 'nodes': case 'edges': case 'paths': case 'flows': case 'values': return value.items.length
    case 'metrics': case 'sockets': case 'nexthops': return value.byId.size
    case 'groups': return value.byKey.size
    default: return undefined
  }
}

/** Runs one step on the current value. `steps`/`index` let `Flows` fold the steps after it. */
async function applyStep (run: Run, value: Value, steps: Step[], index: number): Promise<{ value: Value, consumed: number }> {
  const step = steps[index] as Step
  const done = (v: Value): { value: Value, consumed: number } => ({ value: v, consumed: 0 })
  const p = step.params

  // steps that work the same on every list
  if (step.name === 'Count') {
    const n = count(value)
    if (n === undefined) throw invalid(run, step, value)
    return done({ kind: 'scalar', value: n })
  }
  if ((step.name === 'Range' || step.name === 'Limit') && 'items' in value) {
    switch (value.kind) {
      case 'nodes': return done({ kind: 'nodes', items: slice(value.items, step) })
      case 'edges': return done({ kind: 'edges', items: slice(value.items, step) })
      case 'paths': return done({ kind: 'paths', items: slice(value.items, step) })
      case 'flows': return done({ kind: 'flows', items: slice(value.items, step) })
      case 'values': return done({ kind: 'values', items: slice(value.items, step) })
    }
  }

  switch (value.kind) {
    case 'graph':
      switch (step.name) {
        case 'V': {
          if (p.length === 1) {
            const node = run.snapshot.node(p[0] as string)
            if (node === undefined) throw run.stepError(step, `Node '${p[0] as string}' does not exist`, { id: p[0] })
            return done({ kind: 'nodes', items: [node] })
          }
          const filter = optionalFilter(p)
          // the filter that will run on these nodes: V's own, or that of a Has right after it
          const next = steps[index + 1]
          const nodes = candidateNodes(run, filter !== undefined ? p : next?.name === 'Has' ? next.params : [])
          return done({ kind: 'nodes', items: filter === undefined ? [...nodes] : nodes.filter((n) => matches(n, filter)) })
        }
        case 'E': {
          if (p.length === 1) {
            const edge = run.snapshot.edge(p[0] as string)
            if (edge === undefined) throw run.stepError(step, `Edge '${p[0] as string}' does not exist`, { id: p[0] })
            return done({ kind: 'edges', items: [edge] })
          }
          const filter = optionalFilter(p)
          const edges = run.snapshot.edges()
          return done({ kind: 'edges', items: filter === undefined ? [...edges] : edges.filter((e) => matches(e, filter)) })
        }
        case 'Flows': {
          const { flows, consumed } = await queryFlows(run, steps, index, undefined)
          return { value: { kind: 'flows', items: flows }, consumed }
        }
      }
      break

    case 'nodes': {
      const nodes = value.items
      switch (step.name) {
        case 'Has': case 'HasEither': case 'HasKey': case 'HasNot':
          return done({ kind: 'nodes', items: filterElements(run, nodes, step) })
        case 'Out': return done({ kind: 'nodes', items: adjacentNodes(run, nodes, 'out', optionalFilter(p)) })
        case 'In': return done({ kind: 'nodes', items: adjacentNodes(run, nodes, 'in', optionalFilter(p)) })
        case 'Both': return done({ kind: 'nodes', items: adjacentNodes(run, nodes, 'both', optionalFilter(p)) })
        case 'OutE': return done({ kind: 'edges', items: adjacentEdges(run, nodes, 'out', optionalFilter(p)) })
        case 'InE': return done({ kind: 'edges', items: adjacentEdges(run, nodes, 'in', optionalFilter(p)) })
        case 'BothE': return done({ kind: 'edges', items: adjacentEdges(run, nodes, 'both', optionalFilter(p)) })
        case 'Dedup': return done({ kind: 'nodes', items: dedupElements(nodes, p as string[]) })
        case 'Sort': return done({ kind: 'nodes', items: sortNodes(nodes, step) })
        case 'Values': return done({ kind: 'values', items: elementValues(nodes, p[0] as string) })
        case 'ValueMap': return done({ kind: 'values', items: elementValueMaps(nodes, p as string[]) })
        case 'Keys': return done({ kind: 'values', items: unionKeys(nodes) })
        case 'Sum': return done({ kind: 'scalar', value: sumElements(run, nodes, step) })
        case 'As':
          run.saved.set(p[0] as string, nodes)
          return done(value)
        case 'Select': {
          const out: GraphNode[] = []
          for (const name of p as string[]) {
            const saved = run.saved.get(name)
            if (saved === undefined) throw run.stepError(step, `Key ${name} not registered. Need to be registered using 'As' step`)
            out.push(...saved)
          }
          return done({ kind: 'nodes', items: out })
        }
        case 'ShortestPathTo': return done({ kind: 'paths', items: shortestPaths(run, nodes, step) })
        case 'SubGraph': return done({ kind: 'subgraph', ...subGraphOfNodes(run, nodes, optionalFilter(p)) })
        case 'Descendants': return done({ kind: 'nodes', items: walk(run, nodes, p, 'out') })
        case 'Ascendants': return done({ kind: 'nodes', items: walk(run, nodes, p, 'in') })
        case 'Neighbors': return done({ kind: 'nodes', items: walk(run, nodes, p, 'both') })
        case 'Metrics': {
          const key = p.length === 0 ? 'LastUpdateMetric' : metricsKeys[p[0] as string] as string
          return done({ kind: 'metrics', byId: nodeMetrics(run, nodes, key, step) })
        }
        case 'Sockets': return done({ kind: 'sockets', byId: nodeSockets(nodes) })
        case 'NextHop': {
          const byId = new Map<string, Record<string, unknown>>()
          for (const n of nodes) {
            const hop = nextHop(n, p[0] as string)
            if (hop !== undefined) byId.set(n.ID, hop)
          }
          return done({ kind: 'nexthops', byId })
        }
        case 'Flows': {
          const { flows, consumed } = await queryFlows(run, steps, index, nodes)
          return { value: { kind: 'flows', items: flows }, consumed }
        }
      }
      break
    }

    case 'edges': {
      const edges = value.items
      switch (step.name) {
        case 'Has': case 'HasEither': case 'HasKey': case 'HasNot':
          return done({ kind: 'edges', items: filterElements(run, edges, step) })
        case 'Dedup': return done({ kind: 'edges', items: dedupElements(edges, p as string[]) })
        case 'InV': return done({ kind: 'nodes', items: edgeNodes(run, edges, 'parent', optionalFilter(p)) })
        case 'OutV': return done({ kind: 'nodes', items: edgeNodes(run, edges, 'child', optionalFilter(p)) })
        case 'BothV': return done({ kind: 'nodes', items: edgeNodes(run, edges, 'both', optionalFilter(p)) })
        case 'SubGraph': return done({ kind: 'subgraph', ...subGraphOfEdges(run, edges) })
        case 'Values': return done({ kind: 'values', items: elementValues(edges, p[0] as string) })
        case 'Keys': return done({ kind: 'values', items: unionKeys(edges) })
      }
      break
    }

    case 'paths':
      switch (step.name) {
        case 'SubGraph': return done({ kind: 'subgraph', ...subGraphOfNodes(run, value.items.flat(), undefined) })
        case 'Dedup': return done({ kind: 'nodes', items: dedupElements(value.items.flat(), p as string[]) })
        case 'Flows': {
          const { flows, consumed } = await queryFlows(run, steps, index, value.items.flat())
          return { value: { kind: 'flows', items: flows }, consumed }
        }
      }
      break

    case 'flows': {
      const flows = value.items
      switch (step.name) {
        case 'Has': case 'HasEither': return done({ kind: 'flows', items: filterFlows(run, flows, step) })
        case 'Dedup': return done({ kind: 'flows', items: dedupFlowsStep(run, flows, step) })
        case 'Sort': return done({ kind: 'flows', items: sortFlowsStep(flows, step) })
        case 'Values': return done({ kind: 'values', items: flowValues(run, flows, step) })
        case 'Keys': return done({ kind: 'values', items: flowKeys(flows) })
        case 'Sum': return done({ kind: 'scalar', value: flowSum(run, flows, step) })
        case 'Hops': case 'CaptureNode': return done({ kind: 'nodes', items: captureNodes(run, flows, step) })
        case 'Nodes': return done({ kind: 'nodes', items: flowNodes(run, flows, step) })
        case 'In': case 'Out': case 'Both': return done({ kind: 'nodes', items: flowEndpoints(run, flows, step) })
        case 'Metrics':
          if (p.length > 0) throw run.stepError(step, 'Metrics on flows takes no parameter')
          return done({ kind: 'metrics', byId: await flowMetrics(run, flows) })
        case 'Sockets': return done({ kind: 'sockets', byId: flowSockets(run, flows) })
        case 'Group': return done({ kind: 'groups', byKey: groupFlows(run, flows, step) })
      }
      break
    }

    case 'metrics':
      switch (step.name) {
        case 'Aggregates': return done({ kind: 'metrics', byId: aggregates(run, value.byId, step) })
        case 'Sum': return done({ kind: 'scalar', value: metricsSum(run, value.byId, step) })
        case 'Keys': {
          const first = allMetrics(value.byId)[0]
          return done({ kind: 'values', items: first === undefined ? [] : Object.keys(first) })
        }
      }
      break

    case 'sockets':
      switch (step.name) {
        case 'Has': case 'HasEither': return done({ kind: 'sockets', byId: filterSockets(run, value.byId, step) })
        case 'Values': return done({ kind: 'values', items: socketValues(run, value.byId, step) })
      }
      break

    case 'groups':
      if (step.name === 'MoreThan') return done({ kind: 'groups', byKey: moreThan(value.byKey, step) })
      break

    case 'values':
      switch (step.name) {
        case 'Has': case 'HasEither': return done({ kind: 'values', items: filterValues(run, value.items, step) })
        case 'Dedup': return done({ kind: 'values', items: dedupValues(value.items) })
      }
      break
  }
  if (step.name === 'RawPackets' || step.name === 'BPF' || step.name === 'Workflow') {
    throw run.stepError(step, `${step.name}() is not supported by Topoflow`)
  }
  throw invalid(run, step, value)
}

function byCreation<T extends GraphElement> (items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.CreatedAt - b.CreatedAt)
}

/** Sorted by CreatedAt, as Skydive writes a graph. */
function graphJson (nodes: readonly GraphNode[], edges: readonly GraphEdge[]): unknown[] {
  return [{ Nodes: byCreation(nodes).map(elementJson), Edges: byCreation(edges).map(elementJson) }]
}

function mapJson (map: ReadonlyMap<string, unknown>): unknown[] {
  return map.size === 0 ? [] : [Object.fromEntries(map)]
}

/** The JSON body Skydive returns for a final value (reference §3.6). */
function toJson (run: Run, value: Value): unknown {
  switch (value.kind) {
    case 'graph': return graphJson(run.snapshot.nodes(), run.snapshot.edges())
    case 'subgraph': return graphJson(value.nodes, value.edges)
    case 'nodes': case 'edges': return value.items.map(elementJson)
    case 'paths': return value.items.map((path) => path.map(elementJson))
    case 'flows': case 'values': return value.items
    case 'metrics': case 'sockets': case 'nexthops': return mapJson(value.byId)
    case 'groups': return mapJson(value.byKey)
    case 'scalar': return value.value
  }
}

/** JSON text of a list of elements, from each element's cached text. */
function elementsText (items: readonly GraphElement[]): string {
  return `[${items.map(elementJsonText).join(',')}]`
}

function graphText (nodes: readonly GraphNode[], edges: readonly GraphEdge[]): string {
  return `[{"Nodes":${elementsText(byCreation(nodes))},"Edges":${elementsText(byCreation(edges))}}]`
}

/** `JSON.stringify(toJson(run, value))`, the same bytes, with elements serialized once per revision. */
function toJsonText (run: Run, value: Value): string {
  switch (value.kind) {
    case 'graph': return graphText(run.snapshot.nodes(), run.snapshot.edges())
    case 'subgraph': return graphText(value.nodes, value.edges)
    case 'nodes': case 'edges': return elementsText(value.items)
    case 'paths': return `[${value.items.map(elementsText).join(',')}]`
    default: return JSON.stringify(toJson(run, value))
  }
}

/** Items of the result array, as `limits.maxResultItems` counts them. */
function resultLength (value: Value): number | undefined {
  switch (value.kind) {
    case 'graph': case 'subgraph': return 1
    case 'nodes': case 'edges': case 'paths': case 'flows': case 'values': return value.items.length
    case 'metrics': case 'sockets': case 'nexthops': return Math.min(value.byId.size, 1)
    case 'groups': return Math.min(value.byKey.size, 1)
    case 'scalar': return Array.isArray(value.value) ? value.value.length : undefined
  }
}

/** Runs every step of a parsed query and checks the size of the result. */
async function evaluateValue (query: Query, deps: GremlinDeps): Promise<{ run: Run, value: Value }> {
  const now = deps.now()
  const time = query.time === undefined ? undefined : resolveTimeSpec(query.time, now)
  const snapshot = await deps.graph.at(time)
  const run = new Run(query.source, snapshot, deps, now, time)
  let value: Value = { kind: 'graph' }
  for (let i = 0; i < query.steps.length; i++) {
    run.budget.check()
    const { value: next, consumed } = await applyStep(run, value, query.steps, i)
    value = next
    i += consumed
  }
  const max = deps.limits?.maxResultItems
  const length = resultLength(value)
  if (max !== undefined && length !== undefined && length > max) {
    throw evalError(`The result has ${length} items, more than the limit of ${max}; narrow the query (Has, Limit)`, { limit: max })
  }
  return { run, value }
}

/** Evaluates a parsed query; see `runGremlin`. */
export async function evaluateGremlin (query: Query, deps: GremlinDeps): Promise<unknown> {
  const { run, value } = await evaluateValue(query, deps)
  return toJson(run, value)
}

/**
 * Evaluates a parsed query to the JSON text of its result: exactly `JSON.stringify` of what
 * `evaluateGremlin` returns, but nodes and edges are serialized once per revision and reused.
 */
export async function evaluateGremlinText (query: Query, deps: GremlinDeps): Promise<string> {
  const { run, value } = await evaluateValue(query, deps)
  return toJsonText(run, value)
}

/**
 * Parses and runs a query of Skydive's Gremlin dialect and returns the JSON-ready body that
 * Skydive's `POST /api/topology` returns. Errors are TopoflowErrors: `TOPOFLOW_ERR_GREMLIN_SYNTAX`
 * (with the column), `TOPOFLOW_ERR_GREMLIN_EVAL`, `TOPOFLOW_ERR_TIMEOUT`, or the code of a failing
 * store; anything else is wrapped as `TOPOFLOW_ERR_GREMLIN_EVAL`.
 */
export async function runGremlin (query: string, deps: GremlinDeps): Promise<unknown> {
  const parsed = parseGremlin(query)
  try {
    return await evaluateGremlin(parsed, deps)
  } catch (err) {
    if (TopoflowError.is(err)) throw err
    throw new TopoflowError('TOPOFLOW_ERR_GREMLIN_EVAL', `Gremlin evaluation failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}
