import type { FsReader } from './fs-reader.ts'
import type { NamespaceState } from './graph.ts'
import { defaultNameMaps, namespaceBatch, parseNamespaceDump, type NameMaps } from './ip-json.ts'
import type { CommandRunner } from './runner.ts'
import type { NamespaceInfo } from './types.ts'

export interface NamespaceReaderOptions {
  ipPath?: string
  nsenterPath?: string
  sysDir?: string
  names?: NameMaps
  timeoutMs?: number
  /** The namespace's last state: when ip prints exactly what it printed then, its parse is reused. */
  previous?: NamespaceState
}

/** Global ip options: JSON, details (link kinds, tables), extended counters, go on after a failed command. */
export const ipBatchArgs = ['-json', '-details', '-stats', '-stats', '-force', '-batch', '-']

/** The command that dumps one namespace: plain `ip` for the agent's own, `nsenter --net=<path> ip` otherwise. */
export function namespaceCommand (ns: NamespaceInfo, opts: NamespaceReaderOptions = {}): { file: string, args: string[] } {
  const ip = opts.ipPath ?? 'ip'
  if (ns.root) return { file: ip, args: [...ipBatchArgs] }
  return { file: opts.nsenterPath ?? 'nsenter', args: [`--net=${ns.path}`, ip, ...ipBatchArgs] }
}

const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1)

/**
 * Reads one namespace: links with addresses and counters, routes, neighbours and nsids in one `ip`
 * run, then bus drivers (sysfs by bus device, valid from any namespace) and, for the agent's own
 * namespace only, link speeds (/sys/class/net shows only the namespace sysfs was mounted from).
 * Throws TOPOFLOW_ERR_PROBE (retriable) when the namespace cannot be entered, e.g. it just vanished.
 */
export async function readNamespace (runner: CommandRunner, fs: FsReader, ns: NamespaceInfo, opts: NamespaceReaderOptions = {}): Promise<NamespaceState> {
  const { file, args } = namespaceCommand(ns, opts)
  const input = namespaceBatch.join('\n') + '\n'
  const runOpts: { input: string, timeoutMs?: number } = { input }
  if (opts.timeoutMs !== undefined) runOpts.timeoutMs = opts.timeoutMs
  const out = await runner.run(file, args, runOpts)
  // Idle namespaces print the same text at every resync: parsing it again would build the same dump.
  const previous = opts.previous
  const dump = previous?.raw === out ? previous.dump : parseNamespaceDump(out, opts.names ?? defaultNameMaps)
  const sysDir = opts.sysDir ?? '/sys'
  const busDrivers = new Map<number, string>()
  const speeds = new Map<number, number>()
  for (const link of dump.links) {
    if (link.parentBus !== undefined && link.parentDev !== undefined) {
      try {
        busDrivers.set(link.ifIndex, basename(await fs.readlink(`${sysDir}/bus/${link.parentBus}/devices/${link.parentDev}/driver`)))
      } catch {
        // no driver bound
      }
    }
    if (ns.root) {
      try {
        const speed = parseInt(await fs.readFile(`${sysDir}/class/net/${link.name}/speed`), 10)
        // -1 (SPEED_UNKNOWN) or reading a down link (EINVAL): no speed, as ethtool would say.
        if (Number.isInteger(speed) && speed > 0) speeds.set(link.ifIndex, speed)
      } catch {
        // the kernel offers no speed for this link
      }
    }
  }
  return { ns, dump, busDrivers, speeds, raw: out }
}
