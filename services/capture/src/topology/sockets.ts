import { formatIPv6 } from '../flow/decode/bytes.ts'
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

/** `0100007F:0050` → 127.0.0.1, 80 (IPv4) or the 32-hex-digit IPv6 form. */
export function parseProcAddress (field: string): { address: string, port: number } | undefined {
  const [hexIp, hexPort] = field.split(':')
  if (hexIp === undefined || hexPort === undefined || !/^[0-9A-Fa-f]+$/.test(hexIp + hexPort)) return undefined
  const port = parseInt(hexPort, 16)
  if (hexIp.length === 8) return { address: hexWordToBytes(hexIp).join('.'), port }
  if (hexIp.length !== 32) return undefined
  const bytes: number[] = []
  for (let i = 0; i < 32; i += 8) bytes.push(...hexWordToBytes(hexIp.slice(i, i + 8)))
  // Formatted as flows format their addresses, so that the enricher's lookups meet.
  return { address: formatIPv6(Uint8Array.from(bytes), 0), port }
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
  /** Tables (`tcp`, `udp6`…) known to be empty in a namespace, taken as such without reading them. */
  skipTable?: (nsInode: number, file: string) => boolean
  /**
   * Namespace inode → processes inside it, lowest pid first, to read its tables through. Given, the
   * tables are read first and the processes' fds walked only for sockets `knownOwners` does not list.
   * Not given: the namespaces are those of the processes that hold sockets, found by walking every fd.
   */
  readers?: ReadonlyMap<number, readonly number[]>
  /** Socket inode → its owner (null: none) as a walk after those tables were read found them. */
  knownOwners?: ReadonlyMap<number, number | null>
  /**
   * With `knownOwners`: walk the fds of the known owners to check that each still holds what it is
   * credited with (a forking server's parent closes what its child goes on with; a socket handed over
   * is closed by its sender), and every process's only if one does not.
   */
  verifyOwners?: boolean
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
  /** By namespace inode, its TCP connections (owned or not) as {@link connectionKey}s. */
  connections: Map<number, string[]>
  /** Every socket inode of the tables → its owner, null when no process holds it. */
  owners: Map<number, number | null>
  /** Whether every process's fds were walked (false: the owners were all known). */
  walked: boolean
}

/** One end of a TCP connection, `[local]:port>[remote]:port`; swapping the ends gives the other end's key. */
export function connectionKey (localAddress: string, localPort: number, remoteAddress: string, remotePort: number): string {
  return `[${localAddress}]:${localPort}>[${remoteAddress}]:${remotePort}`
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
    return { sockets: [], namespaces: 0, skippedProcesses: 1, skippedTables: 0, unowned: 0, tables: new Map(), connections: new Map(), owners: new Map(), walked: false }
  }

  /** Socket inodes in the fds of `among` (lowest first): owner = the lowest pid holding one; and the namespaces of holders. */
  const walk = async (among = pids): Promise<{ ownerOfInode: Map<number, number>, pidsByNs: Map<number, number[]> }> => {
    const ownerOfInode = new Map<number, number>()
    const pidsByNs = new Map<number, number[]>()
    const perPid = await mapLimit(among, 16, async (pid) => {
      try {
        // With readers given, the holders' namespaces are not needed.
        const ns = opts.readers === undefined ? parseNetnsLink(await fs.readlink(`${procDir}/${pid}/ns/net`)) : undefined
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
    return { ownerOfInode, pidsByNs }
  }

  let walked = opts.readers === undefined ? await walk() : undefined
  const readers = opts.readers ?? walked?.pidsByNs ?? new Map<number, number[]>()

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
  const readTables = async (nsInode: number, nsPids: readonly number[]): Promise<NamespaceTables | undefined> => {
    for (const pid of nsPids) {
      const tables: NamespaceTables = []
      try {
        for (const [file, protocol] of protocolFiles) {
          if (opts.skipTable?.(nsInode, file) === true) {
            tables.push(['', protocol])
            continue
          }
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

  const usedTables = new Map<number, NamespaceTables>()
  const connections = new Map<number, string[]>()
  const parsed: Array<{ protocol: 'TCP' | 'UDP', entries: ProcNetEntry[] }> = []
  const live = new Set<number>()
  for (const [nsInode, nsPids] of readers) {
    const tables = opts.reuseTables?.(nsInode) ?? await readTables(nsInode, nsPids)
    if (tables === undefined) {
      skippedTables++
      continue
    }
    usedTables.set(nsInode, tables)
    const nsConnections: string[] = []
    connections.set(nsInode, nsConnections)
    for (const [text, protocol] of tables) {
      const { entries, malformed } = parseProcNet(text)
      skippedTables += malformed
      parsed.push({ protocol, entries })
      for (const e of entries) {
        if (protocol === 'TCP' && e.remotePort !== 0) nsConnections.push(connectionKey(e.localAddress, e.localPort, e.remoteAddress, e.remotePort))
        if (e.inode !== 0) live.add(e.inode)
      }
    }
  }
  // A socket the known owners do not list (made since, or never looked for): walk every process's fds.
  const known = opts.knownOwners
  let unknown = known === undefined || [...live].some(inode => !known.has(inode))
  if (walked === undefined && !unknown && known !== undefined && opts.verifyOwners === true) {
    const credited = new Map<number, number>()
    for (const inode of live) {
      const owner = known.get(inode)
      if (owner !== null && owner !== undefined) credited.set(inode, owner)
    }
    const check = await walk([...new Set(credited.values())].sort((a, b) => a - b))
    unknown = [...credited].some(([inode, owner]) => check.ownerOfInode.get(inode) !== owner)
  }
  if (walked === undefined && unknown) walked = await walk()
  const owners = new Map<number, number | null>()
  for (const inode of live) owners.set(inode, walked === undefined ? known?.get(inode) ?? null : walked.ownerOfInode.get(inode) ?? null)

  const sockets: SocketInfo[] = []
  const seen = new Set<string>()
  for (const { protocol, entries } of parsed) {
    for (const e of entries) {
      const owner = owners.get(e.inode) ?? undefined
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

  sockets.sort(compareSockets)
  return { sockets, namespaces: usedTables.size, skippedProcesses, skippedTables, unowned, tables: usedTables, connections, owners, walked: walked !== undefined }
}
