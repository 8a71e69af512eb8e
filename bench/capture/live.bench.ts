import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Comparison } from '../src/report.ts'
import { defaultRuntimeConfig } from '@topoflow/capture/config'

/**
 * Live capture, cap against node_pcap, on the same veth in the same run: a bounded UDP flood
 * goes from one namespace to another, and one capture worker per backend (the agent's own
 * netns-worker.ts in counting mode) listens on the receiving end at the same time. Reports,
 * per backend, packets caught / packets sent (the sender's interface counter) and the CPU the
 * worker spent during the flood.
 *
 *   node --import tsx bench/capture/live.bench.ts [packets] [seconds] [senders]
 */

const worker = resolve(import.meta.dirname, '../../services/capture/src/sources/netns-worker.ts')
const backends = ['cap', 'pcap'] as const
type Backend = (typeof backends)[number]

interface WorkerStats { received: number, dropped: number, counted: number, cpuUserUs: number, cpuSystemUs: number }

export interface BackendResult {
  backend: Backend
  caught: number
  kernelDropped: number
  cpuSeconds: number
}

export interface LiveRun {
  sent: number
  seconds: number
  results: BackendResult[]
}

function sh (cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function quiet (cmd: string, args: string[]): void {
  try { sh(cmd, args) } catch { /* already gone */ }
}

class CaptureWorker {
  readonly backend: Backend
  readonly child: ChildProcess
  last: WorkerStats | undefined
  ready = false
  error = ''
  #waiters: Array<() => void> = []

  constructor (backend: Backend, netns: string, iface: string) {
    this.backend = backend
    this.child = spawn('nsenter', [`--net=/run/netns/${netns}`, process.execPath, '--import', 'tsx', worker, iface, 'udp and dst port 9', '128', backend, '--count', `--buffer-timeout-ms=${defaultRuntimeConfig.bufferTimeoutMs}`], {
      cwd: resolve(worker, '..'),
      stdio: ['pipe', 'ignore', 'pipe']
    })
    let pending = ''
    this.child.stderr?.setEncoding('utf8')
    this.child.stderr?.on('data', (chunk: string) => {
      pending += chunk
      let nl: number
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl); pending = pending.slice(nl + 1)
        try {
          const ev = JSON.parse(line) as Record<string, unknown>
          if (ev.event === 'ready') this.ready = true
          else if (ev.event === 'stats') this.last = ev as unknown as WorkerStats
          else if (ev.event === 'error') this.error = String(ev.message)
        } catch { this.error += line }
        for (const w of this.#waiters.splice(0)) w()
      }
    })
    this.child.on('close', () => { for (const w of this.#waiters.splice(0)) w() })
  }

  /** The next stats line (the worker prints one per second). */
  async nextStats (timeoutMs = 5000): Promise<WorkerStats> {
    const before = this.last
    const deadline = Date.now() + timeoutMs
    while (this.last === before || this.last === undefined) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`${this.backend} worker: no stats (${this.error})`)
      await new Promise<void>((resolve) => { this.#waiters.push(resolve); setTimeout(resolve, 200) })
    }
    return this.last
  }

  async stop (): Promise<WorkerStats> {
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()))
    this.child.kill('SIGTERM')
    await closed
    if (this.last === undefined) throw new Error(`${this.backend} worker gave no stats: ${this.error}`)
    return this.last
  }
}

function txPackets (netns: string, iface: string): number {
  return Number(sh('ip', ['netns', 'exec', netns, 'cat', `/sys/class/net/${iface}/statistics/tx_packets`]).trim())
}

/** A UDP flood from inside the sender namespace, bounded in packets and seconds. */
function flood (netns: string, dst: string, packets: number, seconds: number): Promise<void> {
  const code = `
const s = require('node:dgram').createSocket('udp4'); const payload = Buffer.alloc(64)
const end = Date.now() + ${seconds * 1000}; let queued = 0, done = 0
function pump () {
  while (queued < ${packets} && queued - done < 512 && Date.now() < end) { queued++; s.send(payload, 9, '${dst}', () => { done++; if (done === queued && (queued === ${packets} || Date.now() >= end)) s.close(); else if (queued - done < 256) pump() }) }
}
s.bind(0, pump)`
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code], { stdio: 'ignore' })
    c.on('close', (rc) => rc === 0 ? resolve() : reject(new Error(`sender exited ${String(rc)}`)))
  })
}

export async function measureLiveBackends (packets = 300_000, seconds = 10, senders = 1): Promise<LiveRun> {
  if (!existsSync(join(resolve(worker, '..'), 'netns-worker.ts'))) throw new Error(`capture worker not found at ${worker}`)
  const tag = `tfb${process.pid % 100000}`
  const [nsS, nsR, ifS, ifR] = [`${tag}-s`, `${tag}-r`, `${tag}s`, `${tag}r`]
  const cleanup = (): void => { quiet('ip', ['netns', 'del', nsS]); quiet('ip', ['netns', 'del', nsR]) }
  cleanup()
  const workers: CaptureWorker[] = []
  try {
    sh('ip', ['netns', 'add', nsS]); sh('ip', ['netns', 'add', nsR])
    sh('ip', ['link', 'add', ifS, 'netns', nsS, 'type', 'veth', 'peer', 'name', ifR, 'netns', nsR])
    for (const [ns, ifc, ip] of [[nsS, ifS, '10.214.0.1'], [nsR, ifR, '10.214.0.2']] as const) {
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${ifc}.disable_ipv6=1`])
      sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', ifc])
      sh('ip', ['-n', ns, 'link', 'set', ifc, 'up'])
    }
    // No ARP during the flood: the sender knows the receiver's MAC.
    const mac = sh('ip', ['netns', 'exec', nsR, 'cat', `/sys/class/net/${ifR}/address`]).trim()
    sh('ip', ['-n', nsS, 'neigh', 'replace', '10.214.0.2', 'lladdr', mac, 'dev', ifS, 'nud', 'permanent'])

    for (const b of backends) workers.push(new CaptureWorker(b, nsR, ifR))
    for (const w of workers) {
      const deadline = Date.now() + 30000
      while (!w.ready) {
        if (Date.now() > deadline || w.child.exitCode !== null) throw new Error(`${w.backend} worker did not start: ${w.error}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    // CPU before the flood (start-up, tsx compilation) is not the backend's.
    const before = await Promise.all(workers.map(async (w) => await w.nextStats()))
    const tx0 = txPackets(nsS, ifS)
    const t0 = Date.now()
    const share = Math.ceil(packets / senders)
    await Promise.all(Array.from({ length: senders }, async () => await flood(nsS, '10.214.0.2', share, seconds)))
    const floodSeconds = (Date.now() - t0) / 1000
    const sent = txPackets(nsS, ifS) - tx0
    // Let the workers read what is still queued in their rings.
    await Promise.all(workers.map(async (w) => { await w.nextStats(); await w.nextStats() }))
    const after = await Promise.all(workers.map(async (w) => await w.stop()))
    return {
      sent,
      seconds: floodSeconds,
      results: workers.map((w, i) => {
        const a = after[i] as WorkerStats; const b = before[i] as WorkerStats
        return {
          backend: w.backend,
          caught: a.counted - b.counted,
          kernelDropped: a.dropped - b.dropped,
          cpuSeconds: ((a.cpuUserUs + a.cpuSystemUs) - (b.cpuUserUs + b.cpuSystemUs)) / 1e6
        }
      })
    }
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    cleanup()
  }
}

/** Rows for bench/src/run.ts: node_pcap ("ours", the proposed default) against cap. */
export async function liveCaptureBackends (): Promise<Comparison[]> {
  const run = await measureLiveBackends()
  const cap = run.results.find((r) => r.backend === 'cap') as BackendResult
  const pcap = run.results.find((r) => r.backend === 'pcap') as BackendResult
  const rate = (r: BackendResult): number => r.caught / run.seconds
  const note = `${run.sent} sent in ${run.seconds.toFixed(1)} s; caught/sent cap ${(cap.caught / run.sent).toFixed(3)}, node_pcap ${(pcap.caught / run.sent).toFixed(3)}`
  return [
    { scenario: 'live capture, veth UDP flood', ours: 'node_pcap', reference: 'cap', unit: 'packets caught/s', oursRate: rate(pcap), referenceRate: rate(cap), note },
    { scenario: 'live capture CPU', ours: 'node_pcap', reference: 'cap', unit: 'packets per CPU-second', oursRate: pcap.caught / Math.max(pcap.cpuSeconds, 1e-3), referenceRate: cap.caught / Math.max(cap.cpuSeconds, 1e-3), note: `CPU s: node_pcap ${pcap.cpuSeconds.toFixed(2)}, cap ${cap.cpuSeconds.toFixed(2)}` }
  ]
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const packets = Number(process.argv[2] ?? 300_000)
  const seconds = Number(process.argv[3] ?? 10)
  const senders = Number(process.argv[4] ?? 1)
  const run = await measureLiveBackends(packets, seconds, senders)
  process.stdout.write(`sent ${run.sent} packets in ${run.seconds.toFixed(2)} s (${Math.round(run.sent / run.seconds)} packets/s)\n`)
  process.stdout.write('backend    caught    caught/sent  kernel drops  CPU s   CPU share of one core  packets per CPU s\n')
  for (const r of run.results) {
    process.stdout.write(`${r.backend.padEnd(9)}  ${String(r.caught).padStart(8)}  ${(r.caught / Math.max(run.sent, 1)).toFixed(4).padStart(11)}  ${String(r.kernelDropped).padStart(12)}  ${r.cpuSeconds.toFixed(2).padStart(5)}  ${(r.cpuSeconds / run.seconds).toFixed(2).padStart(21)}  ${Math.round(r.caught / Math.max(r.cpuSeconds, 1e-3)).toString().padStart(17)}\n`)
  }
}
