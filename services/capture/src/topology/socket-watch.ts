import type { FsReader } from './fs-reader.ts'
import { ProcessNamespaces } from './netns.ts'
import { parseStatComm, scanSockets, type NamespaceTables, type SocketScanResult } from './sockets.ts'

/**
 * Socket scans that only pay for what changed. A plain scan walks every fd of every process and
 * reads each namespace's socket tables, and /proc/<pid>/net/tcp{,6} walks the kernel's whole
 * established hash: milliseconds of kernel time per namespace, whatever few sockets it holds.
 * Before scanning, the watcher reads a few small counters per namespace that move whenever a
 * socket is made, closed, connected or accepted, plus the identity of the processes that owned
 * sockets last time. Nothing moved: the last table stands. Something moved: a scan runs, reading
 * again only the tables of namespaces whose counters moved, and of those holding the other end of
 * their TCP connections (closing one end moves the other to CLOSE_WAIT, and no counter there says
 * so); tables the counts say are empty are never read. The fds are walked only when a table holds a
 * socket the last walk did not see. Every `fullScanMs` a scan reads every table regardless, for what
 * the counters cannot see (a socket half-closed by a peer on another host, a UDP socket connected
 * after it was bound), and checks that each owner still holds its sockets (a forking server's parent
 * closes what its child goes on with, a socket is handed to another process): if one does not, every
 * process's fds are walked again.
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

/**
 * The number after `<field>` on the line of `protocol` in sockstat text (`TCP: inuse 3 orphan 0 tw 1
 * alloc 9 mem 2`). Read without splitting: this runs for every namespace at every socket interval.
 */
function countOf (text: string, protocol: string, field: string): number | undefined {
  const head = `${protocol}: `
  const start = text.startsWith(head) ? 0 : text.indexOf(`\n${head}`) + 1
  if (start === 0 && !text.startsWith(head)) return undefined
  const lineEnd = text.indexOf('\n', start)
  const at = text.indexOf(` ${field} `, start)
  if (at < 0 || (lineEnd >= 0 && at > lineEnd)) return undefined
  let n = 0
  let digits = 0
  for (let i = at + field.length + 2; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48
    if (c < 0 || c > 9) break
    n = n * 10 + c
    digits++
  }
  return digits === 0 ? undefined : n
}

/**
 * A namespace's own socket counts from `/proc/<pid>/net/sockstat{,6}`. Left out: `orphan` and `alloc`,
 * which count every TCP socket of the host (a socket made anywhere would move every namespace's
 * counts), and memory, which moves with traffic alone. TIME_WAIT (`tw`) counts both families.
 */
export interface SocketCounts {
  tcp?: number
  tw?: number
  udp?: number
  tcp6?: number
  udp6?: number
}

export function socketCounts (sockstat: string, sockstat6: string): SocketCounts {
  const out: SocketCounts = {}
  const set = (key: keyof SocketCounts, value: number | undefined): void => { if (value !== undefined) out[key] = value }
  set('tcp', countOf(sockstat, 'TCP', 'inuse'))
  set('tw', countOf(sockstat, 'TCP', 'tw'))
  set('udp', countOf(sockstat, 'UDP', 'inuse'))
  set('tcp6', countOf(sockstat6, 'TCP6', 'inuse'))
  set('udp6', countOf(sockstat6, 'UDP6', 'inuse'))
  return out
}

const snmpTcpCounters = new Set(['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'CurrEstab'])

/**
 * The counters of one namespace that change when its TCP or UDP sockets are created, destroyed or
 * change between listening, connecting, established and closing: its socket counts (sockstat) and
 * the TCP opens and current-established counters of `/proc/<pid>/net/snmp` (segment counters, which
 * move with traffic alone, left out), as one comparable text.
 */
export function socketCounters (sockstat: string, sockstat6: string, snmp: string, counts = socketCounts(sockstat, sockstat6)): string {
  const lines: string[] = []
  if (counts.tcp !== undefined) lines.push(`TCP: inuse ${counts.tcp}${counts.tw === undefined ? '' : ` tw ${counts.tw}`}`)
  if (counts.udp !== undefined) lines.push(`UDP: inuse ${counts.udp}`)
  if (counts.tcp6 !== undefined) lines.push(`TCP6: inuse ${counts.tcp6}`)
  if (counts.udp6 !== undefined) lines.push(`UDP6: inuse ${counts.udp6}`)
  const header = snmp.startsWith('Tcp: ') ? 0 : snmp.indexOf('\nTcp: ') + 1
  if (header > 0 || snmp.startsWith('Tcp: ')) {
    const headerEnd = snmp.indexOf('\n', header)
    const valuesEnd = headerEnd < 0 ? -1 : snmp.indexOf('\n', headerEnd + 1)
    const names = snmp.slice(header, headerEnd < 0 ? undefined : headerEnd).trim().split(' ')
    const values = headerEnd < 0 ? [] : snmp.slice(headerEnd + 1, valuesEnd < 0 ? undefined : valuesEnd).trim().split(' ')
    if (values[0] === 'Tcp:') lines.push(names.map((n, i) => snmpTcpCounters.has(n) ? `${n}=${values[i] ?? ''}` : '').filter(x => x !== '').join(' '))
  }
  return lines.join('\n')
}

/** The namespaces holding the other end of a TCP connection of one of `namespaces`, by the last tables. */
export function peerNamespaces (connections: ReadonlyMap<number, readonly string[]>, namespaces: ReadonlySet<number>): Set<number> {
  const out = new Set<number>()
  if (namespaces.size === 0) return out
  const wanted = new Set<string>()
  for (const ns of namespaces) {
    for (const key of connections.get(ns) ?? []) {
      const [local = '', remote = ''] = key.split('>')
      wanted.add(`${remote}>${local}`)
    }
  }
  if (wanted.size === 0) return out
  for (const [ns, keys] of connections) {
    if (namespaces.has(ns)) continue
    if (keys.some(k => wanted.has(k))) out.add(ns)
  }
  return out
}

/**
 * The socket tables of a namespace that its counts say are empty. Reading /proc/<pid>/net/tcp{,6}
 * walks the kernel's whole established hash (milliseconds each, however few sockets the namespace
 * has), so a namespace without TCP sockets is not worth it, even for a full scan. A table lists the
 * sockets the counts count: bound UDP sockets (`inuse`), listening and connected TCP sockets
 * (`inuse`; a half-open connection implies a listener) and TIME_WAIT (`tw`, IPv4 and IPv6 together).
 * A count that cannot be read empties nothing.
 */
export function emptyTables (counts: SocketCounts): Set<string> {
  const out = new Set<string>()
  if (counts.tcp === 0 && counts.tw === 0) out.add('tcp')
  if (counts.tcp6 === 0 && counts.tw === 0) out.add('tcp6')
  if (counts.udp === 0) out.add('udp')
  if (counts.udp6 === 0) out.add('udp6')
  return out
}

interface NamespaceCounters {
  counters: string
  empty: Set<string>
  /** Its processes, lowest pid first. */
  pids: number[]
}

export class SocketWatcher {
  private readonly fs: FsReader
  private readonly procDir: string
  private readonly excludePids: ReadonlySet<number>
  private readonly fullScanMs: number
  private readonly now: () => number
  private readonly processes: ProcessNamespaces
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
    this.processes = new ProcessNamespaces(fs, this.procDir)
  }

  async scan (): Promise<WatchedScan> {
    const now = this.now()
    const full = this.last === undefined || now - this.lastFull >= this.fullScanMs
    const counters = await this.readCounters(full)
    const owners = await this.readOwners([...this.owners.keys()])
    const ownersMoved = [...this.owners].some(([pid, id]) => owners.get(pid) !== id)
    const moved = new Set([...counters].filter(([ns, c]) => this.counters.get(ns) !== c.counters).map(([ns]) => ns))
    if (!full && !ownersMoved && moved.size === 0 && counters.size === this.counters.size && this.last !== undefined) {
      // The processes skipped then were counted then.
      return { ...this.last, skippedProcesses: 0, skippedTables: 0, reused: true, full: false, walked: false }
    }
    const previous = this.last
    // The ends of connections from namespaces that moved, or whose last process left, may have moved too.
    const left = [...this.counters.keys()].filter(ns => !counters.has(ns))
    if (previous !== undefined) for (const ns of peerNamespaces(previous.connections, new Set([...moved, ...left]))) moved.add(ns)
    const result = await scanSockets(this.fs, {
      procDir: this.procDir,
      excludePids: this.excludePids,
      skipTable: (ns, file) => counters.get(ns)?.empty.has(file) === true,
      readers: new Map([...counters].map(([ns, c]) => [ns, c.pids])),
      // The fds are walked again only for sockets the last walk did not see, unless an owner went;
      // a full scan checks that the owners still hold their sockets.
      ...(ownersMoved || previous === undefined ? {} : { knownOwners: previous.owners, verifyOwners: full }),
      ...(full || previous === undefined
        ? {}
        : { reuseTables: (ns: number): NamespaceTables | undefined => moved.has(ns) ? undefined : previous.tables.get(ns) })
    })
    this.last = result
    if (full) this.lastFull = now
    this.counters = new Map([...counters].map(([ns, c]) => [ns, c.counters]))
    this.owners = await this.readOwners([...new Set(result.sockets.map(s => s.Pid))])
    return { ...result, reused: false, full }
  }

  /** The processes of each namespace, and its counters read through the lowest pid not excluded. */
  private async readCounters (full: boolean): Promise<Map<number, NamespaceCounters>> {
    const out = new Map<number, NamespaceCounters>()
    let processes: Array<[number, number]>
    try {
      processes = (await this.processes.read(this.excludePids, full)).namespaces
    } catch {
      return out
    }
    for (const [pid, ns] of processes) {
      const known = out.get(ns)
      if (known !== undefined) {
        known.pids.push(pid)
        continue
      }
      const read = async (file: string): Promise<string> => {
        try {
          return await this.fs.readFile(`${this.procDir}/${pid}/net/${file}`)
        } catch {
          return '' // IPv6 off, or the process just left: a scan will sort it out
        }
      }
      const [sockstat, sockstat6] = [await read('sockstat'), await read('sockstat6')]
      const counts = socketCounts(sockstat, sockstat6)
      const empty = emptyTables(counts)
      // The TCP counters of snmp tell a socket replaced by another; with no TCP socket there is none to tell.
      const snmp = empty.has('tcp') && empty.has('tcp6') ? '' : await read('snmp')
      out.set(ns, { counters: socketCounters(sockstat, sockstat6, snmp, counts), empty, pids: [pid] })
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
