import type { SocketEntry, SocketsSnapshot } from '../types.ts'

export interface SocketMatch { socket: SocketEntry, host: string, listening: boolean }

const wildcard = new Set(['0.0.0.0', '::', '*', ''])

function isListening (s: SocketEntry): boolean {
  if (s.State === 'LISTEN') return true
  // An unconnected UDP socket (remote port 0) is how a UDP server waits for clients.
  return s.Protocol === 'UDP' && s.RemotePort === 0
}

/** Strips the IPv4-mapped prefix so `::ffff:10.0.0.1` and `10.0.0.1` meet. */
export function normalizeAddress (ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}

interface Departed { socket: SocketEntry, at: number }

interface HostSockets {
  time: number
  /** proto|localIp|localPort|remoteIp|remotePort → socket */
  connected: Map<string, SocketEntry>
  /** proto|localIp|localPort → listening socket; wildcard binds use '*' as address */
  listening: Map<string, SocketEntry>
  /** Sockets of earlier tables gone from this one, with the time of the table they were last missing from (oldest first). */
  departedConnected: Map<string, Departed>
  departedListening: Map<string, Departed>
}

export interface SocketIndexOptions {
  /**
   * How long (ms of snapshot time) a socket gone from its host's table still answers. A flow is
   * enriched when the capture emits it, up to a flow update period after its last packet, by when a
   * short connection (and its process) has left the table. Default 180 s: three default periods.
   */
  retainMs?: number
  /** Gone sockets kept per host at most, oldest dropped first. */
  maxDepartedPerHost?: number
}

/**
 * The latest socket table of every host, indexed for the two questions the enricher asks:
 * "which process owns this connection?" and "which process listens on this port?". Sockets that
 * left the table are kept a while, behind the current ones, for the flows still to come of
 * connections that were short.
 */
export class SocketIndex {
  readonly #hosts = new Map<string, HostSockets>()
  readonly #retainMs: number
  readonly #maxDeparted: number

  constructor (opts: SocketIndexOptions = {}) {
    this.#retainMs = opts.retainMs ?? 180_000
    this.#maxDeparted = opts.maxDepartedPerHost ?? 50_000
  }

  /** Replaces a host's table; older snapshots arriving late are ignored. */
  apply (snapshot: SocketsSnapshot): boolean {
    const previous = this.#hosts.get(snapshot.Host)
    if (previous !== undefined && previous.time > snapshot.Time) return false
    const table: HostSockets = {
      time: snapshot.Time,
      connected: new Map(),
      listening: new Map(),
      departedConnected: previous?.departedConnected ?? new Map(),
      departedListening: previous?.departedListening ?? new Map()
    }
    for (const s of snapshot.Sockets) {
      const local = normalizeAddress(s.LocalAddress)
      if (isListening(s)) {
        const addr = wildcard.has(local) ? '*' : local
        table.listening.set(`${s.Protocol}|${addr}|${s.LocalPort}`, s)
      } else {
        table.connected.set(`${s.Protocol}|${local}|${s.LocalPort}|${normalizeAddress(s.RemoteAddress)}|${s.RemotePort}`, s)
      }
    }
    if (previous !== undefined) {
      this.#depart(previous.connected, table.connected, table.departedConnected, snapshot.Time)
      this.#depart(previous.listening, table.listening, table.departedListening, snapshot.Time)
    }
    this.#hosts.set(snapshot.Host, table)
    return true
  }

  /** Moves the sockets of `before` missing from `now` to `departed`; forgets those back in `now` or gone too long. */
  #depart (before: Map<string, SocketEntry>, now: Map<string, SocketEntry>, departed: Map<string, Departed>, time: number): void {
    for (const key of now.keys()) departed.delete(key)
    for (const [key, socket] of before) {
      if (now.has(key)) continue
      departed.delete(key) // re-inserted last: the map stays oldest first
      departed.set(key, { socket, at: time })
    }
    for (const [key, d] of departed) {
      if (departed.size <= this.#maxDeparted && time - d.at <= this.#retainMs) break
      departed.delete(key)
    }
  }

  hasHost (host: string): boolean { return this.#hosts.has(host) }

  /**
   * The socket of `host` at the local end (ip, port) of a conversation with (peerIp, peerPort):
   * the connected socket if there is one, else the one listening on that port.
   */
  find (host: string, protocol: string, ip: string, port: number, peerIp: string, peerPort: number): SocketMatch | undefined {
    const table = this.#hosts.get(host)
    if (table === undefined) return undefined
    const connectionKey = `${protocol}|${ip}|${port}|${peerIp}|${peerPort}`
    const connected = table.connected.get(connectionKey) ?? table.departedConnected.get(connectionKey)?.socket
    // A connection accepted by a server shares its local port with the listener: that end is the server.
    const listener = table.listening.get(`${protocol}|${ip}|${port}`) ?? table.listening.get(`${protocol}|*|${port}`) ??
      table.departedListening.get(`${protocol}|${ip}|${port}`)?.socket ?? table.departedListening.get(`${protocol}|*|${port}`)?.socket
    if (connected !== undefined) return { socket: connected, host, listening: listener !== undefined }
    return listener === undefined ? undefined : { socket: listener, host, listening: true }
  }

  hosts (): IterableIterator<string> { return this.#hosts.keys() }
}
