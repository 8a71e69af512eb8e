import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import type { Comparison } from '../src/report.ts'
import { createFixture, descendants, ipLinkLoop, killLeftovers, removeOrphans, treeCpu } from './netns-fixture.ts'

/**
 * The topology agent on a host with many namespaces (root: makes them, and always removes them):
 * time from start to the first full HostSync, and the agent's CPU (its own plus its children's)
 * while nothing changes, beside `ip -json -details link` run over the same namespaces.
 *
 *   node --import tsx bench/topology/topology.bench.ts [namespaces=200] [vethPairs=400] [seconds=90] [intervals JSON]
 *
 * TOPOBENCH_NODE_ARGS (e.g. `--cpu-prof`), TOPOBENCH_LOG (a file for the agent's debug log) and
 * TOPOBENCH_AGENT_MODULE (another copy's topology/index.ts, for before/after) go to the agent process.
 */

export interface TopologyBenchOptions {
  namespaces: number
  pairs: number
  /** Length of the steady CPU measurement, cut into windows one resync interval long. */
  seconds: number
  /** The agent's intervals: the capture service's defaults from the config (resync 30 s, sockets 10 s). */
  intervals: Record<string, number>
}

/** CPU over one window, in % of a core, with what the agent saw happen meanwhile. */
export interface CpuWindow {
  seconds: number
  agent: number
  children: number
  events: number
  /** Namespaces appeared or went (someone else's, on a shared host): not "nothing changing". */
  churn: boolean
}

export interface TopologyBenchResult {
  namespaces: number
  interfaces: number
  firstSyncSeconds: number
  ipLoopSeconds: number
  ipLoopCpuSeconds: number
  steadySeconds: number
  /** Over the whole measurement. */
  agentCpuPercent: number
  childrenCpuPercent: number
  windows: CpuWindow[]
  /** The median window by total CPU: what a resync interval costs, robust to bursts of others' activity. */
  median: CpuWindow
  eventsWhileSteady: number
  resyncsWhileSteady: number
  monitors: number
}

const agentScript = resolve(import.meta.dirname, 'agent-process.ts')
const namespacePrefix = 'tf-topobench-'
const defaults: TopologyBenchOptions = { namespaces: 200, pairs: 400, seconds: 90, intervals: { resync: 30_000, sockets: 10_000 } }

type Message = Record<string, unknown> & { type: string }

class AgentProcess {
  readonly child: ChildProcess
  readonly pid: number
  private readonly waiting: Array<{ type: string, resolve: (m: Message) => void }> = []
  private exited = false
  private closing = false
  private stderr = ''

  constructor (intervals: Record<string, number>) {
    const nodeArgs = (process.env.TOPOBENCH_NODE_ARGS ?? '').split(' ').filter(a => a !== '')
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', agentScript, JSON.stringify(intervals)], {
      cwd: import.meta.dirname,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    if (this.child.pid === undefined) throw new Error('Could not start the agent process')
    this.pid = this.child.pid
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr = (this.stderr + chunk).slice(-4000) })
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let msg: Message
      try {
        msg = JSON.parse(line) as Message
      } catch {
        return
      }
      const i = this.waiting.findIndex(w => w.type === msg.type)
      if (i >= 0) this.waiting.splice(i, 1)[0]?.resolve(msg)
    })
    this.child.on('exit', () => { this.exited = true })
  }

  async next (type: string, timeoutMs: number): Promise<Message> {
    return await new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`The agent process sent no ${type} within ${timeoutMs} ms${this.exited ? ` and exited: ${this.stderr.trim()}` : ''}`)), timeoutMs)
      this.waiting.push({ type, resolve: (m) => { clearTimeout(timer); resolve(m) } })
    })
  }

  async stats (): Promise<Message> {
    const reply = this.next('stats', 10_000)
    this.child.stdin?.write('stats\n')
    return await reply
  }

  get exitedEarly (): boolean {
    return this.exited && !this.closing
  }

  async close (): Promise<void> {
    this.closing = true
    if (this.exited) return
    const children = descendants(this.pid)
    const gone = new Promise<void>(resolve => this.child.once('exit', () => resolve()))
    this.child.stdin?.end('close\n')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000)
    await gone
    clearTimeout(timer)
    // Its ip processes would keep the namespaces (and their veths) alive after they are deleted.
    const left = killLeftovers(children)
    if (left > 0) process.stderr.write(`killed ${left} processes the agent left behind\n`)
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
const num = (m: Message, key: string): number => Number(m[key] ?? 0)

/** Waits until the agent has its monitors up and has published nothing for `quietMs`. */
async function settle (agent: AgentProcess, quietMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs
  let last = await agent.stats()
  let quietSince = Date.now()
  while (Date.now() < deadline) {
    await sleep(500)
    const now = await agent.stats()
    if (num(now, 'events') !== num(last, 'events') || num(now, 'monitors') !== num(last, 'monitors')) quietSince = Date.now()
    last = now
    if (Date.now() - quietSince >= quietMs) return
  }
}

export async function runTopologyBench (options: Partial<TopologyBenchOptions> = {}): Promise<TopologyBenchResult> {
  const opts = { ...defaults, ...options }
  if (process.getuid?.() !== 0) throw new Error('The topology bench makes network namespaces: run it as root')
  if (spawnSync('ip', ['-V']).error !== undefined) throw new Error('The topology bench needs iproute2 (ip)')
  const orphans = removeOrphans(namespacePrefix)
  if (orphans > 0) process.stderr.write(`removed ${orphans} namespaces an earlier run left\n`)

  const fixture = createFixture({ base: namespacePrefix, count: opts.namespaces, pairs: opts.pairs })
  let agent: AgentProcess | undefined
  try {
    const loop = ipLinkLoop(fixture.names)

    agent = new AgentProcess(opts.intervals)
    const synced = await agent.next('synced', 120_000)
    await settle(agent, 5000, 60_000)

    const before = await agent.stats()
    const windowMs = opts.intervals.resync ?? 30_000
    const windows: CpuWindow[] = []
    let stats = before
    let cpu = treeCpu(agent.pid)
    let at = process.hrtime.bigint()
    const t0 = at
    const end = Date.now() + opts.seconds * 1000
    while (Date.now() < end - 1000) {
      await sleep(Math.min(windowMs, end - Date.now()))
      const cpuNow = treeCpu(agent.pid)
      const atNow = process.hrtime.bigint()
      const statsNow = await agent.stats()
      const seconds = Number(atNow - at) / 1e9
      windows.push({
        seconds,
        agent: 100 * (cpuNow.own - cpu.own) / seconds,
        children: 100 * (cpuNow.children - cpu.children) / seconds,
        events: num(statsNow, 'events') - num(stats, 'events'),
        churn: num(statsNow, 'namespaces') !== num(stats, 'namespaces') || num(statsNow, 'monitors') !== num(stats, 'monitors')
      })
      ;[cpu, at, stats] = [cpuNow, atNow, statsNow]
    }
    const seconds = Number(at - t0) / 1e9
    const after = stats
    if (agent.exitedEarly) throw new Error('The agent process exited during the measurement')
    const weighted = (key: 'agent' | 'children'): number => windows.reduce((sum, w) => sum + w[key] * w.seconds, 0) / seconds
    const byTotal = [...windows].sort((x, y) => (x.agent + x.children) - (y.agent + y.children))

    return {
      namespaces: num(synced, 'namespaces'),
      interfaces: num(synced, 'interfaces'),
      firstSyncSeconds: num(synced, 'ms') / 1000,
      ipLoopSeconds: loop.seconds,
      ipLoopCpuSeconds: loop.cpuSeconds,
      steadySeconds: seconds,
      agentCpuPercent: weighted('agent'),
      childrenCpuPercent: weighted('children'),
      windows,
      median: byTotal[Math.floor((byTotal.length - 1) / 2)] as CpuWindow,
      eventsWhileSteady: num(after, 'events') - num(before, 'events'),
      resyncsWhileSteady: num(after, 'resyncs') - num(before, 'resyncs'),
      monitors: num(after, 'monitors')
    }
  } finally {
    await agent?.close()
    fixture.remove()
  }
}

export function describe (r: TopologyBenchResult, opts: TopologyBenchOptions): string {
  const pct = (n: number): string => `${n.toFixed(2)}%`
  const resyncSeconds = (opts.intervals.resync ?? 30_000) / 1000
  const median = r.median.agent + r.median.children
  return [
    `${r.namespaces} namespaces (${opts.namespaces} made, ${opts.pairs} veth pairs), ${r.interfaces} interfaces, ${r.monitors} monitors`,
    `first HostSync          ${r.firstSyncSeconds.toFixed(2)} s   (goal < 3 s)  ${r.firstSyncSeconds < 3 ? 'ok' : 'MISSED'}`,
    `ip -json -details link  ${r.ipLoopSeconds.toFixed(2)} s   over the same ${opts.namespaces + 1} namespaces, one after another (${r.ipLoopCpuSeconds.toFixed(2)} s CPU)`,
    `steady CPU, median ${resyncSeconds} s window: agent ${pct(r.median.agent)} + children ${pct(r.median.children)} = ${pct(median)} of a core (goal < 1%)  ${median < 1 ? 'ok' : 'MISSED'}`,
    `  whole ${r.steadySeconds.toFixed(0)} s: agent ${pct(r.agentCpuPercent)} + children ${pct(r.childrenCpuPercent)}; ${r.eventsWhileSteady} events, ${r.resyncsWhileSteady} resyncs; intervals ${JSON.stringify(opts.intervals)}`,
    ...r.windows.map((w, i) => `  window ${i + 1}: agent ${pct(w.agent)} + children ${pct(w.children)}, ${w.events} events${w.churn ? ', namespaces came or went' : ''}`),
    `  the ip loop once per resync would cost ${pct(100 * r.ipLoopCpuSeconds / resyncSeconds)} of a core`
  ].join('\n')
}

/** Rows for bench/src/run.ts. The CPU row compares shares of a core: there, lower is better. */
export async function topologyBench (): Promise<Comparison[]> {
  const r = await runTopologyBench()
  process.stderr.write(describe(r, defaults) + '\n')
  const resyncSeconds = (defaults.intervals.resync ?? 30_000) / 1000
  const nsCount = defaults.namespaces + 1
  return [
    {
      scenario: `topology first sync (${defaults.namespaces} netns, ${defaults.pairs} veth pairs)`,
      ours: 'TopologyAgent start → HostSync',
      reference: 'ip -json -details link, each netns',
      unit: 'netns/s',
      oursRate: nsCount / r.firstSyncSeconds,
      referenceRate: nsCount / r.ipLoopSeconds,
      note: `${r.firstSyncSeconds.toFixed(2)} s vs ${r.ipLoopSeconds.toFixed(2)} s; goal < 3 s`
    },
    {
      scenario: `topology steady CPU (${defaults.namespaces} netns, idle)`,
      ours: 'agent + its children',
      reference: `that ip loop every ${resyncSeconds} s`,
      unit: '% core',
      oursRate: r.median.agent + r.median.children,
      referenceRate: 100 * r.ipLoopCpuSeconds / resyncSeconds,
      note: `lower is better; median ${resyncSeconds} s window of ${r.windows.length}: agent ${r.median.agent.toFixed(2)}% + children ${r.median.children.toFixed(2)}%; goal < 1%`
    }
  ]
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [namespaces, pairs, seconds] = process.argv.slice(2, 5).map(Number)
  const intervals = process.argv[5] === undefined ? {} : JSON.parse(process.argv[5]) as Record<string, number>
  const opts: TopologyBenchOptions = {
    ...defaults,
    intervals: { ...defaults.intervals, ...intervals },
    ...(namespaces === undefined || Number.isNaN(namespaces) ? {} : { namespaces }),
    ...(pairs === undefined || Number.isNaN(pairs) ? {} : { pairs }),
    ...(seconds === undefined || Number.isNaN(seconds) ? {} : { seconds })
  }
  const r = await runTopologyBench(opts)
  process.stdout.write(describe(r, opts) + '\n')
}
