import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Comparison } from '../src/report.ts'
import { timed } from './pcap-vs-tcpdump.bench.ts'
import { writeSyntheticCapture } from './synthetic.bench.ts'

/**
 * BPF filtering of a file: `topoflow pcap FILE --summary EXPRESSION` (our reader, then our BPF
 * interpreter on every record; only the packets kept are decoded and counted as flows) against
 * `tcpdump -r FILE -w /dev/null EXPRESSION` on the same synthetic 3M-packet capture, for an
 * expression that keeps a few packets (so both mostly read and filter) and one that keeps most.
 * Both must keep the same number of packets.
 *
 *   node --import tsx bench/pcap/bpf-vs-tcpdump.bench.ts [packets]
 */

const cli = resolve(import.meta.dirname, '../../packages/cli/bin/topoflow.js')

/** Packets tcpdump keeps with `expression`, counted from the pcap it writes (24-byte header, 16 per record). */
function tcpdumpKeeps (file: string, expression: string): number {
  const out = join(dirname(file), 'kept.pcap')
  const r = spawnSync('tcpdump', ['-r', file, '-w', out, '--', expression], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`tcpdump: ${r.stderr.slice(-300)}`)
  const b = readFileSync(out)
  let n = 0
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) n++
  return n
}

export async function bpfVsTcpdump (packets = 3_000_000): Promise<Comparison[]> {
  if (spawnSync('sh', ['-c', 'command -v tcpdump'], { stdio: 'ignore' }).status !== 0) throw new Error('tcpdump is needed for this benchmark (Debian package tcpdump)')
  const capture = writeSyntheticCapture({ flows: packets / 15, packetsPerFlow: 15, concurrency: 20_000, seconds: 90, snaplen: 128 })
  try {
    readFileSync(capture.file) // into the page cache, for every reader alike
    const rows: Comparison[] = []
    for (const expression of ['tcp[tcpflags] & tcp-syn != 0', 'tcp or udp']) {
      const ours = timed(process.execPath, [cli, 'pcap', capture.file, '--summary', '--no-progress', expression])
      const summary = JSON.parse(ours.stdout) as { packets: number, packetsFiltered: number }
      if (summary.packets !== capture.packets) throw new Error(`topoflow pcap read ${summary.packets} packets of ${capture.packets}`)
      const kept = summary.packets - summary.packetsFiltered
      const theirs = tcpdumpKeeps(capture.file, expression)
      if (kept !== theirs) throw new Error(`"${expression}": topoflow pcap kept ${kept} packets, tcpdump ${theirs}`)
      const tcpdump = timed('tcpdump', ['-r', capture.file, '-w', '/dev/null', '--', expression])
      rows.push({
        scenario: `pcap file, BPF "${expression}"`,
        ours: 'topoflow pcap --summary EXPR',
        reference: 'tcpdump -r -w /dev/null EXPR',
        unit: 'packets/s',
        oursRate: capture.packets / ours.seconds,
        referenceRate: capture.packets / tcpdump.seconds,
        note: `${(capture.packets / 1e6).toFixed(2)}M packets, ${kept} kept by both; ours also decodes and counts flows of the packets kept`
      })
    }
    return rows
  } finally {
    rmSync(dirname(capture.file), { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatTable } = await import('../src/report.ts')
  const [packets] = process.argv.slice(2).map(Number)
  process.stdout.write(formatTable(await bpfVsTcpdump(packets)) + '\n')
}
