import type {
  GremlinLookup, HostLookup, MatrixEntry, MatrixHost, MatrixOptions, MatrixResult, MatrixSocket, UnknownConnection
} from './types.ts'

/**
 * The flow matrix of skydive-flow-matrix (who serves, who connects, with which process), rebuilt as
 * pure functions over host socket tables. The Gremlin queries are the ones that tool issues, so the
 * same code runs inside the API (queries answered locally) and in the CLI (queries sent over REST,
 * which also works against a real Skydive analyzer).
 */

const wildcard = new Set(['0.0.0.0', '::'])

/** A server socket: TCP LISTEN, or an unconnected UDP socket (Skydive reports those as CLOSE). */
export function isListenSocket (s: MatrixSocket): boolean {
  return s.State === 'LISTEN' || (s.Protocol === 'UDP' && s.State === 'CLOSE' && wildcard.has(s.RemoteAddress))
}

export function isLoopback (address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  return v4.startsWith('127.') || address === '::1'
}

/** `G.<prefix>V()…`: empty when live, else `Context('<at>').` or `Context('<at>', <duration>).` */
export function contextPrefix (opts: MatrixOptions): string {
  const at = opts.at ?? ''
  if (at === '') return ''
  const quoted = at.replaceAll("'", '')
  const duration = Math.trunc(opts.duration ?? 0)
  return duration === 0 ? `Context('${quoted}').` : `Context('${quoted}', ${duration}).`
}

function asSocket (value: unknown): MatrixSocket | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const s = value as Record<string, unknown>
  if (typeof s.LocalAddress !== 'string' || typeof s.RemoteAddress !== 'string') return undefined
  const port = (v: unknown): number => typeof v === 'number' ? v : Number(v)
  const out: MatrixSocket = {
    Protocol: String(s.Protocol ?? ''),
    LocalAddress: s.LocalAddress,
    LocalPort: port(s.LocalPort),
    RemoteAddress: s.RemoteAddress,
    RemotePort: port(s.RemotePort),
    State: String(s.State ?? '')
  }
  if (typeof s.Process === 'string') out.Process = s.Process
  if (typeof s.Name === 'string') out.Name = s.Name
  if (typeof s.Pid === 'number') out.Pid = s.Pid
  return out
}

/** A graph node (as the REST API returns it) → host with its sockets; undefined when it has none. */
export function toMatrixHost (node: unknown): MatrixHost | undefined {
  if (typeof node !== 'object' || node === null) return undefined
  const n = node as { Host?: unknown, Metadata?: { Sockets?: unknown } }
  if (typeof n.Host !== 'string') return undefined
  const raw = n.Metadata?.Sockets
  const sockets = Array.isArray(raw) ? raw.map(asSocket).filter((s) => s !== undefined) : []
  return { Host: n.Host, Sockets: sockets }
}

export function listenPorts (hosts: MatrixHost[]): Set<number> {
  const ports = new Set<number>()
  for (const host of hosts) for (const s of host.Sockets) if (isListenSocket(s)) ports.add(s.LocalPort)
  return ports
}

interface Placed { host: MatrixHost, socket: MatrixSocket }

function entry (protocol: string, server: Placed, serverIp: string, port: number, client: Placed, clientIp: string): MatrixEntry {
  return {
    protocol,
    server: server.host.Host,
    serverIp,
    port,
    serverProc: server.socket.Process ?? '',
    serverProcName: server.socket.Name ?? '',
    client: client.host.Host,
    clientIp,
    clientProc: client.socket.Process ?? '',
    clientProcName: client.socket.Name ?? ''
  }
}

/** Rows keyed by their CSV text: the matrix is a set, as in skydive-flow-matrix. */
export function entryKey (e: MatrixEntry): string {
  return [e.protocol, e.server, e.serverIp, String(e.port), e.serverProc, e.serverProcName, e.client, e.clientIp, e.clientProc, e.clientProcName].join(',')
}

function addUnique (into: Map<string, MatrixEntry>, e: MatrixEntry): void {
  const key = entryKey(e)
  if (!into.has(key)) into.set(key, e)
}

/**
 * Matrix from socket tables alone: every socket whose remote port is a listening port somewhere is a
 * client; its peer is the non-listening socket bound to that address and port (on the same host for
 * loopback). UDP servers are found through the host owning the address. `historical` (a time
 * context was given) also accepts connections that were not ESTABLISHED at the end of the window.
 */
export async function buildTopologyMatrix (hosts: MatrixHost[], opts: { historical: boolean, lookupHost: HostLookup }): Promise<MatrixResult> {
  const listening = listenPorts(hosts)
  const peers = new Map<number, Placed[]>()
  for (const host of hosts) {
    for (const socket of host.Sockets) {
      if (isListenSocket(socket)) continue
      let list = peers.get(socket.LocalPort)
      if (list === undefined) peers.set(socket.LocalPort, list = [])
      list.push({ host, socket })
    }
  }

  const findPeer = async (protocol: string, address: string, port: number, from: MatrixHost): Promise<Placed | undefined> => {
    for (const p of peers.get(port) ?? []) {
      if (p.socket.Protocol !== protocol || p.socket.LocalAddress !== address || p.socket.LocalPort !== port) continue
      if (isLoopback(address) && p.host.Host !== from.Host) continue
      return p
    }
    if (protocol !== 'UDP') return undefined
    const host = await opts.lookupHost(address)
    const socket = host?.Sockets.find((s) => s.Protocol === 'UDP' && isListenSocket(s) && s.LocalPort === port)
    return host !== undefined && socket !== undefined ? { host, socket } : undefined
  }

  const rows = new Map<string, MatrixEntry>()
  const unknown: UnknownConnection[] = []
  const seenUnknown = new Set<string>()
  for (const host of hosts) {
    for (const socket of host.Sockets) {
      if (!listening.has(socket.RemotePort)) continue
      if (!(socket.State === 'ESTABLISHED' || (opts.historical && !isListenSocket(socket)))) continue
      const peer = await findPeer(socket.Protocol, socket.RemoteAddress, socket.RemotePort, host)
      if (peer === undefined) {
        const key = `${host.Host}|${JSON.stringify(socket)}`
        if (!seenUnknown.has(key)) { seenUnknown.add(key); unknown.push({ host: host.Host, socket }) }
        continue
      }
      addUnique(rows, entry(socket.Protocol, peer, socket.RemoteAddress, socket.RemotePort, { host, socket }, socket.LocalAddress))
    }
  }
  return { entries: [...rows.values()], unknown }
}

/** `Flows().Sockets()` result (`[{"<flowUUID>": [socket, ...]}, ...]`) → socket lists, one per flow. */
export function flowSocketLists (result: unknown): MatrixSocket[][] {
  if (!Array.isArray(result)) return []
  const lists: MatrixSocket[][] = []
  for (const item of result) {
    if (typeof item !== 'object' || item === null) continue
    for (const value of Object.values(item as Record<string, unknown>)) {
      if (Array.isArray(value)) lists.push(value.map(asSocket).filter((s) => s !== undefined))
    }
  }
  return lists
}

/**
 * Matrix rows from the sockets attached to flows: a socket whose remote port is a listening port is a
 * client; the server host is the one owning the remote address. Unlike skydive-flow-matrix we also
 * accept a server listening on the wildcard address, which is the common case.
 */
export async function buildFlowMatrix (lists: MatrixSocket[][], listening: Set<number>, lookupHost: HostLookup): Promise<MatrixEntry[]> {
  const rows = new Map<string, MatrixEntry>()
  for (const sockets of lists) {
    for (const socket of sockets) {
      if (!listening.has(socket.RemotePort)) continue
      const serverHost = await lookupHost(socket.RemoteAddress)
      if (serverHost === undefined) break
      const serverSocket = serverHost.Sockets.find((s) => s.Protocol === socket.Protocol && s.LocalPort === socket.RemotePort && s.LocalAddress === socket.RemoteAddress) ??
        serverHost.Sockets.find((s) => s.Protocol === socket.Protocol && s.LocalPort === socket.RemotePort && wildcard.has(s.LocalAddress) && isListenSocket(s))
      if (serverSocket === undefined) break
      const clientHost = await lookupHost(socket.LocalAddress)
      if (clientHost === undefined) continue
      addUnique(rows, entry(socket.Protocol, { host: serverHost, socket: serverSocket }, socket.RemoteAddress, socket.RemotePort,
        { host: clientHost, socket }, socket.LocalAddress))
    }
  }
  return [...rows.values()]
}

/**
 * Runs skydive-flow-matrix's queries through `lookup` and builds the matrix. Returns null when no host
 * carries socket information (skydive-flow-matrix then prints "No result, please check analyzer address").
 */
export async function collectMatrix (lookup: GremlinLookup, opts: MatrixOptions = {}): Promise<MatrixResult | null> {
  const ctx = contextPrefix(opts)
  const raw = await lookup(`G.${ctx}V().Has('Type', 'host').HasKey('Sockets')`)
  const hosts = (Array.isArray(raw) ? raw : []).map(toMatrixHost).filter((h) => h !== undefined)
  if (hosts.length === 0) return null

  const cache = new Map<string, MatrixHost | undefined>()
  const lookupHost: HostLookup = async (address) => {
    if (cache.has(address)) return cache.get(address)
    // IPV4Range only takes IPv4; an IPv6 address cannot be resolved this way (as in skydive-flow-matrix)
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) { cache.set(address, undefined); return undefined }
    const nodes = await lookup(`G.${ctx}V().Has('IPV4', IPV4Range('${address}/32')).In('Type', 'host')`)
    const host = Array.isArray(nodes) ? toMatrixHost(nodes[0]) : undefined
    cache.set(address, host)
    return host
  }

  const result = await buildTopologyMatrix(hosts, { historical: (opts.at ?? '') !== '', lookupHost })
  if (opts.useFlows === true) {
    const flows = await lookup(`G.${ctx}Flows().Has('Transport', NE('')).Sockets()`)
    const extra = await buildFlowMatrix(flowSocketLists(flows), listenPorts(hosts), lookupHost)
    const rows = new Map(result.entries.map((e) => [entryKey(e), e]))
    for (const e of extra) if (!rows.has(entryKey(e))) rows.set(entryKey(e), e)
    result.entries = [...rows.values()]
  }
  result.entries.sort((a, b) => entryKey(a).localeCompare(entryKey(b)))
  return result
}
