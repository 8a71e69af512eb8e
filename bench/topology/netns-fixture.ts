import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * A host full of namespaces for the topology bench: `count` named namespaces, each with lo up, and
 * `pairs` veth pairs across them (ring after ring: namespace i to i+1, then i to i+2, …). Everything is
 * made in a handful of `ip -batch` runs and removed the same way, on success, error or signal.
 */

export interface NetnsFixture {
  prefix: string
  names: string[]
  /** veth ends in all, both sides of every pair. */
  veths: number
  remove: () => void
}

const netnsDir = '/var/run/netns'

function ipBatch (lines: string[], netns?: string): void {
  const args = [...(netns === undefined ? [] : ['-n', netns]), '-force', '-batch', '-']
  const r = spawnSync('ip', args, { input: lines.join('\n') + '\n', encoding: 'utf8' })
  if (r.error !== undefined) throw new Error(`Cannot run ip: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`ip -batch failed (${r.status ?? 'signal'}): ${r.stderr.trim().split('\n').slice(0, 3).join('; ')}`)
}

function existing (prefix: string): string[] {
  try {
    return readdirSync(netnsDir).filter(n => n.startsWith(prefix))
  } catch {
    return []
  }
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Namespaces a crashed earlier run of this bench left behind (its pid is in the name and is gone). */
export function removeOrphans (base: string): number {
  const owners = new Set<number>()
  for (const name of existing(base)) {
    const pid = Number(/^(\d+)-/.exec(name.slice(base.length))?.[1])
    if (Number.isInteger(pid) && !pidAlive(pid)) owners.add(pid)
  }
  let removed = 0
  for (const pid of owners) {
    const names = existing(`${base}${pid}-`)
    ipBatch(names.map(n => `netns del ${n}`))
    removed += names.length
  }
  return removed
}

export function createFixture (opts: { base: string, count: number, pairs: number }): NetnsFixture {
  if (opts.count < 3) throw new Error(`Expected at least 3 namespaces, got ${opts.count}`)
  if (opts.pairs > opts.count * Math.floor((opts.count - 1) / 2)) throw new Error(`${opts.pairs} veth pairs do not fit in rings over ${opts.count} namespaces`)
  const prefix = `${opts.base}${process.pid}-`
  const names = Array.from({ length: opts.count }, (_, i) => `${prefix}${i}`)
  let removed = false
  const remove = (): void => {
    if (removed) return
    removed = true
    const left = existing(prefix)
    if (left.length > 0) ipBatch(left.map(n => `netns del ${n}`))
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    remove()
    process.kill(process.pid, signal)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.once('exit', remove)
  try {
    ipBatch(names.map(n => `netns add ${n}`))
    // Ring r joins namespace i to i+r: each namespace gets `n<r>` towards i+r and `p<r>` from i-r.
    // No IPv6 link-local addresses on the veths: no duplicate address detection, router solicitations or
    // MLD reports, so their counters stay still and "nothing changes" holds for the whole run.
    const up = new Map<string, string[]>(names.map(n => [n, ['link set lo up']]))
    const links: string[] = []
    for (let k = 0; k < opts.pairs; k++) {
      const ring = 1 + Math.floor(k / opts.count)
      const i = k % opts.count
      const a = names[i] as string
      const b = names[(i + ring) % opts.count] as string
      links.push(`link add name n${ring} netns ${a} type veth peer name p${ring} netns ${b}`)
      up.get(a)?.push(`link set n${ring} addrgenmode none`, `link set n${ring} up`)
      up.get(b)?.push(`link set p${ring} addrgenmode none`, `link set p${ring} up`)
    }
    ipBatch(links)
    for (const [ns, lines] of up) ipBatch(lines, ns)
  } catch (err) {
    remove()
    throw err
  }
  return { prefix, names, veths: opts.pairs * 2, remove }
}

/** `ip -json -details link show` in every given namespace (and the host's own), one after another. */
export function ipLinkLoop (names: readonly string[]): { seconds: number, cpuSeconds: number, links: number } {
  const cpu0 = childCpuSeconds()
  const t0 = process.hrtime.bigint()
  let links = 0
  for (const ns of [undefined, ...names]) {
    const out = execFileSync('ip', [...(ns === undefined ? [] : ['-n', ns]), '-json', '-details', 'link', 'show'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    links += (JSON.parse(out) as unknown[]).length
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: childCpuSeconds() - cpu0, links }
}

/** CPU of the children this process has waited for (cutime + cstime of /proc/self/stat). */
function childCpuSeconds (): number {
  const t = procTimes('self')
  return t === undefined ? 0 : (t.cutime + t.cstime) / clockTicks
}

export const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

export interface ProcTimes { ppid: number, utime: number, stime: number, cutime: number, cstime: number }

/** Fields 4 and 14–17 of /proc/<pid>/stat, in clock ticks; undefined once the process is gone. */
export function procTimes (pid: number | 'self'): ProcTimes | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/).map(Number)
  return { ppid: f[1] ?? 0, utime: f[11] ?? 0, stime: f[12] ?? 0, cutime: f[13] ?? 0, cstime: f[14] ?? 0 }
}

/** Nanoseconds on CPU of every thread of a process (/proc/<pid>/task/<tid>/schedstat, first field): exact, where stat rounds to ticks. */
function runtimeSeconds (pid: number): number {
  let ns = 0
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return 0
  }
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // the thread ended
    }
  }
  return ns / 1e9
}

export interface TreeCpu {
  /** The process itself, all its threads. */
  own: number
  /** Its descendants: those still running, and those that ended and were reaped (cutime, cstime). */
  children: number
}

/**
 * CPU seconds of a process and everything below it. Running descendants are read one by one, since
 * the kernel adds a child's time to its parent's cutime only once the child exits and is reaped.
 */
export function treeCpu (root: number): TreeCpu {
  const stats = new Map<number, ProcTimes>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const t = procTimes(Number(entry))
    if (t !== undefined) stats.set(Number(entry), t)
  }
  const children = new Map<number, number[]>()
  for (const [pid, t] of stats) children.set(t.ppid, [...(children.get(t.ppid) ?? []), pid])
  const reaped = (pid: number): number => {
    const t = stats.get(pid)
    return t === undefined ? 0 : (t.cutime + t.cstime) / clockTicks
  }
  let below = reaped(root)
  const stack = [...(children.get(root) ?? [])]
  while (stack.length > 0) {
    const pid = stack.pop() as number
    below += runtimeSeconds(pid) + reaped(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  return { own: runtimeSeconds(root), children: below }
}

/** Every descendant of a process, with its start time (field 22 of stat), to tell it from a later reuse of its pid. */
export function descendants (root: number): Map<number, string> {
  const parents = new Map<number, number>()
  const starts = new Map<number, string>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
      parents.set(Number(entry), Number(f[1]))
      starts.set(Number(entry), f[19] ?? '')
    } catch {
      // gone
    }
  }
  const out = new Map<number, string>()
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop() as number
    for (const [child, parent] of parents) {
      if (parent !== pid || out.has(child)) continue
      out.set(child, starts.get(child) ?? '')
      stack.push(child)
    }
  }
  return out
}

/** Kills those of `pids` still running as the same processes (same start time): an agent killed mid-close leaves its children behind. */
export function killLeftovers (pids: ReadonlyMap<number, string>): number {
  let killed = 0
  for (const [pid, start] of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
      if (text.slice(text.lastIndexOf(')') + 2).split(' ')[19] !== start) continue
      process.kill(pid, 'SIGKILL')
      killed++
    } catch {
      // already gone
    }
  }
  return killed
}
