import type { FsReader } from './fs-reader.ts'
import type { Metadata } from './types.ts'

/**
 * Host node metadata as Skydive's agent and hardware probe set it (reference §4.2): hostname, OS and
 * platform from os-release, kernel version, one CPU entry per logical CPU, isolated CPUs.
 */

/** Parses /etc/os-release: `KEY=value` lines, values optionally quoted. */
export function parseOsRelease (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const eq = line.indexOf('=')
    if (line.startsWith('#') || eq <= 0) continue
    let value = line.slice(eq + 1).trim()
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1).replace(/\\(.)/g, '$1')
    }
    out[line.slice(0, eq)] = value
  }
  return out
}

export interface CpuInfo {
  CPU: number
  VendorID: string
  Family: string
  Model: string
  Stepping: number
  PhysicalID: string
  CoreID: string
  Cores: number
  ModelName: string
  Mhz: number
  CacheSize: number
  Microcode: string
}

/** Parses /proc/cpuinfo into Skydive's CPU entries (gopsutil's fields, as integers where Skydive casts). */
export function parseCpuInfo (text: string): CpuInfo[] {
  const cpus: CpuInfo[] = []
  for (const block of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {}
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':')
      if (colon > 0) f[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
    }
    if (f.processor === undefined) continue
    const int = (v: string | undefined): number => {
      const n = parseInt(v ?? '', 10)
      return Number.isNaN(n) ? 0 : n
    }
    cpus.push({
      CPU: int(f.processor),
      VendorID: f.vendor_id ?? f['CPU implementer'] ?? '',
      Family: f['cpu family'] ?? f['CPU architecture'] ?? '',
      Model: f.model ?? f['CPU part'] ?? '',
      Stepping: int(f.stepping ?? f['CPU revision']),
      PhysicalID: f['physical id'] ?? '',
      CoreID: f['core id'] ?? '',
      Cores: int(f['cpu cores'] ?? '1'),
      ModelName: f['model name'] ?? f.Processor ?? '',
      Mhz: Math.trunc(Number(f['cpu MHz'] ?? 0) || 0),
      CacheSize: int(f['cache size']),
      Microcode: f.microcode ?? ''
    })
  }
  return cpus
}

/** Parses a kernel CPU list (`1-3,8`) as in /sys/devices/system/cpu/isolated. */
export function parseCpuList (text: string): number[] {
  const out: number[] = []
  for (const part of text.trim().split(',')) {
    if (part === '') continue
    const [a, b] = part.split('-').map(n => parseInt(n, 10))
    if (a === undefined || Number.isNaN(a)) continue
    const end = b === undefined || Number.isNaN(b) ? a : b
    for (let i = a; i <= end; i++) out.push(i)
  }
  return out
}

export interface HostFacts {
  hostname: string
  kernelRelease: string
  osRelease?: string
  cpuinfo?: string
  isolatedCpus?: string
  /** Operator metadata from config (Skydive's `agent.metadata`), merged into the node. */
  operator?: Metadata
}

export function hostMetadata (facts: HostFacts): Metadata {
  const m: Metadata = { Hostname: facts.hostname, OS: 'linux' }
  const osr = facts.osRelease === undefined ? {} : parseOsRelease(facts.osRelease)
  if (osr.ID !== undefined) m.Platform = osr.ID
  const family = osr.ID_LIKE?.split(/\s+/)[0] ?? osr.ID
  if (family !== undefined) m.PlatformFamily = family
  if (osr.VERSION_ID !== undefined) m.PlatformVersion = osr.VERSION_ID
  if (facts.kernelRelease !== '') m.KernelVersion = facts.kernelRelease
  if (facts.cpuinfo !== undefined) {
    const cpus = parseCpuInfo(facts.cpuinfo)
    if (cpus.length > 0) m.CPU = cpus
  }
  if (facts.isolatedCpus !== undefined) {
    const isolated = parseCpuList(facts.isolatedCpus)
    if (isolated.length > 0) m.IsolatedCPU = isolated
  }
  return { ...m, ...(facts.operator ?? {}) }
}

/** Reads the host facts from the usual files; each missing one just leaves its keys out. */
export async function readHostFacts (fs: FsReader, base: { hostname: string, kernelRelease: string, operator?: Metadata }): Promise<HostFacts> {
  const optional = async (path: string): Promise<string | undefined> => {
    try {
      return await fs.readFile(path)
    } catch {
      return undefined
    }
  }
  const facts: HostFacts = { ...base }
  const osRelease = await optional('/etc/os-release') ?? await optional('/usr/lib/os-release')
  const cpuinfo = await optional('/proc/cpuinfo')
  const isolated = await optional('/sys/devices/system/cpu/isolated')
  if (osRelease !== undefined) facts.osRelease = osRelease
  if (cpuinfo !== undefined) facts.cpuinfo = cpuinfo
  if (isolated !== undefined) facts.isolatedCpus = isolated
  return facts
}
