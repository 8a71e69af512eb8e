import { readFile } from 'node:fs/promises'
import { TopoflowError } from '@topoflow/core'
import { openLive, type LiveHandle } from './backends.ts'
import type { LiveBackend, PacketSource, SourceHooks, SourcePacket, SourceStats } from './types.ts'
import { WorkerSource } from './worker-source.ts'

export interface LiveSourceOptions {
  iface: string
  /** BPF filter, '' for none. */
  bpf: string
  /** Bytes kept of each packet (`flow.capture_length` or the capture's HeaderSize). */
  snaplen: number
  backend: LiveBackend
  /** Network namespace file of the interface; null = the agent's own namespace (captured in-process). */
  netnsPath: string | null
  bufferSize?: number
  /** How long libpcap may hold packets to hand them over in blocks, ms (pcap backend; 0 or absent: immediate). */
  bufferTimeoutMs?: number
  /** How often the interface (and namespace) is checked to still exist, ms. */
  checkIntervalMs?: number
}

/** Names of the interfaces of this process's network namespace. */
export async function interfaceNames (devFile = '/proc/self/net/dev'): Promise<Set<string>> {
  const text = await readFile(devFile, 'utf8')
  const names = new Set<string>()
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':')
    if (colon > 0) names.add(line.slice(0, colon).trim())
  }
  return names
}

/**
 * Live capture: in-process with cap in the agent's own namespace; otherwise through a worker
 * child process (entered into the interface's namespace when it has one). node_pcap always
 * runs in a worker: its close() keeps the socket and a referenced poll handle until another
 * packet arrives, which an in-process agent cannot afford; killing a worker releases all.
 */
export function createLiveSource (opts: LiveSourceOptions): PacketSource {
  if (opts.netnsPath === null && opts.backend === 'cap') return new LiveSource(opts)
  return new WorkerSource(opts)
}

/** In-process capture (cap; node_pcap works too but see createLiveSource about its close). */
export class LiveSource implements PacketSource {
  readonly kind: LiveBackend
  readonly #opts: LiveSourceOptions
  #handle: LiveHandle | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false
  #final: SourceStats = { received: 0, dropped: 0 }

  constructor (opts: LiveSourceOptions) {
    this.#opts = opts
    this.kind = opts.backend
  }

  async start (onPacket: (packet: SourcePacket) => void, hooks: SourceHooks = {}): Promise<void> {
    const { iface } = this.#opts
    if (!(await interfaceNames()).has(iface)) {
      throw new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Cannot capture on ${iface}: no such interface`, { context: { iface } })
    }
    if (this.#closed) return
    this.#handle = openLive(this.#opts.backend, this.#opts, onPacket)
    // libpcap does not report a vanished device to these bindings: look for it ourselves.
    this.#timer = setInterval(() => {
      interfaceNames().then((names) => {
        if (this.#closed || names.has(iface)) return
        this.#stop()
        hooks.onError?.(new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Interface ${iface} disappeared`, { context: { iface } }))
      }, () => {})
    }, this.#opts.checkIntervalMs ?? 1000)
    this.#timer.unref()
  }

  #stop (): void {
    this.#closed = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    if (this.#handle !== undefined) {
      this.#final = this.#handle.stats()
      this.#handle.close()
      this.#handle = undefined
    }
  }

  async close (): Promise<void> {
    this.#stop()
  }

  stats (): SourceStats {
    return this.#handle?.stats() ?? this.#final
  }
}
