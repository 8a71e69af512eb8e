import type { HostIndex } from './lookups/hosts.ts'
import type { K8sIndex } from './lookups/k8s.ts'
import { normalizeAddress, type SocketIndex, type SocketMatch } from './lookups/sockets.ts'
import { emptyEndpoint, type EndpointInfo, type EnrichedFlow, type RawFlow, type ServerEnd } from './types.ts'

export interface Lookups {
  hosts: HostIndex
  sockets: SocketIndex
  k8s: K8sIndex
}

export interface EnrichResult {
  flow: EnrichedFlow
  /** An end that should have a socket (its host is known) but none matched yet: worth waiting for fresher tables. */
  missingSocket: boolean
  /** Which lookups hit, for the per-field hit-ratio metrics. */
  hits: { host: number, process: number, pod: number, service: number }
}

const socketProtocols = new Set(['TCP', 'UDP'])
/** The dynamic port range most kernels hand out to clients (Linux default 32768-60999, IANA 49152+). */
const ephemeralFloor = 32768

function isLoopback (ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1'
}

interface End { ip: string, port: number, info: EndpointInfo, match: SocketMatch | undefined, hostKnown: boolean }

function describeEnd (flow: RawFlow, ip: string, port: number, peerIp: string, peerPort: number, protocol: string, lookups: Lookups): End {
  const info = emptyEndpoint()
  const owner = lookups.hosts.lookup(ip)
  if (owner !== undefined) {
    info.HostName = owner.host
    info.Interface = owner.interface
  } else if (isLoopback(ip) && typeof flow.Host === 'string') {
    info.HostName = flow.Host
  }
  let match: SocketMatch | undefined
  if (socketProtocols.has(protocol) && port > 0) {
    const candidates = info.HostName !== null ? [info.HostName] : []
    // Without an address owner, the capturing host is the best guess (e.g. all-in-one on one machine).
    if (candidates.length === 0 && typeof flow.Host === 'string') candidates.push(flow.Host)
    for (const host of candidates) {
      match = lookups.sockets.find(host, protocol, ip, port, peerIp, peerPort)
      if (match !== undefined) break
    }
  }
  if (match !== undefined) {
    info.HostName ??= match.host
    info.Pid = match.socket.Pid
    info.ProcessName = match.socket.Name
    info.Process = match.socket.Process
  }
  const pod = lookups.k8s.lookup(ip)
  if (pod !== undefined) {
    info.Pod = pod.name
    info.Namespace = pod.namespace
    info.Node = pod.node
    info.Labels = { ...pod.labels }
    info.Container = pod.containers.length === 1 ? pod.containers[0] ?? null : null
    info.Workload = pod.workload
    info.WorkloadKind = pod.workloadKind
    info.Service = pod.services.length > 0 ? pod.services.join(',') : null
  }
  const hostKnown = info.HostName !== null && lookups.sockets.hasHost(info.HostName)
  return { ip, port, info, match, hostKnown }
}

/**
 * Which end serves: the one with a listening socket; failing that, a well-known port facing an
 * ephemeral one; failing that, the lower port below 1024.
 */
export function pickServer (a: End, b: End): ServerEnd {
  const aListens = a.match?.listening === true
  const bListens = b.match?.listening === true
  if (aListens !== bListens) return aListens ? 'A' : 'B'
  if (a.port === 0 || b.port === 0 || a.port === b.port) return null
  if (a.port < 1024 && b.port >= 1024) return 'A'
  if (b.port < 1024 && a.port >= 1024) return 'B'
  if (a.port >= ephemeralFloor && b.port < ephemeralFloor) return 'B'
  if (b.port >= ephemeralFloor && a.port < ephemeralFloor) return 'A'
  return null
}

/** Adds host, interface, process and Kubernetes attributes to both ends of a flow. Pure: lookups are read only. */
export function enrichFlow (flow: RawFlow, lookups: Lookups): EnrichResult {
  const protocol = flow.Transport?.Protocol ?? ''
  const aIp = normalizeAddress(flow.Network?.A ?? '')
  const bIp = normalizeAddress(flow.Network?.B ?? '')
  const aPort = flow.Transport?.A ?? 0
  const bPort = flow.Transport?.B ?? 0
  const a = describeEnd(flow, aIp, aPort, bIp, bPort, protocol, lookups)
  const b = describeEnd(flow, bIp, bPort, aIp, aPort, protocol, lookups)
  const missingSocket = socketProtocols.has(protocol) &&
    ((a.hostKnown && a.match === undefined) || (b.hostKnown && b.match === undefined))
  const count = (pick: (e: EndpointInfo) => unknown): number => (pick(a.info) !== null ? 1 : 0) + (pick(b.info) !== null ? 1 : 0)
  return {
    flow: { ...flow, AEnrich: a.info, BEnrich: b.info, ServerEnd: pickServer(a, b) },
    missingSocket,
    hits: { host: count((e) => e.HostName), process: count((e) => e.Pid), pod: count((e) => e.Pod), service: count((e) => e.Service) }
  }
}
