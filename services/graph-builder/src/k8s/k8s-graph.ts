import { jsonEqual, TopoflowError } from '@topoflow/core'
import type { GraphNode, K8sEvent, Metadata } from '../types.ts'
import type { GraphStore, StoreEvent } from '../graph/store.ts'
import { genID, linkID } from '../uuid.ts'
import {
  containerNodes, k8sManager, list, matchLabelSelector, matchMapSelector, meta, namespacedKinds, normalizeKind,
  obj, objectNode, type K8sObject
} from './objects.ts'

interface Cached {
  kind: string
  uid: string
  name: string
  namespace: string
  labels: Record<string, string>
  object: K8sObject
}

interface DesiredEdge {
  id: string
  parent: string
  child: string
  metadata: Metadata
}

export interface K8sGraphOptions {
  /** Origin of the elements the graph-builder makes, `analyzer.<host_id>` */
  origin: string
  clusterName?: string
}

/**
 * The Kubernetes part of the graph: one node per object (and per pod container) and the edges Skydive's
 * k8s linkers make. It keeps the last version of every object so selectors can be matched both ways:
 * when a pod changes, its services are found; when a service changes, its pods are.
 */
export class K8sGraph {
  readonly #origin: string
  readonly #clusterName: string
  readonly #byUid = new Map<string, Cached>()
  readonly #byKind = new Map<string, Map<string, Cached>>()
  /** owner UID → UIDs of the objects naming it in their ownerReferences */
  readonly #owned = new Map<string, Set<string>>()

  constructor (opts: K8sGraphOptions) {
    this.#origin = opts.origin
    this.#clusterName = opts.clusterName ?? ''
  }

  get objectCount (): number { return this.#byUid.size }

  /** Checks an event before anything is changed, so a bad one never leaves the graph half-updated. */
  static validate (event: K8sEvent): void {
    if (typeof event !== 'object' || event === null) throw bad('event is not an object')
    if (!['Added', 'Modified', 'Deleted'].includes(event.Kind)) throw bad(`Kind must be Added, Modified or Deleted, got ${JSON.stringify(event.Kind)}`)
    if (typeof event.ObjectKind !== 'string' || event.ObjectKind === '') throw bad('ObjectKind is missing')
    const uid = typeof event.UID === 'string' && event.UID !== '' ? event.UID : meta(obj(event.Object)).uid
    if (uid === '') throw bad('UID is missing (neither the event nor the object has one)')
    if (event.Kind !== 'Deleted' && (typeof event.Object !== 'object' || event.Object === null)) throw bad(`${event.Kind} event without Object`)
  }

  apply (event: K8sEvent, store: GraphStore): void {
    const uid = event.UID !== '' ? event.UID : meta(obj(event.Object)).uid
    const kind = event.Kind === 'Deleted' ? this.#byUid.get(uid)?.kind ?? normalizeKind(event.ObjectKind) : normalizeKind(event.ObjectKind)
    if (event.Kind === 'Deleted') {
      const old = this.#byUid.get(uid)
      if (old?.kind === 'pod') for (const c of containerNodes(old.object, this.#clusterName)) store.deleteNode(c.id)
      store.deleteNode(uid)
      this.#forget(uid)
      if (kind === 'namespace') this.#relinkKind('networkpolicy', store)
      return
    }
    const object = withUid(event.Object as K8sObject, uid, event.Name, event.Namespace)
    const old = this.#byUid.get(uid)
    this.#remember(kind, object)
    const node = objectNode(kind, object, this.#clusterName)
    store.putNode({ ID: uid, Metadata: node.metadata, Host: '', Origin: this.#origin, owner: null })
    if (kind === 'pod') {
      const fresh = containerNodes(object, this.#clusterName)
      const keep = new Set(fresh.map((c) => c.id))
      if (old !== undefined) for (const c of containerNodes(old.object, this.#clusterName)) if (!keep.has(c.id)) store.deleteNode(c.id)
      for (const c of fresh) store.putNode({ ID: c.id, Metadata: c.metadata, Host: '', Origin: this.#origin, owner: null })
    }
    this.#relink(uid, store)
    // Namespace labels feed network policies' namespaceSelector peers.
    if (kind === 'namespace' && !jsonEqual(old?.labels, meta(object).labels)) this.#relinkKind('networkpolicy', store)
  }

  /** Host nodes meet the k8s nodes of the same name (Skydive's host ↔ node linker). */
  onStoreEvent (ev: StoreEvent, store: GraphStore): void {
    if (ev.type !== 'nodeUpserted') return
    const node = store.getNode(ev.id)
    if (node?.Metadata.Type !== 'host' || store.nodeOwner(ev.id) === null) return
    const desired: DesiredEdge[] = []
    for (const k8sNode of this.#ofKind('node')) {
      if (hostMatchesK8sNode(node, k8sNode)) desired.push(this.#edge(node.ID, k8sNode.uid, 'node'))
    }
    this.#sync(node.ID, desired, store, (e) => e.Parent === node.ID && e.Metadata.RelationType === 'node')
  }

  /** Rebuilds the object cache from the k8s nodes of a recovered graph (their `K8s.Extra`). */
  restoreFrom (nodes: Iterable<GraphNode>): void {
    for (const n of nodes) {
      if (n.Metadata.Manager !== k8sManager || n.Metadata.Type === 'container') continue
      const extra = obj(obj(n.Metadata.K8s).Extra)
      if (typeof n.Metadata.Type !== 'string' || Object.keys(extra).length === 0) continue
      this.#remember(n.Metadata.Type, withUid(extra, n.ID, String(n.Metadata.Name ?? ''), undefined))
    }
  }

  // ---- cache ----

  #remember (kind: string, object: K8sObject): void {
    const m = meta(object)
    this.#forget(m.uid)
    const c: Cached = { kind, uid: m.uid, name: m.name, namespace: m.namespace, labels: m.labels, object }
    this.#byUid.set(m.uid, c)
    let byKind = this.#byKind.get(kind)
    if (byKind === undefined) this.#byKind.set(kind, byKind = new Map())
    byKind.set(m.uid, c)
    for (const owner of ownerUids(object)) {
      let set = this.#owned.get(owner)
      if (set === undefined) this.#owned.set(owner, set = new Set())
      set.add(m.uid)
    }
  }

  #forget (uid: string): void {
    const c = this.#byUid.get(uid)
    if (c === undefined) return
    this.#byUid.delete(uid)
    this.#byKind.get(c.kind)?.delete(uid)
    for (const owner of ownerUids(c.object)) {
      const set = this.#owned.get(owner)
      set?.delete(uid)
      if (set?.size === 0) this.#owned.delete(owner)
    }
  }

  #ofKind (kind: string): Iterable<Cached> {
    return this.#byKind.get(kind)?.values() ?? []
  }

  * #inNamespace (kind: string, namespace: string): Iterable<Cached> {
    for (const c of this.#ofKind(kind)) if (c.namespace === namespace) yield c
  }

  // ---- links ----

  #relinkKind (kind: string, store: GraphStore): void {
    for (const c of [...this.#ofKind(kind)]) this.#relink(c.uid, store)
  }

  /** Makes the k8s edges touching one object exactly what the current objects call for. */
  #relink (uid: string, store: GraphStore): void {
    const c = this.#byUid.get(uid)
    if (c === undefined || !store.hasNode(uid)) return
    this.#sync(uid, this.#linksFor(c, store), store, () => true)
  }

  #sync (nodeId: string, desired: DesiredEdge[], store: GraphStore, scope: (e: { Parent: string, Metadata: Metadata }) => boolean): void {
    const wanted = new Map<string, DesiredEdge>()
    for (const d of desired) if (store.hasNode(d.parent) && store.hasNode(d.child)) wanted.set(d.id, d)
    for (const e of store.edgesOf(nodeId)) {
      if (e.Metadata.Manager !== k8sManager || e.Origin !== this.#origin || store.edgeOwner(e.ID) !== null) continue
      if (!scope(e)) continue
      if (!wanted.has(e.ID)) store.deleteEdge(e.ID)
    }
    for (const d of wanted.values()) {
      store.putEdge({ ID: d.id, Parent: d.parent, Child: d.child, Metadata: d.metadata, Host: '', Origin: this.#origin, owner: null })
    }
  }

  #edge (parent: string, child: string, relationType: string): DesiredEdge {
    return { id: linkID(parent, child, relationType), parent, child, metadata: { Manager: k8sManager, RelationType: relationType } }
  }

  #linksFor (c: Cached, store: GraphStore): DesiredEdge[] {
    const out: DesiredEdge[] = []
    const add = (parent: string, child: string, rel: string): void => { out.push(this.#edge(parent, child, rel)) }

    if (namespacedKinds.has(c.kind) && c.namespace !== '') {
      for (const ns of this.#ofKind('namespace')) if (ns.name === c.namespace) add(ns.uid, c.uid, 'ownership')
    }
    if (c.kind === 'namespace') {
      for (const other of this.#byUid.values()) {
        if (namespacedKinds.has(other.kind) && other.namespace === c.name) add(c.uid, other.uid, 'ownership')
      }
    }
    // Controllers: deployment → replicaset → pod, statefulset/daemonset/job → pod, cronjob → job.
    for (const owner of ownerUids(c.object)) {
      const o = this.#byUid.get(owner)
      if (o !== undefined) add(o.uid, c.uid, o.kind)
    }
    for (const child of this.#owned.get(c.uid) ?? []) if (this.#byUid.has(child)) add(c.uid, child, c.kind)

    switch (c.kind) {
      case 'pod': {
        for (const container of containerNodes(c.object, this.#clusterName)) add(c.uid, container.id, 'ownership')
        const nodeName = obj(c.object.spec).nodeName
        for (const n of this.#ofKind('node')) if (n.name === nodeName) add(n.uid, c.uid, 'node')
        for (const svc of this.#inNamespace('service', c.namespace)) {
          if (matchMapSelector(obj(svc.object.spec).selector, c.labels)) add(svc.uid, c.uid, 'service')
        }
        const claims = claimNames(c.object)
        for (const pvc of this.#inNamespace('persistentvolumeclaim', c.namespace)) if (claims.has(pvc.name)) add(c.uid, pvc.uid, 'pod')
        for (const np of this.#ofKind('networkpolicy')) out.push(...this.#policyEdges(np).filter((e) => e.child === c.uid))
        break
      }
      case 'service':
        for (const pod of this.#inNamespace('pod', c.namespace)) {
          if (matchMapSelector(obj(c.object.spec).selector, pod.labels)) add(c.uid, pod.uid, 'service')
        }
        break
      case 'node':
        for (const pod of this.#ofKind('pod')) if (obj(pod.object.spec).nodeName === c.name) add(c.uid, pod.uid, 'node')
        for (const host of store.nodesOfType('host')) {
          if (store.nodeOwner(host.ID) !== null && hostMatchesK8sNode(host, c)) add(host.ID, c.uid, 'node')
        }
        break
      case 'persistentvolumeclaim': {
        const volume = obj(c.object.spec).volumeName
        for (const pv of this.#ofKind('persistentvolume')) if (pv.name === volume) add(c.uid, pv.uid, 'persistentvolumeclaim')
        for (const pod of this.#inNamespace('pod', c.namespace)) if (claimNames(pod.object).has(c.name)) add(pod.uid, c.uid, 'pod')
        break
      }
      case 'persistentvolume':
        for (const pvc of this.#ofKind('persistentvolumeclaim')) {
          if (obj(pvc.object.spec).volumeName === c.name) add(pvc.uid, c.uid, 'persistentvolumeclaim')
        }
        break
      case 'networkpolicy':
        out.push(...this.#policyEdges(c))
        break
    }
    return out
  }

  /**
   * Skydive's network policy edges: `begin` edges to the pods the policy applies to, `end` edges to
   * the peers its rules allow, one set per policy type (ingress/egress), target `allow` or `deny`.
   */
  #policyEdges (np: Cached): DesiredEdge[] {
    const spec = obj(np.object.spec)
    const podSelector = obj(spec.podSelector)
    const selectorEmpty = Object.keys(obj(podSelector.matchLabels)).length === 0 && list(podSelector.matchExpressions).length === 0
    const types = list(spec.policyTypes)
    const ingress = list(spec.ingress)
    const egress = list(spec.egress)
    const out = new Map<string, DesiredEdge>()
    const selected = [...this.#inNamespace('pod', np.namespace)].filter((p) => matchLabelSelector(podSelector, p.labels))
    const emit = (type: string, rules: unknown[], peerKey: string): void => {
      const target = selectorEmpty && rules.length === 0 ? 'deny' : 'allow'
      const ports = rules.length === 1 ? formatPorts(list(obj(rules[0]).ports)) : ''
      const peers = rules.flatMap((r) => list(obj(r)[peerKey]).flatMap((peer) => this.#peerPods(obj(peer), np.namespace)))
      for (const [point, pods] of [['begin', selected], ['end', peers]] as const) {
        for (const pod of pods) {
          const id = genID(np.uid, pod.uid, 'networkpolicy', type, target, point)
          out.set(id, {
            id,
            parent: np.uid,
            child: pod.uid,
            metadata: { Manager: k8sManager, RelationType: 'networkpolicy', PolicyType: type, PolicyTarget: target, PolicyPoint: point, PolicyPorts: ports }
          })
        }
      }
    }
    if (ingress.length > 0 || types.length === 0 || types.includes('Ingress')) emit('ingress', ingress, 'from')
    if (egress.length > 0 || types.includes('Egress')) emit('egress', egress, 'to')
    return [...out.values()]
  }

  #peerPods (peer: Record<string, unknown>, namespace: string): Cached[] {
    const pods: Cached[] = []
    if (peer.podSelector !== undefined) {
      pods.push(...[...this.#inNamespace('pod', namespace)].filter((p) => matchLabelSelector(peer.podSelector, p.labels)))
    }
    if (peer.namespaceSelector !== undefined) {
      for (const ns of this.#ofKind('namespace')) {
        if (matchLabelSelector(peer.namespaceSelector, ns.labels)) pods.push(...this.#inNamespace('pod', ns.name))
      }
    }
    return pods
  }
}

function bad (reason: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_SCHEMA', `Kubernetes event rejected: ${reason}`, { context: { stage: 'k8s' } })
}

function withUid (object: K8sObject, uid: string, name: string, namespace: string | null | undefined): K8sObject {
  const m = obj(object.metadata)
  if (m.uid === uid && typeof m.name === 'string') return object
  return { ...object, metadata: { ...m, uid, name: m.name ?? name, ...(m.namespace === undefined && typeof namespace === 'string' && namespace !== '' ? { namespace } : {}) } }
}

function ownerUids (object: K8sObject): string[] {
  return list(obj(object.metadata).ownerReferences).map((r) => obj(r).uid).filter((u): u is string => typeof u === 'string')
}

function claimNames (pod: K8sObject): Set<string> {
  const names = new Set<string>()
  for (const v of list(obj(pod.spec).volumes)) {
    const claim = obj(obj(v).persistentVolumeClaim).claimName
    if (typeof claim === 'string') names.add(claim)
  }
  return names
}

function hostMatchesK8sNode (host: GraphNode, node: Cached): boolean {
  const names = new Set([node.name])
  for (const a of list(obj(node.object.status).addresses)) {
    if (obj(a).type === 'Hostname' && typeof obj(a).address === 'string') names.add(obj(a).address as string)
  }
  const { Hostname, Name } = host.Metadata
  return (typeof Hostname === 'string' && names.has(Hostname)) || (typeof Name === 'string' && names.has(Name))
}

function formatPorts (ports: unknown[]): string {
  return ports.map((p) => {
    const port = obj(p)
    const proto = typeof port.protocol === 'string' && port.protocol !== 'TCP' ? `/${port.protocol}` : ''
    return `:${String(port.port ?? '')}${proto}`
  }).join(';')
}
