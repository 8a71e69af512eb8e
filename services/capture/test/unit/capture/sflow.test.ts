import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { recordingLogger, silentLogger, TopoflowError } from '@topoflow/core'
import { seededRandom } from '@topoflow/testing/seeded-random'
import { decodeSFlowDatagram, emitDatagram, SFlowSource, type SFlowCounters, type SFlowDatagram, type SourcePacket, type InterfaceMetricsEvent } from '../../../src/sources/index.ts'
import { CaptureSession } from '../../../src/capture/index.ts'
import type { FlowInput } from '@topoflow/schemas'
import { corpusDir, FakeSource, udpPayloads } from './helpers.ts'

const files = ['sflow_expanded.pcap', 'sflow_multiple_counter_30_pdus.pcap', 'sflow-print-v6.pcap']

/** The facts `tcpdump -vv` prints for each datagram, in a comparable form. */
type Facts = Array<Record<string, string | number>>

function num (s: string | undefined): number { return Number(s) }

/** Parses tcpdump's sFlow printout into one list of facts per datagram. */
function tcpdumpFacts (file: string): Facts[] {
  const text = execFileSync('tcpdump', ['-nn', '-vv', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  const out: Facts[] = []
  let cur: Facts | undefined
  let m: RegExpMatchArray | null
  for (const line of text.split('\n')) {
    if ((m = line.match(/sFlow version (\d+) packet not supported/)) !== null) {
      cur = [{ what: 'unsupported', version: num(m[1]) }]
      out.push(cur)
    } else if ((m = line.match(/sFlowv5, IPv[46] agent (\S+), agent-id (\d+), seqnum (\d+), uptime (\d+), samples (\d+)/)) !== null) {
      cur = [{ what: 'datagram', agent: m[1] as string, subAgentId: num(m[2]), sequence: num(m[3]), uptime: num(m[4]), samples: num(m[5]) }]
      out.push(cur)
    } else if (cur === undefined) continue
    else if ((m = line.match(/(expanded )?flow sample \((\d)\), length \d+, seqnum (\d+), type (\d+), idx (\d+), rate (\d+), pool (\d+), drops (\d+),(?: input (\d+) output (\d+))? records (\d+)/)) !== null) {
      const f: Record<string, string | number> = { what: 'flow', expanded: m[1] !== undefined ? 1 : 0, sequence: num(m[3]), sourceIdType: num(m[4]), sourceIdIndex: num(m[5]), samplingRate: num(m[6]), samplePool: num(m[7]), drops: num(m[8]), records: num(m[11]) }
      if (m[9] !== undefined) { f.input = num(m[9]); f.output = num(m[10]) }
      cur.push(f)
    } else if ((m = line.match(/(expanded )?counter sample \((\d)\), length \d+, seqnum (\d+), type (\d+), idx (\d+), records (\d+)/)) !== null) {
      cur.push({ what: 'counter', expanded: m[1] !== undefined ? 1 : 0, sequence: num(m[3]), sourceIdType: num(m[4]), sourceIdIndex: num(m[5]), records: num(m[6]) })
    } else if ((m = line.match(/protocol \S+ \((\d+)\), length (\d+), stripped bytes (\d+), header_size (\d+)/)) !== null) {
      cur.push({ what: 'raw', protocol: num(m[1]), frameLength: num(m[2]), stripped: num(m[3]), headerSize: num(m[4]) })
    } else if ((m = line.match(/ifindex (\d+), iftype (\d+), ifspeed (\d+), ifdirection (\d+)/)) !== null) {
      cur.push({ what: 'if', IfIndex: num(m[1]), IfType: num(m[2]), IfSpeed: num(m[3]), IfDirection: num(m[4]) })
    } else if ((m = line.match(/ifstatus (\d+),/)) !== null) {
      cur.push({ what: 'status', IfStatus: num(m[1]) })
    } else if ((m = line.match(/(In|Out) octets (\d+), unicast pkts (\d+), multicast pkts (\d+), broadcast pkts (\d+), discards (\d+)/)) !== null) {
      const d = m[1] as string
      cur.push({ what: d, octets: num(m[2]), ucast: num(m[3]), mcast: num(m[4]), bcast: num(m[5]), discards: num(m[6]) })
    } else if ((m = line.match(/In errors (\d+), unknown protos (\d+)/)) !== null) {
      cur.push({ what: 'inErr', errors: num(m[1]), unknown: num(m[2]) })
    } else if ((m = line.match(/Out errors (\d+), promisc mode (\d+)/)) !== null) {
      cur.push({ what: 'outErr', errors: num(m[1]), promisc: num(m[2]) })
    } else if ((m = line.match(/align errors (\d+), fcs errors (\d+), single collision (\d+), multiple collision (\d+), test error (\d+)/)) !== null) {
      cur.push({ what: 'eth1', a: num(m[1]), b: num(m[2]), c: num(m[3]), d: num(m[4]), e: num(m[5]) })
    }
  }
  return out
}

/** The same facts from our decoder, in tcpdump's order. */
function ourFacts (dg: SFlowDatagram, samplesInOrder: Array<{ kind: 'flow' | 'counter', i: number }>): Facts {
  const out: Facts = [{ what: 'datagram', agent: dg.agent, subAgentId: dg.subAgentId, sequence: dg.sequence, uptime: dg.uptime, samples: dg.samples }]
  for (const s of samplesInOrder) {
    if (s.kind === 'flow') {
      const f = dg.flowSamples[s.i]
      assert.ok(f !== undefined)
      const o: Record<string, string | number> = { what: 'flow', expanded: f.expanded ? 1 : 0, sequence: f.sequence, sourceIdType: f.sourceIdType, sourceIdIndex: f.sourceIdIndex, samplingRate: f.samplingRate, samplePool: f.samplePool, drops: f.drops, records: f.records }
      if (!f.expanded) { o.input = f.input; o.output = f.output }
      out.push(o)
      for (const h of f.rawHeaders) out.push({ what: 'raw', protocol: h.protocol, frameLength: h.frameLength, stripped: h.stripped, headerSize: h.header.length })
    } else {
      const c = dg.counterSamples[s.i]
      assert.ok(c !== undefined)
      out.push({ what: 'counter', expanded: c.expanded ? 1 : 0, sequence: c.sequence, sourceIdType: c.sourceIdType, sourceIdIndex: c.sourceIdIndex, records: c.records })
      const facts: Facts = []
      const g = c.generic
      if (g !== undefined) {
        facts.push({ what: 'if', IfIndex: g.IfIndex, IfType: g.IfType, IfSpeed: g.IfSpeed, IfDirection: g.IfDirection })
        facts.push({ what: 'status', IfStatus: g.IfStatus })
        facts.push({ what: 'In', octets: g.IfInOctets, ucast: g.IfInUcastPkts, mcast: g.IfInMulticastPkts, bcast: g.IfInBroadcastPkts, discards: g.IfInDiscards })
        facts.push({ what: 'inErr', errors: g.IfInErrors, unknown: g.IfInUnknownProtos })
        facts.push({ what: 'Out', octets: g.IfOutOctets, ucast: g.IfOutUcastPkts, mcast: g.IfOutMulticastPkts, bcast: g.IfOutBroadcastPkts, discards: g.IfOutDiscards })
        facts.push({ what: 'outErr', errors: g.IfOutErrors, promisc: g.IfPromiscuousMode })
      }
      const e = c.ethernet
      const ethFact = e === undefined ? undefined : { what: 'eth1', a: e.AlignmentErrors as number, b: e.FCSErrors as number, c: e.SingleCollisionFrames as number, d: e.MultipleCollisionFrames as number, e: e.SQETestErrors as number }
      out.push(...facts)
      if (ethFact !== undefined) out.push(ethFact)
    }
  }
  return out
}

/** Record order inside a counter sample varies (tcpdump prints as sent): compare as sets per sample. */
function normalize (facts: Facts): string[] {
  return facts.map((f) => JSON.stringify(f)).sort()
}

/** Sample order of a datagram as sent, read from the raw bytes (our decoder groups by kind). */
function sampleOrder (buf: Buffer): Array<{ kind: 'flow' | 'counter', i: number }> {
  let o = buf.readUInt32BE(4) === 1 ? 8 + 4 : 8 + 16
  o += 12
  const n = buf.readUInt32BE(o); o += 4
  const order: Array<{ kind: 'flow' | 'counter', i: number }> = []
  let flows = 0; let counters = 0
  for (let i = 0; i < n; i++) {
    const fmt = buf.readUInt32BE(o); const len = buf.readUInt32BE(o + 4)
    if (fmt === 1 || fmt === 3) order.push({ kind: 'flow', i: flows++ }); else if (fmt === 2 || fmt === 4) order.push({ kind: 'counter', i: counters++ })
    o += 8 + len
  }
  return order
}

for (const name of files) {
  test(`sFlow datagrams of ${name} decode to what tcpdump -vv prints`, () => {
    const file = join(corpusDir, name)
    const payloads = udpPayloads(file)
    const expected = tcpdumpFacts(file)
    assert.equal(payloads.length, expected.length, 'one datagram per packet')
    assert.ok(payloads.length > 0)
    let samples = 0
    for (let i = 0; i < payloads.length; i++) {
      const buf = payloads[i] as Buffer
      const facts = expected[i] as Facts
      if (facts[0]?.what === 'unsupported') {
        assert.throws(() => decodeSFlowDatagram(buf), (err: unknown) => TopoflowError.is(err) && err.context.reason === 'version', `datagram ${i + 1} is sFlow version ${String(facts[0].version)}`)
        continue
      }
      const dg = decodeSFlowDatagram(buf)
      samples += dg.flowSamples.length + dg.counterSamples.length
      assert.deepEqual(normalize(ourFacts(dg, sampleOrder(buf))), normalize(expected[i] as Facts), `datagram ${i + 1}`)
    }
    assert.ok(samples > 0)
  })
}

test('the expanded flow sample carries its raw Ethernet header, wire length and rate', () => {
  const [buf] = udpPayloads(join(corpusDir, 'sflow_expanded.pcap'))
  const dg = decodeSFlowDatagram(buf as Buffer)
  assert.equal(dg.agent, '49.49.49.49')
  const s = dg.flowSamples[0]
  assert.equal(s?.samplingRate, 1000)
  assert.equal(s?.sourceIdIndex, 11001)
  assert.equal(s?.rawHeaders.length, 1)
  assert.equal(s?.rawHeaders[0]?.header.length, 122)
  assert.equal(dg.skipped, 2, 'the extended gateway and router records are skipped')
})

test('sampled packets become flows with SamplingRate set and counters multiplied by it', async () => {
  const [buf] = udpPayloads(join(corpusDir, 'sflow_expanded.pcap'))
  const source = new FakeSource()
  const flows: FlowInput[] = []
  const session = new CaptureSession({
    captureId: 'cap-sflow', nodeId: 'n1', nodeTID: 'tid-1', host: 'h1', type: 'sflow', source,
    table: {}, onFlows: (f) => flows.push(...f), logger: silentLogger()
  })
  await session.start()
  const sflow = new SFlowSource({ address: '127.0.0.1', minPort: 1, maxPort: 1 })
  sflow.handleDatagram(buf as Buffer, (p) => source.emit(p), {}, 1_700_000_000_000)
  sflow.handleDatagram(buf as Buffer, (p) => source.emit(p), {}, 1_700_000_000_500)
  await session.stop()
  assert.equal(flows.length, 1)
  const f = flows[0] as FlowInput
  const m = f.Metric as Required<FlowInput['Metric']>
  assert.equal(f.SamplingRate, 1000)
  assert.equal(m.ABPackets + m.BAPackets, 2000, 'two samples of one in 1000 packets')
  assert.equal(m.ABBytes + m.BABytes, 2 * 1000 * 122, 'frame length without the 4 stripped FCS bytes')
  assert.equal(f.CaptureID, 'cap-sflow')
  assert.equal(f.NodeTID, 'tid-1')
  assert.equal(f.Host, 'h1')
  assert.equal(f.CaptureType, 'sflow')
  assert.equal(sflow.counters.flowSamples, 2)
})

test('counter samples become interface metrics events', () => {
  const payloads = udpPayloads(join(corpusDir, 'sflow_multiple_counter_30_pdus.pcap'))
  const events: InterfaceMetricsEvent[] = []
  const counters: SFlowCounters = { datagrams: 0, malformed: {}, flowSamples: 0, counterSamples: 0, unsupportedHeaders: 0, skipped: 0 }
  // Five datagrams of this capture are not sFlow v5 (tcpdump: "version 327681 packet not supported").
  for (const p of payloads.filter((b) => b.readUInt32BE(0) === 5)) emitDatagram(decodeSFlowDatagram(p), 1000, () => {}, { onInterfaceMetrics: (e) => events.push(e) }, counters)
  assert.equal(events.length, 144, 'tcpdump shows 142 expanded + 2 compact counter samples')
  const first = events[0]
  assert.equal(first?.Agent, '15.184.8.4')
  assert.equal(first?.SourceIDIndex, 55)
  assert.equal(first?.Counters?.IfInOctets, 820721)
  assert.equal(first?.Counters?.IfOutBroadcastPkts, 2213534)
  assert.equal(first?.Counters?.IfSpeed, 1000000000)
  assert.equal(first?.Ethernet?.FCSErrors, 0)
})

test('malformed datagrams are rejected with a reason, counted and skipped, never crash', () => {
  const [good] = udpPayloads(join(corpusDir, 'sflow_expanded.pcap'))
  const [segv] = udpPayloads(join(corpusDir, 'sflow_print-segv.pcap'))
  assert.throws(() => decodeSFlowDatagram(segv as Buffer), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_DECODE')
  const sflow = new SFlowSource({ address: '127.0.0.1', minPort: 1, maxPort: 1 })
  const packets: SourcePacket[] = []
  const g = good as Buffer
  // Every truncation, a wrong version, and bytes flipped in the sample length.
  for (let n = 0; n < g.length; n++) sflow.handleDatagram(g.subarray(0, n), (p) => packets.push(p), {})
  const v4 = Buffer.from(g); v4.writeUInt32BE(4, 0)
  sflow.handleDatagram(v4, (p) => packets.push(p), {})
  const huge = Buffer.from(g); huge.writeUInt32BE(0xffffff00, 28 + 4)
  sflow.handleDatagram(huge, (p) => packets.push(p), {})
  sflow.handleDatagram(segv as Buffer, (p) => packets.push(p), {})
  const total = Object.values(sflow.counters.malformed).reduce((a, b) => a + b, 0)
  assert.equal(total, g.length + 3)
  assert.equal(sflow.counters.malformed.version, 1)
  assert.ok((sflow.counters.malformed.truncated ?? 0) > 0)
  assert.equal(packets.length, 0, 'nothing from a broken datagram')
  sflow.handleDatagram(g, (p) => packets.push(p), {})
  assert.equal(packets.length, 1, 'the collector goes on')
})

test('mutated sFlow datagrams: rejected with a reason or accounted, never an exception of the decoder\'s own', async () => {
  const datagrams = ['sflow_expanded.pcap', 'sflow-print-v6.pcap', 'sflow_multiple_counter_30_pdus.pcap'].flatMap((f) => udpPayloads(join(corpusDir, f)))
  assert.ok(datagrams.length >= 30)
  const random = seededRandom(0x5f10)
  const pick = (n: number): number => Math.floor(random() * n)
  const source = new FakeSource()
  const { logger, records } = recordingLogger()
  const session = new CaptureSession({ captureId: 'cap-fuzz', nodeId: 'n1', nodeTID: 'tid-1', host: 'h1', type: 'sflow', source, table: {}, onFlows: () => {}, logger })
  await session.start()
  const sflow = new SFlowSource({ address: '127.0.0.1', minPort: 1, maxPort: 1 })
  const events: InterfaceMetricsEvent[] = []
  const rounds = 20_000
  for (let i = 0; i < rounds; i++) {
    const d = Buffer.from(datagrams[pick(datagrams.length)] as Buffer)
    const flips = 1 + pick(8)
    for (let f = 0; f < flips; f++) d[pick(d.length)] = pick(256)
    sflow.handleDatagram(pick(4) === 0 ? d.subarray(0, pick(d.length)) : d, (p) => source.emit(p), { onInterfaceMetrics: (e) => events.push(e) }, 1_700_000_000_000 + i)
  }
  await session.stop()
  const malformed = Object.values(sflow.counters.malformed).reduce((a, b) => a + b, 0)
  assert.equal(sflow.counters.malformed.exception, undefined, JSON.stringify(sflow.counters.malformed))
  assert.ok(malformed > 0 && malformed < rounds, JSON.stringify(sflow.counters))
  assert.ok(sflow.counters.flowSamples > 0 && events.length > 0)
  // Mutated sampling rates ask for more flow tables than a capture keeps (16): those packets are dropped and counted; none failed.
  assert.deepEqual(records.filter((r) => r.msg === 'Packet processing failed'), [])
})
