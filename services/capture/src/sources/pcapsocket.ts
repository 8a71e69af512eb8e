import { createServer, type Server, type Socket } from 'node:net'
import { PcapStreamReader } from '../flow/index.ts'
import { bindInRange, hostPort } from './ports.ts'
import type { PacketSource, SourceHooks, SourcePacket, SourceStats } from './types.ts'

export interface PcapSocketOptions {
  /** `agent.flow.pcapsocket.bind_address`. */
  address: string
  minPort: number
  maxPort: number
  /** Streams accepted at once; more are refused. */
  maxConnections?: number
}

export interface PcapSocketCounters {
  connections: number
  refused: number
  /** Streams closed because they were not pcap/pcapng, or broke in the middle. */
  badStreams: number
}

/**
 * Skydive's pcapsocket capture: a TCP listener (first free port of the configured range) that
 * accepts pcap or pcapng streams, e.g. `tcpdump -w - | nc host port`. Each connection is its own
 * stream; a malformed one is closed and counted, the listener goes on.
 */
export class PcapSocketSource implements PacketSource {
  readonly kind = 'pcapsocket' as const
  readonly counters: PcapSocketCounters = { connections: 0, refused: 0, badStreams: 0 }
  readonly #opts: PcapSocketOptions
  #server: Server | undefined
  #sockets = new Set<Socket>()
  #received = 0
  #endpoint: string | undefined

  constructor (opts: PcapSocketOptions) {
    this.#opts = opts
  }

  get endpoint (): string | undefined { return this.#endpoint }

  async start (onPacket: (packet: SourcePacket) => void, _hooks: SourceHooks = {}): Promise<void> {
    const max = this.#opts.maxConnections ?? 16
    const server = createServer((socket) => {
      if (this.#sockets.size >= max) {
        this.counters.refused++
        socket.destroy()
        return
      }
      this.counters.connections++
      this.#sockets.add(socket)
      const reader = new PcapStreamReader({ maxBuffered: 16 * 1024 * 1024 })
      socket.on('data', (chunk) => {
        try {
          reader.push(chunk)
          for (let p = reader.next(); p !== undefined; p = reader.next()) {
            this.#received++
            onPacket(p)
          }
        } catch {
          this.counters.badStreams++
          socket.destroy()
        }
      })
      socket.on('end', () => {
        try { reader.end(); reader.next() } catch { this.counters.badStreams++ }
      })
      socket.on('error', () => {})
      socket.on('close', () => this.#sockets.delete(socket))
    })
    server.on('error', () => {})
    const { address, minPort, maxPort } = this.#opts
    const { port } = await bindInRange('pcapsocket', address, minPort, maxPort, async (p) => {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => { server.off('listening', onListening); reject(err) }
        const onListening = (): void => { server.off('error', onError); resolve() }
        server.once('error', onError)
        server.once('listening', onListening)
        server.listen(p, address)
      })
    })
    this.#server = server
    this.#endpoint = hostPort(address, port)
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
    const server = this.#server
    this.#server = undefined
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  stats (): SourceStats {
    return { received: this.#received, dropped: 0 }
  }
}
