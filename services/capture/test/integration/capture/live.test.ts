import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@topoflow/core'
import { topics, type CaptureStatus, type Flow, type Resource } from '@topoflow/schemas'
import { CaptureManager, type CaptureTarget } from '../../../src/capture/index.ts'
import type { LiveBackend } from '../../../src/sources/index.ts'
import { RecordingBus, waitFor } from '../../unit/capture/helpers.ts'
import { run, sh, VethPair } from '@topoflow/testing'

/**
 * Live capture through the manager, in a namespace the test makes: exact packet counts for a
 * known number of ICMP echoes and UDP datagrams, with both libpcap bindings side by side and
 * tcpdump on the other end of the veth as the reference.
 */

const N = 40 // ICMP echo requests
const M = 30 // UDP datagrams, each echoed back

const pair = new VethPair('cr')
const workDir = mkdtempSync(join(tmpdir(), 'tf-capture-live-'))
const managers: CaptureManager[] = []

before(() => { pair.create() })

after(async () => {
  await Promise.allSettled(managers.map((m) => m.close(2000)))
  pair.destroy()
  rmSync(workDir, { recursive: true, force: true })
})

function captureRecord (uuid: string, resource: Record<string, unknown>): Resource {
  return { ResourceType: 'capture', UUID: uuid, Resource: resource, Deleted: false, Time: Date.now() }
}

function newManager (backend: LiveBackend, targets: Record<string, CaptureTarget[]>): { manager: CaptureManager, bus: RecordingBus } {
  const bus = new RecordingBus()
  const manager = new CaptureManager({
    bus,
    host: 'test-host',
    logger: silentLogger(),
    resolve: async (q) => targets[q] ?? [],
    config: { backend, statsUpdateSeconds: 1 }
  })
  managers.push(manager)
  manager.start()
  return { manager, bus }
}

const udpEchoServer = `
const s = require('node:dgram').createSocket('udp4'); let n = 0
s.on('message', (m, r) => s.send(m, r.port, r.address, () => { if (++n === ${M}) s.close() }))
s.bind(9999, () => process.stdout.write('ready\\n'))
setTimeout(() => process.exit(2), 30000).unref()`

const udpClient = (dst: string): string => `
const s = require('node:dgram').createSocket('udp4'); let n = 0
const next = () => { if (n++ === ${M}) { s.close(); return } s.send(Buffer.alloc(100, n), 9999, '${dst}') }
s.on('message', next); s.bind(0, next)
setTimeout(() => process.exit(2), 30000).unref()`

test(`exactly ${N} ICMP echoes and ${M} UDP datagrams each way, with cap and node_pcap, as tcpdump counts them`, async () => {
  const target: CaptureTarget = { nodeId: 'node-a', nodeTID: 'tid-a', name: pair.ifA, netnsPath: pair.netnsPath(pair.nsA) }
  const runs = (['cap', 'pcap'] as const).map((backend) => {
    const r = newManager(backend, { q: [target] })
    r.manager.applyResource(`cap-${backend}`, captureRecord(`cap-${backend}`, { GremlinQuery: 'q', Type: 'afpacket' }))
    return { backend, ...r }
  })
  // tcpdump on the other end of the veth, as the reference.
  const pcapFile = join(workDir, 'reference.pcap')
  const tcpdump = run('ip', ['netns', 'exec', pair.nsB, 'tcpdump', '--immediate-mode', '-i', pair.ifB, '-U', '-w', pcapFile])
  await waitFor('tcpdump to listen', () => /listening on/.test(tcpdump.stderr) || undefined, 15000)
  for (const r of runs) {
    await waitFor(`the ${r.backend} capture to be active`, () => r.manager.statuses().find((s) => s.State === 'active') ?? (r.manager.statuses().find((s) => s.State === 'error') !== undefined ? assert.fail(r.manager.statuses()[0]?.Error ?? '') : undefined), 30000)
  }

  const ping = sh('ip', ['netns', 'exec', pair.nsA, 'ping', '-q', '-c', String(N), '-i', '0.01', '-W', '2', pair.ipB])
  assert.match(ping, new RegExp(`${N} packets transmitted, ${N} received`))
  const server = run('ip', ['netns', 'exec', pair.nsB, process.execPath, '-e', udpEchoServer])
  await waitFor('the UDP echo server', () => server.stdout.includes('ready') || undefined, 15000)
  const client = run('ip', ['netns', 'exec', pair.nsA, process.execPath, '-e', udpClient(pair.ipB)])
  assert.equal((await client.done).code, 0)
  assert.equal((await server.done).code, 0)

  const expected = 2 * N + 2 * M
  for (const r of runs) {
    await waitFor(`${r.backend}: every packet in the flow table`, () => {
      const s = r.manager.statuses()[0]
      return s !== undefined && (s.PacketsReceived ?? 0) >= expected ? s : undefined
    }, 20000)
  }
  tcpdump.child.kill('SIGINT')
  await tcpdump.done

  const count = (filter: string): number => sh('tcpdump', ['-nn', '-r', pcapFile, filter]).split('\n').filter((l) => l !== '').length
  const reference = {
    echoRequests: count('icmp[icmptype] == icmp-echo'),
    echoReplies: count('icmp[icmptype] == icmp-echoreply'),
    udpOut: count(`udp and dst port 9999 and dst host ${pair.ipB}`),
    udpBack: count(`udp and src port 9999 and src host ${pair.ipB}`)
  }
  assert.deepEqual(reference, { echoRequests: N, echoReplies: N, udpOut: M, udpBack: M }, 'tcpdump saw exactly the traffic sent')

  for (const r of runs) {
    await r.manager.publishStatus()
    await r.manager.close()
    const flows = r.bus.on(topics.flowsRaw).map((m) => m.value as Flow)
    const icmp = flows.filter((f) => f.ICMP?.Type === 'ECHO' && f.Network?.A === pair.ipA)
    const udp = flows.filter((f) => f.Transport?.Protocol === 'UDP' && f.Transport.B === 9999)
    assert.equal(icmp.length, 1, `${r.backend}: one ICMP echo flow`)
    assert.equal(udp.length, 1, `${r.backend}: one UDP flow`)
    const i = icmp[0] as Flow; const u = udp[0] as Flow
    assert.deepEqual([i.Metric.ABPackets, i.Metric.BAPackets], [reference.echoRequests, reference.echoReplies], `${r.backend}: ICMP packets each way`)
    assert.deepEqual([i.Metric.ABBytes, i.Metric.BABytes], [98 * N, 98 * N], `${r.backend}: ICMP frame bytes each way`)
    assert.deepEqual([u.Metric.ABPackets, u.Metric.BAPackets], [reference.udpOut, reference.udpBack], `${r.backend}: UDP packets each way`)
    assert.deepEqual([u.Metric.ABBytes, u.Metric.BABytes], [142 * M, 142 * M], `${r.backend}: UDP frame bytes each way`)
    for (const f of [i, u]) {
      assert.equal(f.NodeTID, 'tid-a')
      assert.equal(f.CaptureID, `cap-${r.backend}`)
      assert.equal(f.Host, 'test-host')
    }
    assert.ok(i.Metric.RTT !== undefined && i.Metric.RTT > 0, 'echo RTT measured')
    const last = r.bus.on(topics.captureStatus).filter((m) => m.value !== null).map((m) => m.value as CaptureStatus)
    assert.ok(last.some((s) => s.State === 'active' && (s.PacketsReceived ?? 0) >= expected), `${r.backend}: status published with the packet count`)
    assert.equal(last.at(-1)?.State, 'stopped')
  }
})

test('a bad BPF filter and an unknown interface give State error with the message; a vanished namespace too', async () => {
  pair.addNamespace(`tf-cr${process.pid % 100000}-c`, 'cr0')
  const nsC = pair.extraNamespaces[0] as string
  const targets: Record<string, CaptureTarget[]> = {
    bpf: [{ nodeId: 'node-a', nodeTID: 'tid-a', name: pair.ifA, netnsPath: pair.netnsPath(pair.nsA) }],
    missing: [{ nodeId: 'node-x', nodeTID: 'tid-x', name: 'nope0', netnsPath: pair.netnsPath(pair.nsA) }],
    vanishing: [{ nodeId: 'node-c', nodeTID: 'tid-c', name: 'cr0', netnsPath: pair.netnsPath(nsC) }]
  }
  const { manager } = newManager('cap', targets)
  manager.applyResource('bad-bpf', captureRecord('bad-bpf', { GremlinQuery: 'bpf', BPFFilter: 'tcp port ((' }))
  manager.applyResource('missing', captureRecord('missing', { GremlinQuery: 'missing' }))
  manager.applyResource('vanishing', captureRecord('vanishing', { GremlinQuery: 'vanishing' }))
  const state = (id: string): CaptureStatus | undefined => manager.statuses().find((s) => s.CaptureID === id) as CaptureStatus | undefined
  const bad = await waitFor('the BPF error', () => state('bad-bpf')?.State === 'error' ? state('bad-bpf') : undefined, 30000)
  assert.match(bad.Error ?? '', /BPF filter "tcp port \(\("/)
  const missing = await waitFor('the missing interface error', () => state('missing')?.State === 'error' ? state('missing') : undefined, 30000)
  assert.match(missing.Error ?? '', /nope0: no such interface/)
  await waitFor('the capture in the doomed namespace to be active', () => state('vanishing')?.State === 'active' || undefined, 30000)
  sh('ip', ['netns', 'del', nsC])
  const gone = await waitFor('the namespace loss', () => state('vanishing')?.State === 'error' ? state('vanishing') : undefined, 15000)
  assert.match(gone.Error ?? '', /vanished/)
  await manager.close()
})

test('in the agent\'s own namespace: cap in-process and node_pcap in a plain worker count exactly', async () => {
  // A veth with one end here (the test's namespace stands for the agent's) and one in nsB.
  const local = `crh${process.pid % 100000}`
  const peer = `crp${process.pid % 100000}`
  const net = 10 + (process.pid % 200)
  const [ipLocal, ipPeer] = [`10.215.${net}.1`, `10.215.${net}.2`]
  try {
    sh('ip', ['link', 'add', local, 'type', 'veth', 'peer', 'name', peer, 'netns', pair.nsB])
    sh('sysctl', ['-qw', `net.ipv6.conf.${local}.disable_ipv6=1`])
    sh('ip', ['netns', 'exec', pair.nsB, 'sysctl', '-qw', `net.ipv6.conf.${peer}.disable_ipv6=1`])
    sh('ip', ['addr', 'add', `${ipLocal}/24`, 'dev', local])
    sh('ip', ['link', 'set', local, 'up'])
    sh('ip', ['-n', pair.nsB, 'addr', 'add', `${ipPeer}/24`, 'dev', peer])
    sh('ip', ['-n', pair.nsB, 'link', 'set', peer, 'up'])
    const target: CaptureTarget = { nodeId: 'node-h', nodeTID: 'tid-h', name: local, netnsPath: null }
    const runs = (['cap', 'pcap'] as const).map((backend) => {
      const r = newManager(backend, { q: [target] })
      r.manager.applyResource(`own-${backend}`, captureRecord(`own-${backend}`, { GremlinQuery: 'q', BPFFilter: 'icmp' }))
      return { backend, ...r }
    })
    for (const r of runs) {
      await waitFor(`the ${r.backend} capture to be active`, () => r.manager.statuses().find((s) => s.State === 'active') ?? (r.manager.statuses().find((s) => s.State === 'error') !== undefined ? assert.fail(r.manager.statuses()[0]?.Error ?? '') : undefined), 30000)
    }
    assert.equal(runs[0]?.manager.session('own-cap', 'node-h')?.source.kind, 'cap', 'cap runs in-process')
    assert.equal(runs[1]?.manager.session('own-pcap', 'node-h')?.source.kind, 'worker', 'node_pcap runs in a worker')
    const ping = sh('ping', ['-q', '-c', String(N), '-i', '0.01', '-W', '2', ipPeer])
    assert.match(ping, new RegExp(`${N} packets transmitted, ${N} received`))
    for (const r of runs) {
      await waitFor(`${r.backend}: every echo`, () => (r.manager.statuses()[0]?.PacketsReceived ?? 0) >= 2 * N || undefined, 20000)
      await r.manager.close()
      const icmp = r.bus.on(topics.flowsRaw).map((m) => m.value as Flow).filter((f) => f.ICMP?.Type === 'ECHO')
      assert.equal(icmp.length, 1, `${r.backend}: one echo flow`)
      assert.deepEqual([icmp[0]?.Metric.ABPackets, icmp[0]?.Metric.BAPackets], [N, N], `${r.backend}: echoes each way`)
      assert.equal(icmp[0]?.Network?.A, ipLocal)
    }
  } finally {
    try { sh('ip', ['link', 'del', local]) } catch { /* gone with its namespace */ }
  }
})
