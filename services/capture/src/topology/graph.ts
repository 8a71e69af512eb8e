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
}

export const ownership = 'ownership'
export const layer2 = 'layer2'

/**
 * Turns what was read from the host and its namespaces into nodes and edges, the way Skydive's
 * netns and netlink probes lay them out (reference §4.1): host → netns → interface ownership, and
 * layer2 edges for bridge membership, veth peers and stacked devices. Pure: same input, same output.
 */
export function buildSnapshot (input: BuildInput): BuildResult {
  const nodes = new Map<string, SnapshotNode>()
  const edges = new Map<string, SnapshotEdge>()
  const { hostId } = input
  const hostId_ = hostNodeId(hostId)
  const hTid = hostTid(hostId)
  const hostMeta: Metadata = { ...input.hostMetadata, Name: hostId, Type: 'host', TID: hTid }
  if (input.sockets !== undefined) hostMeta.Sockets = input.sockets
  nodes.set(hostId_, { ID: hostId_, Metadata: hostMeta })

  const addEdge = (parent: string, child: string, metadata: Metadata): void => {
    const relation = String(metadata.RelationType)
    const id = edgeId(parent, child, relation)
    if (!edges.has(id)) edges.set(id, { ID: id, Parent: parent, Child: child, Metadata: metadata })
  }

  const sorted = [...input.namespaces].sort((a, b) => Number(b.ns.root) - Number(a.ns.root) || a.ns.inode - b.ns.inode)
  const ownerOf = new Map<string, { id: string, tid: string }>()
  for (const state of sorted) {
    const { ns } = state
    if (ns.root) {
      ownerOf.set(ns.key, { id: hostId_, tid: hTid })
      continue
    }
    const id = netnsNodeId(hostId, ns.inode)
    const tid = netnsTid(hTid, ns.path)
    nodes.set(id, { ID: id, Metadata: { Name: ns.name, Type: 'netns', Path: ns.path, Inode: ns.inode, Device: ns.device, TID: tid } })
    addEdge(hostId_, id, { RelationType: ownership })
    ownerOf.set(ns.key, { id, tid })
  }

  const refs: LinkRef[] = []
  const byNs = new Map<string, Map<number, LinkRef>>()
  for (const state of sorted) {
    const owner = ownerOf.get(state.ns.key)
    if (owner === undefined) continue
    const local = new Map<number, LinkRef>()
    byNs.set(state.ns.key, local)
    for (const link of [...state.dump.links].sort((a, b) => a.ifIndex - b.ifIndex)) {
      const id = interfaceNodeId(hostId, state.ns.inode, link.ifIndex)
      const facts: Parameters<typeof interfaceMetadata>[1] = {
        nsLinks: state.dump.links,
        routes: state.dump.routes,
        neighbors: state.dump.neighbors
      }
      const busDriver = state.busDrivers.get(link.ifIndex)
      const speed = state.speeds.get(link.ifIndex)
      if (busDriver !== undefined) facts.busDriver = busDriver
      if (speed !== undefined) facts.speed = speed
      const metadata = interfaceMetadata(link, facts)
      const metric = input.metrics.get(id)
      if (metric !== undefined) {
        metadata.Metric = metric.Metric
        if (metric.LastUpdateMetric !== undefined) metadata.LastUpdateMetric = metric.LastUpdateMetric
      }
      metadata.TID = childTid(owner.tid, link.name, String(metadata.Type))
      nodes.set(id, { ID: id, Metadata: metadata })
      addEdge(owner.id, id, { RelationType: ownership })
      const ref = { state, link, id }
      refs.push(ref)
      local.set(link.ifIndex, ref)
    }
  }

  const namedNs = new Map<string, NamespaceState>()
  for (const s of sorted) if (s.ns.named) namedNs.set(s.ns.name, s)

  /** The namespace a link's `link_netnsid` designates, when iproute2 could name it. */
  const nsOfNsid = (from: NamespaceState, nsid: number): NamespaceState | undefined => {
    const name = from.dump.nsids.get(nsid)
    return name === undefined ? undefined : namedNs.get(name)
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
    for (const [key, local] of byNs) {
      if (key === state.ns.key) continue
      const c = local.get(index)
      if (c === undefined) continue
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

  for (const ref of refs) {
    const { link, state } = ref
    const node = nodes.get(ref.id)
    const local = byNs.get(state.ns.key)
    if (link.master !== undefined && local !== undefined) {
      const masterIndex = node?.Metadata.MasterIndex
      const master = typeof masterIndex === 'number' ? local.get(masterIndex) : undefined
      if (master !== undefined) addEdge(master.id, ref.id, { RelationType: layer2 })
    }
    const parentIndex = linkParentIndex(link, state.dump.links)
    if (parentIndex === undefined) continue
    if (linkType(link) === 'veth') {
      const peer = resolveOther(ref, parentIndex, true)
      if (peer === undefined) continue
      setLinkNetNsName(node, peer, state)
      // One edge per pair, parent = higher ifindex as in Skydive (node ID breaks ties across namespaces).
      const [parent, child] = peer.link.ifIndex > link.ifIndex || (peer.link.ifIndex === link.ifIndex && peer.id > ref.id)
        ? [peer, ref]
        : [ref, peer]
      addEdge(parent.id, child.id, { RelationType: layer2, Type: 'veth' })
    } else if (link.kind !== undefined && stackedKinds.has(link.kind)) {
      const lower = link.kind === 'vxlan' && link.linkNetnsId === undefined
        ? local?.get(parentIndex)
        : resolveOther(ref, parentIndex, false)
      if (lower === undefined) continue
      setLinkNetNsName(node, lower, state)
      addEdge(lower.id, ref.id, { RelationType: layer2, Type: link.kind })
    }
  }

  return { snapshot: { nodes, edges }, unresolvedLinks }
}

function setLinkNetNsName (node: SnapshotNode | undefined, other: LinkRef, from: NamespaceState): void {
  if (node === undefined || other.state.ns.key === from.ns.key || other.state.ns.root) return
  node.Metadata.LinkNetNsName = other.state.ns.name
}
