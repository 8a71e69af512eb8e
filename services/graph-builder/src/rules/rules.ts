import { TopoflowError } from '@topoflow/core'
import type { GraphNode, Metadata } from '../types.ts'
import type { GraphStore, StoreEvent } from '../graph/store.ts'
import { asMetadata } from '../graph/metadata.ts'
import { genID, linkID } from '../uuid.ts'
import type { NodePredicate, QueryCompiler } from './query.ts'

/** Skydive's NodeRule resource (reference/skydive-compat.md §2.4). */
export interface NodeRule {
  UUID: string
  Name?: string
  Description?: string
  Metadata: Metadata
  Action: 'create' | 'update'
  Query?: string
}

/** Skydive's EdgeRule resource: links the first node of `Src` to the first node of `Dst`. */
export interface EdgeRule {
  UUID: string
  Name?: string
  Description?: string
  Src: string
  Dst: string
  Metadata: Metadata & { RelationType: string }
}

interface ActiveNodeRule {
  rule: NodeRule
  /** create: the node it made */
  nodeId?: string
  /** update: selector and the nodes it currently decorates */
  match?: NodePredicate
  applied: Set<string>
}

interface ActiveEdgeRule {
  rule: EdgeRule
  src: NodePredicate
  dst: NodePredicate
  edgeId?: string
  ends?: [string, string]
}

/** Checks a node or edge rule resource and returns it typed; throws TopoflowError on anything else. */
export function parseRule (type: 'noderule' | 'edgerule', uuid: string, resource: unknown, compile: QueryCompiler): NodeRule | EdgeRule {
  const r = asMetadata(resource)
  const fail = (reason: string): TopoflowError =>
    new TopoflowError('TOPOFLOW_ERR_SCHEMA', `${type} ${uuid} rejected: ${reason}`, { context: { stage: 'rules' } })
  if (r === null) throw fail('the resource is not an object')
  const metadata = asMetadata(r.Metadata)
  if (metadata === null) throw fail('Metadata must be an object')
  if (type === 'noderule') {
    const action = typeof r.Action === 'string' ? r.Action.toLowerCase() : ''
    if (action === 'create') {
      if (typeof metadata.Type !== 'string' || typeof metadata.Name !== 'string' || metadata.Type === '' || metadata.Name === '') {
        throw fail('a create rule needs Metadata.Type and Metadata.Name')
      }
      return { UUID: uuid, Metadata: metadata, Action: 'create' }
    }
    if (action === 'update') {
      if (typeof r.Query !== 'string' || r.Query === '') throw fail('an update rule needs a Query')
      compile(r.Query)
      return { UUID: uuid, Metadata: metadata, Action: 'update', Query: r.Query }
    }
    throw fail(`Action must be create or update, got ${JSON.stringify(r.Action)}`)
  }
  if (typeof r.Src !== 'string' || typeof r.Dst !== 'string' || r.Src === '' || r.Dst === '') throw fail('Src and Dst queries are required')
  if (typeof metadata.RelationType !== 'string' || metadata.RelationType === '') throw fail('Metadata.RelationType is required')
  compile(r.Src)
  compile(r.Dst)
  return { UUID: uuid, Src: r.Src, Dst: r.Dst, Metadata: metadata as EdgeRule['Metadata'] }
}

/**
 * Node and edge rules (Skydive's topology manager): `create` rules add a node with ID
 * uuidv5(Type/Name); `update` rules merge their Metadata into every node their query selects, now and
 * as nodes appear; edge rules link the first matching source to the first matching destination and
 * follow the graph as it changes. Deleting a rule undoes it.
 */
export class RuleEngine {
  readonly #origin: string
  readonly #compile: QueryCompiler
  readonly #nodeRules = new Map<string, ActiveNodeRule>()
  readonly #edgeRules = new Map<string, ActiveEdgeRule>()

  constructor (opts: { origin: string, compile: QueryCompiler }) {
    this.#origin = opts.origin
    this.#compile = opts.compile
  }

  get ruleCount (): number { return this.#nodeRules.size + this.#edgeRules.size }

  setNodeRule (rule: NodeRule, store: GraphStore): void {
    this.removeNodeRule(rule.UUID, store)
    if (rule.Action === 'create') {
      const type = rule.Metadata.Type as string
      const name = rule.Metadata.Name as string
      const id = genID(type, name)
      const metadata: Metadata = { ...rule.Metadata, TID: id }
      if (type === 'fabric') metadata.Probe = 'fabric'
      store.putNode({ ID: id, Metadata: metadata, Host: '', Origin: this.#origin, owner: null })
      this.#nodeRules.set(rule.UUID, { rule, nodeId: id, applied: new Set() })
      return
    }
    const active: ActiveNodeRule = { rule, match: this.#compile(rule.Query as string), applied: new Set() }
    this.#nodeRules.set(rule.UUID, active)
    for (const node of [...store.nodes()]) this.#decorate(active, node.ID, store)
  }

  removeNodeRule (uuid: string, store: GraphStore): void {
    const active = this.#nodeRules.get(uuid)
    if (active === undefined) return
    this.#nodeRules.delete(uuid)
    if (active.nodeId !== undefined) store.deleteNode(active.nodeId)
    for (const id of active.applied) store.setNodeOverlay(id, overlayKey(uuid), undefined)
  }

  setEdgeRule (rule: EdgeRule, store: GraphStore): void {
    this.removeEdgeRule(rule.UUID, store)
    const active: ActiveEdgeRule = { rule, src: this.#compile(rule.Src), dst: this.#compile(rule.Dst) }
    this.#edgeRules.set(rule.UUID, active)
    this.#link(active, store)
  }

  removeEdgeRule (uuid: string, store: GraphStore): void {
    const active = this.#edgeRules.get(uuid)
    if (active === undefined) return
    this.#edgeRules.delete(uuid)
    if (active.edgeId !== undefined) store.deleteEdge(active.edgeId)
  }

  onStoreEvent (ev: StoreEvent, store: GraphStore): void {
    if (ev.type === 'nodeUpserted') {
      for (const active of this.#nodeRules.values()) if (active.match !== undefined) this.#decorate(active, ev.id, store)
      const node = store.getNode(ev.id)
      if (node === undefined) return
      for (const active of this.#edgeRules.values()) {
        const isEnd = active.ends !== undefined && active.ends.includes(ev.id)
        if (isEnd || active.src(this.#asProduced(node, store)) || active.dst(this.#asProduced(node, store))) this.#link(active, store)
      }
    } else if (ev.type === 'nodeDeleted') {
      for (const active of this.#nodeRules.values()) active.applied.delete(ev.node.ID)
      for (const active of this.#edgeRules.values()) {
        if (active.ends?.includes(ev.node.ID) === true) this.#link(active, store)
      }
    }
  }

  /** Rules match nodes as their producers made them, so a rule's own metadata cannot feed back. */
  #asProduced (node: GraphNode, store: GraphStore): GraphNode {
    const base = store.nodeBase(node.ID)
    return base === undefined || base === node.Metadata ? node : { ...node, Metadata: base }
  }

  #decorate (active: ActiveNodeRule, nodeId: string, store: GraphStore): void {
    const node = store.getNode(nodeId)
    if (node === undefined || active.match === undefined) return
    const key = overlayKey(active.rule.UUID)
    if (active.match(this.#asProduced(node, store))) {
      // Skydive forbids update rules from renaming or retyping a node.
      const { Name: _n, Type: _t, ...metadata } = active.rule.Metadata
      store.setNodeOverlay(nodeId, key, metadata)
      active.applied.add(nodeId)
    } else if (active.applied.has(nodeId)) {
      store.setNodeOverlay(nodeId, key, undefined)
      active.applied.delete(nodeId)
    }
  }

  #firstMatch (pred: NodePredicate, store: GraphStore): GraphNode | undefined {
    let best: GraphNode | undefined
    for (const n of store.nodes()) {
      if ((best === undefined || n.ID < best.ID) && pred(this.#asProduced(n, store))) best = n
    }
    return best
  }

  #link (active: ActiveEdgeRule, store: GraphStore): void {
    const src = this.#firstMatch(active.src, store)
    const dst = this.#firstMatch(active.dst, store)
    const rel = active.rule.Metadata.RelationType
    const id = src === undefined || dst === undefined || src.ID === dst.ID ? undefined : linkID(src.ID, dst.ID, rel)
    if (active.edgeId !== undefined && active.edgeId !== id) store.deleteEdge(active.edgeId)
    active.edgeId = id
    active.ends = id === undefined ? undefined : [(src as GraphNode).ID, (dst as GraphNode).ID]
    if (id === undefined || src === undefined || dst === undefined) return
    const metadata: Metadata = rel === 'ownership' ? { RelationType: 'ownership' } : { ...active.rule.Metadata }
    store.putEdge({ ID: id, Parent: src.ID, Child: dst.ID, Metadata: metadata, Host: '', Origin: this.#origin, owner: null })
  }
}

function overlayKey (uuid: string): string {
  return `rule:${uuid}`
}
