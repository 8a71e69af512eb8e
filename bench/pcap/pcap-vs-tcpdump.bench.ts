import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { runPcapCommand } from '@topoflow/capture'
import type { Comparison } from '../src/report.ts'

/** A synthetic Ethernet/IPv4/TCP capture: `flows` conversations, `packets` packets in all. */
function syntheticPcap (packets: number, flows: number): string {
  const header = Buffer.alloc(24)
  header.writeUInt32LE(0xa1b2c3d4, 0); header.writeUInt16LE(2, 4); header.writeUInt16LE(4, 6)
  header.writeUInt32LE(65535, 16); header.writeUInt32LE(1, 20)
  const frameLen = 14 + 20 + 20 + 64
  const record = Buffer.alloc(16 + frameLen)
  const out = Buffer.alloc(24 + packets * record.length)
  header.copy(out, 0)
  for (let i = 0; i < packets; i++) {
    const flow = i % flows
    const reply = (i >> 4) % 2 === 1
    record.fill(0)
    record.writeUInt32LE(1_700_000_000 + Math.floor(i / 100_000), 0); record.writeUInt32LE(i % 1_000_000, 4)
    record.writeUInt32LE(frameLen, 8); record.writeUInt32LE(frameLen, 12)
    const f = 16
    record.writeUInt16BE(0x0800, f + 12)
    const ip = f + 14
    record[ip] = 0x45; record.writeUInt16BE(20 + 20 + 64, ip + 2); record[ip + 8] = 64; record[ip + 9] = 6
    const a = 0x0a000000 + (flow >> 8); const b = 0x0a100000 + (flow & 0xff)
    record.writeUInt32BE(reply ? b : a, ip + 12); record.writeUInt32BE(reply ? a : b, ip + 16)
    const tcp = ip + 20
    record.writeUInt16BE(reply ? 80 : 10000 + (flow % 50000), tcp); record.writeUInt16BE(reply ? 10000 + (flow % 50000) : 80, tcp + 2)
    record[tcp + 12] = 0x50; record[tcp + 13] = 0x18
    record.copy(out, 24 + i * record.length)
  }
  const file = join(mkdtempSync(join(tmpdir(), 'tf-bench-')), 'synthetic.pcap')
  writeFileSync(file, out)
  return file
}

/** Packets to flows with `topoflow pcap` against tcpdump only reading and printing the same file. */
export async function pcapVsTcpdump (): Promise<Comparison[]> {
  const packets = 500_000
  const file = syntheticPcap(packets, 50_000)
  const tcpdump = spawnSync('tcpdump', ['-nn', '-r', file], { stdio: ['ignore', 'ignore', 'ignore'] })
  if (tcpdump.error !== undefined) throw new Error(`tcpdump is needed for this benchmark: ${tcpdump.error.message}`)
  const t0 = process.hrtime.bigint()
  execFileSync('tcpdump', ['-nn', '-r', file], { stdio: ['ignore', 'ignore', 'ignore'] })
  const tcpdumpSeconds = Number(process.hrtime.bigint() - t0) / 1e9
  const devnull = new Writable({ write (_chunk, _enc, cb) { cb() } })
  const t1 = process.hrtime.bigint()
  const rc = await runPcapCommand([file], devnull, devnull)
  const oursSeconds = Number(process.hrtime.bigint() - t1) / 1e9
  if (rc !== 0) throw new Error(`topoflow pcap exited ${rc}`)
  const size = `${(statSync(file).size / 1e6).toFixed(0)} MB, 50k flows`
  return [{ scenario: 'pcap file → flows', ours: 'topoflow pcap', reference: 'tcpdump -nn -r', unit: 'packets/s', oursRate: packets / oursSeconds, referenceRate: packets / tcpdumpSeconds, note: size }]
}
