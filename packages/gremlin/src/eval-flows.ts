import type { Param, Step } from './ast.ts'
import { getPath, notFound, isRecord } from './fields.ts'
import { evalFilter, paramsToFilter } from './filter.ts'
import type { Filter } from './filter.ts'
import { dedupFlows, flowField, flowKeyValue, flowReader, sortFlows } from './flows.ts'
import type { Flow, FlowFilter, FlowMetric } from './flows.ts'
import type { GraphNode } from './graph.ts'
import { matches, optionalFilter } from './eval-topology.ts'
import { ipBytes } from './ip.ts'
import type { Metric } from './metrics.ts'
import type { Run } from './run.ts'

/** Node types a capture can run on (reference §6.5); `Flows()` from other nodes gives nothing. */
export const capturableTypes = new Set([
  'ovsbridge', 'ovsport', 'dpdkport', 'internal', 'veth', 'tun', 'bridge', 'dummy', 'gre', 'bond', 'can', 'hsr',
  'ifb', 'macvlan', 'macvtap', 'vlan', 'vxlan', 'gretap', 'ip6gretap', 'geneve', 'ipoib', 'vcan', 'ipip',
  'ipvlan', 'lowpan', 'ip6tnl', 'ip6gre', 'sit', 'device'
])

export const defaultFlowExpireMs = 600_000

/** Flow `Has`: pairs only (Skydive refuses a lone key), `Network`/`Link`/`Transport` mean A or B. */
export function flowHasFilter (run: Run, step: Step, op: 'and' | 'or'): Filter {
  if (step.params.length < 2) throw run.stepError(step, 'At least two parameters must be provided')
  return paramsToFilter(op, step.params, true)
}

export function sortSpec (params: Param[], defaultKey: string): { by: string, order: 'asc' | 'desc' } {
  if (params.length === 2) {
    const order = params[0]
    return { by: params[1] as string, order: typeof order === 'object' && order.kind === 'keyword' && order.word === 'DESC' ? 'desc' : 'asc' }
  }
  return { by: params.length === 1 ? params[0] as string : defaultKey, order: 'asc' }
}

function dedupKey (run: Run, step: Step): string {
  if (step.params.length > 1) throw run.stepError(step, 'Dedup on flows takes at most one key')
  return (step.params[0] as string | undefined) ?? ''
}

/**
 * Runs `Flows(...)` and folds the steps right after it (`Has`, `HasEither`, `Dedup`, `Sort`, then
 * `Range`/`Limit`) into one query, so that a store can push them down. Returns the flows and how
 * many following steps were consumed.
 */
export async function queryFlows (run: Run, steps: Step[], index: number, from: GraphNode[] | undefined): Promise<{ flows: Flow[], consumed: number }> {
  const step = steps[index] as Step
  const where: Filter[] = []
  if (step.params.length > 0) where.push(paramsToFilter('and', step.params, true))
  const filter: FlowFilter = {}
  let j = index + 1
  let phase = 0
  for (; j < steps.length; j++) {
    const next = steps[j] as Step
    if ((next.name === 'Has' || next.name === 'HasEither') && phase === 0) {
      where.push(flowHasFilter(run, next, next.name === 'Has' ? 'and' : 'or'))
    } else if (next.name === 'Dedup' && filter.dedupBy === undefined) {
      filter.dedupBy = dedupKey(run, next)
      phase = 1
    } else if (next.name === 'Sort' && filter.sort === undefined) {
      filter.sort = sortSpec(next.params, 'Last')
      phase = 1
    } else if (next.name === 'Range' || next.name === 'Limit') {
      const [a, b] = next.params as number[]
      filter.range = next.name === 'Limit' ? { from: 0, to: a as number } : { from: a as number, to: b as number }
      j++
      break
    } else {
      break
    }
  }
  const consumed = j - index - 1
  if (where.length === 1) filter.where = where[0]
  else if (where.length > 1) filter.where = { op: 'and', filters: where }

  if (from !== undefined) {
    const tids = new Set<string>()
    for (const n of from) {
      const type = n.Metadata.Type
      const tid = n.Metadata.TID
      if (typeof type === 'string' && capturableTypes.has(type) && typeof tid === 'string' && tid !== '') tids.add(tid)
    }
    if (tids.size === 0) return { flows: [], consumed }
    filter.nodeTIDs = [...tids]
  }
  const source = run.deps.flows
  if (source === undefined) throw run.stepError(step, 'No flow source configured: flows cannot be queried')
  if (run.time !== undefined) {
    // flows still in a capture's table at `at` may have been last updated up to flow.expire earlier
    const expire = run.deps.flowExpireMs ?? defaultFlowExpireMs
    filter.activeIn = { from: run.time.at - (run.time.duration ?? 0) - expire, to: run.time.at }
  }
  const flows = await source.query(filter, { time: run.time, now: run.now })
  return { flows, consumed }
}

export function filterFlows (run: Run, flows: Flow[], step: Step): Flow[] {
  const filter = flowHasFilter(run, step, step.name === 'HasEither' ? 'or' : 'and')
  return flows.filter((f) => {
    run.budget.tick()
    return evalFilter(filter, flowReader(f))
  })
}

export function sortFlowsStep (flows: Flow[], step: Step): Flow[] {
  const { by, order } = sortSpec(step.params, 'Last')
  return sortFlows(flows, by, order)
}

export function dedupFlowsStep (run: Run, flows: Flow[], step: Step): Flow[] {
  return dedupFlows(flows, dedupKey(run, step))
}

/** `Values(k)` on flows: every flow must have the field (Skydive errors otherwise). */
export function flowValues (run: Run, flows: Flow[], step: Step): unknown[] {
  const key = step.params[0] as string
  return flows.map((f) => {
    const v = flowField(f, key)
    if (v === notFound) throw run.stepError(step, `Field not found: flow ${f.UUID ?? '?'} has no field '${key}'`)
    return v
  })
}

/** `Sum(k)` on flows: only `Metric.*` and `LastUpdateMetric.*` counters. */
export function flowSum (run: Run, flows: Flow[], step: Step): number {
  const key = step.params[0]
  if (typeof key !== 'string') throw run.stepError(step, 'Sum requires 1 parameter')
  const root = key.split('.')[0]
  if ((root !== 'Metric' && root !== 'LastUpdateMetric') || !key.includes('.')) {
    throw run.stepError(step, 'Sum accepts only sub fields of Metric and LastUpdateMetric')
  }
  let total = 0
  for (const f of flows) {
    const v = flowField(f, key)
    if (typeof v !== 'number') throw run.stepError(step, `Field not found: flow ${f.UUID ?? '?'} has no integer field '${key}'`)
    total += v
  }
  return total
}

function firstNode (run: Run, candidates: GraphNode[] | undefined, filter: Filter | undefined): GraphNode | undefined {
  if (candidates === undefined) return undefined
  return candidates.find((n) => matches(n, filter))
}

/** `Hops()` / `CaptureNode()` (alias `Node()`): the node each flow was captured on (by TID). */
export function captureNodes (run: Run, flows: Flow[], step: Step): GraphNode[] {
  const filter = optionalFilter(step.params)
  const byTid = run.nodesBy(['TID'])
  const out: GraphNode[] = []
  for (const f of flows) {
    const node = firstNode(run, byTid.get(f.NodeTID ?? ''), filter)
    if (node !== undefined) out.push(node)
  }
  return out
}

/** `Nodes()`: capture node, then the nodes whose MAC is the flow's `Link.A`, then `Link.B`. */
export function flowNodes (run: Run, flows: Flow[], step: Step): GraphNode[] {
  const filter = optionalFilter(step.params)
  const byTid = run.nodesBy(['TID'])
  const byMac = run.nodesBy(['MAC'])
  const out: GraphNode[] = []
  for (const f of flows) {
    for (const node of [
      f.NodeTID !== undefined && f.NodeTID !== '' ? firstNode(run, byTid.get(f.NodeTID), filter) : undefined,
      f.Link?.A !== undefined && f.Link.A !== '' ? firstNode(run, byMac.get(f.Link.A), filter) : undefined,
      f.Link?.B !== undefined && f.Link.B !== '' ? firstNode(run, byMac.get(f.Link.B), filter) : undefined
    ]) {
      if (node !== undefined) out.push(node)
    }
  }
  return out
}

/** `In()` (A side), `Out()` (B side), `Both()`: the interface whose MAC or PeerIntfMAC is the flow's. */
export function flowEndpoints (run: Run, flows: Flow[], step: Step): GraphNode[] {
  const filter = optionalFilter(step.params)
  const byMac = run.nodesBy(['MAC', 'PeerIntfMAC'])
  const sides: Array<'A' | 'B'> = step.name === 'In' ? ['A'] : step.name === 'Out' ? ['B'] : ['A', 'B']
  const out: GraphNode[] = []
  for (const f of flows) {
    for (const side of sides) {
      const mac = f.Link?.[side]
      if (mac === undefined || mac === '') continue
      const node = firstNode(run, byMac.get(mac), filter)
      if (node !== undefined) out.push(node)
    }
  }
  return out
}

/** `Metrics()` on flows: last window of each flow; with a time context, the stored windows. */
export async function flowMetrics (run: Run, flows: Flow[]): Promise<Map<string, Metric[]>> {
  const byId = new Map<string, Metric[]>()
  if (run.time === undefined) {
    for (const f of flows) {
      const m = f.LastUpdateMetric ?? f.Metric
      if (f.UUID !== undefined && m !== undefined) byId.set(f.UUID, [...(byId.get(f.UUID) ?? []), m])
    }
    return byId
  }
  // Skydive: a point in time means every window up to it; a duration, the windows inside it
  const window = { from: run.time.duration === undefined ? 0 : run.time.at - run.time.duration, to: run.time.at }
  const uuids = [...new Set(flows.map((f) => f.UUID).filter((u): u is string => typeof u === 'string'))]
  const source = run.deps.flows
  let stored: Record<string, FlowMetric[]>
  if (source?.metrics !== undefined) {
    stored = await source.metrics(uuids, window)
  } else {
    stored = {}
    for (const f of flows) {
      const m = f.LastUpdateMetric ?? f.Metric
      if (f.UUID !== undefined && m !== undefined && m.Start >= window.from && m.Last <= window.to) stored[f.UUID] = [m]
    }
  }
  for (const uuid of uuids) {
    const list = stored[uuid]
    if (list !== undefined && list.length > 0) byId.set(uuid, list)
  }
  return byId
}

function ipKey (ip: unknown): string {
  if (typeof ip !== 'string') return ''
  const bytes = ipBytes(ip)
  return bytes === undefined ? ip : Buffer.from(bytes).toString('hex')
}

function tupleKey (protocol: unknown, localIp: unknown, localPort: unknown, remoteIp: unknown, remotePort: unknown): string {
  return `${String(protocol).toUpperCase()}|${ipKey(localIp)}|${String(localPort)}|${ipKey(remoteIp)}|${String(remotePort)}`
}

/** `Sockets()` on flows: the sockets (of any node) at either end of each TCP/UDP flow. */
export function flowSockets (run: Run, flows: Flow[]): Map<string, Array<Record<string, unknown>>> {
  const index = new Map<string, Array<Record<string, unknown>>>()
  for (const node of run.snapshot.nodes()) {
    const sockets = node.Metadata.Sockets
    if (!Array.isArray(sockets)) continue
    for (const s of sockets) {
      run.budget.tick()
      if (!isRecord(s)) continue
      const key = tupleKey(s.Protocol, s.LocalAddress, s.LocalPort, s.RemoteAddress, s.RemotePort)
      const list = index.get(key)
      if (list === undefined) index.set(key, [s])
      else list.push(s)
    }
  }
  const byId = new Map<string, Array<Record<string, unknown>>>()
  for (const f of flows) {
    const t = f.Transport
    if (t === undefined || (t.Protocol !== 'TCP' && t.Protocol !== 'UDP') || f.UUID === undefined) continue
    const a = f.Network?.A
    const b = f.Network?.B
    const found = [
      ...(index.get(tupleKey(t.Protocol, a, t.A, b, t.B)) ?? []),
      ...(index.get(tupleKey(t.Protocol, b, t.B, a, t.A)) ?? [])
    ]
    if (found.length > 0) byId.set(f.UUID, found)
  }
  return byId
}

/** `Has` on sockets: pairs of key/value; sockets that do not match are dropped, then empty entries. */
export function filterSockets (run: Run, byId: Map<string, Array<Record<string, unknown>>>, step: Step): Map<string, Array<Record<string, unknown>>> {
  const filter = flowHasFilter(run, step, step.name === 'HasEither' ? 'or' : 'and')
  const out = new Map<string, Array<Record<string, unknown>>>()
  for (const [id, sockets] of byId) {
    const kept = sockets.filter((s) => evalFilter(filter, (k) => getPath(s, k)))
    if (kept.length > 0) out.set(id, kept)
  }
  return out
}

export function socketValues (run: Run, byId: Map<string, Array<Record<string, unknown>>>, step: Step): unknown[] {
  const key = step.params[0] as string
  const out: unknown[] = []
  for (const sockets of byId.values()) {
    for (const s of sockets) {
      const v = getPath(s, key)
      if (v === notFound) throw run.stepError(step, `Field not found: a socket has no field '${key}'`)
      out.push(v)
    }
  }
  return out
}

/** `Group([key])`: flows by the string value of `key` (default `TrackingID`). */
export function groupFlows (run: Run, flows: Flow[], step: Step): Map<string, Flow[]> {
  const key = (step.params[0] as string | undefined) ?? 'TrackingID'
  const groups = new Map<string, Flow[]>()
  for (const f of flows) {
    const v = flowKeyValue(f, key)
    if (typeof v !== 'string') throw run.stepError(step, `Group key '${key}' must be a string field`)
    const list = groups.get(v)
    if (list === undefined) groups.set(v, [f])
    else list.push(f)
  }
  return groups
}

/** `MoreThan([n])`: groups with more than n flows (default 1). */
export function moreThan (groups: Map<string, Flow[]>, step: Step): Map<string, Flow[]> {
  const n = step.params.length === 0 ? 1 : Number(step.params[0])
  return new Map([...groups].filter(([, flows]) => flows.length > n))
}
