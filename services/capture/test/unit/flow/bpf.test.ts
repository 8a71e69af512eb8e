import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TopoflowError } from '@topoflow/core'
import { compileBpf, runBpf, type BpfProgram } from '../../../src/flow/bpf.ts'
import type { PcapPacket } from '../../../src/flow/index.ts'
import { capturePackets, corpusDir } from './helpers.ts'

// Our BPF interpreter against tcpdump itself: for corpus captures of every link type we decode and
// a set of filters, the packets we keep are exactly the packets tcpdump writes out.

const filters = ['tcp', 'udp port 53', 'ip6', 'icmp or icmp6', 'vlan', 'tcp[tcpflags] & tcp-syn != 0', 'len > 200', 'net 10.0.0.0/8 and not port 22', 'ip[8] < 64', 'greater 100 and ether multicast']

const packets = (bytes: Buffer): PcapPacket[] => capturePackets(bytes, true)

test('the interpreter keeps exactly the packets tcpdump keeps, over corpus captures of every link type', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-bpf-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // The largest classic-pcap captures of each link type (tcpdump -w writes pcap, read back alike).
  const byType = new Map<number, string[]>()
  for (const f of readdirSync(corpusDir).filter((f) => f.endsWith('.pcap')).sort((a, b) => statSync(join(corpusDir, b)).size - statSync(join(corpusDir, a)).size)) {
    const first = packets(readFileSync(join(corpusDir, f)))[0]
    if (first === undefined) continue
    const list = byType.get(first.linkType) ?? []
    if (list.length < (first.linkType === 1 ? 25 : 4)) list.push(f)
    byType.set(first.linkType, list)
  }
  let compared = 0
  let kept = 0
  for (const [linkType, files] of byType) {
    for (const filter of filters) {
      let program: BpfProgram
      try { program = compileBpf(filter, linkType) } catch (err) {
        // A link type we do not decode, or a filter libpcap refuses for it (e.g. vlan on raw IP).
        assert.ok(TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_CONFIG', String(err))
        continue
      }
      for (const f of files) {
        const out = join(dir, 'out.pcap')
        const r = spawnSync('tcpdump', ['-r', join(corpusDir, f), '-w', out, '--', filter], { encoding: 'utf8' })
        if (r.status !== 0) continue // tcpdump itself gave up on this file
        // Compared by their first bytes and wire length: tcpdump -w cuts packets to the file's snap length, which damaged files exceed.
        const id = (p: { data: Buffer, origLen: number }): string => `${p.origLen} ${p.data.subarray(0, 24).toString('hex')}`
        const theirs = packets(readFileSync(out)).map(id)
        const ours = packets(readFileSync(join(corpusDir, f))).filter((p) => runBpf(program, p.data, 0, p.data.length, p.origLen) > 0).map(id)
        assert.deepEqual(ours, theirs, `${f} (link type ${linkType}) "${filter}"`)
        compared++
        kept += ours.length
      }
    }
  }
  t.diagnostic(`${compared} file × filter comparisons, ${kept} packets kept`)
  assert.ok(compared > 200 && kept > 1000, `${compared} comparisons, ${kept} packets kept`)
})

test('a filter that does not parse is a config error with libpcap\'s message', () => {
  assert.throws(() => compileBpf('tcp port', 1), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_CONFIG' && /BPF filter "tcp port": .*syntax error/.test(err.message))
  assert.throws(() => compileBpf('tcp', 1, '/nonexistent/tcpdump'), /compiled by tcpdump, which is not installed/)
  assert.throws(() => compileBpf('tcp', 147), /no BPF for link type 147/)
})
