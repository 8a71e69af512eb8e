import { createRequire } from 'node:module'
import { TopoflowError } from '@topoflow/core'
import { LinkType } from '../flow/index.ts'
import type { LiveBackend, SourcePacket, SourceStats } from './types.ts'

/**
 * The two libpcap bindings behind one small handle: `cap` (mscdex/cap) and node_pcap (npm
 * `pcap`). Both are used in-process by the agent and inside namespace workers.
 *
 * Differences that matter here:
 * - cap opens with a fixed 65535 snap length and copies each packet into one buffer we give; it
 *   reports neither the kernel timestamp, the wire length of truncated packets, nor drop
 *   counters. We pass a 65535-byte buffer (so the wire length is exact up to 64 KiB), cut the
 *   data to the snap length ourselves and stamp packets with the wall clock.
 * - node_pcap sets the snap length in libpcap, gives the kernel timestamp and wire length in a
 *   16-byte header, and pcap_stats() drop counters. Its close() only breaks the libpcap loop:
 *   the socket is released by the next dispatch, so close() here dispatches once more.
 */

export interface LiveOpenOptions {
  iface: string
  bpf: string
  snaplen: number
  /** Kernel buffer for packets not read yet (libpcap buffer size), bytes. */
  bufferSize?: number
  /**
   * node_pcap: how long libpcap may hold packets to hand them over in blocks, ms; 0 or absent:
   * immediate mode, one wake-up per packet (~5x the CPU per packet at high rates).
   */
  bufferTimeoutMs?: number
}

export interface LiveHandle {
  readonly linkType: number
  stats (): SourceStats
  close (): void
}

const require = createRequire(import.meta.url)

interface CapInstance {
  open (device: string, filter: string, bufSize: number, buffer: Buffer): string
  close (): void
  on (event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void
  removeAllListeners (): void
}

interface NodePcapBinding {
  PcapSession: new () => NodePcapSession
}

interface NodePcapSession {
  open_live (device: string, filter: string, bufferSize: number, snaplen: number, outfile: string, onPacket: () => void, monitor: boolean, timeoutMs: number, warn: (msg: string) => void, promisc: boolean): string
  dispatch (buf: Buffer, header: Buffer): number
  start_polling (): void
  close (): void
  stats (): { ps_recv: number, ps_drop: number, ps_ifdrop: number }
  read_callback?: () => void
}

const capLinkTypes: Record<string, number> = {
  ETHERNET: LinkType.ETHERNET,
  NULL: LinkType.NULL,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  RAW: LinkType.RAW
}

const nodePcapLinkTypes: Record<string, number> = {
  LINKTYPE_ETHERNET: LinkType.ETHERNET,
  LINKTYPE_NULL: LinkType.NULL,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  LINKTYPE_RAW: LinkType.RAW
}

const defaultBufferSize = 8 * 1024 * 1024
const capMaxFrame = 65535

function captureError (iface: string, what: string, err: unknown): TopoflowError {
  const message = err instanceof Error ? err.message : String(err)
  return new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Cannot capture on ${iface}: ${what}: ${message}`, { cause: err, context: { iface } })
}

function loadModule<T> (name: string, iface: string): T {
  try {
    return require(name) as T
  } catch (err) {
    throw captureError(iface, `the ${name} binding is not available (native addon not built?)`, err)
  }
}

/** Best wire length of a frame cut at 64 KiB by cap: the IP length fields when present. */
export function wireLengthFromHeaders (linkType: number, data: Buffer, fallback: number): number {
  let o = 0
  let etherType = 0
  if (linkType === LinkType.ETHERNET) {
    if (data.length < 14) return fallback
    o = 12
    etherType = data.readUInt16BE(o)
    while ((etherType === 0x8100 || etherType === 0x88a8) && o + 6 <= data.length) {
      o += 4
      etherType = data.readUInt16BE(o)
    }
    o += 2
  } else if (linkType === LinkType.RAW) {
    const v = (data[0] ?? 0) >> 4
    etherType = v === 4 ? 0x0800 : v === 6 ? 0x86dd : 0
  } else return fallback
  if (etherType === 0x0800 && o + 4 <= data.length) return Math.max(fallback, o + data.readUInt16BE(o + 2))
  if (etherType === 0x86dd && o + 6 <= data.length) return Math.max(fallback, o + 40 + data.readUInt16BE(o + 4))
  return fallback
}

export function openCap (opts: LiveOpenOptions, onPacket: (p: SourcePacket) => void): LiveHandle {
  const { Cap } = loadModule<{ Cap: new () => CapInstance }>('cap', opts.iface)
  const c = new Cap()
  const buffer = Buffer.alloc(capMaxFrame)
  let linkName: string
  try {
    linkName = c.open(opts.iface, opts.bpf, opts.bufferSize ?? defaultBufferSize, buffer)
  } catch (err) {
    throw captureError(opts.iface, opts.bpf === '' ? 'open failed' : `open failed (BPF filter "${opts.bpf}")`, err)
  }
  const linkType = capLinkTypes[linkName]
  if (linkType === undefined) {
    c.close()
    throw captureError(opts.iface, 'unsupported link type', new Error(linkName))
  }
  let received = 0
  const pkt: SourcePacket = { linkType, tsSec: 0, tsNsec: 0, data: buffer, origLen: 0 }
  const snaplen = opts.snaplen
  c.on('packet', (nbytes, truncated) => {
    received++
    const ms = performance.timeOrigin + performance.now()
    const sec = Math.floor(ms / 1000)
    pkt.tsSec = sec
    pkt.tsNsec = Math.floor((ms - sec * 1000) * 1e6)
    pkt.data = buffer.subarray(0, nbytes < snaplen ? nbytes : snaplen)
    pkt.origLen = truncated ? wireLengthFromHeaders(linkType, buffer, nbytes) : nbytes
    onPacket(pkt)
  })
  let closed = false
  return {
    linkType,
    stats: () => ({ received, dropped: 0 }),
    close: () => {
      if (closed) return
      closed = true
      c.removeAllListeners()
      c.close()
    }
  }
}

export function openNodePcap (opts: LiveOpenOptions, onPacket: (p: SourcePacket) => void): LiveHandle {
  const binding = loadModule<NodePcapBinding>('pcap/build/Release/pcap_binding.node', opts.iface)
  const session = new binding.PcapSession()
  const buf = Buffer.alloc(opts.snaplen)
  const header = Buffer.alloc(16)
  let linkType = 0
  const pkt: SourcePacket = { linkType: 0, tsSec: 0, tsNsec: 0, data: buf, origLen: 0 }
  let closed = false
  const ready = (): void => {
    if (closed) return
    const caplen = header.readUInt32LE(8)
    pkt.tsSec = header.readUInt32LE(0)
    pkt.tsNsec = header.readUInt32LE(4) * 1000
    pkt.data = buf.subarray(0, caplen)
    pkt.origLen = header.readUInt32LE(12)
    onPacket(pkt)
  }
  let linkName: string
  try {
    // Timeout 0 = immediate mode: packets are handed over as they come, like cap does.
    linkName = session.open_live(opts.iface, opts.bpf, opts.bufferSize ?? defaultBufferSize, opts.snaplen, '', ready, false, opts.bufferTimeoutMs ?? 0, () => {}, true)
  } catch (err) {
    throw captureError(opts.iface, opts.bpf === '' ? 'open failed' : `open failed (BPF filter "${opts.bpf}")`, err)
  }
  const lt = nodePcapLinkTypes[linkName]
  if (lt === undefined) {
    session.close()
    throw captureError(opts.iface, 'unsupported link type', new Error(linkName))
  }
  linkType = lt
  pkt.linkType = linkType
  // Also after close: that dispatch returns -2 and releases the socket (see close()).
  session.read_callback = () => { try { session.dispatch(buf, header) } catch { /* released */ } }
  session.start_polling()
  let last: SourceStats = { received: 0, dropped: 0 }
  return {
    linkType,
    stats: () => {
      if (closed) return last
      try {
        const s = session.stats()
        last = { received: s.ps_recv, dropped: s.ps_drop + s.ps_ifdrop }
      } catch { /* closed under us: keep the last counters */ }
      return last
    },
    close: () => {
      if (closed) return
      last = (() => { try { const s = session.stats(); return { received: s.ps_recv, dropped: s.ps_drop + s.ps_ifdrop } } catch { return last } })()
      closed = true
      session.close()
      // After the break, the next dispatch returns -2 and releases the socket and the poll.
      try { session.dispatch(buf, header) } catch { /* already released */ }
    }
  }
}

export function openLive (backend: LiveBackend, opts: LiveOpenOptions, onPacket: (p: SourcePacket) => void): LiveHandle {
  return backend === 'pcap' ? openNodePcap(opts, onPacket) : openCap(opts, onPacket)
}
