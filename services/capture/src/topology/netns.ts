import { TopoflowError } from '@topoflow/core'
import type { FsReader } from './fs-reader.ts'
import type { NamespaceInfo } from './types.ts'
import { mapLimit } from './util.ts'

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

  let pids: number[] = []
  try {
    pids = (await fs.readdir(procDir)).filter(isPidEntry).map(Number).sort((a, b) => a - b)
  } catch (err) {
    throw new TopoflowError('TOPOFLOW_ERR_PROBE', `Cannot list processes in ${procDir}`, { cause: err })
  }
  const links = await mapLimit(pids, 32, async (pid) => {
    if (excluded.has(pid)) return undefined
    try {
      return { pid, inode: parseNetnsLink(await fs.readlink(`${procDir}/${pid}/ns/net`)) }
    } catch {
      skipped++ // exited since readdir, or a process we may not inspect
      return undefined
    }
  })
  for (const entry of links) {
    if (entry?.inode === undefined || found.has(entry.inode)) continue
    const path = `${procDir}/${entry.pid}/ns/net`
    let device = 0
    try {
      device = (await fs.stat(path)).dev
    } catch {
      skipped++
      continue
    }
    found.set(entry.inode, { key: String(entry.inode), inode: entry.inode, device, path, name: `net:[${entry.inode}]`, named: false, root: false })
  }

  const others = [...found.values()].filter(ns => !ns.root).sort((a, b) => a.inode - b.inode)
  return { root, namespaces: [root, ...others], skipped }
}
