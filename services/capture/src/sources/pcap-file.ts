import { createReadStream, type ReadStream } from 'node:fs'
import { TopoflowError } from '@topoflow/core'
import { PcapStreamReader } from '../flow/index.ts'
import type { PacketSource, SourceHooks, SourcePacket, SourceStats } from './types.ts'

/**
 * A pcap or pcapng file through the flow/ streaming reader. Packets keep their own timestamps
 * (`packetClock`), so the flow table is driven by them. A malformed or truncated file ends the
 * source with onError after the packets read so far; the end of a good file calls onEnd.
 */
export class PcapFileSource implements PacketSource {
  readonly kind = 'pcapfile' as const
  readonly packetClock = true
  readonly #path: string
  #stream: ReadStream | undefined
  #received = 0
  #closed = false

  constructor (path: string) {
    this.#path = path
  }

  async start (onPacket: (packet: SourcePacket) => void, hooks: SourceHooks = {}): Promise<void> {
    const reader = new PcapStreamReader()
    const stream = createReadStream(this.#path, { highWaterMark: 1 << 20 })
    this.#stream = stream
    const fail = (err: unknown): void => {
      if (this.#closed) return
      this.#closed = true
      stream.destroy()
      const e = TopoflowError.is(err) ? err : new TopoflowError('TOPOFLOW_ERR_PCAP_FORMAT', `Cannot read capture ${this.#path}: ${(err as Error).message}`, { cause: err })
      hooks.onError?.(e)
    }
    const drain = (): void => {
      for (let p = reader.next(); p !== undefined; p = reader.next()) {
        this.#received++
        onPacket(p)
      }
    }
    // Opening errors (missing file, permissions) reject start; later ones go to onError.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve())
      stream.once('error', (err) => reject(new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Cannot read capture ${this.#path}: ${err.message}`, { cause: err })))
    })
    stream.on('error', fail)
    stream.on('data', (chunk) => {
      try {
        reader.push(chunk as Buffer)
        drain()
      } catch (err) { fail(err) }
    })
    stream.on('end', () => {
      if (this.#closed) return
      try {
        reader.end()
        drain()
      } catch (err) { fail(err); return }
      this.#closed = true
      hooks.onEnd?.()
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#stream?.destroy()
  }

  stats (): SourceStats {
    return { received: this.#received, dropped: 0 }
  }
}
