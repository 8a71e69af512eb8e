import type { IpLink, IpNeighbor, IpRoute } from './ip-json.ts'
import type { Metadata } from './types.ts'

/**
 * Builds an interface node's metadata with Skydive's keys (reference/skydive-compat.md §4.2,
 * Skydive's topology/probes/netlink addLinkToTopology) from what iproute2 printed.
 */

/** Skydive names link types after vishvananda/netlink's Go types; they equal the kernel kind but for these. */
const typeByKind: Record<string, string> = { tun: 'tuntap' }

/** What `ethtool -i` reports as driver for virtual links (each kind's get_drvinfo in the kernel). */
const driverByKind: Record<string, string> = {
  veth: 'veth',
  bridge: 'bridge',
  vxlan: 'vxlan',
  macvlan: 'macvlan',
  macvtap: 'macvlan',
  tun: 'tun',
  bond: 'bonding',
  vlan: '802.1Q VLAN Support',
  dummy: 'dummy',
  ipvlan: 'ipvlan',
  ipvtap: 'ipvlan',
  geneve: 'geneve',
  vrf: 'vrf',
  team: 'team',
  openvswitch: 'openvswitch'
}

/** Kinds whose IFLA_LINK (or VXLAN's underlying device) is a lower device they sit on. */
export const stackedKinds = new Set(['vlan', 'macvlan', 'macvtap', 'ipvlan', 'ipvtap', 'vxlan'])

/** The IFF_* flags Skydive reports in `LinkFlags`, in its order and spelling. */
const linkFlagNames: Array<[string, string]> = [
  ['UP', 'UP'],
  ['BROADCAST', 'BROADCAST'],
  ['LOOPBACK', 'LOOPBACK'],
  ['POINTOPOINT', 'POINTTOPOINT'],
  ['MULTICAST', 'MULTICAST']
]

/** Counter names of Skydive's InterfaceMetric and the stats64 keys iproute2 prints them under. */
export const metricCounters: Array<[string, string]> = [
  ['Collisions', 'tx_collisions'],
  ['Multicast', 'rx_multicast'],
  ['RxBytes', 'rx_bytes'],
  ['RxCompressed', 'rx_compressed'],
  ['RxCrcErrors', 'rx_crc_errors'],
  ['RxDropped', 'rx_dropped'],
  ['RxErrors', 'rx_errors'],
  ['RxFifoErrors', 'rx_fifo_errors'],
  ['RxFrameErrors', 'rx_frame_errors'],
  ['RxLengthErrors', 'rx_length_errors'],
  ['RxMissedErrors', 'rx_missed_errors'],
  ['RxOverErrors', 'rx_over_errors'],
  ['RxPackets', 'rx_packets'],
  ['TxAbortedErrors', 'tx_aborted_errors'],
  ['TxBytes', 'tx_bytes'],
  ['TxCarrierErrors', 'tx_carrier_errors'],
  ['TxCompressed', 'tx_compressed'],
  ['TxDropped', 'tx_dropped'],
  ['TxErrors', 'tx_errors'],
  ['TxFifoErrors', 'tx_fifo_errors'],
  ['TxHeartbeatErrors', 'tx_heartbeat_errors'],
  ['TxPackets', 'tx_packets'],
  ['TxWindowErrors', 'tx_window_errors']
]

const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2})+$/i

export function linkType (link: IpLink): string {
  if (link.kind === undefined) return 'device'
  return typeByKind[link.kind] ?? link.kind
}

/** Driver as ethtool would report it: the bus driver for devices, the kind's own name for virtual links. */
export function linkDriver (link: IpLink, busDriver: string | undefined): string {
  if (busDriver !== undefined && busDriver !== '') return busDriver
  if (link.kind !== undefined) return driverByKind[link.kind] ?? ''
  return ''
}

/** Finds an interface of the same namespace by the name ip printed, or by `ifN` when ip could not name it. */
export function indexByName (links: readonly IpLink[], name: string | undefined): number | undefined {
  if (name === undefined) return undefined
  const found = links.find(l => l.name === name)
  if (found !== undefined) return found.ifIndex
  const m = /^if(\d+)$/.exec(name)
  return m === null ? undefined : Number(m[1])
}

/**
 * IFLA_LINK as an index: the peer of a veth, the lower device of a vlan or macvlan. Undefined when
 * absent or pointing at the link itself in its own namespace.
 */
export function linkParentIndex (link: IpLink, nsLinks: readonly IpLink[]): number | undefined {
  if (link.linkIndex !== undefined) return link.linkNetnsId === undefined && link.linkIndex === link.ifIndex ? undefined : link.linkIndex
  const byName = indexByName(nsLinks, link.linkName)
  if (byName !== undefined) return byName === link.ifIndex ? undefined : byName
  // VXLAN keeps its underlying device in its own attributes, not in IFLA_LINK.
  if (link.kind === 'vxlan' && typeof link.infoData.link === 'string') return indexByName(nsLinks, link.infoData.link)
  return undefined
}

export function linkFlags (link: IpLink): string[] {
  return linkFlagNames.filter(([ipName]) => link.flags.includes(ipName)).map(([, name]) => name)
}

export function neighborsOf (link: IpLink, neighbors: readonly IpNeighbor[]): Metadata[] {
  const out: Metadata[] = []
  for (const n of neighbors) {
    if (n.dev !== link.name) continue
    const entry: Metadata = {}
    if (n.flags.length > 0) entry.Flags = n.flags
    if (n.lladdr !== undefined) entry.MAC = n.lladdr
    if (n.dst !== undefined) entry.IP = n.dst
    if (n.state.length > 0) entry.State = n.state.map(s => `NUD_${s}`)
    entry.IfIndex = link.ifIndex
    out.push(entry)
  }
  return out
}

interface RouteEntry { Protocol: number, Prefix: string, NextHops: Metadata[] }
interface TableEntry { ID: number, Src: string | null, Routes: RouteEntry[] }

/**
 * Skydive's `RoutingTables`: the routes leaving through this interface, grouped by table, routes with
 * the same protocol and prefix merged into one with several next hops.
 */
export function routingTablesOf (link: IpLink, routes: readonly IpRoute[]): TableEntry[] {
  const tables = new Map<number, TableEntry>()
  for (const r of routes) {
    const hops = r.nexthops.length > 0
      ? r.nexthops.filter(nh => nh.dev === link.name)
      : (r.dev === link.name ? [{ gateway: r.gateway }] : [])
    if (hops.length === 0) continue
    let table = tables.get(r.table)
    if (table === undefined) {
      table = { ID: r.table, Src: r.prefsrc ?? null, Routes: [] }
      tables.set(r.table, table)
    }
    let route = table.Routes.find(e => e.Protocol === r.protocol && e.Prefix === r.prefix)
    if (route === undefined) {
      route = { Protocol: r.protocol, Prefix: r.prefix, NextHops: [] }
      table.Routes.push(route)
    }
    for (const hop of hops) {
      const ip = hop.gateway
      if (route.NextHops.some(h => h.IP === ip && h.IfIndex === link.ifIndex)) continue
      const nextHop: Metadata = { Priority: r.metric ?? 0 }
      if (ip !== undefined) nextHop.IP = ip
      nextHop.IfIndex = link.ifIndex
      route.NextHops.push(nextHop)
    }
  }
  return [...tables.values()].sort((a, b) => a.ID - b.ID)
}

/** Counters in InterfaceMetric names, zeros left out as Skydive's `omitempty` does. */
export function linkCounters (link: IpLink): Record<string, number> | undefined {
  if (link.stats === undefined) return undefined
  const out: Record<string, number> = {}
  for (const [name, key] of metricCounters) {
    const v = link.stats[key]
    if (v !== undefined && v !== 0) out[name] = v
  }
  return out
}

export interface InterfaceFacts {
  /** The other interfaces of the same namespace, to turn names into indexes. */
  nsLinks: readonly IpLink[]
  routes: readonly IpRoute[]
  neighbors: readonly IpNeighbor[]
  /** Driver of the device's bus, from sysfs, when it has one. */
  busDriver?: string
  /** Mb/s from sysfs where the kernel reports it. */
  speed?: number
}

/** Interface metadata without the graph-level keys (TID, Metric, LinkNetNsName) the graph stage adds. */
export function interfaceMetadata (link: IpLink, facts: InterfaceFacts): Metadata {
  const driver = linkDriver(link, facts.busDriver)
  let type = linkType(link)
  // As Skydive does: a veth enslaved to a bridge may report another type; the driver tells the truth.
  if (driver === 'veth') type = 'veth'
  const m: Metadata = {
    Name: link.name,
    Type: type,
    EncapType: link.linkType ?? 'none',
    IfIndex: link.ifIndex,
    Driver: driver
  }
  if (link.mtu !== undefined && link.mtu !== 0) m.MTU = link.mtu
  if (link.address !== undefined && macPattern.test(link.address)) m.MAC = link.address
  const masterIndex = indexByName(facts.nsLinks, link.master)
  if (masterIndex !== undefined) m.MasterIndex = masterIndex
  const parentIndex = linkParentIndex(link, facts.nsLinks)
  if (parentIndex !== undefined) m.ParentIndex = parentIndex
  if (facts.speed !== undefined) m.Speed = facts.speed
  const neighbors = neighborsOf(link, facts.neighbors)
  if (neighbors.length > 0) m.Neighbors = neighbors
  const tables = routingTablesOf(link, facts.routes)
  if (tables.length > 0) m.RoutingTables = tables
  if (type === 'veth' && parentIndex !== undefined) m.PeerIfIndex = parentIndex
  const ipv4 = link.addresses.filter(a => a.family === 'inet').map(a => `${a.local}/${a.prefixLen}`)
  const ipv6 = link.addresses.filter(a => a.family === 'inet6').map(a => `${a.local}/${a.prefixLen}`)
  if (ipv4.length > 0) m.IPV4 = ipv4
  if (ipv6.length > 0) m.IPV6 = ipv6
  if (link.kind === 'vlan' && typeof link.infoData.id === 'number') m.Vlan = link.infoData.id
  m.State = (link.operState ?? 'UNKNOWN').toUpperCase()
  m.LinkFlags = linkFlags(link)
  if (link.kind === 'bond' && typeof link.infoData.mode === 'string') m.BondMode = link.infoData.mode
  if (link.slaveKind === 'bond') m.BondSlave = bondSlave(link.slaveData)
  if (link.parentDev !== undefined) m.BusInfo = link.parentDev
  if (link.linkNetnsId !== undefined) m.LinkNetNsID = link.linkNetnsId
  return m
}

function bondSlave (d: Record<string, unknown>): Metadata {
  const out: Metadata = { Type: 'bond' }
  const fields: Array<[string, string]> = [
    ['State', 'state'],
    ['MiiStatus', 'mii_status'],
    ['LinkFailureCount', 'link_failure_count'],
    ['QueueId', 'queue_id'],
    ['AggregatorId', 'ad_aggregator_id'],
    ['AdActorOperPortState', 'ad_actor_oper_port_state'],
    ['AdPartnerOperPortState', 'ad_partner_oper_port_state'],
    ['PermMAC', 'perm_hwaddr']
  ]
  for (const [name, key] of fields) if (d[key] !== undefined) out[name] = d[key]
  return out
}
