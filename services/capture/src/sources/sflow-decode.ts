import { TopoflowError } from '@topoflow/core'
import type { InterfaceCounters } from './types.ts'

/**
 * sFlow version 5 datagrams (sflow.org/sflow_version_5.txt): XDR, big-endian, every item
 * padded to 4 bytes. Decodes what a flow collector needs: flow samples (compact and expanded)
 * with their raw packet header records, and counter samples with the generic interface and
 * Ethernet counter records. Other samples and records are skipped by their length and counted.
 */

export interface SFlowRawHeader {
  /** sFlow header_protocol: 1 Ethernet, 11 IPv4, 12 IPv6, ... */
  protocol: number
  /** Length of the packet on the wire, including the `stripped` bytes. */
  frameLength: number
  /** Bytes removed before sampling (the Ethernet FCS, usually 4). */
  stripped: number
  /** The sampled header bytes (a view into the datagram). */
  header: Buffer
}

export interface SFlowFlowSample {
  expanded: boolean
  sequence: number
  sourceIdType: number
  sourceIdIndex: number
  samplingRate: number
  samplePool: number
  drops: number
  input: number
  output: number
  records: number
  rawHeaders: SFlowRawHeader[]
}

export interface SFlowCounterSample {
  expanded: boolean
  sequence: number
  sourceIdType: number
  sourceIdIndex: number
  records: number
  generic?: InterfaceCounters
  ethernet?: Record<string, number>
}

export interface SFlowDatagram {
  version: number
  agent: string
  subAgentId: number
  sequence: number
  uptime: number
  samples: number
  flowSamples: SFlowFlowSample[]
  counterSamples: SFlowCounterSample[]
  /** Samples and records of formats not decoded here. */
  skipped: number
}

const ethernetCounterNames = [
  'AlignmentErrors', 'FCSErrors', 'SingleCollisionFrames', 'MultipleCollisionFrames', 'SQETestErrors',
  'DeferredTransmissions', 'LateCollisions', 'ExcessiveCollisions', 'InternalMacTransmitErrors',
  'CarrierSenseErrors', 'FrameTooLongs', 'InternalMacReceiveErrors', 'SymbolErrors'
] as const

/** Datagrams this large are not sFlow over UDP. */
const maxSamples = 1024
const maxRecords = 1024

class Cursor {
  readonly b: Buffer
  o: number
  readonly end: number

  constructor (b: Buffer, start: number, end: number) {
    this.b = b; this.o = start; this.end = end
  }

  need (n: number, what: string): void {
    if (this.o + n > this.end) throw malformed(`${what} truncated at byte ${this.o}`, 'truncated')
  }

  u32 (what: string): number {
    this.need(4, what)
    const v = this.b.readUInt32BE(this.o)
    this.o += 4
    return v
  }

  u64 (what: string): number {
    this.need(8, what)
    const v = this.b.readUInt32BE(this.o) * 4294967296 + this.b.readUInt32BE(this.o + 4)
    this.o += 8
    return v
  }

  /** A sub-structure of `len` bytes (XDR opaque, padded to 4). */
  sub (len: number, what: string): Cursor {
    // Plain arithmetic: lengths near 2^32 must not wrap through 32-bit bitwise operators.
    const padded = len + ((4 - (len % 4)) % 4)
    this.need(padded, what)
    const c = new Cursor(this.b, this.o, this.o + len)
    this.o += padded
    return c
  }
}

function malformed (message: string, reason: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_DECODE', `Malformed sFlow datagram: ${message}`, { context: { stage: 'sflow', reason } })
}

function ipv4 (b: Buffer, o: number): string {
  return `${b[o] as number}.${b[o + 1] as number}.${b[o + 2] as number}.${b[o + 3] as number}`
}

function ipv6 (b: Buffer, o: number): string {
  const parts: string[] = []
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(o + i).toString(16))
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1; let bestLen = 0
  for (let i = 0; i < 8;) {
    if (parts[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && parts[j] === '0') j++
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i }
    i = j
  }
  if (best < 0) return parts.join(':')
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`
}

/**
 * Decodes one datagram. Throws TOPOFLOW_ERR_DECODE (context.reason: 'version', 'truncated',
 * 'agent-address', 'too-many') when the datagram is not well-formed sFlow v5.
 */
export function decodeSFlowDatagram (buf: Buffer): SFlowDatagram {
  const c = new Cursor(buf, 0, buf.length)
  const version = c.u32('version')
  if (version !== 5) throw malformed(`version ${version}, only 5 is supported`, 'version')
  const addrType = c.u32('agent address type')
  let agent: string
  if (addrType === 1) { c.need(4, 'agent address'); agent = ipv4(buf, c.o); c.o += 4 } else if (addrType === 2) { c.need(16, 'agent address'); agent = ipv6(buf, c.o); c.o += 16 } else throw malformed(`agent address type ${addrType}`, 'agent-address')
  const dg: SFlowDatagram = {
    version,
    agent,
    subAgentId: c.u32('sub-agent id'),
    sequence: c.u32('sequence number'),
    uptime: c.u32('uptime'),
    samples: c.u32('sample count'),
    flowSamples: [],
    counterSamples: [],
    skipped: 0
  }
  if (dg.samples > maxSamples) throw malformed(`${dg.samples} samples announced`, 'too-many')
  for (let i = 0; i < dg.samples; i++) {
    const format = c.u32('sample format')
    const len = c.u32('sample length')
    const s = c.sub(len, `sample ${i + 1}`)
    const enterprise = format >>> 12
    const kind = format & 0xfff
    if (enterprise !== 0) { dg.skipped++; continue }
    switch (kind) {
      case 1: dg.flowSamples.push(flowSample(s, false, dg)); break
      case 3: dg.flowSamples.push(flowSample(s, true, dg)); break
      case 2: dg.counterSamples.push(counterSample(s, false, dg)); break
      case 4: dg.counterSamples.push(counterSample(s, true, dg)); break
      default: dg.skipped++
    }
  }
  return dg
}

function flowSample (c: Cursor, expanded: boolean, dg: SFlowDatagram): SFlowFlowSample {
  const sequence = c.u32('flow sample sequence')
  let sourceIdType: number; let sourceIdIndex: number
  if (expanded) { sourceIdType = c.u32('source id type'); sourceIdIndex = c.u32('source id index') } else {
    const id = c.u32('source id')
    sourceIdType = id >>> 24; sourceIdIndex = id & 0xffffff
  }
  const samplingRate = c.u32('sampling rate')
  const samplePool = c.u32('sample pool')
  const drops = c.u32('drops')
  let input: number; let output: number
  if (expanded) {
    c.u32('input format'); input = c.u32('input value')
    c.u32('output format'); output = c.u32('output value')
  } else {
    // Compact form: the 2 high bits are the format (e.g. 0x80000000 = several interfaces); kept as sent.
    input = c.u32('input')
    output = c.u32('output')
  }
  const records = c.u32('record count')
  if (records > maxRecords) throw malformed(`${records} flow records announced`, 'too-many')
  const sample: SFlowFlowSample = { expanded, sequence, sourceIdType, sourceIdIndex, samplingRate, samplePool, drops, input, output, records, rawHeaders: [] }
  for (let i = 0; i < records; i++) {
    const format = c.u32('flow record format')
    const r = c.sub(c.u32('flow record length'), `flow record ${i + 1}`)
    if (format !== 1) { dg.skipped++; continue }
    const protocol = r.u32('header protocol')
    const frameLength = r.u32('frame length')
    const stripped = r.u32('stripped')
    const h = r.sub(r.u32('header length'), 'sampled header')
    sample.rawHeaders.push({ protocol, frameLength, stripped, header: c.b.subarray(h.o, h.end) })
  }
  return sample
}

function counterSample (c: Cursor, expanded: boolean, dg: SFlowDatagram): SFlowCounterSample {
  const sequence = c.u32('counter sample sequence')
  let sourceIdType: number; let sourceIdIndex: number
  if (expanded) { sourceIdType = c.u32('source id type'); sourceIdIndex = c.u32('source id index') } else {
    const id = c.u32('source id')
    sourceIdType = id >>> 24; sourceIdIndex = id & 0xffffff
  }
  const records = c.u32('record count')
  if (records > maxRecords) throw malformed(`${records} counter records announced`, 'too-many')
  const sample: SFlowCounterSample = { expanded, sequence, sourceIdType, sourceIdIndex, records }
  for (let i = 0; i < records; i++) {
    const format = c.u32('counter record format')
    const r = c.sub(c.u32('counter record length'), `counter record ${i + 1}`)
    if (format === 1) sample.generic = genericCounters(r)
    else if (format === 2) {
      const eth: Record<string, number> = {}
      for (const name of ethernetCounterNames) eth[name] = r.u32(name)
      sample.ethernet = eth
    } else dg.skipped++
  }
  return sample
}

function genericCounters (r: Cursor): InterfaceCounters {
  return {
    IfIndex: r.u32('ifIndex'),
    IfType: r.u32('ifType'),
    IfSpeed: r.u64('ifSpeed'),
    IfDirection: r.u32('ifDirection'),
    IfStatus: r.u32('ifStatus'),
    IfInOctets: r.u64('ifInOctets'),
    IfInUcastPkts: r.u32('ifInUcastPkts'),
    IfInMulticastPkts: r.u32('ifInMulticastPkts'),
    IfInBroadcastPkts: r.u32('ifInBroadcastPkts'),
    IfInDiscards: r.u32('ifInDiscards'),
    IfInErrors: r.u32('ifInErrors'),
    IfInUnknownProtos: r.u32('ifInUnknownProtos'),
    IfOutOctets: r.u64('ifOutOctets'),
    IfOutUcastPkts: r.u32('ifOutUcastPkts'),
    IfOutMulticastPkts: r.u32('ifOutMulticastPkts'),
    IfOutBroadcastPkts: r.u32('ifOutBroadcastPkts'),
    IfOutDiscards: r.u32('ifOutDiscards'),
    IfOutErrors: r.u32('ifOutErrors'),
    IfPromiscuousMode: r.u32('ifPromiscuousMode')
  }
}
