import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@topoflow/core'
import type { FlowInput } from '@topoflow/schemas'
import { run, sh, VethPair, waitFor, type Running } from '@topoflow/testing'
import { CaptureSession } from '../../../src/capture/index.ts'
import { SFlowSource } from '../../../src/sources/index.ts'

/**
 * sFlow from a real exporter: pmacctd (pmacct's libpcap probe) with its sfprobe plugin samples
 * one packet in RATE on a veth inside a namespace and exports sFlow v5 to our collector, which
 * listens on an address of a second veth into that namespace. UDP flows both ways with
 * different frame sizes, so each sample's direction shows in its frame length.
 *
 * pmacctd samples at random (each packet with probability 1/RATE), so the reference is the
 * export itself: tcpdump records the datagrams pmacctd sent and tshark decodes their samples.
 * Each flow must then count exactly RATE packets and RATE x frame bytes per sample of its
 * direction, with SamplingRate = RATE, and estimate the real traffic within a few sigma.
 */

const RATE = 10
const DATAGRAMS = 2000 // each way
const OUT_FRAME = 14 + 20 + 8 + 200
const BACK_FRAME = 14 + 20 + 8 + 300

const tools = ['ip', 'tcpdump', 'tshark', 'pmacctd']

function unavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0)
  return missing.length > 0 ? `missing tools: ${missing.join(', ')} (Debian packages pmacct, tcpdump, tshark)` : undefined
}

const why = unavailable()
// In CI a missing tool is a failure, not a skip.
const skip = why !== undefined && process.env.CI !== 'true' ? why : false

const pair = new VethPair('sf')
const net = 10 + (process.pid % 200)
const exportRoot = `sfr${process.pid % 100000}`
const exportPeer = `sfe${process.pid % 100000}`
const collectorIp = `10.216.${net}.1`
const exporterIp = `10.216.${net}.2`
const workDir = mkdtempSync(join(tmpdir(), 'tf-sflow-exporter-'))
const children: Running[] = []

before(() => {
  if (why !== undefined) return
  pair.create()
  // The export path: a veth from nsB to this (the collector's) namespace.
  sh('ip', ['link', 'add', exportRoot, 'type', 'veth', 'peer', 'name', exportPeer, 'netns', pair.nsB])
  sh('sysctl', ['-qw', `net.ipv6.conf.${exportRoot}.disable_ipv6=1`])
  sh('ip', ['addr', 'add', `${collectorIp}/24`, 'dev', exportRoot])
  sh('ip', ['link', 'set', exportRoot, 'up'])
  sh('ip', ['netns', 'exec', pair.nsB, 'sysctl', '-qw', `net.ipv6.conf.${exportPeer}.disable_ipv6=1`])
  sh('ip', ['-n', pair.nsB, 'addr', 'add', `${exporterIp}/24`, 'dev', exportPeer])
  sh('ip', ['-n', pair.nsB, 'link', 'set', exportPeer, 'up'])
})

after(() => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL')
  pair.destroy()
  try { sh('ip', ['link', 'del', exportRoot]) } catch { /* gone with the namespace */ }
  rmSync(workDir, { recursive: true, force: true })
})

function start (cmd: string, args: string[]): Running {
  const r = run(cmd, args)
  children.push(r)
  return r
}

const udpEchoServer = `
const s = require('node:dgram').createSocket('udp4'); let n = 0
s.on('message', (m, r) => s.send(Buffer.alloc(300, 1), r.port, r.address, () => { if (++n === ${DATAGRAMS}) s.close() }))
s.bind(9999, () => process.stdout.write('ready\\n'))
setTimeout(() => process.exit(2), 40000).unref()`

// One datagram in flight at a time: nothing is lost on the way, so both ways carry DATAGRAMS.
const udpClient = (dst: string): string => `
const s = require('node:dgram').createSocket('udp4'); let n = 0
const next = () => { if (n++ === ${DATAGRAMS}) { s.close(); return } s.send(Buffer.alloc(200, 2), 9999, '${dst}') }
s.on('message', next); s.bind(0, next)
setTimeout(() => process.exit(2), 40000).unref()`

interface Sample { frameLength: number, stripped: number, rate: number }

/** The flow samples in the exported datagrams, as tshark decodes them (one raw header each). */
function exportedSamples (file: string, port: number): { datagrams: number, samples: Sample[] } {
  const out = sh('tshark', ['-n', '-r', file, '-d', `udp.port==${port},sflow`, '-T', 'fields', '-E', 'separator=/t',
    '-e', 'sflow_245.header.frame_length', '-e', 'sflow_245.header.payload_stripped', '-e', 'sflow.flow_sample.sampling_rate'])
  const lines = out.split('\n').filter((l) => l.trim() !== '')
  const samples: Sample[] = []
  for (const line of lines) {
    const [lens, stripped, rates] = line.split('\t').map((c) => c === '' ? [] : c.split(',').map(Number))
    assert.ok(lens !== undefined && stripped !== undefined && rates !== undefined && lens.length === rates.length && lens.length === stripped.length, `one raw header per flow sample: ${line}`)
    for (let i = 0; i < lens.length; i++) samples.push({ frameLength: lens[i] as number, stripped: stripped[i] as number, rate: rates[i] as number })
  }
  return { datagrams: lines.length, samples }
}

test(`pmacctd sfprobe sampling 1/${RATE} on a veth: flows carry SamplingRate and counts scaled by it`, { skip, timeout: 60000 }, async () => {
  if (why !== undefined) assert.fail(`CI=true and this test cannot run: ${why}`)
  const flows: FlowInput[] = []
  const source = new SFlowSource({ address: collectorIp, minPort: 6343, maxPort: 6443 })
  const session = new CaptureSession({
    captureId: 'cap-sflow', nodeId: 'node-b', nodeTID: 'tid-b', host: 'test-host', type: 'sflow', source,
    table: {}, onFlows: (f) => flows.push(...f), logger: silentLogger()
  })
  await session.start()
  assert.equal(session.state, 'active', session.error ?? '')
  const port = Number((source.endpoint ?? '').split(':').at(-1))
  assert.ok(port >= 6343, `collector endpoint ${String(source.endpoint)}`)

  try {
    const exportFile = join(workDir, 'export.pcap')
    const tcpdump = start('tcpdump', ['-n', '--immediate-mode', '-U', '-i', exportRoot, '-w', exportFile, 'udp', 'and', 'dst', 'port', String(port)])
    await waitFor(() => /listening on/.test(tcpdump.stderr) || (tcpdump.child.exitCode !== null ? assert.fail(tcpdump.stderr) : false), { timeout: 15000, what: 'tcpdump on the export veth' })

    const config = join(workDir, 'pmacctd.conf')
    writeFileSync(config, [
      'daemonize: false',
      `pcap_interface: ${pair.ifB}`,
      'plugins: sfprobe',
      `sfprobe_receiver: ${collectorIp}:${port}`,
      `sfprobe_agentip: ${exporterIp}`,
      `sampling_rate: ${RATE}`
    ].join('\n') + '\n')
    const pmacctd = start('ip', ['netns', 'exec', pair.nsB, 'pmacctd', '-f', config])
    const log = (): string => pmacctd.stdout + pmacctd.stderr
    await waitFor(() => log().includes(`Sampling at: 1/${RATE}`) && /link type is/.test(log()) ? true : (pmacctd.child.exitCode !== null ? assert.fail(`pmacctd exited: ${log()}`) : false), { timeout: 15000, what: 'pmacctd to capture' })

    const server = start('ip', ['netns', 'exec', pair.nsB, process.execPath, '-e', udpEchoServer])
    await waitFor(() => server.stdout.includes('ready') || (server.child.exitCode !== null ? assert.fail(server.stderr) : false), { timeout: 15000, what: 'the UDP echo server' })
    const client = start('ip', ['netns', 'exec', pair.nsA, process.execPath, '-e', udpClient(pair.ipB)])
    assert.equal((await client.done).code, 0, 'every datagram echoed')
    assert.equal((await server.done).code, 0)

    // Stop pmacctd (SIGINT, effective at its next pcap timeout). Its core and its plugin race to
    // shut down: the core either prints its pcap counters and exits 0, or sees the plugin gone
    // first and exits 1 without them. Either way, what it exported is in the export capture.
    pmacctd.child.kill('SIGINT')
    const exit = await pmacctd.done
    assert.ok(exit.code === 0 || (exit.code === 1 && /no more plugins active/.test(log())), `pmacctd stopped: ${log()}`)
    const seen = log().match(/received_packets=(\d+) dropped_packets=(\d+)/)
    if (seen !== null) {
      assert.equal(Number(seen[2]), 0, 'pmacctd dropped nothing')
      assert.ok(Number(seen[1]) >= 2 * DATAGRAMS, `pmacctd saw the traffic (${seen[1]} packets)`)
    }
    // Every datagram tcpdump saw leave for the collector has been received.
    tcpdump.child.kill('SIGINT')
    await tcpdump.done
    const reference = exportedSamples(exportFile, port)
    assert.ok(reference.datagrams > 0, 'pmacctd exported sFlow datagrams')
    await waitFor(() => source.counters.datagrams >= reference.datagrams, { timeout: 10000, what: `${reference.datagrams} datagrams at the collector` })
    assert.equal(source.counters.datagrams, reference.datagrams)
    assert.deepEqual(source.counters.malformed, {}, 'every datagram is well-formed sFlow v5')
    assert.equal(source.counters.flowSamples, reference.samples.length, 'every flow sample decoded')
    assert.ok(reference.samples.every((s) => s.rate === RATE), 'pmacctd wrote its sampling rate in each sample')

    await session.stop()
    const out = reference.samples.filter((s) => s.frameLength - s.stripped === OUT_FRAME).length
    const back = reference.samples.filter((s) => s.frameLength - s.stripped === BACK_FRAME).length
    const udp = flows.filter((f) => f.Transport?.Protocol === 'UDP' && (f.Transport.A === 9999 || f.Transport.B === 9999))
    assert.equal(udp.length, 1, `one UDP flow: ${JSON.stringify(flows.map((f) => f.LayersPath))}`)
    const f = udp[0] as FlowInput
    assert.equal(f.SamplingRate, RATE)
    assert.equal(f.CaptureType, 'sflow')
    assert.equal(f.CaptureID, 'cap-sflow')
    // Direction: A is whoever sent the first sampled packet.
    const outIsAB = f.Network?.A === pair.ipA
    const m = f.Metric as Required<FlowInput['Metric']>
    const [outPackets, outBytes, backPackets, backBytes] = outIsAB ? [m.ABPackets, m.ABBytes, m.BAPackets, m.BABytes] : [m.BAPackets, m.BABytes, m.ABPackets, m.ABBytes]
    assert.deepEqual([outPackets, outBytes, backPackets, backBytes], [out * RATE, out * RATE * OUT_FRAME, back * RATE, back * RATE * BACK_FRAME],
      'RATE packets and RATE x frame length bytes per sample, each way')
    // Binomial(2000, 1/10): mean 200 samples, sigma ~13.4; 25% off is more than 3.5 sigma.
    for (const [what, estimate] of [['out', outPackets], ['back', backPackets]] as const) {
      assert.ok(Math.abs(estimate - DATAGRAMS) <= DATAGRAMS / 4, `${what}: ${estimate} packets estimated for ${DATAGRAMS} sent`)
    }
  } finally {
    await session.stop()
  }
})
