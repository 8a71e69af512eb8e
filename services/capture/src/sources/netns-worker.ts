/**
 * Capture worker: run inside a network namespace (`nsenter --net=PATH node --import tsx
 * netns-worker.ts IFACE BPF SNAPLEN [cap|pcap] [--count] [--buffer-timeout-ms=N]`), because a Node process cannot switch
 * namespace per thread. It captures with the same backends as the agent and writes a nanosecond
 * pcap stream (global header, then records) on stdout for the agent's pcap stream reader.
 *
 * stderr carries one JSON object per line: {"event":"ready","linkType"}, {"event":"stats",
 * "received","dropped","cpuUserUs","cpuSystemUs"} every second and at exit, {"event":"error",
 * "message"}. Exit codes: 0 stopped (SIGTERM, SIGINT or stdin closed), 2 cannot open the
 * capture, 3 the interface disappeared, 1 anything else. `--count` writes no packets, only stats
 * (benchmarks).
 */
import { interfaceNames } from './live.ts'
import { openLive, type LiveHandle } from './backends.ts'
import { PcapRecordBatch, pcapGlobalHeader } from './pcap-writer.ts'
import type { LiveBackend, SourcePacket } from './types.ts'

function report (event: Record<string, unknown>): void {
  process.stderr.write(JSON.stringify(event) + '\n')
}

const args = process.argv.slice(2)
const countOnly = args.includes('--count')
const timeoutArg = args.find(a => a.startsWith('--buffer-timeout-ms='))
const [iface, bpf, snaplenArg, backendArg] = args.filter(a => !a.startsWith('--'))
const snaplen = Number(snaplenArg)
const bufferTimeoutMs = timeoutArg === undefined ? 0 : Number(timeoutArg.slice('--buffer-timeout-ms='.length))
const backend: LiveBackend = backendArg === 'pcap' ? 'pcap' : 'cap'

let handle: LiveHandle | undefined
let batch: PcapRecordBatch | undefined
let flushScheduled = false
let ownDrops = 0
let counted = 0
let exiting = false

function stats (): Record<string, unknown> {
  const s = handle?.stats() ?? { received: 0, dropped: 0 }
  const cpu = process.cpuUsage()
  return { event: 'stats', received: s.received, dropped: s.dropped + ownDrops, counted, cpuUserUs: cpu.user, cpuSystemUs: cpu.system }
}

function flush (): void {
  flushScheduled = false
  if (batch === undefined || batch.length === 0) return
  const chunk = batch.take()
  // stdout on a pipe is synchronous on Linux: a slow reader blocks us and the kernel counts drops.
  process.stdout.write(chunk)
}

function exit (code: number): void {
  if (exiting) return
  exiting = true
  if (batch !== undefined) flush()
  const final = stats()
  handle?.close()
  report(final)
  // Let stdout and stderr drain before leaving.
  process.stdout.end(() => process.exit(code))
  setTimeout(() => process.exit(code), 1000).unref()
}

function onPacket (p: SourcePacket): void {
  counted++
  if (countOnly || batch === undefined) return
  const caplen = p.data.length
  if (!batch.add(p.tsSec, p.tsNsec, p.data, caplen, p.origLen)) {
    flush()
    if (!batch.add(p.tsSec, p.tsNsec, p.data, caplen, p.origLen)) ownDrops++
  }
  if (!flushScheduled) { flushScheduled = true; setImmediate(flush) }
}

async function main (): Promise<void> {
  if (iface === undefined || bpf === undefined || !Number.isInteger(snaplen) || snaplen < 14 || !Number.isInteger(bufferTimeoutMs) || bufferTimeoutMs < 0) {
    report({ event: 'error', message: 'usage: netns-worker.ts IFACE BPF SNAPLEN [cap|pcap] [--count] [--buffer-timeout-ms=N]' })
    process.exit(2)
  }
  if (!(await interfaceNames()).has(iface)) {
    report({ event: 'error', message: `Cannot capture on ${iface}: no such interface in this namespace` })
    process.exit(2)
  }
  try {
    handle = openLive(backend, { iface, bpf, snaplen, bufferTimeoutMs }, onPacket)
  } catch (err) {
    report({ event: 'error', message: (err as Error).message })
    process.exit(2)
  }
  if (!countOnly) {
    batch = new PcapRecordBatch()
    process.stdout.write(pcapGlobalHeader(handle.linkType, snaplen))
  }
  report({ event: 'ready', linkType: handle.linkType })
  setInterval(() => {
    report(stats())
    interfaceNames().then((names) => {
      if (names.has(iface)) return
      report({ event: 'error', message: `Interface ${iface} disappeared` })
      exit(3)
    }, () => {})
  }, 1000)
  process.on('SIGTERM', () => exit(0))
  process.on('SIGINT', () => exit(0))
  // The agent went away: stop rather than capture for nobody.
  process.stdin.on('end', () => exit(0))
  process.stdin.on('error', () => exit(0))
  process.stdin.resume()
  process.stdout.on('error', () => exit(0))
}

main().catch((err: unknown) => {
  report({ event: 'error', message: String((err as Error).message ?? err) })
  process.exit(1)
})
