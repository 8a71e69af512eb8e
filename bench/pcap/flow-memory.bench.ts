import { spawn, spawnSync } from 'node:child_process'
import { createReadStream, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Comparison } from '../src/report.ts'
import { writeSyntheticCapture } from './synthetic.bench.ts'

/**
 * Memory of 1M active flows: a capture of 1M short conversations goes through our reader,
 * decoder and flow table (no flow leaves the table: the capture lasts 30 s, under the update
 * period), then, after a full GC, the process's RSS and heap are read. softflowd reads the same
 * file (it keeps every flow of a file until its end); its peak RSS is polled from /proc.
 * Reported as flows per MiB of RSS (higher is better); goal (issue 4): 1M flows in ≤ 1 GiB.
 *
 *   node --import tsx bench/pcap/flow-memory.bench.ts [flows]
 */

export interface TableMemory { flows: number, packets: number, rssMiB: number, heapUsedMiB: number, emptyRssMiB: number }

/** In a child with --expose-gc: the table full of the capture's flows, measured after GC. */
async function measureOurs (file: string): Promise<TableMemory> {
  const { PcapStreamReader, PacketDecoder, FlowTable } = await import('@topoflow/capture/flow')
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  gc()
  const emptyRssMiB = process.memoryUsage().rss / 2 ** 20
  const reader = new PcapStreamReader()
  const decoder = new PacketDecoder()
  const table = new FlowTable({ maxEntries: 4_000_000 })
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    reader.push(chunk as Buffer)
    for (let p = reader.next(); p !== undefined; p = reader.next()) {
      const pkt = decoder.decode(p.linkType, p.data, p.origLen)
      if (pkt !== undefined) table.processPacket(pkt, p.tsSec, p.tsNsec)
    }
  }
  gc(); gc()
  const m = process.memoryUsage()
  return { flows: table.size, packets: reader.packetsRead, rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20, emptyRssMiB }
}

/** Peak RSS (VmHWM) of a command, polled from /proc while it runs. */
async function peakRss (cmd: string, args: string[]): Promise<{ peakMiB: number, stdout: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  let peakKiB = 0
  const poll = setInterval(() => {
    try {
      const m = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/)
      if (m !== null) peakKiB = Math.max(peakKiB, Number(m[1]))
    } catch { /* exited */ }
  }, 10)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearInterval(poll)
  if (code !== 0) throw new Error(`${cmd} exited ${String(code)}: ${stderr.slice(-500)}`)
  return { peakMiB: peakKiB / 1024, stdout }
}

export async function flowTableMemory (flows = 1_000_000): Promise<Comparison[]> {
  if (spawnSync('sh', ['-c', 'command -v softflowd'], { stdio: 'ignore' }).status !== 0) throw new Error('softflowd is needed for this benchmark (Debian package softflowd)')
  const capture = writeSyntheticCapture({ flows, packetsPerFlow: 2, concurrency: 50_000, seconds: 30, snaplen: 96 })
  try {
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, '--child', capture.file], { encoding: 'utf8', maxBuffer: 1 << 20 })
    if (child.status !== 0) throw new Error(`measuring child failed: ${child.stderr.slice(-1000)}`)
    const ours = JSON.parse(child.stdout) as TableMemory
    if (ours.packets !== capture.packets) throw new Error(`read ${ours.packets} packets of ${capture.packets}`)
    const softflowd = await peakRss('softflowd', ['-r', capture.file, '-6', '-v', '9', '-m', String(2 * flows), '-c', 'none', '-p', join(dirname(capture.file), 'softflowd.pid'), '-n', '127.0.0.1:9'])
    const expired = softflowd.stdout.match(/Flows expired: (\d+)/)
    const theirFlows = expired === null ? flows : Number(expired[1])
    return [{
      scenario: `${(ours.flows / 1e6).toFixed(2)}M active flows`,
      ours: 'flow table, RSS after GC',
      reference: 'softflowd -r, peak RSS',
      unit: 'flows/MiB',
      oursRate: ours.flows / ours.rssMiB,
      referenceRate: theirFlows / softflowd.peakMiB,
      note: `ours ${ours.rssMiB.toFixed(0)} MiB RSS (heap ${ours.heapUsedMiB.toFixed(0)} MiB, process before reading ${ours.emptyRssMiB.toFixed(0)} MiB), softflowd ${softflowd.peakMiB.toFixed(0)} MiB; goal ≤ 1024 MiB`
    }]
  } finally {
    rmSync(dirname(capture.file), { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--child') {
    process.stdout.write(JSON.stringify(await measureOurs(process.argv[3] as string)) + '\n')
  } else {
    const { formatTable } = await import('../src/report.ts')
    const flows = process.argv[2] === undefined ? undefined : Number(process.argv[2])
    process.stdout.write(formatTable(await flowTableMemory(flows)) + '\n')
  }
}
