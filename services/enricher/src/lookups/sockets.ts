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

interface HostSockets {
  time: number
  /** proto|localIp|localPort|remoteIp|remotePort → socket */
  connected: Map<string, SocketEntry>
  /** proto|localIp|localPort → listening socket; wildcard binds use '*' as address */
  listening: Map<string, SocketEntry>
}

/**
 * The latest socket table of every host, indexed for the two questions the enricher asks:
 * "which process owns this connection?" and "which process listens on this port?".
 */
export class SocketIndex {
  readonly #hosts = new Map<string, HostSockets>()

  /** Replaces a host's table; older snapshots arriving late are ignored. */
  apply (snapshot: SocketsSnapshot): boolean {
    const previous = this.#hosts.get(snapshot.Host)
    if (previous !== undefined && previous.time > snapshot.Time) return false
    const table: HostSockets = { time: snapshot.Time, connected: new Map(), listening: new Map() }
    for (const s of snapshot.Sockets) {
      const local = normalizeAddress(s.LocalAddress)
      if (isListening(s)) {
        const addr = wildcard.has(local) ? '*' : local
        table.listening.set(`${s.Protocol}|${addr}|${s.LocalPort}`, s)
      } else {
        table.connected.set(`${s.Protocol}|${local}|${s.LocalPort}|${normalizeAddress(s.RemoteAddress)}|${s.RemotePort}`, s)
      }
    }
    this.#hosts.set(snapshot.Host, table)
    return true
  }

  hasHost (host: string): boolean { return this.#hosts.has(host) }

  /**
   * The socket of `host` at the local end (ip, port) of a conversation with (peerIp, peerPort):
   * the connected socket if there is one, else the one listening on that port.
   */
  find (host: string, protocol: string, ip: string, port: number, peerIp: string, peerPort: number): SocketMatch | undefined {
    const table = this.#hosts.get(host)
    if (table === undefined) return undefined
    const connected = table.connected.get(`${protocol}|${ip}|${port}|${peerIp}|${peerPort}`)
    if (connected !== undefined) {
      // A connection accepted by a server shares its local port with the listener: that end is the server.
      const listener = table.listening.get(`${protocol}|${ip}|${port}`) ?? table.listening.get(`${protocol}|*|${port}`)
      return { socket: connected, host, listening: listener !== undefined }
    }
    const listener = table.listening.get(`${protocol}|${ip}|${port}`) ?? table.listening.get(`${protocol}|*|${port}`)
    return listener === undefined ? undefined : { socket: listener, host, listening: true }
  }

  hosts (): IterableIterator<string> { return this.#hosts.keys() }
}
