import { spawn, spawnSync } from 'node:child_process'
import { watch, type FSWatcher } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, basename } from 'node:path'
import type { Logger } from '@topoflow/core'
import type { NamespaceInfo } from './types.ts'

/**
 * Triggers: they only say "something changed in this namespace"; the agent then re-reads the
 * namespace through `ip -json`. That keeps one parser (the JSON one) for every namespace.
 */

export interface Watch {
  close: () => void
}

/** The part of the `netlink` npm package we use; typed here so its bundled @types/node stays out of ours. */
interface RtSocket {
  addMembership: (group: string) => void
  on: (event: 'message' | 'invalid' | 'error', listener: (...args: unknown[]) => void) => unknown
  socket: { close: () => void }
}
interface NetlinkModule {
  createRtNetlink: (opts?: { ref?: boolean }) => RtSocket
}

const rtGroups = ['LINK', 'IPV4_IFADDR', 'IPV6_IFADDR', 'IPV4_ROUTE', 'IPV6_ROUTE']

/**
 * rtnetlink notifications for the agent's own namespace through the `netlink` package (a native
 * addon). Returns undefined when the addon cannot load, so the caller can fall back to `ip monitor`.
 */
export function watchOwnNamespace (onEvent: () => void, logger: Logger): Watch | undefined {
  let mod: NetlinkModule
  try {
    mod = createRequire(import.meta.url)('netlink') as NetlinkModule
  } catch (err) {
    logger.warn({ err }, 'The netlink package could not be loaded; using ip monitor for the host namespace')
    return undefined
  }
  let sock: RtSocket
  try {
    sock = mod.createRtNetlink({ ref: false })
    for (const g of rtGroups) sock.addMembership(g)
  } catch (err) {
    logger.warn({ err }, 'Could not subscribe to rtnetlink groups; using ip monitor for the host namespace')
    return undefined
  }
  sock.on('message', () => onEvent())
  sock.on('invalid', () => onEvent())
  sock.on('error', (err) => logger.debug({ err }, 'rtnetlink socket error'))
  return { close: () => { try { sock.socket.close() } catch {} } }
}

export interface MonitorProcess extends Watch {
  pid: number | undefined
}

let deathSignal: boolean | undefined

/**
 * Whether util-linux's setpriv can ask the kernel to kill a child when the agent dies. An `ip monitor`
 * only writes (and so only notices a dead reader) when its namespace changes: one left behind by an
 * agent killed outright would hold its namespace, and the veths in it, alive for good.
 */
function canSetDeathSignal (): boolean {
  deathSignal ??= spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0
  return deathSignal
}

/** The `ip monitor` command for a namespace (killed with the agent where setpriv allows); its output is only used as a trigger. */
export function monitorCommand (ns: NamespaceInfo, opts: { ipPath?: string, nsenterPath?: string, dieWithAgent?: boolean } = {}): { file: string, args: string[] } {
  const ip = opts.ipPath ?? 'ip'
  const monitor = ['monitor', 'link', 'address', 'route']
  const command = ns.root ? [ip, ...monitor] : [opts.nsenterPath ?? 'nsenter', `--net=${ns.path}`, ip, ...monitor]
  const [file, ...args] = (opts.dieWithAgent ?? canSetDeathSignal()) ? ['setpriv', '--pdeathsig', 'KILL', ...command] : command
  return { file: file as string, args }
}

/** Runs `ip monitor` inside a namespace; every chunk of output is one trigger. */
export function spawnMonitor (cmd: { file: string, args: string[] }, onEvent: () => void, onExit: (code: number | null) => void): MonitorProcess {
  const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'ignore'] })
  let closed = false
  const exited = (code: number | null): void => {
    if (closed) return
    closed = true
    onExit(code)
  }
  child.stdout.on('data', () => onEvent())
  child.on('error', () => exited(null)) // e.g. nsenter not installed
  child.on('close', (code) => exited(code))
  return {
    pid: child.pid,
    close: () => {
      closed = true
      child.kill('SIGTERM')
    }
  }
}

/**
 * Watches the netns directories for namespaces being added or removed. A directory that does not
 * exist yet is watched for through its parent, and watched itself once it appears.
 */
export function watchNetnsDirs (dirs: readonly string[], onEvent: () => void, logger: Logger): Watch {
  const watchers = new Map<string, FSWatcher>()
  let closed = false
  const tryWatch = (path: string, listener: (file: string | null) => void): boolean => {
    if (watchers.has(path)) return true
    try {
      const w = watch(path, { persistent: false }, (_event, file) => listener(file === null ? null : String(file)))
      w.on('error', () => {
        w.close()
        watchers.delete(path)
        if (!closed) setup()
      })
      watchers.set(path, w)
      return true
    } catch {
      return false
    }
  }
  const setup = (): void => {
    for (const dir of dirs) {
      if (tryWatch(dir, () => onEvent())) continue
      const parent = dirname(dir)
      tryWatch(parent, (file) => {
        if (file === basename(dir) && tryWatch(dir, () => onEvent())) onEvent()
      })
    }
  }
  setup()
  logger.debug({ dirs: [...watchers.keys()] }, 'Watching netns directories')
  return {
    close: () => {
      closed = true
      for (const w of watchers.values()) w.close()
      watchers.clear()
    }
  }
}
