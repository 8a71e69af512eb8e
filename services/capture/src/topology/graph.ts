import { childTid, edgeId, hostNodeId, hostTid, interfaceNodeId, netnsNodeId, netnsTid } from './ids.ts'
import type { IpLink, NamespaceDump } from './ip-json.ts'
import { interfaceMetadata, linkParentIndex, linkType, stackedKinds } from './interfaces.ts'
import type { MetricState } from './metrics.ts'
import type { Metadata, NamespaceInfo, Snapshot, SnapshotEdge, SnapshotNode, SocketInfo } from './types.ts'

/** Everything read from one namespace. */
export interface NamespaceState {
  ns: NamespaceInfo
  dump: NamespaceDump
  /** ifindex → driver of the device's bus (sysfs), when it has one. */
  busDrivers: Map<number, string>
  /** ifindex → speed in Mb/s, where sysfs reports one. */
  speeds: Map<number, number>
  /** The ip output `dump` was parsed from, to recognise an unchanged namespace cheaply. */
  raw?: string
}

export interface BuildInput {
  hostId: string
  /** Host metadata (hostname, OS, CPU, operator metadata); Name, Type and TID are set here. */
  hostMetadata: Metadata
  /** Socket table attached to the host node as Skydive's socketinfo probe does; undefined = not scanned yet. */
  sockets?: SocketInfo[]
  namespaces: readonly NamespaceState[]
  /** Interface node ID → metric state. */
  metrics: ReadonlyMap<string, MetricState>
}

export interface BuildResult {
  snapshot: Snapshot
  /** veth or stacked links whose other end could not be told apart among candidates. */
  unresolvedLinks: number
}

interface LinkRef {
  state: NamespaceState
  link: IpLink
  id: string
  /** Interface metadata from the namespace alone: no TID, Metric or LinkNetNsName. */
  base: Metadata
}

/** What one namespace state turns into on its own, kept while the agent holds the same state object. */
interface NamespacePiece {
  hostId: string
  owner: { id: string, tid: string }
  netns: SnapshotNode | undefined
  /** Its links by ifindex. */
  links: Array<Omit<LinkRef, 'state'>>
  ownership: SnapshotEdge[]
  /** Everything about it that links across namespaces depend on: equal for all, equal layer2 edges. */
  layout: string
}

/** What resolving links across namespaces gave: layer2 edges, peer namespace names, failures. */
interface Layout {
  edges: Array<{ parent: string, child: string, relation: string, type?: string }>
  /** Index in the build's list of links → LinkNetNsName. */
  linkNetNsNames: Array<[number, string]>
  unresolvedLinks: number
}

interface CachedInterface {
  base: Metadata
  metric: MetricState | undefined
  linkNetNsName: string | undefined
  node: SnapshotNode
}

/**
 * Lets {@link buildSnapshot} hand back the very objects of the previous build for whatever did not
 * change: namespaces whose state object is the one given last time, interfaces whose metrics and peer
 * namespace are the same, edges between the same ends. The diff then sees identical metadata objects
 * and skips comparing them, so an idle host with thousands of interfaces costs little to rebuild.
 * Each build keeps only what it used.
 */
export class SnapshotCache {
  readonly pieces = new WeakMap<NamespaceState, NamespacePiece>()
  interfaces = new Map<string, CachedInterface>()
  edges = new Map<string, SnapshotEdge>()
  host: { hostId: string, hostMetadata: Metadata, sockets: SocketInfo[] | undefined, node: SnapshotNode } | undefined
  layout: { key: string, layout: Layout } | undefined
}

export const ownership = 'ownership'
export const layer2 = 'layer2'

function namespacePiece (hostId: string, state: NamespaceState, hostOwner: { id: string, tid: string }): NamespacePiece {
  const { ns } = state
  let owner = hostOwner
  let netns: SnapshotNode | undefined
  const ownershipEdges: SnapshotEdge[] = []
  const own = (parent: string, child: string): void => {
    ownershipEdges.push({ ID: edgeId(parent, child, ownership), Parent: parent, Child: child, Metadata: { RelationType: ownership } })
  }
  if (!ns.root) {
    owner = { id: netnsNodeId(hostId, ns.inode), tid: netnsTid(hostOwner.tid, ns.path) }
    netns = { ID: owner.id, Metadata: { Name: ns.name, Type: 'netns', Path: ns.path, Inode: ns.inode, Device: ns.device, TID: owner.tid } }
    own(hostOwner.id, owner.id)
  }
  const links: NamespacePiece['links'] = []
  for (const link of [...state.dump.links].sort((a, b) => a.ifIndex - b.ifIndex)) {
    const id = interfaceNodeId(hostId, ns.inode, link.ifIndex)
    const facts: Parameters<typeof interfaceMetadata>[1] = {
      nsLinks: state.dump.links,
      routes: state.dump.routes,
      neighbors: state.dump.neighbors
    }
    const busDriver = state.busDrivers.get(link.ifIndex)
    const speed = state.speeds.get(link.ifIndex)
    if (busDriver !== undefined) facts.busDriver = busDriver
    if (speed !== undefined) facts.speed = speed
    links.push({ link, id, base: interfaceMetadata(link, facts) })
    own(owner.id, id)
  }
  const layout = [
    ns.key, ns.name, ns.named ? 'named' : '', ns.root ? 'root' : '',
    [...state.dump.nsids].map(([nsid, name]) => `${nsid}=${name}`).join(','),
    ...links.map(({ link, base }) => [
      link.ifIndex, link.kind ?? '', link.linkNetnsId ?? '', linkParentIndex(link, state.dump.links) ?? '', link.master === undefined ? '' : String(base.MasterIndex)
    ].join(':'))
  ].join('|')
  return { hostId, owner, netns, links, ownership: ownershipEdges, layout }
}

/** An interface's metadata: what its namespace says, then its counters, TID and the namespace of its peer. */
function interfaceNode (ref: LinkRef, owner: { tid: string }, metric: MetricState | undefined, linkNetNsName: string | undefined, cached: CachedInterface | undefined): CachedInterface {
  if (cached !== undefined && cached.base === ref.base && cached.metric === metric && cached.linkNetNsName === linkNetNsName) return cached
  const metadata: Metadata = { ...ref.base }
  if (metric !== undefined) {
    metadata.Metric = metric.Metric
    if (metric.LastUpdateMetric !== undefined) metadata.LastUpdateMetric = metric.LastUpdateMetric
  }
  metadata.TID = childTid(owner.tid, ref.link.name, String(metadata.Type))
  if (linkNetNsName !== undefined) metadata.LinkNetNsName = linkNetNsName
  return { base: ref.base, metric, linkNetNsName, node: { ID: ref.id, Metadata: metadata } }
}

/**
 * Turns what was read from the host and its namespaces into nodes and edges, the way Skydive's
 * netns and netlink probes lay them out (reference §4.1): host → netns → interface ownership, and
 * layer2 edges for bridge membership, veth peers and stacked devices. Pure: same input, same output
 * (with a cache, the same objects as last time wherever nothing changed).
 */
export function buildSnapshot (input: BuildInput, cache?: SnapshotCache): BuildResult {
  const nodes = new Map<string, SnapshotNode>()
  const edges = new Map<string, SnapshotEdge>()
  const { hostId } = input
  const hostId_ = hostNodeId(hostId)
  const hTid = hostTid(hostId)
  const hostOwner = { id: hostId_, tid: hTid }
  const cachedHost = cache?.host
  if (cachedHost !== undefined && cachedHost.hostId === hostId && cachedHost.hostMetadata === input.hostMetadata && cachedHost.sockets === input.sockets) {
    nodes.set(hostId_, cachedHost.node)
  } else {
    const hostMeta: Metadata = { ...input.hostMetadata, Name: hostId, Type: 'host', TID: hTid }
    if (input.sockets !== undefined) hostMeta.Sockets = input.sockets
    const node = { ID: hostId_, Metadata: hostMeta }
    nodes.set(hostId_, node)
    if (cache !== undefined) cache.host = { hostId, hostMetadata: input.hostMetadata, sockets: input.sockets, node }
  }

  const previousEdges = cache?.edges
  const addEdge = (parent: string, child: string, relation: string, type?: string): void => {
    const id = edgeId(parent, child, relation)
    if (edges.has(id)) return
    const old = previousEdges?.get(id)
    if (old !== undefined && old.Parent === parent && old.Child === child && old.Metadata.RelationType === relation && old.Metadata.Type === type) {
      edges.set(id, old)
      return
    }
    edges.set(id, { ID: id, Parent: parent, Child: child, Metadata: type === undefined ? { RelationType: relation } : { RelationType: relation, Type: type } })
  }

  const sorted = [...input.namespaces].sort((a, b) => Number(b.ns.root) - Number(a.ns.root) || a.ns.inode - b.ns.inode)
  const pieces: NamespacePiece[] = []
  for (const state of sorted) {
    let piece = cache?.pieces.get(state)
    if (piece === undefined || piece.hostId !== hostId) {
      piece = namespacePiece(hostId, state, hostOwner)
      cache?.pieces.set(state, piece)
    }
    pieces.push(piece)
    if (piece.netns !== undefined) nodes.set(piece.netns.ID, piece.netns)
    // The host → netns edge, before any interface's.
    const first = piece.ownership[0]
    if (piece.netns !== undefined && first !== undefined && !edges.has(first.ID)) edges.set(first.ID, first)
  }

  const refs: LinkRef[] = []
  const owners: Array<{ tid: string }> = []
  const byNs = new Map<string, Map<number, LinkRef>>()
  for (let i = 0; i < sorted.length; i++) {
    const state = sorted[i] as NamespaceState
    const piece = pieces[i] as NamespacePiece
    const local = new Map<number, LinkRef>()
    byNs.set(state.ns.key, local)
    for (const { link, id, base } of piece.links) {
      const ref = { state, link, id, base }
      refs.push(ref)
      owners.push(piece.owner)
      local.set(link.ifIndex, ref)
    }
  }

  // Links across namespaces only depend on the namespaces' layouts: the same as last time, the same result.
  const layoutKey = `${hostId}\n${pieces.map(p => p.layout).join('\n')}`
  let layout = cache?.layout?.key === layoutKey ? cache.layout.layout : undefined
  if (layout === undefined) {
    layout = crossLinks(sorted, refs, byNs)
    if (cache !== undefined) cache.layout = { key: layoutKey, layout }
  }
  const linkNetNsNames = new Map(layout.linkNetNsNames)

  const previousInterfaces = cache?.interfaces
  const interfaces = new Map<string, CachedInterface>()
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i] as LinkRef
    const entry = interfaceNode(ref, owners[i] as { tid: string }, input.metrics.get(ref.id), linkNetNsNames.get(i), previousInterfaces?.get(ref.id))
    interfaces.set(ref.id, entry)
    nodes.set(ref.id, entry.node)
  }
  for (const piece of pieces) for (const e of piece.ownership) if (!edges.has(e.ID)) edges.set(e.ID, e)
  for (const e of layout.edges) addEdge(e.parent, e.child, e.relation, e.type)
  const { unresolvedLinks } = layout

  if (cache !== undefined) {
    cache.interfaces = interfaces
    cache.edges = edges
  }
  return { snapshot: { nodes, edges }, unresolvedLinks }
}

/**
 * Layer2 edges between links, across namespaces where needed, and the names of the namespaces at
 * their other ends: bridge membership, veth peers, and devices stacked on a lower one.
 */
function crossLinks (sorted: readonly NamespaceState[], refs: readonly LinkRef[], byNs: ReadonlyMap<string, ReadonlyMap<number, LinkRef>>): Layout {
  const namedNs = new Map<string, NamespaceState>()
  for (const s of sorted) if (s.ns.named) namedNs.set(s.ns.name, s)

  /** The namespace a link's `link_netnsid` designates, when iproute2 could name it. */
  const nsOfNsid = (from: NamespaceState, nsid: number): NamespaceState | undefined => {
    const name = from.dump.nsids.get(nsid)
    return name === undefined ? undefined : namedNs.get(name)
  }

  /** Links by ifindex over every namespace, made the first time an unnamed namespace needs a search. */
  let byIfIndex: Map<number, LinkRef[]> | undefined
  const withIfIndex = (index: number): LinkRef[] => {
    if (byIfIndex === undefined) {
      byIfIndex = new Map()
      for (const r of refs) {
        const list = byIfIndex.get(r.link.ifIndex)
        if (list === undefined) byIfIndex.set(r.link.ifIndex, [r])
        else list.push(r)
      }
    }
    return byIfIndex.get(index) ?? []
  }

  let unresolvedLinks = 0
  /**
   * The link at the other end of IFLA_LINK. In another namespace, nsids name only bind-mounted
   * namespaces, so for the others we look for the one candidate whose own IFLA_LINK points back.
   */
  const resolveOther = (ref: LinkRef, index: number, mutual: boolean): LinkRef | undefined => {
    const { link, state } = ref
    if (link.linkNetnsId === undefined) return byNs.get(state.ns.key)?.get(index)
    const target = nsOfNsid(state, link.linkNetnsId)
    if (target !== undefined) return byNs.get(target.ns.key)?.get(index)
    const candidates: LinkRef[] = []
    for (const c of withIfIndex(index)) {
      if (c.state.ns.key === state.ns.key) continue
      if (mutual) {
        if (c.link.linkNetnsId === undefined || linkParentIndex(c.link, c.state.dump.links) !== link.ifIndex) continue
        const back = nsOfNsid(c.state, c.link.linkNetnsId)
        if (back !== undefined && back.ns.key !== state.ns.key) continue
      }
      candidates.push(c)
    }
    if (candidates.length === 1) return candidates[0]
    unresolvedLinks++
    return undefined
  }

  const edges: Layout['edges'] = []
  const linkNetNsNames: Layout['linkNetNsNames'] = []
  /** Skydive's LinkNetNsName: the name of the namespace at the other end, when it is not this one or the host's. */
  const setLinkNetNsName = (index: number, ref: LinkRef, other: LinkRef): void => {
    if (other.state.ns.key === ref.state.ns.key || other.state.ns.root) return
    linkNetNsNames.push([index, other.state.ns.name])
  }

  for (let index = 0; index < refs.length; index++) {
    const ref = refs[index] as LinkRef
    const { link, state } = ref
    const local = byNs.get(state.ns.key)
    if (link.master !== undefined && local !== undefined) {
      const masterIndex = ref.base.MasterIndex
      const master = typeof masterIndex === 'number' ? local.get(masterIndex) : undefined
      if (master !== undefined) edges.push({ parent: master.id, child: ref.id, relation: layer2 })
    }
    const parentIndex = linkParentIndex(link, state.dump.links)
    if (parentIndex === undefined) continue
    if (linkType(link) === 'veth') {
      const peer = resolveOther(ref, parentIndex, true)
      if (peer === undefined) continue
      setLinkNetNsName(index, ref, peer)
      // One edge per pair, parent = higher ifindex as in Skydive (node ID breaks ties across namespaces).
      const [parent, child] = peer.link.ifIndex > link.ifIndex || (peer.link.ifIndex === link.ifIndex && peer.id > ref.id)
        ? [peer, ref]
        : [ref, peer]
      edges.push({ parent: parent.id, child: child.id, relation: layer2, type: 'veth' })
    } else if (link.kind !== undefined && stackedKinds.has(link.kind)) {
      const lower = link.kind === 'vxlan' && link.linkNetnsId === undefined
        ? local?.get(parentIndex)
        : resolveOther(ref, parentIndex, false)
      if (lower === undefined) continue
      setLinkNetNsName(index, ref, lower)
      edges.push({ parent: lower.id, child: ref.id, relation: layer2, type: link.kind })
    }
  }
  return { edges, linkNetNsNames, unresolvedLinks }
}
