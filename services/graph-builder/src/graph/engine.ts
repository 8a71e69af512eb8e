import { TopoflowError, toTopoflowError } from '@topoflow/core'
import type {
  CaptureStatus, EdgeInput, GraphEdge, GraphInput, GraphNode, NodeInput, ResourceEvent, SocketsSnapshot, TopologyChange,
  TopologyEvent
} from '../types.ts'
import { K8sGraph } from '../k8s/k8s-graph.ts'
import { FabricLinker } from '../fabric/fabric.ts'
import type { FabricSpec } from '../fabric/parser.ts'
import { RuleEngine, parseRule, type EdgeRule, type NodeRule } from '../rules/rules.ts'
import { compileSimpleQuery, type QueryCompiler } from '../rules/query.ts'
import { genID } from '../uuid.ts'
import { asMetadata } from './metadata.ts'
import { PendingEdges } from './pending.ts'
import { GraphStore, type ChangeRecord, type PutEdge, type StoreEvent } from './store.ts'

export interface GraphEngineOptions {
  /** `analyzer.<host_id>`: Origin of what the graph-builder itself makes (k8s, fabric, rules) */
  origin: string
  /** ms a host may stay silent before its nodes are deleted (`analyzer.topology.host_timeout`) */
  hostTimeoutMs: number
  /** edges waiting for an end, at most */
  pendingMax?: number
  /** ms an edge may wait for an end (default: the host timeout) */
  pendingMaxAgeMs?: number
  fabric?: FabricSpec
  clusterName?: string
  compileQuery?: QueryCompiler
  /** the clock used only when an input carries no usable time */
  now: () => number
}

export interface EngineStats {
  inputsApplied: number
  pendingDropped: { bound: number, age: number }
  rejected: number
  internalErrors: number
}

const captureGoneStates = new Set(['stopped', 'deleted', 'removed'])
const topologyKinds = new Set(['HostSync', 'NodeUpdated', 'NodeDeleted', 'EdgeUpdated', 'EdgeDeleted'])

/**
 * The graph-builder's pure core. `apply(input)` turns one consumed event into the list of element
 * revisions it caused; `tick(now)` expires silent hosts and stale pending edges. No I/O, no clock of its
 * own: times come from the events (or the injected `now` when an event has none), so replaying the same
 * stream gives the same revisions.
 */
export class GraphEngine {
  readonly store = new GraphStore()
  readonly stats: EngineStats = { inputsApplied: 0, pendingDropped: { bound: 0, age: 0 }, rejected: 0, internalErrors: 0 }
  readonly #opts: GraphEngineOptions
  readonly #pending: PendingEdges
  readonly #k8s: K8sGraph
  readonly #fabric: FabricLinker | null
  readonly #rules: RuleEngine
  readonly #compile: QueryCompiler
  readonly #lastSeen = new Map<string, number>()
  readonly #sockets = new Map<string, Array<Record<string, unknown>>>()
  /** node ID or `tid:<TID>` → capture ID → the entry shown in the node's `Captures` */
  readonly #captures = new Map<string, Map<string, Record<string, unknown>>>()

  constructor (opts: GraphEngineOptions) {
    this.#opts = opts
    this.#pending = new PendingEdges(opts.pendingMax ?? 10_000)
    this.#k8s = new K8sGraph({ origin: opts.origin, clusterName: opts.clusterName ?? '' })
    this.#fabric = opts.fabric === undefined ? null : new FabricLinker(opts.fabric, { origin: opts.origin })
    this.#compile = opts.compileQuery ?? compileSimpleQuery
    this.#rules = new RuleEngine({ origin: opts.origin, compile: this.#compile })
  }

  get pendingEdges (): number { return this.#pending.size }
  /** last time each host's agent was heard from (epoch ms) */
  get hostLastSeen (): ReadonlyMap<string, number> { return this.#lastSeen }

  /** Applies one input; throws TopoflowError (before changing anything) when the input is invalid. */
  apply (input: GraphInput): ChangeRecord[] {
    const time = this.#timeOf(input)
    try {
      this.#validate(input)
    } catch (err) {
      this.stats.rejected++
      throw err
    }
    const records = this.#transaction(time, () => { this.#dispatch(input, time) })
    this.stats.inputsApplied++
    return records
  }

  /** Deletes the graph of hosts silent for longer than the host timeout, and stale pending edges. */
  tick (now: number): ChangeRecord[] {
    const dropped = this.#pending.expire(now, this.#opts.pendingMaxAgeMs ?? this.#opts.hostTimeoutMs)
    this.stats.pendingDropped.age += dropped
    const silent = [...this.#lastSeen].filter(([, seen]) => now - seen > this.#opts.hostTimeoutMs).map(([h]) => h)
    if (silent.length === 0) return []
    return this.#transaction(now, () => {
      for (const host of silent) this.#forgetHost(host)
    })
  }

  // ---- recovery ----

  /** Puts back one change read from the compacted changes topic (latest per element ID wins). */
  restore (change: TopologyChange): void {
    const type = change.ElementType
    const el = type === 'node' ? change.Node : change.Edge
    if (el === undefined || el === null || typeof el.ID !== 'string') return
    if (change.Op === 'delete') { this.store.forget(type, el.ID); return }
    const metadata = asMetadata(el.Metadata) ?? {}
    const owner = el.Origin.startsWith('analyzer.') ? null : el.Host
    this.store.restore(type, { ...el, Metadata: metadata }, owner)
  }

  /**
   * Ends recovery: rebuilds what derives from the graph (k8s objects, captures), gives every known host a
   * fresh host timeout from `now` and drops edges whose ends did not survive. Returns the changes this
   * made. The fabric comes after, with installFabric, once the rules are read again.
   */
  finishRestore (now: number): ChangeRecord[] {
    this.#k8s.restoreFrom(this.store.nodes())
    for (const host of this.store.owners()) this.#lastSeen.set(host, now)
    for (const node of this.store.nodes()) {
      const captures = node.Metadata.Captures
      if (!Array.isArray(captures)) continue
      const byId = new Map<string, Record<string, unknown>>()
      for (const c of captures) {
        const entry = asMetadata(c)
        if (entry !== null && typeof entry.ID === 'string') byId.set(entry.ID, entry)
      }
      if (byId.size > 0) this.#captures.set(node.ID, byId)
    }
    return this.#transaction(now, () => {
      for (const e of [...this.store.edges()]) {
        if (!this.store.hasNode(e.Parent) || !this.store.hasNode(e.Child)) this.store.deleteEdge(e.ID)
      }
    })
  }

  /**
   * (Re)installs the fabric, removing fabric elements the configuration no longer has. After a
   * recovery it must come once the rules are applied again: a recovered fabric node keeps what a
   * rule added to it only as plain metadata, which the install would otherwise take away and the
   * rule then put back (two revisions of each such node on every restart).
   */
  installFabric (now: number): ChangeRecord[] {
    return this.#transaction(now, () => {
      this.#pruneFabric()
      this.#fabric?.install(this.store)
    })
  }

  /** A fresh start (no recovered state): an empty recovery, then the fabric. */
  start (now: number): ChangeRecord[] {
    return [...this.finishRestore(now), ...this.installFabric(now)]
  }

  // ---- internals ----

  #transaction (time: number, fn: () => void): ChangeRecord[] {
    this.store.begin(time)
    try {
      fn()
      this.#react()
    } catch (err) {
      // A bug, not bad input (that was validated): keep what was done consistent and published.
      this.stats.internalErrors++
      const records = this.store.commit()
      throw Object.assign(toTopoflowError(err), { records })
    }
    return this.store.commit()
  }

  #react (): void {
    let rounds = 0
    for (let events = this.store.takeEvents(); events.length > 0; events = this.store.takeEvents()) {
      if (++rounds > 10_000) throw new TopoflowError('TOPOFLOW_ERR_INTERNAL', 'Graph reactors did not settle after 10000 rounds')
      for (const ev of events) this.#onStoreEvent(ev)
    }
  }

  #onStoreEvent (ev: StoreEvent): void {
    if (ev.type === 'nodeUpserted') {
      for (const edge of this.#pending.waitingOn(ev.id)) {
        if (this.store.hasNode(edge.Parent) && this.store.hasNode(edge.Child)) {
          this.#pending.remove(edge.ID)
          this.store.putEdge(edge)
        }
      }
      this.#attachOverlays(ev.id)
    }
    this.#k8s.onStoreEvent(ev, this.store)
    this.#fabric?.onStoreEvent(ev, this.store)
    this.#rules.onStoreEvent(ev, this.store)
  }

  #timeOf (input: GraphInput): number {
    const t = input.kind === 'topology'
      ? input.event?.Time
      : input.kind === 'sockets'
        ? input.snapshot?.Time
        : input.kind === 'k8s'
          ? input.event?.Time
          : input.kind === 'capture' ? input.status?.Time : input.resource?.Time
    return typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : this.#opts.now()
  }

  #validate (input: GraphInput): void {
    switch (input.kind) {
      case 'topology': validateTopology(input.event); break
      case 'sockets': {
        const s = input.snapshot
        if (typeof s !== 'object' || s === null || typeof s.Host !== 'string' || s.Host === '') throw schema('sockets', 'Host is missing')
        if (!Array.isArray(s.Sockets)) throw schema('sockets', 'Sockets must be a list')
        break
      }
      case 'k8s': K8sGraph.validate(input.event); break
      case 'capture': {
        const c = input.status
        if (typeof c !== 'object' || c === null || typeof c.CaptureID !== 'string' || c.CaptureID === '') throw schema('capture status', 'CaptureID is missing')
        if (!nonEmpty(c.NodeID) && !nonEmpty(c.NodeTID)) throw schema('capture status', 'NodeID or NodeTID is required')
        if (typeof c.State !== 'string') throw schema('capture status', 'State is missing')
        break
      }
      case 'resource': {
        const r = input.resource
        if (typeof r !== 'object' || r === null || typeof r.UUID !== 'string' || r.UUID === '') throw schema('resource', 'UUID is missing')
        if (r.Deleted !== true && (r.ResourceType === 'noderule' || r.ResourceType === 'edgerule')) parseRule(r.ResourceType, r.UUID, r.Resource, this.#compile)
        break
      }
      default:
        throw schema('input', `unknown input kind ${JSON.stringify((input as { kind: unknown }).kind)}`)
    }
  }

  #dispatch (input: GraphInput, time: number): void {
    switch (input.kind) {
      case 'topology': this.#applyTopology(input.event, time); break
      case 'sockets': this.#applySockets(input.snapshot, time); break
      case 'k8s': this.#k8s.apply(input.event, this.store); break
      case 'capture': this.#applyCapture(input.status); break
      case 'resource': this.#applyResource(input.resource); break
    }
  }

  #applyTopology (ev: TopologyEvent, time: number): void {
    this.#lastSeen.set(ev.Host, time)
    switch (ev.Kind) {
      case 'NodeUpdated': this.#putNode(ev, ev.Node as NodeInput); break
      case 'NodeDeleted': this.store.deleteNode((ev.Node as NodeInput).ID); break
      case 'EdgeUpdated': this.#putEdge(ev, ev.Edge as EdgeInput, time); break
      case 'EdgeDeleted': {
        const id = (ev.Edge as EdgeInput).ID
        this.#pending.remove(id)
        this.store.deleteEdge(id)
        break
      }
      case 'HostSync': this.#hostSync(ev, time); break
    }
  }

  /** A host's full snapshot replaces what its agent owned: upsert what is there, delete what is not. */
  #hostSync (ev: TopologyEvent, time: number): void {
    const nodes = ev.Nodes ?? []
    const edges = ev.Edges ?? []
    const keepNodes = new Set(nodes.map((n) => n.ID))
    const keepEdges = new Set(edges.map((e) => e.ID))
    for (const id of this.#pending.ownedBy(ev.Host)) if (!keepEdges.has(id)) this.#pending.remove(id)
    for (const id of this.store.edgeIdsOwnedBy(ev.Host)) if (!keepEdges.has(id)) this.store.deleteEdge(id)
    for (const id of this.store.nodeIdsOwnedBy(ev.Host)) if (!keepNodes.has(id)) this.store.deleteNode(id)
    for (const n of nodes) this.#putNode(ev, n)
    for (const e of edges) this.#putEdge(ev, e, time)
  }

  #putNode (ev: TopologyEvent, n: NodeInput): void {
    this.store.putNode({
      ID: n.ID,
      Metadata: asMetadata(n.Metadata) ?? {},
      Host: nonEmpty(n.Host) ? n.Host : ev.Host,
      Origin: nonEmpty(n.Origin) ? n.Origin : ev.Origin,
      CreatedAt: typeof n.CreatedAt === 'number' && n.CreatedAt > 0 ? n.CreatedAt : undefined,
      owner: ev.Host
    })
  }

  #putEdge (ev: TopologyEvent, e: EdgeInput, time: number): void {
    const edge: PutEdge = {
      ID: e.ID,
      Parent: e.Parent,
      Child: e.Child,
      Metadata: asMetadata(e.Metadata) ?? {},
      Host: nonEmpty(e.Host) ? e.Host : ev.Host,
      Origin: nonEmpty(e.Origin) ? e.Origin : ev.Origin,
      CreatedAt: typeof e.CreatedAt === 'number' && e.CreatedAt > 0 ? e.CreatedAt : undefined,
      owner: ev.Host
    }
    if (this.store.hasNode(edge.Parent) && this.store.hasNode(edge.Child)) {
      this.#pending.remove(edge.ID)
      this.store.putEdge(edge)
      return
    }
    // The ends may come later (another host's snapshot, a reordered partition): wait, bounded.
    this.store.deleteEdge(edge.ID)
    this.stats.pendingDropped.bound += this.#pending.add(edge, time)
  }

  #forgetHost (host: string): void {
    this.#lastSeen.delete(host)
    this.#sockets.delete(host)
    for (const id of this.#pending.ownedBy(host)) this.#pending.remove(id)
    for (const id of this.store.edgeIdsOwnedBy(host)) this.store.deleteEdge(id)
    for (const id of this.store.nodeIdsOwnedBy(host)) this.store.deleteNode(id)
  }

  #applySockets (s: SocketsSnapshot, time: number): void {
    this.#lastSeen.set(s.Host, time)
    this.#sockets.set(s.Host, s.Sockets)
    for (const id of this.store.nodeIdsOwnedBy(s.Host)) this.#attachOverlays(id)
  }

  #applyCapture (c: CaptureStatus): void {
    const key = nonEmpty(c.NodeID) ? c.NodeID : `tid:${c.NodeTID as string}`
    let byCapture = this.#captures.get(key)
    if (captureGoneStates.has(c.State.toLowerCase())) {
      byCapture?.delete(c.CaptureID)
    } else {
      if (byCapture === undefined) this.#captures.set(key, byCapture = new Map())
      const entry: Record<string, unknown> = {
        ID: c.CaptureID,
        State: c.State,
        PacketsReceived: c.PacketsReceived ?? 0,
        PacketsDropped: c.PacketsDropped ?? 0,
        FlowsDropped: c.FlowsDropped ?? 0
      }
      if (nonEmpty(c.Error)) entry.Error = c.Error
      byCapture.set(c.CaptureID, entry)
    }
    if (byCapture?.size === 0) this.#captures.delete(key)
    const node = nonEmpty(c.NodeID) ? this.store.getNode(c.NodeID) : this.store.nodeByTID(c.NodeTID as string)
    if (node !== undefined) this.#attachOverlays(node.ID)
  }

  #applyResource (r: ResourceEvent): void {
    switch (r.ResourceType) {
      case 'noderule':
        if (r.Deleted) this.#rules.removeNodeRule(r.UUID, this.store)
        else this.#rules.setNodeRule(parseRule('noderule', r.UUID, r.Resource, this.#compile) as NodeRule, this.store)
        break
      case 'edgerule':
        if (r.Deleted) this.#rules.removeEdgeRule(r.UUID, this.store)
        else this.#rules.setEdgeRule(parseRule('edgerule', r.UUID, r.Resource, this.#compile) as EdgeRule, this.store)
        break
      case 'capture':
        if (!r.Deleted) break
        for (const [key, byCapture] of [...this.#captures]) {
          if (!byCapture.delete(r.UUID)) continue
          if (byCapture.size === 0) this.#captures.delete(key)
          const node = key.startsWith('tid:') ? this.store.nodeByTID(key.slice(4)) : this.store.getNode(key)
          if (node !== undefined) this.#attachOverlays(node.ID)
        }
        break
      default:
        break
    }
  }

  /** Sockets on a host's host node, Captures on the node a capture runs on. */
  #attachOverlays (id: string): void {
    const node = this.store.getNode(id)
    if (node === undefined) return
    const owner = this.store.nodeOwner(id)
    if (node.Metadata.Type === 'host' && owner !== null && owner !== undefined) {
      const sockets = this.#sockets.get(owner)
      if (sockets !== undefined) this.store.setNodeOverlay(id, 'sockets', { Sockets: sockets })
    }
    const byId = this.#captures.get(id)
    const tid = node.Metadata.TID
    const byTid = typeof tid === 'string' ? this.#captures.get(`tid:${tid}`) : undefined
    if (byId === undefined && byTid === undefined) {
      this.store.setNodeOverlay(id, 'captures', undefined)
      return
    }
    const merged = new Map([...(byTid ?? []), ...(byId ?? [])])
    const list = [...merged.values()].sort((a, b) => String(a.ID).localeCompare(String(b.ID)))
    this.store.setNodeOverlay(id, 'captures', { Captures: list })
  }

  /** Removes recovered fabric elements that the current fabric configuration no longer defines. */
  #pruneFabric (): void {
    const spec = this.#fabric?.spec
    const nodeIds = new Set(spec?.nodes.map((n) => n.id) ?? [])
    const wildcardParents = new Set(spec?.wildcards.map((w) => w.fabricNode) ?? [])
    const linkParents = new Set(spec?.links.map((l) => `${l.parent}/${l.child}`) ?? [])
    for (const n of [...this.store.nodes()]) {
      if (n.Metadata.Probe !== 'fabric' || n.Origin !== this.#opts.origin || this.store.nodeOwner(n.ID) !== null) continue
      const fromRule = typeof n.Metadata.Type === 'string' && typeof n.Metadata.Name === 'string' && n.ID === genID(n.Metadata.Type, n.Metadata.Name)
      if (!fromRule && !nodeIds.has(n.ID)) this.store.deleteNode(n.ID)
    }
    for (const e of [...this.store.edges()]) {
      if (e.Metadata.Type !== 'fabric' || e.Origin !== this.#opts.origin) continue
      if (!linkParents.has(`${e.Parent}/${e.Child}`) && !wildcardParents.has(e.Parent)) this.store.deleteEdge(e.ID)
    }
  }
}

function nonEmpty (s: unknown): s is string {
  return typeof s === 'string' && s !== ''
}

function schema (what: string, reason: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_SCHEMA', `${what} rejected: ${reason}`, { context: { stage: 'graph' } })
}

function validateTopology (ev: TopologyEvent): void {
  if (typeof ev !== 'object' || ev === null) throw schema('topology event', 'not an object')
  if (!topologyKinds.has(ev.Kind)) throw schema('topology event', `unknown Kind ${JSON.stringify(ev.Kind)}`)
  if (!nonEmpty(ev.Host)) throw schema('topology event', 'Host is missing')
  const checkNode = (n: unknown, where: string): void => {
    const node = n as GraphNode | null | undefined
    if (typeof node !== 'object' || node === null) throw schema('topology event', `${where} is missing`)
    if (!nonEmpty(node.ID)) throw schema('topology event', `${where}.ID is missing`)
    if (asMetadata(node.Metadata) === null) throw schema('topology event', `${where}.Metadata must be an object`)
  }
  const checkEdge = (e: unknown, where: string): void => {
    checkNode(e, where)
    const edge = e as GraphEdge
    if (!nonEmpty(edge.Parent) || !nonEmpty(edge.Child)) throw schema('topology event', `${where} needs Parent and Child`)
  }
  switch (ev.Kind) {
    case 'NodeUpdated': checkNode(ev.Node, 'Node'); break
    case 'EdgeUpdated': checkEdge(ev.Edge, 'Edge'); break
    case 'NodeDeleted':
    case 'EdgeDeleted': {
      const el = ev.Kind === 'NodeDeleted' ? ev.Node : ev.Edge
      if (typeof el !== 'object' || el === null || !nonEmpty(el.ID)) throw schema('topology event', `${ev.Kind} needs the element ID`)
      break
    }
    case 'HostSync':
      if (ev.Nodes !== undefined && ev.Nodes !== null && !Array.isArray(ev.Nodes)) throw schema('topology event', 'Nodes must be a list')
      if (ev.Edges !== undefined && ev.Edges !== null && !Array.isArray(ev.Edges)) throw schema('topology event', 'Edges must be a list')
      ;(ev.Nodes ?? []).forEach((n, i) => { checkNode(n, `Nodes[${i}]`) })
      ;(ev.Edges ?? []).forEach((e, i) => { checkEdge(e, `Edges[${i}]`) })
      break
  }
}
