import { isIP } from 'node:net'
import type { Param, Step } from './ast.ts'
import { isRecord } from './fields.ts'
import { evalFilter, keyValueToFilter, paramsToFilter } from './filter.ts'
import type { Filter } from './filter.ts'
import { elementReader } from './graph.ts'
import type { GraphEdge, GraphElement, GraphNode } from './graph.ts'
import { cidrContains, isDefaultRoute, sameIP } from './ip.ts'
import { isMetric, metricStart } from './metrics.ts'
import type { Metric } from './metrics.ts'
import type { Run } from './run.ts'

/** Filter of a step's optional `('key')` / `('k', v, ...)` arguments; undefined when none. */
export function optionalFilter (params: Param[], op: 'and' | 'or' = 'and'): Filter | undefined {
  return params.length === 0 ? undefined : paramsToFilter(op, params)
}

export function matches (el: GraphElement, filter: Filter | undefined): boolean {
  return filter === undefined || evalFilter(filter, elementReader(el))
}

/** Out (children), In (parents) or Both, optionally filtered on the reached node. */
export function adjacentNodes (run: Run, nodes: GraphNode[], direction: 'out' | 'in' | 'both', filter: Filter | undefined): GraphNode[] {
  const out: GraphNode[] = []
  for (const n of nodes) {
    for (const e of run.snapshot.nodeEdges(n.ID)) {
      run.budget.tick()
      let otherId: string | undefined
      if (e.Parent === n.ID && direction !== 'in') otherId = e.Child
      else if (e.Child === n.ID && direction !== 'out') otherId = e.Parent
      if (otherId === undefined) continue
      const other = run.snapshot.node(otherId)
      if (other !== undefined && matches(other, filter)) out.push(other)
    }
  }
  return out
}

/** OutE (node is parent), InE (node is child) or BothE, optionally filtered on the edge. */
export function adjacentEdges (run: Run, nodes: GraphNode[], direction: 'out' | 'in' | 'both', filter: Filter | undefined): GraphEdge[] {
  const out: GraphEdge[] = []
  for (const n of nodes) {
    for (const e of run.snapshot.nodeEdges(n.ID)) {
      run.budget.tick()
      const ok = direction === 'both' || (direction === 'out' ? e.Parent === n.ID : e.Child === n.ID)
      if (ok && matches(e, filter)) out.push(e)
    }
  }
  return out
}

/**
 * Nodes of edges. As in Skydive's code, `InV` gives the parent and `OutV` the child (the node the
 * edge goes out to); `BothV` gives parent then child.
 */
export function edgeNodes (run: Run, edges: GraphEdge[], which: 'parent' | 'child' | 'both', filter: Filter | undefined): GraphNode[] {
  const out: GraphNode[] = []
  for (const e of edges) {
    run.budget.tick()
    const parent = run.snapshot.node(e.Parent)
    const child = run.snapshot.node(e.Child)
    if (parent === undefined || child === undefined) continue
    if (which !== 'child' && matches(parent, filter)) out.push(parent)
    if (which !== 'parent' && matches(child, filter)) out.push(child)
  }
  return out
}

function uniqueById<T extends GraphElement> (items: Iterable<T>): T[] {
  const seen = new Set<string>()
  const out: T[] = []
  for (const item of items) {
    if (seen.has(item.ID)) continue
    seen.add(item.ID)
    out.push(item)
  }
  return out
}

/** Nodes plus the edges between them (both ends in the set), optionally filtered on the edge. */
export function subGraphOfNodes (run: Run, nodes: GraphNode[], edgeFilter: Filter | undefined): { nodes: GraphNode[], edges: GraphEdge[] } {
  const unique = uniqueById(nodes)
  const ids = new Set(unique.map((n) => n.ID))
  const edges = new Map<string, GraphEdge>()
  for (const n of unique) {
    for (const e of run.snapshot.nodeEdges(n.ID)) {
      run.budget.tick()
      if (edges.has(e.ID) || !ids.has(e.Parent) || !ids.has(e.Child)) continue
      if (matches(e, edgeFilter)) edges.set(e.ID, e)
    }
  }
  return { nodes: unique, edges: [...edges.values()] }
}

export function subGraphOfEdges (run: Run, edges: GraphEdge[]): { nodes: GraphNode[], edges: GraphEdge[] } {
  const nodes: GraphNode[] = []
  const kept: GraphEdge[] = []
  for (const e of uniqueById(edges)) {
    const parent = run.snapshot.node(e.Parent)
    const child = run.snapshot.node(e.Child)
    if (parent === undefined || child === undefined) continue
    nodes.push(child, parent)
    kept.push(e)
  }
  return { nodes: uniqueById(nodes), edges: kept }
}

function metadataFilter (param: Param | undefined): Filter | undefined {
  if (typeof param !== 'object' || param.kind !== 'metadata') return undefined
  return { op: 'and', filters: param.pairs.map(([k, v]) => keyValueToFilter(k, v)) }
}

/**
 * `ShortestPathTo(Metadata(target)[, Metadata(edges)])`: for each node, the shortest path (edges
 * taken in either direction) to the nearest node matching the target, as `[node, ..., target]`.
 * Nodes with no path are left out.
 */
export function shortestPaths (run: Run, nodes: GraphNode[], step: Step): GraphNode[][] {
  const target = metadataFilter(step.params[0]) ?? { op: 'and', filters: [] }
  const edgeFilter = metadataFilter(step.params[1])
  const paths: GraphNode[][] = []
  for (const start of nodes) {
    const previous = new Map<string, GraphNode | null>([[start.ID, null]])
    const queue: GraphNode[] = [start]
    let found: GraphNode | undefined
    for (let head = 0; head < queue.length && found === undefined; head++) {
      const current = queue[head] as GraphNode
      if (matches(current, target)) {
        found = current
        break
      }
      for (const e of run.snapshot.nodeEdges(current.ID)) {
        run.budget.tick()
        if (!matches(e, edgeFilter)) continue
        const otherId = e.Parent === current.ID ? e.Child : e.Parent
        if (previous.has(otherId)) continue
        const other = run.snapshot.node(otherId)
        if (other === undefined) continue
        previous.set(otherId, current)
        queue.push(other)
      }
    }
    if (found === undefined) continue
    const path: GraphNode[] = []
    for (let n: GraphNode | null | undefined = found; n != null; n = previous.get(n.ID)) path.push(n)
    paths.push(path.reverse())
  }
  return paths
}

/** Edge filter and depth of Descendants/Ascendants/Neighbors: `(k, v, ...[, depth])`. */
function walkParams (params: Param[]): { filter: Filter, depth: number } {
  const pairs = params.length - (params.length % 2)
  const filter = pairs === 0
    ? keyValueToFilter('RelationType', 'ownership')
    : paramsToFilter('or', params.slice(0, pairs))
  const depth = pairs < params.length ? params[params.length - 1] as number : 1
  return { filter, depth: depth <= 0 ? Infinity : depth }
}

/**
 * The input nodes, then the nodes reached level by level, up to `depth` levels (0 = no limit),
 * following edges that match the filter: to children, to parents, or both ways.
 */
export function walk (run: Run, nodes: GraphNode[], params: Param[], direction: 'out' | 'in' | 'both'): GraphNode[] {
  const { filter, depth } = walkParams(params)
  const visited = new Set<string>()
  const result: GraphNode[] = []
  let level: GraphNode[] = []
  for (const n of nodes) {
    if (visited.has(n.ID)) continue
    visited.add(n.ID)
    result.push(n)
    level.push(n)
  }
  for (let d = 0; d < depth && level.length > 0; d++) {
    const next: GraphNode[] = []
    for (const n of level) {
      for (const e of run.snapshot.nodeEdges(n.ID)) {
        run.budget.tick()
        let otherId: string | undefined
        if (e.Parent === n.ID && direction !== 'in') otherId = e.Child
        else if (e.Child === n.ID && direction !== 'out') otherId = e.Parent
        if (otherId === undefined || visited.has(otherId) || !matches(e, filter)) continue
        const other = run.snapshot.node(otherId)
        if (other === undefined) continue
        visited.add(otherId)
        result.push(other)
        next.push(other)
      }
    }
    level = next
  }
  return result
}

/** `Metrics([key])` on nodes: each node's metric window at `key`, by node ID, oldest first. */
export function nodeMetrics (run: Run, nodes: GraphNode[], key: string, step: Step): Map<string, Metric[]> {
  const seen = new Set<string>()
  const picked: Array<{ id: string, metric: Metric }> = []
  const window = run.time?.duration === undefined ? undefined : { from: run.time.at - run.time.duration, to: run.time.at }
  for (const n of nodes) {
    const m = elementReader(n)(key)
    if (!isRecord(m)) continue
    if (!isMetric(m)) throw run.stepError(step, `wrong interface metric type at '${key}' of node ${n.ID}`)
    const dedupKey = `${n.ID}\u0000${metricStart(m)}`
    if (seen.has(dedupKey)) continue
    seen.add(dedupKey)
    if (window !== undefined && !((m.Start as number) >= window.from && (m.Last as number) <= window.to)) continue
    picked.push({ id: n.ID, metric: m })
  }
  picked.sort((a, b) => metricStart(a.metric) - metricStart(b.metric))
  const byId = new Map<string, Metric[]>()
  for (const { id, metric } of picked) {
    const list = byId.get(id)
    if (list === undefined) byId.set(id, [metric])
    else list.push(metric)
  }
  return byId
}

/** `Sockets()` on nodes: the `Sockets` metadata of every node that has it. */
export function nodeSockets (nodes: GraphNode[]): Map<string, Array<Record<string, unknown>>> {
  const byId = new Map<string, Array<Record<string, unknown>>>()
  for (const n of nodes) {
    const sockets = n.Metadata.Sockets
    if (!Array.isArray(sockets)) continue
    const list = byId.get(n.ID) ?? []
    for (const s of sockets) if (isRecord(s)) list.push(s)
    byId.set(n.ID, list)
  }
  return byId
}

function neighborMac (node: GraphNode, ip: string): string | undefined {
  const neighbors = node.Metadata.Neighbors
  if (!Array.isArray(neighbors)) return undefined
  for (const n of neighbors) {
    if (isRecord(n) && typeof n.IP === 'string' && sameIP(n.IP, ip) && typeof n.MAC === 'string') return n.MAC
  }
  return undefined
}

function nextHopJson (priority: unknown, ip: string | undefined, mac: string | undefined, ifIndex: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { Priority: typeof priority === 'number' ? priority : 0 }
  if (ip !== undefined && ip !== '') out.IP = ip
  if (mac !== undefined && mac !== '') out.MAC = mac
  out.IfIndex = typeof ifIndex === 'number' ? ifIndex : 0
  return out
}

/** Skydive's `GetNextHop`: the route to `ip` in the node's `RoutingTables`, else the default route. */
export function nextHop (node: GraphNode, ip: string): Record<string, unknown> | undefined {
  const tables = node.Metadata.RoutingTables
  if (!Array.isArray(tables)) return undefined
  for (const table of tables) {
    if (!isRecord(table) || !Array.isArray(table.Routes)) continue
    let viaDefault: Record<string, unknown> | undefined
    let direct: Record<string, unknown> | undefined
    for (const route of table.Routes) {
      if (!isRecord(route) || typeof route.Prefix !== 'string' || !Array.isArray(route.NextHops)) continue
      const hops = route.NextHops.filter(isRecord)
      if (isDefaultRoute(route.Prefix)) {
        // only a default route of the destination's family
        if ((route.Prefix === '::/0') !== (isIP(ip) === 6)) continue
        const first = hops[0]
        if (first !== undefined && typeof first.IP === 'string' && first.IP !== '') viaDefault = first
      } else if (cidrContains(route.Prefix, ip)) {
        for (const hop of hops) {
          if (typeof hop.IP === 'string' && hop.IP !== '') {
            // a gateway: that is the next hop
            return nextHopJson(hop.Priority, hop.IP, neighborMac(node, hop.IP), hop.IfIndex)
          }
          // on-link: the destination itself, unless a more specific route says otherwise
          direct = nextHopJson(hop.Priority, ip, neighborMac(node, ip), hop.IfIndex)
        }
      }
    }
    if (direct !== undefined) return direct
    if (viaDefault !== undefined) {
      const gw = viaDefault.IP as string
      return nextHopJson(0, gw, neighborMac(node, gw), viaDefault.IfIndex)
    }
  }
  return undefined
}
