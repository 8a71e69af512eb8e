import { TopoflowError } from '@topoflow/core'
import type { FsReader } from './fs-reader.ts'
import type { NamespaceInfo } from './types.ts'

/** Directories where tools bind-mount namespaces they name: iproute2, and Docker. */
export const defaultNetnsDirs = ['/var/run/netns', '/var/run/docker/netns']

/** The directories of named namespaces for config `netns.run_path` ('' = none); Docker's is always looked at. */
export function namespaceDirs (runPath: string): string[] {
  return runPath === '' ? ['/var/run/docker/netns'] : [runPath, '/var/run/docker/netns']
}

export interface DiscoveryOptions {
  netnsDirs?: readonly string[]
  procDir?: string
  /** Processes of the agent itself (its `ip monitor` children) that must not keep a namespace "alive". */
  excludePids?: ReadonlySet<number>
  /** What earlier scans learnt, so that this one looks only at new processes; see {@link ProcessNamespaces}. */
  processes?: ProcessNamespaces
  /** With `processes`: look at every process again (and refill it). */
  full?: boolean
}

export interface DiscoveryResult {
  root: NamespaceInfo
  /** The root namespace first, then the others by inode. */
  namespaces: NamespaceInfo[]
  /** /proc entries or netns files that could not be read (process gone, permission denied). */
  skipped: number
}

const netLinkPattern = /^net:\[(\d+)\]$/

/** Inode out of a `/proc/<pid>/ns/net` link target, `net:[4026531833]`. */
export function parseNetnsLink (target: string): number | undefined {
  const m = netLinkPattern.exec(target)
  return m === null ? undefined : Number(m[1])
}

export function isPidEntry (name: string): boolean {
  return /^[1-9]\d*$/.test(name)
}

/**
 * Finds every network namespace: the agent's own (root), the bind-mounted ones in the netns
 * directories, and the anonymous ones only processes hold (containers, pods), deduplicated by inode.
 * Anything unreadable is skipped and counted; only an unreadable root namespace is fatal.
 */
export async function discoverNamespaces (fs: FsReader, opts: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const procDir = opts.procDir ?? '/proc'
  const excluded = opts.excludePids ?? new Set<number>()
  let skipped = 0

  let rootStat: { ino: number, dev: number }
  try {
    rootStat = await fs.stat(`${procDir}/self/ns/net`)
  } catch (err) {
    throw new TopoflowError('TOPOFLOW_ERR_PROBE', `Cannot read the agent's own network namespace at ${procDir}/self/ns/net`, { cause: err })
  }
  const root: NamespaceInfo = {
    key: String(rootStat.ino),
    inode: rootStat.ino,
    device: rootStat.dev,
    path: `${procDir}/self/ns/net`,
    name: 'root',
    named: false,
    root: true
  }
  const found = new Map<number, NamespaceInfo>([[root.inode, root]])

  for (const dir of opts.netnsDirs ?? defaultNetnsDirs) {
    let entries: string[]
    try {
      entries = await fs.readdir(dir)
    } catch {
      continue // the directory only exists once a tool created a namespace there
    }
    for (const name of entries.sort()) {
      const path = `${dir}/${name}`
      try {
        const s = await fs.stat(path)
        if (found.has(s.ino)) continue
        found.set(s.ino, { key: String(s.ino), inode: s.ino, device: s.dev, path, name, named: true, root: false })
      } catch {
        skipped++ // an unmounted leftover file, or removed since readdir
      }
    }
  }

  const processes = opts.processes ?? new ProcessNamespaces(fs, procDir)
  const byPid = await processes.read(excluded, opts.processes === undefined || opts.full === true)
  skipped += byPid.skipped
  for (const [pid, inode] of byPid.namespaces) {
    if (found.has(inode)) continue
    const path = `${procDir}/${pid}/ns/net`
    let device = processes.devices.get(inode)
    if (device === undefined) {
      try {
        device = (await fs.stat(path)).dev
      } catch {
        skipped++
        continue
      }
    }
    found.set(inode, { key: String(inode), inode, device, path, name: `net:[${inode}]`, named: false, root: false })
  }
  processes.keepDevices(found)

  const others = [...found.values()].filter(ns => !ns.root).sort((a, b) => a.inode - b.inode)
  return { root, namespaces: [root, ...others], skipped }
}

/**
 * The network namespace of every process, as /proc/<pid>/ns/net tells it. A process is looked up in
 * the first two reads that list it (a new process often enters its own namespace just after it
 * starts: `unshare -n`, container runtimes) and then remembered until it leaves /proc. Later it
 * changes namespace only by entering another one itself (setns, unshare), which a full read (the
 * periodic resync) catches. Pids are not reused within the seconds between two reads, so a listed pid
 * is the process seen before.
 */
export class ProcessNamespaces {
  private readonly fs: FsReader
  private readonly procDir: string
  /**
   * pid → netns inode (undefined: unreadable, e.g. a zombie), whether two reads agreed on it, and the
   * read that last listed it. Updated in place: these live long, and garbage that lived long is dear.
   */
  private readonly known = new Map<number, { inode: number | undefined, settled: boolean, seen: number }>()
  private reads = 0
  /** Netns inode → st_dev of its nsfs file, for the namespaces found last time. */
  readonly devices = new Map<number, number>()

  constructor (fs: FsReader, procDir = '/proc') {
    this.fs = fs
    this.procDir = procDir
  }

  /**
   * `[pid, netns inode]` of every listed process not excluded, lowest pid first; `skipped` counts the
   * processes that could not be read this time (gone since listed, or unreadable and new).
   */
  async read (excluded: ReadonlySet<number>, full: boolean): Promise<{ namespaces: Array<[number, number]>, skipped: number }> {
    let pids: number[]
    try {
      pids = (await this.fs.readdir(this.procDir)).filter(isPidEntry).map(Number).sort((a, b) => a - b)
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_PROBE', `Cannot list processes in ${this.procDir}`, { cause: err })
    }
    const read = ++this.reads
    const namespaces: Array<[number, number]> = []
    let skipped = 0
    for (const pid of pids) {
      if (excluded.has(pid)) continue
      let entry = this.known.get(pid)
      if (full || entry === undefined || !entry.settled) {
        let inode: number | undefined
        try {
          inode = parseNetnsLink(await this.fs.readlink(`${this.procDir}/${pid}/ns/net`))
        } catch {
          // exited since readdir, or a process we may not inspect: counted once
          if (entry === undefined || entry.inode !== undefined) skipped++
        }
        if (entry === undefined) {
          entry = { inode, settled: false, seen: read }
          this.known.set(pid, entry)
        } else {
          entry.settled = entry.inode === inode
          entry.inode = inode
        }
      }
      entry.seen = read
      if (entry.inode !== undefined) namespaces.push([pid, entry.inode])
    }
    for (const [pid, entry] of this.known) if (entry.seen !== read) this.known.delete(pid)
    return { namespaces, skipped }
  }

  /** Keeps the devices of the namespaces found, and only those. */
  keepDevices (found: ReadonlyMap<number, { device: number }>): void {
    for (const inode of this.devices.keys()) if (!found.has(inode)) this.devices.delete(inode)
    for (const [inode, ns] of found) if (this.devices.get(inode) !== ns.device) this.devices.set(inode, ns.device)
  }
}

/**
 * `<tasks> <last pid>` from /proc/loadavg (`0.10 0.20 0.30 2/549 31772`): both stand still only while
 * no process or thread starts or ends. Undefined where the file cannot be read or parsed.
 */
export async function readProcessChurn (fs: FsReader, procDir = '/proc'): Promise<string | undefined> {
  let text: string
  try {
    text = await fs.readFile(`${procDir}/loadavg`)
  } catch {
    return undefined
  }
  const f = text.trim().split(/\s+/)
  const tasks = /^\d+\/(\d+)$/.exec(f[3] ?? '')?.[1]
  const lastPid = f[4]
  return tasks === undefined || lastPid === undefined || !/^\d+$/.test(lastPid) ? undefined : `${tasks} ${lastPid}`
}

/**
 * Tells whether a scan of /proc for anonymous namespaces could find anything the last one did not.
 * An anonymous namespace comes and goes with the processes that hold it, and processes starting or
 * ending move /proc/loadavg's task count or last pid: while neither moved since the last scan began,
 * the scan is skipped. One more scan follows any movement, for a process made just before a scan that
 * entered its new namespace just after (`unshare -n`). A process that already ran and then enters
 * another namespace moves nothing: the agent's periodic resync, which scans anyway, finds it.
 */
export class ProcessScanGate {
  private readonly fs: FsReader
  private readonly procDir: string
  private atLastScan: string | undefined
  private settled = false

  constructor (fs: FsReader, procDir = '/proc') {
    this.fs = fs
    this.procDir = procDir
  }

  /** To call as a scan of /proc begins. */
  async scanning (): Promise<void> {
    const now = await readProcessChurn(this.fs, this.procDir)
    this.settled = now !== undefined && now === this.atLastScan
    this.atLastScan = now
  }

  /** false when no process started or ended since the last scan began (and none just before it). */
  async worthScanning (): Promise<boolean> {
    if (!this.settled) return true
    const now = await readProcessChurn(this.fs, this.procDir)
    return now === undefined || now !== this.atLastScan
  }
}
