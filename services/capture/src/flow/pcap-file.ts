import { statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { once } from 'node:events'
import type { Readable, Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import { TopoflowError } from '@topoflow/core/errors'
import { PcapStreamReader, type PcapReaderOptions } from './pcap-reader.ts'
import { PacketDecoder, type DecoderOptions } from './decode/decoder.ts'
import { formatIPv4, formatIPv6 } from './decode/bytes.ts'
import type { DecodedPacket, Segment } from './decode/packet.ts'
import { FlowTable, type FlowTableOptions } from './table.ts'
import { BpfFilter } from './bpf.ts'
import type { Flow, FlowEmitReason, LayerKeyMode } from './types.ts'

/**
 * Packets of a pcap/pcapng file or stream → decoder → flow table → flows. The engine behind
 * `topoflow pcap FILE`: flow times come from the packets, so the same file gives the same flows.
 */

/** Keeps a packet when any of its encapsulation levels matches every criterion given. */
export interface PacketFilter {
  /** 'tcp', 'udp', 'sctp', 'icmp' (v4 or v6), 'arp', 'ipv4', 'ipv6'. */
  protocols?: string[]
  /** IP addresses, either end. */
  hosts?: string[]
  /** Transport ports, either end. */
  ports?: number[]
  /** VLAN ids (any tag). */
  vlans?: number[]
}

export interface PcapRunSummary {
  packets: number
  packetsDecoded: number
  packetsSkipped: number
  packetsFiltered: number
  flows: number
  flowsDropped: number
  fragmentsAttributed: number
  decodeErrors: Record<string, number>
  /** The format error that ended the input early, if any. */
  error?: { code: string, message: string, offset?: string }
}

export interface PcapFlowOptions extends Omit<FlowTableOptions, 'onFlows'>, DecoderOptions, PcapReaderOptions {
  /** Also yield periodic update emissions (default: only each flow's final state). */
  includeUpdates?: boolean
  /** Track every flow but build and yield none: only the summary is wanted (`topoflow pcap --summary`). */
  countOnly?: boolean
  filter?: PacketFilter
  /** A BPF filter packets must pass (see bpf.ts). */
  bpf?: BpfFilter
  /** Called once at the end, also when the input was malformed. */
  onSummary?: (summary: PcapRunSummary) => void
  /** Called every `progressIntervalMs` while the capture is read, and once at the end (`done`). */
  onProgress?: (progress: PcapProgress) => void
  /** Default 1000. */
  progressIntervalMs?: number
}

/** How far a capture has been read. */
export interface PcapProgress {
  /** Bytes of the capture consumed. */
  bytes: number
  packets: number
  /** Flows created so far (flows that ended included). */
  flows: number
  /** The capture is read to its end (or to the error that ended it). */
  done: boolean
}

type Source = string | Readable | AsyncIterable<Buffer | Uint8Array>

/** Packets accounted together by the flow table. */
const BATCH = 16

/** Flows handed over per batch at the end of a capture: a large table is emitted a part at a time. */
const FLUSH_BATCH = 4096

/**
 * Flows of a capture, each yielded once with its final state (expired during the capture, or
 * flushed at its end). A malformed or truncated capture first yields the flows of the packets
 * read so far, then throws TOPOFLOW_ERR_PCAP_FORMAT.
 */
export async function * flowsFromPcap (source: Source, opts: PcapFlowOptions = {}): AsyncGenerator<Flow, void, undefined> {
  for await (const batch of flowBatchesFromPcap(source, opts)) yield * batch
}

/** Like flowsFromPcap, in the batches the flow table emits them (no await per flow). */
export async function * flowBatchesFromPcap (source: Source, opts: PcapFlowOptions = {}): AsyncGenerator<Flow[], void, undefined> {
  const reader = new PcapStreamReader(opts)
  const decoder = new PacketDecoder(opts)
  let pending: Flow[] = []
  const includeUpdates = opts.includeUpdates === true
  const countOnly = opts.countOnly === true
  // Counting only: the table builds no flow.
  const table = new FlowTable({
    ...opts,
    emitUpdates: includeUpdates,
    countOnly,
    onFlows: countOnly
      ? undefined
      : (flows, reason) => {
          if (reason === 'update' && !includeUpdates) return
          if (pending.length === 0) pending = flows; else for (const f of flows) pending.push(f)
        }
  })
  const take = (): Flow[] => { const out = pending; pending = []; return out }
  const match = opts.filter === undefined ? undefined : compileFilter(opts.filter)
  const bpf = opts.bpf
  let filtered = 0
  let bpfFiltered = 0
  let failure: TopoflowError | undefined

  // Packets go to the table in batches (see FlowTable.processPackets), each decoded into its own packet.
  const batch = Array.from({ length: BATCH }, () => decoder.newPacket())
  const secs = new Float64Array(BATCH)
  const nsecs = new Float64Array(BATCH)
  let queued = 0
  const drain = (): void => {
    try {
      for (let p = reader.nextView(); p !== undefined; p = reader.nextView()) {
        if (bpf !== undefined && !bpf.accepts(p.linkType, p.buf, p.offset, p.caplen, p.origLen)) { bpfFiltered++; continue }
        const pkt = decoder.decodeAt(p.linkType, p.buf, p.offset, p.offset + p.caplen, p.origLen, batch[queued])
        if (pkt === undefined) continue
        if (match !== undefined && !match(pkt)) { filtered++; continue }
        secs[queued] = p.tsSec
        nsecs[queued] = p.tsNsec
        if (++queued === BATCH) { table.processPackets(batch, secs, nsecs, queued); queued = 0 }
      }
    } finally {
      // Also when the capture turns out malformed: the packets read before count. And before the
      // next chunk replaces the bytes they are views of.
      if (queued > 0) { table.processPackets(batch, secs, nsecs, queued); queued = 0 }
    }
  }

  const onProgress = opts.onProgress
  const progressMs = opts.progressIntervalMs ?? 1000
  let nextProgress = onProgress === undefined ? Infinity : Date.now() + progressMs
  const progress = (done: boolean): void => {
    onProgress?.({ bytes: reader.offset, packets: decoder.stats.packets + bpfFiltered, flows: table.counters.flowsCreated, done })
  }

  const chunks = typeof source === 'string' ? fileChunks(source, reader) : source
  try {
    for await (const chunk of chunks as AsyncIterable<Buffer | Uint8Array | string>) {
      reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      drain()
      // Checked per chunk (4 MiB of a file): the clock is not read per packet.
      if (Date.now() >= nextProgress) { progress(false); nextProgress = Date.now() + progressMs }
      if (pending.length > 0) yield take()
    }
    reader.end()
    drain()
  } catch (err) {
    if (!(err instanceof TopoflowError)) {
      const e = err as NodeJS.ErrnoException
      throw new TopoflowError('TOPOFLOW_ERR_PCAP_FORMAT', `Cannot read capture ${typeof source === 'string' ? source : 'stream'}: ${e.message}`, { cause: err })
    }
    failure = err
  } finally {
    if (typeof source === 'string') await (chunks as AsyncGenerator<Buffer>).return(undefined)
  }
  if (pending.length > 0) yield take()
  // Flows of a large table are built and handed over a batch at a time, so that each batch can
  // be written and forgotten before the next one is made.
  while (table.flush(countOnly ? Infinity : FLUSH_BATCH)) if (pending.length > 0) yield take()
  if (pending.length > 0) yield take()
  progress(true)
  if (opts.onSummary !== undefined) {
    const errors: Record<string, number> = {}
    for (const [k, v] of [...decoder.stats.errors].sort((a, b) => a[0] < b[0] ? -1 : 1)) errors[k] = v
    const summary: PcapRunSummary = {
      packets: decoder.stats.packets + bpfFiltered,
      packetsDecoded: decoder.stats.decoded,
      packetsSkipped: decoder.stats.skipped,
      packetsFiltered: filtered + bpfFiltered,
      flows: table.counters.flowsCreated - table.counters.flowsDropped,
      flowsDropped: table.counters.flowsDropped,
      fragmentsAttributed: table.counters.fragmentsAttributed,
      decodeErrors: errors
    }
    if (failure !== undefined) summary.error = { code: failure.code, message: failure.message, offset: failure.context.offset }
    opts.onSummary(summary)
  }
  if (failure !== undefined) throw failure
}

/** Bytes read from a file at a time. */
const FILE_CHUNK = 4 << 20
/** Room before each chunk for the record left incomplete at the end of the previous one. */
const TAIL_ROOM = 512 << 10

/**
 * A file's bytes for `reader`, in two buffers used in turn: while the reader works on one, the
 * next chunk is read into the other. The record left incomplete at the end of a chunk moves into
 * the room kept before the next one (see PcapStreamReader.takeUnread), so no chunk is copied.
 */
async function * fileChunks (path: string, reader: PcapStreamReader): AsyncGenerator<Buffer, void, undefined> {
  const file = await open(path, 'r')
  const buffers = [Buffer.allocUnsafe(TAIL_ROOM + FILE_CHUNK), Buffer.allocUnsafe(TAIL_ROOM + FILE_CHUNK)]
  let reading: Promise<{ bytesRead: number }> | undefined = file.read(buffers[0] as Buffer, TAIL_ROOM, FILE_CHUNK, null)
  try {
    for (let turn = 0; ; turn ^= 1) {
      const { bytesRead } = await (reading as Promise<{ bytesRead: number }>)
      reading = undefined
      const buf = buffers[turn] as Buffer
      const tail = reader.buffered
      let chunk: Buffer
      if (tail <= TAIL_ROOM) {
        reader.takeUnread(buf.subarray(TAIL_ROOM - tail, TAIL_ROOM))
        chunk = buf.subarray(TAIL_ROOM - tail, TAIL_ROOM + bytesRead)
      } else {
        // A pcapng block larger than the room: put it and the new bytes together in a buffer of their own.
        chunk = Buffer.allocUnsafe(tail + bytesRead)
        reader.takeUnread(chunk)
        buf.copy(chunk, tail, TAIL_ROOM, TAIL_ROOM + bytesRead)
      }
      if (chunk.length === 0) return
      // The reader let go of the other buffer (takeUnread above): read the next chunk into it meanwhile.
      if (bytesRead > 0) reading = file.read(buffers[turn ^ 1] as Buffer, TAIL_ROOM, FILE_CHUNK, null)
      yield chunk
      if (bytesRead === 0) return
    }
  } finally {
    if (reading !== undefined) await reading.catch(() => {})
    await file.close()
  }
}

function compileFilter (f: PacketFilter): (pkt: DecodedPacket) => boolean {
  const protos = f.protocols?.map(p => p.toLowerCase())
  const hosts = f.hosts
  const ports = f.ports
  const vlans = f.vlans
  const segMatches = (pkt: DecodedPacket, s: Segment): boolean => {
    if (protos !== undefined && !protos.some(p => segHasProto(pkt, s, p))) return false
    if (ports !== undefined && (s.transport === 0 || !(ports.includes(s.srcPort) || ports.includes(s.dstPort)))) return false
    if (vlans !== undefined && !Array.from(s.vlans.subarray(0, s.vlanCount)).some(v => vlans.includes(v))) return false
    if (hosts !== undefined) {
      if (s.ipVersion === 0) return false
      const v4 = s.ipVersion === 4
      const src = s.ipOffset + (v4 ? 12 : 8)
      const dst = src + (v4 ? 4 : 16)
      const a = v4 ? formatIPv4(pkt.data, src) : formatIPv6(pkt.data, src)
      const b = v4 ? formatIPv4(pkt.data, dst) : formatIPv6(pkt.data, dst)
      if (!hosts.includes(a) && !hosts.includes(b)) return false
    }
    return true
  }
  return (pkt) => {
    for (let i = 0; i < pkt.segmentCount; i++) if (segMatches(pkt, pkt.segments[i] as Segment)) return true
    return false
  }
}

function segHasProto (pkt: DecodedPacket, s: Segment, p: string): boolean {
  switch (p) {
    case 'tcp': return s.transport === 6
    case 'udp': return s.transport === 17
    case 'sctp': return s.transport === 132
    case 'icmp': return s.icmpVersion !== 0
    case 'ipv4': case 'ip': return s.ipVersion === 4
    case 'ipv6': case 'ip6': return s.ipVersion === 6
    case 'arp': return s.hasEthernet && s.ipVersion === 0 && s.layerCount > 0 && pkt.end > s.ethOffset + 13 && pkt.data.readUInt16BE(s.ethOffset + 12) === 0x0806
    default: return false
  }
}

const usage = `Usage: topoflow pcap FILE|- [options] [BPF EXPRESSION]
Reads a pcap or pcapng capture and prints each flow, as it is when it expires or at the end of
the capture, as one Skydive flow JSON object per line.
  --summary              print one JSON object of totals instead of the flows
  --progress             show how far the capture is read, on standard error (the default when
                         standard error is a terminal); --no-progress: never
  --progress-interval S  seconds between progress lines (default 1)
  --key-mode L2|L3       flow key layers (default L2: MAC addresses are part of the key)
  --update SECONDS       update period (default 60)
  --expire SECONDS       idle expiry (default 600)
  --max-entries N        flow table size (default 500000)
  --extra-tcp-metric     fill TCPMetric (SYN/FIN/RST times and SYN TTLs)
  --updates              also print periodic updates
  --node-tid ID          NodeTID written on every flow
  --capture-id ID        CaptureID written on every flow
  --sampling-rate N      SamplingRate written on every flow (default 1)
  --proto P              keep packets of protocol P (tcp, udp, sctp, icmp, arp, ipv4, ipv6); repeatable
  --host IP              keep packets from or to IP; repeatable
  --port N               keep packets from or to port N; repeatable
  --vlan N               keep packets tagged with VLAN N; repeatable
  --bpf EXPRESSION       keep packets that pass a BPF filter, as tcpdump reads it (needs tcpdump)`

/**
 * Progress lines on `err`: on a terminal one line rewritten in place, elsewhere one line each
 * time. A line is skipped while the previous one is still being written (progress never holds
 * the reading back).
 */
function progressPrinter (err: Writable, tty: boolean, size: number | undefined): (p: PcapProgress) => void {
  const started = Date.now()
  return (p) => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    const rate = p.packets / seconds
    let line: string
    if (p.done) line = `done: ${bytesText(p.bytes)}, ${countText(p.packets)} packets in ${seconds.toFixed(1)} s (${countText(rate)}/s), ${countText(p.flows)} flows`
    else {
      const read = size === undefined || size === 0 ? bytesText(p.bytes) : `${(100 * p.bytes / size).toFixed(1)}% of ${bytesText(size)}`
      const left = size === undefined || p.bytes === 0 ? '' : `, ${durationText((size - p.bytes) * seconds / p.bytes)} left`
      line = `${read}, ${countText(p.packets)} packets (${countText(rate)}/s), ${countText(p.flows)} flows${left}`
    }
    if (!p.done && err.writableNeedDrain) return
    err.write(tty ? `\r\x1b[Ktopoflow pcap: ${line}${p.done ? '\n' : ''}` : `topoflow pcap: ${line}\n`)
  }
}

function fileSize (path: string): number | undefined {
  try { return statSync(path).size } catch { return undefined }
}

function countText (n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  return String(Math.round(n))
}

function bytesText (n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`
  return `${n} B`
}

function durationText (seconds: number): string {
  const s = Math.ceil(seconds)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

async function write (out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain')
}

function positiveNumber (name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `--${name} expects a positive number, got '${v}'`)
  return n
}

/**
 * `topoflow pcap`: the CLI entry point. Returns the exit code: 0 on success, 1 when the capture
 * is malformed or truncated (the flows read until then are still printed), 2 on bad usage.
 */
export async function runPcapCommand (argv: string[], stdout: Writable, stderr: Writable, stdin?: Readable): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        summary: { type: 'boolean' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        'progress-interval': { type: 'string' },
        'key-mode': { type: 'string' },
        update: { type: 'string' },
        expire: { type: 'string' },
        'max-entries': { type: 'string' },
        'extra-tcp-metric': { type: 'boolean' },
        updates: { type: 'boolean' },
        'node-tid': { type: 'string' },
        'capture-id': { type: 'string' },
        'sampling-rate': { type: 'string' },
        proto: { type: 'string', multiple: true },
        host: { type: 'string', multiple: true },
        port: { type: 'string', multiple: true },
        vlan: { type: 'string', multiple: true },
        bpf: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    await write(stderr, `${(err as Error).message}\n${usage}\n`)
    return 2
  }
  const v = parsed.values
  if (v.help === true) { await write(stdout, usage + '\n'); return 0 }
  const file = parsed.positionals[0]
  if (file === undefined) {
    await write(stderr, `Expected a capture file (or - for standard input)\n${usage}\n`)
    return 2
  }
  // As with tcpdump, what follows the file is a filter expression (the same as --bpf).
  const trailing = parsed.positionals.slice(1).join(' ')
  if (trailing !== '' && v.bpf !== undefined) {
    await write(stderr, `A filter expression after the file and --bpf: give one of them\n${usage}\n`)
    return 2
  }
  const bpfExpression = v.bpf ?? (trailing === '' ? undefined : trailing)
  let opts: PcapFlowOptions
  try {
    const keyMode = v['key-mode'] ?? 'L2'
    if (keyMode !== 'L2' && keyMode !== 'L3') throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `--key-mode expects L2 or L3, got '${keyMode}'`)
    const filter: PacketFilter = {}
    if (v.proto !== undefined) filter.protocols = v.proto
    if (v.host !== undefined) filter.hosts = v.host
    if (v.port !== undefined) filter.ports = v.port.map(p => positiveNumber('port', p) as number)
    if (v.vlan !== undefined) filter.vlans = v.vlan.map(p => positiveNumber('vlan', p) as number)
    opts = {
      layerKeyMode: keyMode as LayerKeyMode,
      updateSeconds: positiveNumber('update', v.update),
      expireSeconds: positiveNumber('expire', v.expire),
      maxEntries: positiveNumber('max-entries', v['max-entries']),
      samplingRate: positiveNumber('sampling-rate', v['sampling-rate']),
      extraTcpMetric: v['extra-tcp-metric'] === true,
      includeUpdates: v.updates === true,
      nodeTID: v['node-tid'],
      captureID: v['capture-id'],
      progressIntervalMs: (positiveNumber('progress-interval', v['progress-interval']) ?? 1) * 1000
    }
    if (Object.keys(filter).length > 0) opts.filter = filter
    if (bpfExpression !== undefined) {
      // Compiled for Ethernet here, so that a bad expression is a usage error before any reading.
      opts.bpf = new BpfFilter(bpfExpression)
      opts.bpf.check()
    }
  } catch (err) {
    await write(stderr, `${(err as Error).message}\n`)
    return 2
  }
  let summary: PcapRunSummary | undefined
  opts.onSummary = (s) => { summary = s }
  const source: Source = file === '-' ? (stdin ?? process.stdin) : file
  const summaryOnly = v.summary === true
  if (summaryOnly) opts.countOnly = true
  const tty = (stderr as { isTTY?: boolean }).isTTY === true
  if (v['no-progress'] !== true && (v.progress === true || tty)) opts.onProgress = progressPrinter(stderr, tty, file === '-' ? undefined : fileSize(file))
  let code = 0
  let batch = ''
  try {
    for await (const flows of flowBatchesFromPcap(source, opts)) {
      if (summaryOnly) continue
      for (const flow of flows) {
        batch += JSON.stringify(flow) + '\n'
        if (batch.length > 65536) { await write(stdout, batch); batch = '' }
      }
    }
  } catch (err) {
    const e = err instanceof TopoflowError ? err : new TopoflowError('TOPOFLOW_ERR_INTERNAL', String(err), { cause: err })
    if (batch !== '') { await write(stdout, batch); batch = '' }
    await write(stderr, `topoflow pcap: ${e.code}: ${e.message}\n`)
    code = 1
  }
  if (batch !== '') await write(stdout, batch)
  if (summaryOnly && summary !== undefined) await write(stdout, JSON.stringify(summary) + '\n')
  return code
}
