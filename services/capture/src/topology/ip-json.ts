import { TopoflowError } from '@topoflow/core'
import { asNumber, asString, isRecord, splitJsonValues } from './util.ts'

/**
 * Parsing of iproute2's JSON output (`ip -json -details -stats -stats -batch`), one namespace at a time.
 * We read iproute2's JSON rather than speaking rtnetlink ourselves because `ip` can be run inside
 * any namespace (through nsenter) while a Node process cannot switch namespaces.
 */

/** The commands run in one `ip -batch` per namespace, in the order their outputs are parsed. */
export const namespaceBatch = ['addr show', 'route show table all', 'neigh show nud all', 'netns list-id']

export interface IpAddress {
  family: 'inet' | 'inet6'
  local: string
  prefixLen: number
}

export interface IpLink {
  ifIndex: number
  name: string
  flags: string[]
  mtu?: number
  operState?: string
  linkType?: string
  address?: string
  /** IFLA_LINK as a name (same namespace); ip prints `ifN` when it cannot name it. */
  linkName?: string
  /** IFLA_LINK as an index, printed when the link lives in another namespace. */
  linkIndex?: number
  linkNetnsId?: number
  master?: string
  kind?: string
  slaveKind?: string
  infoData: Record<string, unknown>
  slaveData: Record<string, unknown>
  parentBus?: string
  parentDev?: string
  addresses: IpAddress[]
  /** Counters from `stats64`, keyed `rx_bytes`, `tx_packets`, … */
  stats?: Record<string, number>
}

export interface IpNextHop {
  gateway?: string
  dev?: string
}

export interface IpRoute {
  table: number
  prefix: string
  protocol: number
  family: 4 | 6
  type?: string
  dev?: string
  gateway?: string
  prefsrc?: string
  metric?: number
  nexthops: IpNextHop[]
}

export interface IpNeighbor {
  dst?: string
  dev: string
  lladdr?: string
  state: string[]
  flags: string[]
}

export interface NamespaceDump {
  links: IpLink[]
  routes: IpRoute[]
  neighbors: IpNeighbor[]
  /** nsid (as seen from this namespace) → name, for the peers iproute2 could name (bind-mounted ones). */
  nsids: Map<number, string>
  /** Entries dropped because they lacked the fields we key on. */
  malformed: number
}

/** iproute2's reserved routing table names (`/etc/iproute2/rt_tables`). */
export const defaultTableIds: Record<string, number> = { unspec: 0, default: 253, main: 254, local: 255 }

/** iproute2's reserved routing protocol names (`/etc/iproute2/rt_protos`). */
export const defaultProtocolIds: Record<string, number> = {
  unspec: 0,
  redirect: 1,
  kernel: 2,
  boot: 3,
  static: 4,
  gated: 8,
  ra: 9,
  mrt: 10,
  zebra: 11,
  bird: 12,
  dnrouted: 13,
  xorp: 14,
  ntk: 15,
  dhcp: 16,
  keepalived: 18,
  babel: 42,
  openr: 99,
  bgp: 186,
  isis: 187,
  ospf: 188,
  rip: 189,
  eigrp: 192
}

/** Parses an iproute2 id ↔ name file (`rt_tables`, `rt_protos`): `<number> <name>` lines, `#` comments. */
export function parseIdNameFile (text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') continue
    const [id, name] = line.split(/\s+/)
    const n = Number(id?.startsWith('0x') === true ? parseInt(id, 16) : id)
    if (name !== undefined && Number.isInteger(n)) out[name] = n
  }
  return out
}

export interface NameMaps {
  tables: Record<string, number>
  protocols: Record<string, number>
}

export const defaultNameMaps: NameMaps = { tables: defaultTableIds, protocols: defaultProtocolIds }

function idOf (value: unknown, names: Record<string, number>, fallback: number): number {
  const n = asNumber(value)
  if (n !== undefined) return n
  const s = asString(value)
  if (s !== undefined && names[s] !== undefined) return names[s]
  return fallback
}

function numberRecord (value: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  if (!isRecord(value)) return out
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number') out[k] = v
  return out
}

export function parseLink (raw: unknown): IpLink | undefined {
  if (!isRecord(raw)) return undefined
  const ifIndex = asNumber(raw.ifindex)
  const name = asString(raw.ifname)
  if (ifIndex === undefined || name === undefined) return undefined
  const linkinfo = isRecord(raw.linkinfo) ? raw.linkinfo : {}
  const addresses: IpAddress[] = []
  for (const a of Array.isArray(raw.addr_info) ? raw.addr_info : []) {
    if (!isRecord(a)) continue
    const local = asString(a.local)
    const prefixLen = asNumber(a.prefixlen)
    if ((a.family === 'inet' || a.family === 'inet6') && local !== undefined && prefixLen !== undefined) {
      addresses.push({ family: a.family, local, prefixLen })
    }
  }
  let stats: Record<string, number> | undefined
  const s64 = isRecord(raw.stats64) ? raw.stats64 : undefined
  if (s64 !== undefined) {
    stats = {}
    for (const [dir, values] of Object.entries(s64)) {
      for (const [k, v] of Object.entries(numberRecord(values))) stats[`${dir}_${k}`] = v
    }
  }
  const link: IpLink = {
    ifIndex,
    name,
    flags: Array.isArray(raw.flags) ? raw.flags.filter((f): f is string => typeof f === 'string') : [],
    infoData: isRecord(linkinfo.info_data) ? linkinfo.info_data : {},
    slaveData: isRecord(linkinfo.info_slave_data) ? linkinfo.info_slave_data : {},
    addresses
  }
  const optional: Array<[keyof IpLink, unknown]> = [
    ['mtu', asNumber(raw.mtu)],
    ['operState', asString(raw.operstate)],
    ['linkType', asString(raw.link_type)],
    ['address', asString(raw.address)],
    ['linkName', asString(raw.link)],
    ['linkIndex', asNumber(raw.link_index)],
    ['linkNetnsId', asNumber(raw.link_netnsid)],
    ['master', asString(raw.master)],
    ['kind', asString(linkinfo.info_kind)],
    ['slaveKind', asString(linkinfo.info_slave_kind)],
    ['parentBus', asString(raw.parentbus)],
    ['parentDev', asString(raw.parentdev)],
    ['stats', stats]
  ]
  for (const [key, value] of optional) if (value !== undefined) (link as unknown as Record<string, unknown>)[key] = value
  return link
}

function routeFamily (r: Record<string, unknown>): 4 | 6 {
  // ip's JSON has no family field: IPv6 shows in the addresses, or in `pref`, an IPv6-only attribute.
  for (const key of ['dst', 'gateway', 'prefsrc', 'src']) {
    const v = asString(r[key])
    if (v !== undefined && v !== 'default' && v.includes(':')) return 6
  }
  if (Array.isArray(r.nexthops) && r.nexthops.some(nh => isRecord(nh) && asString(nh.gateway)?.includes(':') === true)) return 6
  return 'pref' in r ? 6 : 4
}

/** Canonical CIDR for a route destination: `default` → `0.0.0.0/0` or `::/0`, host routes get /32 or /128. */
export function routePrefix (dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 6 ? '::/0' : '0.0.0.0/0'
  if (dst.includes('/')) return dst
  return `${dst}/${family === 6 ? 128 : 32}`
}

export function parseRoute (raw: unknown, names: NameMaps = defaultNameMaps): IpRoute | undefined {
  if (!isRecord(raw)) return undefined
  const dst = asString(raw.dst)
  if (dst === undefined) return undefined
  const family = routeFamily(raw)
  const nexthops: IpNextHop[] = []
  for (const nh of Array.isArray(raw.nexthops) ? raw.nexthops : []) {
    if (!isRecord(nh)) continue
    const hop: IpNextHop = {}
    const gateway = asString(nh.gateway)
    const dev = asString(nh.dev)
    if (gateway !== undefined) hop.gateway = gateway
    if (dev !== undefined) hop.dev = dev
    nexthops.push(hop)
  }
  const route: IpRoute = {
    table: raw.table === undefined ? 254 : idOf(raw.table, names.tables, -1),
    prefix: routePrefix(dst, family),
    protocol: raw.protocol === undefined ? 3 : idOf(raw.protocol, names.protocols, -1),
    family,
    nexthops
  }
  const type = asString(raw.type)
  const dev = asString(raw.dev)
  const gateway = asString(raw.gateway)
  const prefsrc = asString(raw.prefsrc)
  const metric = asNumber(raw.metric)
  if (type !== undefined) route.type = type
  if (dev !== undefined) route.dev = dev
  if (gateway !== undefined) route.gateway = gateway
  if (prefsrc !== undefined) route.prefsrc = prefsrc
  if (metric !== undefined) route.metric = metric
  return route
}

/** ip prints neighbour flags as valueless keys; these are the NTF_* bits they stand for. */
const neighborFlagKeys: Array<[string, string]> = [
  ['proxy', 'NTF_PROXY'],
  ['extern_learn', 'NTF_EXT_LEARNED'],
  ['offload', 'NTF_OFFLOADED'],
  ['router', 'NTF_ROUTER']
]

export function parseNeighbor (raw: unknown): IpNeighbor | undefined {
  if (!isRecord(raw)) return undefined
  const dev = asString(raw.dev)
  if (dev === undefined) return undefined
  const n: IpNeighbor = {
    dev,
    state: Array.isArray(raw.state) ? raw.state.filter((s): s is string => typeof s === 'string') : [],
    flags: neighborFlagKeys.filter(([key]) => key in raw).map(([, flag]) => flag)
  }
  const dst = asString(raw.dst)
  const lladdr = asString(raw.lladdr)
  if (dst !== undefined) n.dst = dst
  if (lladdr !== undefined) n.lladdr = lladdr
  return n
}

function parseArray<T> (text: string | undefined, parse: (raw: unknown) => T | undefined, what: string): { items: T[], malformed: number } {
  if (text === undefined) return { items: [], malformed: 0 }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new TopoflowError('TOPOFLOW_ERR_DECODE', `Expected a JSON array of ${what} from ip, got unparsable text`, { cause: err })
  }
  if (!Array.isArray(raw)) throw new TopoflowError('TOPOFLOW_ERR_DECODE', `Expected a JSON array of ${what} from ip, got ${typeof raw}`)
  const items: T[] = []
  let malformed = 0
  for (const entry of raw) {
    const item = parse(entry)
    if (item === undefined) malformed++
    else items.push(item)
  }
  return { items, malformed }
}

/**
 * Parses the output of one `ip -json -details -stats -stats -force -batch` run of {@link namespaceBatch}.
 * Throws TOPOFLOW_ERR_DECODE when the link list, the one output we cannot do without, is missing.
 */
export function parseNamespaceDump (text: string, names: NameMaps = defaultNameMaps): NamespaceDump {
  const values = splitJsonValues(text)
  if (values.length === 0) throw new TopoflowError('TOPOFLOW_ERR_DECODE', 'Expected JSON arrays from ip -batch, got no JSON at all')
  const links = parseArray(values[0], parseLink, 'links')
  const routes = parseArray(values[1], r => parseRoute(r, names), 'routes')
  const neighbors = parseArray(values[2], parseNeighbor, 'neighbours')
  const nsids = new Map<number, string>()
  const ids = parseArray(values[3], (raw) => {
    if (!isRecord(raw)) return undefined
    const nsid = asNumber(raw.nsid)
    return nsid === undefined ? undefined : { nsid, name: asString(raw.name) }
  }, 'nsids')
  for (const { nsid, name } of ids.items) if (name !== undefined) nsids.set(nsid, name)
  return {
    links: links.items,
    routes: routes.items,
    neighbors: neighbors.items,
    nsids,
    malformed: links.malformed + routes.malformed + neighbors.malformed + ids.malformed
  }
}
