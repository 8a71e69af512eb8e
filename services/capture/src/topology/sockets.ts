import type { FsReader } from './fs-reader.ts'
import { isPidEntry, parseNetnsLink } from './netns.ts'
import type { SocketInfo } from './types.ts'
import { mapLimit } from './util.ts'

/**
 * socketinfo: every TCP and UDP socket of every namespace with the process holding it, read from
 * /proc like Skydive's proc probe (topology/probes/socketinfo/socket_info_proc.go).
 */

/**
 * Kernel TCP states by number. Skydive's table maps 7 (CLOSE) to TIME_WAIT by mistake; we keep the
 * kernel's CLOSE, which is what skydive-flow-matrix expects for a listening UDP socket.
 */
export const tcpStates = [
  'UNKNOWN', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2',
  'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'
]

export interface ProcNetEntry {
  localAddress: string
  localPort: number
  remoteAddress: string
  remotePort: number
  state: string
  inode: number
}

function hexWordToBytes (hex: string): number[] {
  // /proc prints each 32-bit word of the address in host (little-endian) order.
  const n = parseInt(hex, 16)
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]
}

/** Formats an IPv6 address like Go's net.IP.String(): RFC 5952, and IPv4-mapped shown as IPv4. */
export function formatIPv6 (bytes: readonly number[]): string {
  const isMapped = bytes.slice(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
  if (isMapped) return bytes.slice(12).join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0))
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestLen < 2) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

/** `0100007F:0050` → 127.0.0.1, 80 (IPv4) or the 32-hex-digit IPv6 form. */
export function parseProcAddress (field: string): { address: string, port: number } | undefined {
  const [hexIp, hexPort] = field.split(':')
  if (hexIp === undefined || hexPort === undefined || !/^[0-9A-Fa-f]+$/.test(hexIp + hexPort)) return undefined
  const port = parseInt(hexPort, 16)
  if (hexIp.length === 8) return { address: hexWordToBytes(hexIp).join('.'), port }
  if (hexIp.length !== 32) return undefined
  const bytes: number[] = []
  for (let i = 0; i < 32; i += 8) bytes.push(...hexWordToBytes(hexIp.slice(i, i + 8)))
  return { address: formatIPv6(bytes), port }
}

/** Parses /proc/net/{tcp,tcp6,udp,udp6}; lines that do not parse are counted, not fatal. */
export function parseProcNet (text: string): { entries: ProcNetEntry[], malformed: number } {
  const entries: ProcNetEntry[] = []
  let malformed = 0
  const lines = text.split('\n')
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]?.trim()
    if (line === undefined || line === '') continue
    const f = line.split(/\s+/)
    const local = parseProcAddress(f[1] ?? '')
    const remote = parseProcAddress(f[2] ?? '')
    const state = parseInt(f[3] ?? '', 16)
    const inode = Number(f[9])
    if (local === undefined || remote === undefined || Number.isNaN(state) || !Number.isInteger(inode)) {
      malformed++
      continue
    }
    entries.push({
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state: tcpStates[state] ?? 'UNKNOWN',
      inode
    })
  }
  return { entries, malformed }
}

/** Process name as the kernel keeps it: the comm between the first `(` and the last `)` of /proc/<pid>/stat. */
export function parseStatComm (stat: string): string | undefined {
  const open = stat.indexOf('(')
  const close = stat.lastIndexOf(')')
  return open >= 0 && close > open ? stat.slice(open + 1, close) : undefined
}

/** The raw socket tables of one namespace, as read from /proc/<pid>/net/{tcp,tcp6,udp,udp6}. */
export type NamespaceTables = Array<[text: string, protocol: 'TCP' | 'UDP']>

export interface SocketScanOptions {
  procDir?: string
  excludePids?: ReadonlySet<number>
  /** Tables an earlier scan read, by namespace inode, to use instead of reading them again (undefined: read). */
  reuseTables?: (nsInode: number) => NamespaceTables | undefined
}

export interface SocketScanResult {
  sockets: SocketInfo[]
  /** Namespaces whose tables were read. */
  namespaces: number
  /** Processes that exited or could not be read while scanning. */
  skippedProcesses: number
  /** Table files that could not be read, or lines that did not parse. */
  skippedTables: number
  /** Sockets with no owner found (e.g. TIME_WAIT, kernel sockets) or whose owner vanished. */
  unowned: number
  /** The tables used, by namespace inode, for a later scan to reuse. */
  tables: Map<number, NamespaceTables>
}

const protocolFiles: Array<[file: string, protocol: 'TCP' | 'UDP']> = [['tcp', 'TCP'], ['tcp6', 'TCP'], ['udp', 'UDP'], ['udp6', 'UDP']]

export function compareSockets (a: SocketInfo, b: SocketInfo): number {
  return a.Protocol.localeCompare(b.Protocol) ||
    a.LocalAddress.localeCompare(b.LocalAddress) || a.LocalPort - b.LocalPort ||
    a.RemoteAddress.localeCompare(b.RemoteAddress) || a.RemotePort - b.RemotePort ||
    a.Pid - b.Pid || a.State.localeCompare(b.State)
}

/**
 * Scans /proc once: socket inodes of every process's fds, then each namespace's socket tables read
 * through one of its processes. A process that exits mid-scan just drops out.
 */
export async function scanSockets (fs: FsReader, opts: SocketScanOptions = {}): Promise<SocketScanResult> {
  const procDir = opts.procDir ?? '/proc'
  const excluded = opts.excludePids ?? new Set<number>()
  let skippedProcesses = 0
  let skippedTables = 0
  let unowned = 0

  let pids: number[]
  try {
    pids = (await fs.readdir(procDir)).filter(isPidEntry).map(Number).filter(p => !excluded.has(p)).sort((a, b) => a - b)
  } catch {
    return { sockets: [], namespaces: 0, skippedProcesses: 1, skippedTables: 0, unowned: 0, tables: new Map() }
  }

  const ownerOfInode = new Map<number, number>()
  const pidsByNs = new Map<number, number[]>()
  const perPid = await mapLimit(pids, 16, async (pid) => {
    try {
      const ns = parseNetnsLink(await fs.readlink(`${procDir}/${pid}/ns/net`))
      const fds = await fs.readdir(`${procDir}/${pid}/fd`)
      const inodes: number[] = []
      for (const fd of fds) {
        try {
          const target = await fs.readlink(`${procDir}/${pid}/fd/${fd}`)
          if (target.startsWith('socket:[')) inodes.push(Number(target.slice(8, -1)))
        } catch {
          // the fd was closed between readdir and readlink
        }
      }
      return { pid, ns, inodes }
    } catch {
      skippedProcesses++
      return undefined
    }
  })
  for (const p of perPid) {
    if (p === undefined) continue
    // Pids come in ascending order: a socket shared after fork is credited to the oldest holder.
    for (const inode of p.inodes) if (!ownerOfInode.has(inode)) ownerOfInode.set(inode, p.pid)
    if (p.ns !== undefined && p.inodes.length > 0) {
      const list = pidsByNs.get(p.ns) ?? []
      list.push(p.pid)
      pidsByNs.set(p.ns, list)
    }
  }

  const processes = new Map<number, { Process: string, Name: string } | null>()
  const processInfo = async (pid: number): Promise<{ Process: string, Name: string } | null> => {
    const cached = processes.get(pid)
    if (cached !== undefined) return cached
    let info: { Process: string, Name: string } | null = null
    try {
      const exe = await fs.readlink(`${procDir}/${pid}/exe`)
      const name = parseStatComm(await fs.readFile(`${procDir}/${pid}/stat`))
      if (name !== undefined) info = { Process: exe, Name: name }
    } catch {
      skippedProcesses++
    }
    processes.set(pid, info)
    return info
  }

  /** A namespace's tables, read through the first of its processes that is still there. */
  const readTables = async (nsPids: readonly number[]): Promise<NamespaceTables | undefined> => {
    for (const pid of nsPids) {
      const tables: NamespaceTables = []
      try {
        for (const [file, protocol] of protocolFiles) {
          try {
            tables.push([await fs.readFile(`${procDir}/${pid}/net/${file}`), protocol])
          } catch (err) {
            // IPv6 may be disabled: a missing tcp6/udp6 is fine, a missing tcp means the process left.
            if (file === 'tcp') throw err
            skippedTables++
          }
        }
      } catch {
        continue // try the namespace's next process
      }
      return tables
    }
    return undefined
  }

  const sockets: SocketInfo[] = []
  const seen = new Set<string>()
  const usedTables = new Map<number, NamespaceTables>()
  let namespaces = 0
  for (const [nsInode, nsPids] of pidsByNs) {
    const tables = opts.reuseTables?.(nsInode) ?? await readTables(nsPids)
    if (tables === undefined) {
      skippedTables++
      continue
    }
    namespaces++
    usedTables.set(nsInode, tables)
    for (const [text, protocol] of tables) {
      const { entries, malformed } = parseProcNet(text)
      skippedTables += malformed
      for (const e of entries) {
        const owner = ownerOfInode.get(e.inode)
        const info = owner === undefined || e.inode === 0 ? null : await processInfo(owner)
        if (owner === undefined || info === null) {
          unowned++
          continue
        }
        const socket: SocketInfo = {
          Process: info.Process,
          Pid: owner,
          Name: info.Name,
          LocalAddress: e.localAddress,
          LocalPort: e.localPort,
          RemoteAddress: e.remoteAddress,
          RemotePort: e.remotePort,
          Protocol: protocol,
          State: e.state
        }
        const key = `${protocol}|${e.inode}`
        if (seen.has(key)) continue
        seen.add(key)
        sockets.push(socket)
      }
    }
  }

  sockets.sort(compareSockets)
  return { sockets, namespaces, skippedProcesses, skippedTables, unowned, tables: usedTables }
}
