import type { FsReader } from './fs-reader.ts'
import { isPidEntry, parseNetnsLink } from './netns.ts'
import { parseStatComm, scanSockets, type NamespaceTables, type SocketScanResult } from './sockets.ts'

/**
 * Socket scans that only pay for what changed. A full scan walks every fd of every process and
 * reads each namespace's socket tables, and /proc/<pid>/net/tcp{,6} walks the kernel's whole
 * established hash: milliseconds of kernel time per namespace, whatever few sockets it holds.
 * Before scanning, the watcher reads a few small counters per namespace that move whenever a
 * socket is made, closed, connected or accepted, plus the identity of the processes that owned
 * sockets last time. Nothing moved: the last table stands. Something moved: a scan runs, reading
 * again only the tables of namespaces whose counters moved. Every `fullScanMs` a scan reads
 * everything regardless, for what the counters cannot see (a socket half-closed by its peer, a UDP
 * socket connected after it was bound, a socket handed to another process).
 */

export interface SocketWatchOptions {
  procDir?: string
  excludePids?: ReadonlySet<number>
  /** Longest time between two scans that read every table. */
  fullScanMs: number
  now?: () => number
}

export interface WatchedScan extends SocketScanResult {
  /** true when nothing moved and this is the previous scan's table. */
  reused: boolean
  /** true when every table was read. */
  full: boolean
}

/** `TCP: inuse 3 orphan 0 tw 1 alloc 9 mem 2` → `TCP inuse 3 orphan 0 tw 1 alloc 9`: memory moves with traffic alone. */
function countersOf (line: string): string {
  const f = line.trim().split(/\s+/)
  const out = [f[0] ?? '']
  for (let i = 1; i + 1 < f.length; i += 2) if (f[i] !== 'mem' && f[i] !== 'memory') out.push(f[i] as string, f[i + 1] as string)
  return out.join(' ')
}

/**
 * The counters of one namespace that change when its TCP or UDP sockets are created, destroyed or
 * change between listening, connecting, established and closing: `/proc/<pid>/net/sockstat{,6}`
 * (socket counts; traffic-driven memory left out) and the TCP opens and current-established
 * counters of `/proc/<pid>/net/snmp` (segment counters left out for the same reason).
 */
export function socketCounters (sockstat: string, sockstat6: string, snmp: string): string {
  const keep = new Set(['TCP:', 'UDP:', 'TCP6:', 'UDP6:'])
  const lines = `${sockstat}\n${sockstat6}`.split('\n').filter(l => keep.has(l.trim().split(/\s+/)[0] ?? '')).map(countersOf)
  const tcp = snmp.split('\n').filter(l => l.startsWith('Tcp:'))
  if (tcp.length >= 2) {
    const names = (tcp[0] as string).trim().split(/\s+/)
    const values = (tcp[1] as string).trim().split(/\s+/)
    const wanted = new Set(['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'CurrEstab'])
    lines.push(names.map((n, i) => wanted.has(n) ? `${n}=${values[i] ?? ''}` : '').filter(x => x !== '').join(' '))
  }
  return lines.join('\n')
}

export class SocketWatcher {
  private readonly fs: FsReader
  private readonly procDir: string
  private readonly excludePids: ReadonlySet<number>
  private readonly fullScanMs: number
  private readonly now: () => number
  private last: SocketScanResult | undefined
  private lastFull = 0
  /** Namespace inode → its counters when its tables were last read. */
  private counters = new Map<number, string>()
  /** Owner pid → `start time, name, exe` when the last scan credited sockets to it. */
  private owners = new Map<number, string>()

  constructor (fs: FsReader, opts: SocketWatchOptions) {
    this.fs = fs
    this.procDir = opts.procDir ?? '/proc'
    this.excludePids = opts.excludePids ?? new Set()
    this.fullScanMs = opts.fullScanMs
    this.now = opts.now ?? Date.now
  }

  async scan (): Promise<WatchedScan> {
    const now = this.now()
    const counters = await this.readCounters()
    const owners = await this.readOwners([...this.owners.keys()])
    const full = this.last === undefined || now - this.lastFull >= this.fullScanMs
    const ownersMoved = [...this.owners].some(([pid, id]) => owners.get(pid) !== id)
    const moved = counters.size !== this.counters.size || [...counters].some(([ns, c]) => this.counters.get(ns) !== c)
    if (!full && !ownersMoved && !moved && this.last !== undefined) {
      // The processes skipped then were counted then.
      return { ...this.last, skippedProcesses: 0, skippedTables: 0, reused: true, full: false }
    }
    const previous = this.last
    const result = await scanSockets(this.fs, {
      procDir: this.procDir,
      excludePids: this.excludePids,
      ...(full || previous === undefined
        ? {}
        : { reuseTables: (ns: number): NamespaceTables | undefined => this.counters.get(ns) === counters.get(ns) ? previous.tables.get(ns) : undefined })
    })
    this.last = result
    if (full) this.lastFull = now
    this.counters = counters
    this.owners = await this.readOwners([...new Set(result.sockets.map(s => s.Pid))])
    return { ...result, reused: false, full }
  }

  /** One process per namespace (the lowest pid not excluded), and that namespace's counters through it. */
  private async readCounters (): Promise<Map<number, string>> {
    const out = new Map<number, string>()
    let entries: string[]
    try {
      entries = await this.fs.readdir(this.procDir)
    } catch {
      return out
    }
    const pids = entries.filter(isPidEntry).map(Number).filter(p => !this.excludePids.has(p)).sort((a, b) => a - b)
    const seen = new Set<number>()
    for (const pid of pids) {
      let ns: number | undefined
      try {
        ns = parseNetnsLink(await this.fs.readlink(`${this.procDir}/${pid}/ns/net`))
      } catch {
        continue // exited, or not ours to look at
      }
      if (ns === undefined || seen.has(ns)) continue
      seen.add(ns)
      const read = async (file: string): Promise<string> => {
        try {
          return await this.fs.readFile(`${this.procDir}/${pid}/net/${file}`)
        } catch {
          return '' // IPv6 off, or the process just left: a scan will sort it out
        }
      }
      out.set(ns, socketCounters(await read('sockstat'), await read('sockstat6'), await read('snmp')))
    }
    return out
  }

  private async readOwners (pids: number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>()
    for (const pid of pids) {
      try {
        const stat = await this.fs.readFile(`${this.procDir}/${pid}/stat`)
        // Start time (field 22) tells a reused pid from the process it replaces.
        const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
        out.set(pid, `${start} ${parseStatComm(stat) ?? ''} ${await this.fs.readlink(`${this.procDir}/${pid}/exe`)}`)
      } catch {
        out.set(pid, 'gone')
      }
    }
    return out
  }
}
