import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { flowBatchesFromPcap, runPcapCommand, type Flow, type PcapProgress, type PcapRunSummary } from '../../../src/flow/index.ts'
import { frame, pcap, pcapFile } from './helpers.ts'

async function run (argv: string[], stdin?: Readable): Promise<{ code: number, out: string, err: string }> {
  const out = new PassThrough(); const err = new PassThrough()
  const chunks: Buffer[] = []; const errs: Buffer[] = []
  out.on('data', (c: Buffer) => chunks.push(c)); err.on('data', (c: Buffer) => errs.push(c))
  const code = await runPcapCommand(argv, out, err, stdin)
  return { code, out: Buffer.concat(chunks).toString(), err: Buffer.concat(errs).toString() }
}

test('topoflow pcap FILE prints one Skydive flow JSON per line, the same on every run', async () => {
  const first = await run([pcap('vxlan.pcap')])
  assert.equal(first.code, 0)
  const lines = first.out.trim().split('\n')
  assert.equal(lines.length, 4)
  const flows = lines.map(l => JSON.parse(l) as Flow)
  assert.deepEqual(Object.keys(flows[0] as Flow).slice(0, 3), ['UUID', 'LayersPath', 'Application'])
  assert.ok(flows.every(f => typeof f.FinishType === 'number' && f.SamplingRate === 1))
  assert.equal((await run([pcap('vxlan.pcap')])).out, first.out)
})

test('--summary, filters and L3 key mode', async () => {
  const s = await run([pcap('vxlan.pcap'), '--summary'])
  assert.equal(s.code, 0)
  assert.deepEqual(JSON.parse(s.out), { packets: 10, packetsDecoded: 10, packetsSkipped: 0, packetsFiltered: 0, flows: 4, flowsDropped: 0, fragmentsAttributed: 0, decodeErrors: {} })
  const icmp = await run([pcap('vxlan.pcap'), '--proto', 'icmp', '--key-mode', 'L3'])
  const flows = icmp.out.trim().split('\n').map(l => JSON.parse(l) as Flow)
  assert.deepEqual(flows.map(f => f.LayersPath).sort(), ['Ethernet/IPv4/ICMPv4', 'Ethernet/IPv4/UDP/VXLAN'])
  const host = await run([pcap('ssh.pcap'), '--host', '10.9.9.9', '--summary'])
  assert.equal(JSON.parse(host.out).packetsFiltered, 54)
})

test('standard input works like a file (a `tcpdump -w - | nc` stream)', async () => {
  const bytes = readFileSync(pcap('ssh.pcap'))
  const stdin = Readable.from((function * () { for (let i = 0; i < bytes.length; i += 333) yield bytes.subarray(i, i + 333) })())
  const r = await run(['-'], stdin)
  assert.equal(r.code, 0)
  assert.equal(r.out, (await run([pcap('ssh.pcap')])).out)
})

test('a truncated capture prints the flows read so far, then the error, exit code 1', async () => {
  const file = pcapFile([
    { sec: 1, usec: 0, data: frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 2 }) },
    { sec: 2, usec: 0, data: frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 2 }) }
  ])
  const r = await run(['-'], Readable.from([file.subarray(0, file.length - 3)]))
  assert.equal(r.code, 1)
  assert.equal(r.out.trim().split('\n').length, 1)
  assert.equal((JSON.parse(r.out) as Flow).Metric.ABPackets, 1)
  assert.match(r.err, /TOPOFLOW_ERR_PCAP_FORMAT: Truncated capture/)
})

test('usage errors exit with 2 and say what is wrong', async () => {
  assert.equal((await run([])).code, 2)
  const bad = await run([pcap('ssh.pcap'), '--key-mode', 'L4'])
  assert.equal(bad.code, 2)
  assert.match(bad.err, /--key-mode expects L2 or L3, got 'L4'/)
  assert.equal((await run([pcap('ssh.pcap'), '--nope'])).code, 2)
  const missing = await run(['/nonexistent/file.pcap'])
  assert.equal(missing.code, 1)
  assert.match(missing.err, /Cannot read capture/)
})

test('progress: reported while reading and once at the end, with every byte and packet counted', async () => {
  const bytes = readFileSync(pcap('ssh.pcap'))
  const seen: PcapProgress[] = []
  let summary: PcapRunSummary | undefined
  const stdin = Readable.from((function * () { for (let i = 0; i < bytes.length; i += 333) yield bytes.subarray(i, i + 333) })())
  for await (const _ of flowBatchesFromPcap(stdin, { progressIntervalMs: 0, onProgress: (p) => seen.push({ ...p }), onSummary: (s) => { summary = s } })) { /* flows are not needed */ }
  assert.ok(summary !== undefined)
  assert.ok(seen.length > 10, `${seen.length} progress reports`)
  for (let i = 1; i < seen.length; i++) assert.ok((seen[i] as PcapProgress).bytes >= (seen[i - 1] as PcapProgress).bytes)
  assert.deepEqual(seen.filter(p => p.done), [seen.at(-1)])
  assert.deepEqual(seen.at(-1), { bytes: bytes.length, packets: summary.packets, flows: summary.flows, done: true })
})

test('topoflow pcap --progress writes progress lines on standard error, never on standard output', async () => {
  const bytes = readFileSync(pcap('ssh.pcap'))
  // Chunks a few milliseconds apart, so that lines come while reading.
  const slowly = (): Readable => Readable.from((async function * () {
    for (let i = 0; i < bytes.length; i += 2048) { await new Promise((resolve) => setTimeout(resolve, 5)); yield bytes.subarray(i, i + 2048) }
  })())
  const r = await run(['-', '--summary', '--progress', '--progress-interval', '0.001'], slowly())
  assert.equal(r.code, 0)
  assert.equal(JSON.parse(r.out).packets, 54)
  const lines = r.err.trim().split('\n')
  assert.ok(lines.length >= 2, r.err)
  assert.ok(lines.slice(0, -1).every(l => /^topoflow pcap: [\d.]+ (B|KiB), \d+ packets \([\d.k]+\/s\), \d+ flows$/.test(l)), r.err)
  assert.match(lines.at(-1) as string, new RegExp(`^topoflow pcap: done: 12\\.5 KiB, 54 packets in [\\d.]+ s \\([\\d.kM]+/s\\), \\d+ flows$`))

  // A file: its share read and the time left; on a terminal one line rewritten in place, by default.
  const tty = new PassThrough() as PassThrough & { isTTY: boolean }
  tty.isTTY = true
  const errs: Buffer[] = []
  tty.on('data', (c: Buffer) => errs.push(c))
  assert.equal(await runPcapCommand([pcap('ssh.pcap'), '--summary'], new PassThrough(), tty), 0)
  assert.match(Buffer.concat(errs).toString(), /^\r\x1b\[Ktopoflow pcap: done: 12\.5 KiB, \d+ packets in [\d.]+ s .*flows\n$/)
  errs.length = 0
  assert.equal(await runPcapCommand([pcap('ssh.pcap'), '--summary', '--no-progress'], new PassThrough(), tty), 0)
  assert.equal(Buffer.concat(errs).length, 0)

  // Not a terminal and not asked for: nothing. A bad interval is a usage error.
  assert.equal((await run([pcap('ssh.pcap'), '--summary'])).err, '')
  const bad = await run([pcap('ssh.pcap'), '--progress-interval', '0'])
  assert.equal(bad.code, 2)
  assert.match(bad.err, /--progress-interval expects a positive number, got '0'/)
})

test('--bpf keeps the packets tcpdump keeps with the same expression; a bad one is a usage error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-bpf-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const [file, expression] of [['ssh.pcap', 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0'], ['vxlan.pcap', 'udp and greater 100'], ['ssh.pcap', 'len < 70']] as const) {
    assert.equal(spawnSync('tcpdump', ['-r', pcap(file), '-w', join(dir, 'kept.pcap'), '--', expression]).status, 0)
    const expected = (await run([join(dir, 'kept.pcap'), '--summary'])).out
    const r = await run([pcap(file), '--summary', '--bpf', expression])
    assert.equal(r.code, 0, r.err)
    const all = JSON.parse((await run([pcap(file), '--summary'])).out) as PcapRunSummary
    const got = JSON.parse(r.out) as PcapRunSummary
    const want = JSON.parse(expected) as PcapRunSummary
    assert.equal(got.packets, all.packets, 'every packet read')
    assert.equal(got.packets - got.packetsFiltered, want.packets, `${file} "${expression}": kept as tcpdump keeps`)
    assert.equal(got.flows, want.flows)
  }
  // As with tcpdump, an expression may also follow the file.
  const trailing = await run([pcap('ssh.pcap'), '--summary', 'len', '<', '70'])
  assert.deepEqual(JSON.parse(trailing.out), JSON.parse((await run([pcap('ssh.pcap'), '--summary', '--bpf', 'len < 70'])).out))
  assert.equal((await run([pcap('ssh.pcap'), 'tcp', '--bpf', 'udp'])).code, 2)
  const bad = await run([pcap('ssh.pcap'), '--bpf', 'tcp port'])
  assert.equal(bad.code, 2)
  assert.match(bad.err, /BPF filter "tcp port": .*syntax error/)
})
