import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { silentLogger } from '@topoflow/core'
import type { FlowInput } from '@topoflow/schemas'
import { CaptureSession } from '../../../src/capture/index.ts'
import { corpusDir, FakeSource, frame, pcapPackets, TCP_FLAGS, tcpFrame, vxlanFrame } from './helpers.ts'

/** CaptureSession tells the agent about TCP connections that open (for a socket scan). */

function session (onConnectionOpened?: (s: CaptureSession) => void): { session: CaptureSession, source: FakeSource } {
  const source = new FakeSource()
  const s = new CaptureSession({
    captureId: 'cap-1',
    nodeId: 'node-1',
    nodeTID: 'tid-1',
    host: 'host-1',
    type: 'pcap',
    source,
    table: { updateSeconds: 60, expireSeconds: 600, maxEntries: 1000, layerKeyMode: 'L2', extraTcpMetric: false },
    onFlows: () => {},
    ...(onConnectionOpened === undefined ? {} : { onConnectionOpened }),
    logger: silentLogger()
  })
  return { session: s, source }
}

const emit = (source: FakeSource, data: Buffer, linkType = 1): void => {
  source.emit({ linkType, tsSec: 1_700_000_000, tsNsec: 0, data, origLen: data.length })
}

const { FIN, SYN, RST, PSH, ACK } = TCP_FLAGS
const client = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 }
const server = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000, srcMac: '02:00:00:00:00:0b', dstMac: '02:00:00:00:00:0a' }

test('a SYN and a SYN-ACK call onConnectionOpened, once each; the rest of the connection and other traffic do not', async () => {
  const calls: CaptureSession[] = []
  const { session: s, source } = session((x) => calls.push(x))
  await s.start()
  const packets: Array<[string, Buffer, boolean]> = [
    ['SYN', tcpFrame({ ...client, flags: SYN }), true],
    ['SYN-ACK', tcpFrame({ ...server, flags: SYN | ACK }), true],
    ['ACK', tcpFrame({ ...client, flags: ACK }), false],
    ['PSH-ACK with data', tcpFrame({ ...client, flags: PSH | ACK, payload: 100 }), false],
    ['FIN-ACK', tcpFrame({ ...server, flags: FIN | ACK }), false],
    ['RST', tcpFrame({ ...client, flags: RST }), false],
    ['RST-ACK', tcpFrame({ ...server, flags: RST | ACK }), false],
    ['UDP', frame({ srcMac: '02:00:00:00:00:0a', dstMac: '02:00:00:00:00:0b', src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 }), false],
    ['ICMP echo', frame({ srcMac: '02:00:00:00:00:0a', dstMac: '02:00:00:00:00:0b', src: '10.0.0.1', dst: '10.0.0.2', icmpType: 8 }), false],
    ['SYN cut before its flags', tcpFrame({ ...client, flags: SYN }).subarray(0, 14 + 20 + 10), false],
    ['IPv6 SYN', tcpFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 40001, dport: 443, flags: SYN }), true],
    ['IPv6 SYN-ACK', tcpFrame({ src: 'fd00::2', dst: 'fd00::1', sport: 443, dport: 40001, flags: SYN | ACK, srcMac: server.srcMac, dstMac: server.dstMac }), true],
    ['IPv6 ACK', tcpFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 40001, dport: 443, flags: ACK }), false],
    // A container's connection seen on the underlay: the inner SYN counts.
    ['SYN in VXLAN', vxlanFrame(tcpFrame({ ...client, sport: 40002, flags: SYN }), '192.168.0.1', '192.168.0.2'), true],
    ['ACK in VXLAN', vxlanFrame(tcpFrame({ ...client, sport: 40002, flags: ACK }), '192.168.0.1', '192.168.0.2'), false]
  ]
  for (const [name, data, opens] of packets) {
    const before = calls.length
    emit(source, data)
    assert.equal(calls.length - before, opens ? 1 : 0, name)
  }
  assert.ok(calls.every((c) => c === s), 'called with the session')
  // The packets still reached the flow table: the callback adds to it, it replaces nothing.
  assert.equal(s.packetsDropped, 0)
  assert.equal(s.decodeStats().packets, packets.length)
  assert.ok(s.flowCount() >= 5, `flows: ${s.flowCount()}`)
  await s.stop()
})

test('on real captures, onConnectionOpened is called once per packet tcpdump shows with SYN set', async () => {
  for (const name of ['tcp-handshake-nano.pcap', 'mptcp-v0.pcap', 'dns_tcp.pcap']) {
    const file = join(corpusDir, name)
    const reference = execFileSync('tcpdump', ['-nn', '-r', file, 'tcp[tcpflags] & tcp-syn != 0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').filter((l) => l !== '').length
    assert.ok(reference > 0, `${name} has SYNs`)
    let calls = 0
    const { session: s, source } = session(() => { calls++ })
    await s.start()
    const packets = pcapPackets(file)
    for (const p of packets) source.emit(p)
    assert.equal(calls, reference, name)
    assert.equal(s.decodeStats().packets, packets.length)
    await s.stop()
  }
})

test('without the callback, SYNs are processed as before', async () => {
  const { session: s, source } = session()
  await s.start()
  emit(source, tcpFrame({ ...client, flags: SYN }))
  emit(source, tcpFrame({ ...server, flags: SYN | ACK }))
  assert.equal(s.packetsDropped, 0)
  assert.equal(s.flowCount(), 1)
  await s.stop()
})

test('a BPF filter given to the session (pcapsocket, sFlow) keeps only what it passes; one that does not compile stops the capture with its message', async () => {
  const flows: FlowInput[] = []
  const source = new FakeSource()
  const s = new CaptureSession({
    captureId: 'cap-bpf', nodeId: 'node-1', nodeTID: 'tid-1', host: 'host-1', type: 'pcapsocket', source,
    table: { maxEntries: 1000 }, bpf: 'tcp and port 80', onFlows: (f) => flows.push(...f), logger: silentLogger()
  })
  await s.start()
  assert.equal(s.state, 'active')
  emit(source, tcpFrame({ ...client, flags: SYN }))
  emit(source, tcpFrame({ ...client, sport: 40001, dport: 443, flags: SYN }))
  emit(source, frame({ srcMac: '02:00:00:00:00:0a', dstMac: '02:00:00:00:00:0b', src: '10.0.0.1', dst: '10.0.0.2', sport: 5000, dport: 80 }))
  await s.stop()
  assert.equal(s.packetsFiltered, 2)
  assert.deepEqual(flows.map((f) => [f.Transport?.Protocol, f.Transport?.B]), [['TCP', 80]])

  const bad = new CaptureSession({
    captureId: 'cap-bad', nodeId: 'node-1', nodeTID: 'tid-1', host: 'host-1', type: 'sflow', source: new FakeSource(),
    table: {}, bpf: 'tcp port', onFlows: () => {}, logger: silentLogger()
  })
  await bad.start()
  assert.equal(bad.state, 'error')
  assert.match(bad.error ?? '', /BPF filter "tcp port": .*syntax error/)
})
