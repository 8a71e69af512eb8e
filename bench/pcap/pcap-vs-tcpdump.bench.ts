import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Comparison } from '../src/report.ts'
import { writeSyntheticCapture } from './synthetic.bench.ts'

/**
 * Packets to flows on one large capture, side by side in one run:
 * - ours: `topoflow pcap --summary FILE` (the real command, wall clock, Node and tsx start included;
 *   the note says how much of it the same command takes on a capture of two packets);
 * - softflowd -r FILE: a C flow exporter (its table holds every flow until the end of a file, as
 *   ours does; -6 to track IPv6 too, NetFlow v9 export to a discard port);
 * - tcpdump -r FILE -w /dev/null: libpcap reading the file, the floor any reader pays.
 * Goals (issue 4): 1M packets/s on one core, faster than softflowd, 30% of tcpdump.
 *
 *   node --import tsx bench/pcap/pcap-vs-tcpdump.bench.ts [packets] [flows]
 */

const cli = resolve(import.meta.dirname, '../../packages/cli/bin/topoflow.js')

function need (tool: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${tool} is needed for this benchmark (Debian package ${tool === 'tcpdump' ? 'tcpdump' : 'softflowd'})`)
  }
}

/** Wall-clock seconds of the best of `runs` runs; throws with stderr when the command fails. */
export function timed (cmd: string, args: string[], runs = 2): { seconds: number, stdout: string } {
  let best = Infinity
  let stdout = ''
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    if (r.error !== undefined) throw new Error(`${cmd}: ${r.error.message}`)
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.slice(-500)}`)
    if (s < best) { best = s; stdout = r.stdout }
  }
  return { seconds: best, stdout }
}

export async function pcapVsTcpdump (packets = 3_000_000, flows = 200_000): Promise<Comparison[]> {
  need('tcpdump')
  need('softflowd')
  const capture = writeSyntheticCapture({ flows, packetsPerFlow: Math.round(packets / flows), concurrency: 20_000, seconds: 90, snaplen: 128 })
  const tiny = writeSyntheticCapture({ flows: 1, packetsPerFlow: 2, concurrency: 1, seconds: 1, snaplen: 128 })
  try {
    readFileSync(capture.file) // into the page cache, for every reader alike
    const ours = timed(process.execPath, [cli, 'pcap', '--summary', capture.file])
    const start = timed(process.execPath, [cli, 'pcap', '--summary', tiny.file], 3)
    const summary = JSON.parse(ours.stdout) as { packets: number, flows: number }
    if (summary.packets !== capture.packets) throw new Error(`topoflow pcap read ${summary.packets} packets of ${capture.packets}`)
    const softflowd = timed('softflowd', ['-r', capture.file, '-6', '-v', '9', '-m', String(4 * flows), '-c', 'none', '-p', join(dirname(capture.file), 'softflowd.pid'), '-n', '127.0.0.1:9'])
    const seen = softflowd.stdout.match(/Packets processed: (\d+)/)
    if (seen === null || Number(seen[1]) !== capture.packets) throw new Error(`softflowd processed ${seen?.[1] ?? '?'} packets of ${capture.packets}`)
    const tcpdump = timed('tcpdump', ['-r', capture.file, '-w', '/dev/null'])
    const note = `${(capture.packets / 1e6).toFixed(2)}M packets, ${(summary.flows / 1e3).toFixed(0)}k flows, ${(capture.bytes / 1e6).toFixed(0)} MB`
    const rate = (s: number): number => capture.packets / s
    return [
      { scenario: 'pcap file → flows', ours: 'topoflow pcap --summary', reference: 'softflowd -r', unit: 'packets/s', oursRate: rate(ours.seconds), referenceRate: rate(softflowd.seconds), note: `${note}; ours ${ours.seconds.toFixed(2)} s, of which start-up ${start.seconds.toFixed(2)} s; goal ≥ 1.00x` },
      { scenario: 'pcap file → flows', ours: 'topoflow pcap --summary', reference: 'tcpdump -r -w /dev/null', unit: 'packets/s', oursRate: rate(ours.seconds), referenceRate: rate(tcpdump.seconds), note: 'read limit; goal ≥ 0.30x' }
    ]
  } finally {
    rmSync(dirname(capture.file), { recursive: true, force: true })
    rmSync(dirname(tiny.file), { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatTable } = await import('../src/report.ts')
  const [packets, flows] = process.argv.slice(2).map(Number)
  process.stdout.write(formatTable(await pcapVsTcpdump(packets, flows)) + '\n')
}
