import { TopoflowError } from '@topoflow/core/errors'

/**
 * Streaming reader of pcap (microsecond and nanosecond, both byte orders) and pcapng (SHB, IDB,
 * EPB, SPB, the obsolete PB; other blocks skipped). Bytes arrive in chunks of any size (a file or
 * a `tcpdump -w - | nc` stream); `next()` returns the next whole packet or `undefined` when more
 * bytes are needed. Packet data is a view into the pushed chunks, never a copy.
 */

export interface PcapPacket {
  /** LINKTYPE_* of the interface the packet was captured on. */
  linkType: number
  /** Seconds since the epoch. */
  tsSec: number
  /** Nanoseconds within the second (0..999999999). */
  tsNsec: number
  caplen: number
  origLen: number
  data: Buffer
  /** pcapng interface index; 0 for pcap. */
  ifIndex: number
}

/**
 * The next packet as a view of the reader's buffer: `buf[offset, offset + caplen)`. One object,
 * reused by every `nextView()` call, so that reading allocates nothing per packet.
 */
export interface PcapRecordView {
  linkType: number
  tsSec: number
  tsNsec: number
  caplen: number
  origLen: number
  buf: Buffer
  offset: number
  ifIndex: number
}

export interface PcapInterface {
  linkType: number
  snaplen: number
  /** Timestamp units per second are 10^tsDecimals, or 2^tsBinary when tsBinary >= 0. */
  tsDecimals: number
  tsBinary: number
  /** if_tsoffset, seconds added to every timestamp. */
  tsOffset: number
  name?: string
}

export interface PcapReaderOptions {
  /** Largest accepted captured length of one packet (libpcap's own ceiling is 262144). */
  maxPacketSize?: number
  /** Largest accepted pcapng block (packets plus metadata blocks such as name resolution). */
  maxBlockSize?: number
  /** Bytes the reader may hold that `next()` has not consumed yet; push() beyond it throws. */
  maxBuffered?: number
}

export type PcapFormat = 'pcap' | 'pcapng'

const PCAP_US = 0xa1b2c3d4
const PCAP_NS = 0xa1b23c4d
const PCAPNG_SHB = 0x0a0d0d0a
const PCAPNG_BOM = 0x1a2b3c4d
const BLOCK_IDB = 1
const BLOCK_PB = 2
const BLOCK_SPB = 3
const BLOCK_EPB = 6

const empty = Buffer.alloc(0)

export class PcapStreamReader {
  readonly maxPacketSize: number
  readonly maxBlockSize: number
  readonly maxBuffered: number
  /** Interfaces of the current pcapng section (one synthetic interface for pcap). */
  interfaces: PcapInterface[] = []
  format: PcapFormat | undefined
  packetsRead = 0

  #buf: Buffer = empty
  #pos = 0
  /** Absolute stream offset of #buf[0]. */
  #base = 0
  #ended = false
  #le = true
  #nano = false
  #failed: TopoflowError | undefined
  readonly #view: PcapRecordView = { linkType: 0, tsSec: 0, tsNsec: 0, caplen: 0, origLen: 0, buf: empty, offset: 0, ifIndex: 0 }

  constructor (opts: PcapReaderOptions = {}) {
    this.maxPacketSize = opts.maxPacketSize ?? 262144
    this.maxBlockSize = opts.maxBlockSize ?? 16 * 1024 * 1024
    this.maxBuffered = opts.maxBuffered ?? 64 * 1024 * 1024
  }

  /** Absolute offset of the next unread byte. */
  get offset (): number { return this.#base + this.#pos }

  /** Bytes pushed and not consumed yet. */
  get buffered (): number { return this.#buf.length - this.#pos }

  push (chunk: Buffer): void {
    if (this.#ended) throw new TopoflowError('TOPOFLOW_ERR_PCAP_FORMAT', 'Data pushed after the end of the pcap stream', { context: { offset: String(this.offset), byteOffset: this.offset } })
    if (chunk.length === 0) return
    const pending = this.#buf.length - this.#pos
    if (pending + chunk.length > this.maxBuffered) {
      throw new TopoflowError('TOPOFLOW_ERR_BACKPRESSURE', `Pcap reader buffer full: ${pending} bytes pending and ${chunk.length} more pushed, limit ${this.maxBuffered}; call next() until it returns undefined before pushing`, { retriable: true, context: { offset: String(this.offset), byteOffset: this.offset } })
    }
    if (pending === 0) {
      this.#base += this.#buf.length
      this.#buf = chunk
    } else {
      // Only the unread tail (less than one record) is copied.
      this.#base += this.#pos
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk])
    }
    this.#pos = 0
  }

  /**
   * Moves the bytes pushed and not consumed yet (less than one record) to the start of `target`
   * and returns how many there are; the reader then holds nothing. A reader that fills buffers
   * of its own pushes `target` next, with new bytes after those: no chunk is ever copied whole.
   */
  takeUnread (target: Buffer): number {
    const n = this.#buf.length - this.#pos
    if (n > target.length) throw new RangeError(`takeUnread: ${n} bytes pending, target holds ${target.length}`)
    this.#buf.copy(target, 0, this.#pos)
    this.#base += this.#pos
    this.#buf = empty
    this.#pos = 0
    return n
  }

  /** No more bytes will come: a partial record left over is then reported as truncation. */
  end (): void { this.#ended = true }

  get ended (): boolean { return this.#ended }

  /**
   * The next packet, or `undefined` when more bytes are needed (or the stream is over).
   * Throws TOPOFLOW_ERR_PCAP_FORMAT (with `context.offset`) on malformed or truncated input, and
   * keeps throwing the same error afterwards.
   */
  next (): PcapPacket | undefined {
    const v = this.nextView()
    if (v === undefined) return undefined
    return { linkType: v.linkType, tsSec: v.tsSec, tsNsec: v.tsNsec, caplen: v.caplen, origLen: v.origLen, data: v.buf.subarray(v.offset, v.offset + v.caplen), ifIndex: v.ifIndex }
  }

  /**
   * Like `next()`, as the reused view (valid until the next call): the fast path for readers
   * that decode each packet at once.
   */
  nextView (): PcapRecordView | undefined {
    if (this.#failed !== undefined) throw this.#failed
    try {
      for (;;) {
        if (this.format === undefined && !this.#readHeader()) return this.#needMore()
        if (this.format === 'pcap') return this.#readPcapRecord() ? this.#view : this.#needMore()
        const r = this.#readPcapngBlock()
        if (r < 0) return this.#needMore()
        if (r > 0) return this.#view
        // a non-packet block was consumed: loop
      }
    } catch (err) {
      this.#failed = err instanceof TopoflowError ? err : this.#error(`Unreadable capture: ${String(err)}`, this.offset)
      throw this.#failed
    }
  }

  #needMore (): undefined {
    const left = this.#buf.length - this.#pos
    if (this.#ended && left > 0) {
      const what = this.format === undefined ? 'file header' : this.format === 'pcap' ? 'packet record' : 'block'
      throw this.#error(`Truncated capture: ${left} bytes at the end do not make a whole ${what}`, this.offset)
    }
    if (this.#ended && this.format === undefined) throw this.#error('Empty capture: no pcap or pcapng header', this.offset)
    return undefined
  }

  #error (message: string, offset: number): TopoflowError {
    return new TopoflowError('TOPOFLOW_ERR_PCAP_FORMAT', `${message} (at byte ${offset})`, { context: { offset: String(offset), byteOffset: offset } })
  }

  #readHeader (): boolean {
    const b = this.#buf; const p = this.#pos
    if (b.length - p < 4) return false
    const magicBE = b.readUInt32BE(p)
    const magicLE = b.readUInt32LE(p)
    if (magicBE === PCAPNG_SHB) {
      this.format = 'pcapng'
      return true
    }
    if (b.length - p < 24) return false
    let le: boolean
    if (magicLE === PCAP_US || magicLE === PCAP_NS) le = true
    else if (magicBE === PCAP_US || magicBE === PCAP_NS) le = false
    else throw this.#error(`Not a pcap or pcapng capture: magic 0x${magicBE.toString(16).padStart(8, '0')}`, this.offset)
    this.#le = le
    this.#nano = (le ? magicLE : magicBE) === PCAP_NS
    const snaplen = le ? b.readUInt32LE(p + 16) : b.readUInt32BE(p + 16)
    const network = le ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20)
    this.interfaces = [{ linkType: network & 0x3ffffff, snaplen, tsDecimals: this.#nano ? 9 : 6, tsBinary: -1, tsOffset: 0 }]
    this.format = 'pcap'
    this.#pos += 24
    return true
  }

  #readPcapRecord (): boolean {
    const b = this.#buf; const p = this.#pos
    if (b.length - p < 16) return false
    // Plain byte reads: Buffer#readUInt32LE validates its offset on every call, 12M times a 3M-packet file.
    const le = this.#le
    let sec = le ? le32(b, p) : be32(b, p)
    const frac = le ? le32(b, p + 4) : be32(b, p + 4)
    const caplen = le ? le32(b, p + 8) : be32(b, p + 8)
    const origLen = le ? le32(b, p + 12) : be32(b, p + 12)
    if (caplen > this.maxPacketSize) {
      throw this.#error(`Packet record ${this.packetsRead + 1} claims ${caplen} captured bytes, more than the ${this.maxPacketSize} accepted`, this.offset)
    }
    if (b.length - p - 16 < caplen) return false
    let nsec = this.#nano ? frac : frac * 1000
    if (nsec >= 1e9) { sec += Math.floor(nsec / 1e9); nsec %= 1e9 }
    this.#pos = p + 16 + caplen
    this.packetsRead++
    const v = this.#view
    v.linkType = (this.interfaces[0] as PcapInterface).linkType
    v.tsSec = sec; v.tsNsec = nsec; v.caplen = caplen; v.origLen = origLen
    v.buf = b; v.offset = p + 16; v.ifIndex = 0
    return true
  }

  /** 1: a packet (in the view); 0: a non-packet block was consumed; -1: more bytes are needed. */
  #readPcapngBlock (): number {
    const b = this.#buf; const p = this.#pos
    if (b.length - p < 12) return -1
    const typeBE = be32(b, p)
    if (typeBE === PCAPNG_SHB) {
      const bom = le32(b, p + 8)
      if (bom === PCAPNG_BOM) this.#le = true
      else if (bom === 0x4d3c2b1a) this.#le = false
      else throw this.#error(`Section header with unknown byte-order magic 0x${bom.toString(16)}`, this.offset)
    }
    const le = this.#le
    const type = le ? le32(b, p) : be32(b, p)
    const total = le ? le32(b, p + 4) : be32(b, p + 4)
    if (total < 12 || total % 4 !== 0) throw this.#error(`Block of type ${type} has an invalid length ${total}`, this.offset)
    if (total > this.maxBlockSize) throw this.#error(`Block of type ${type} is ${total} bytes, more than the ${this.maxBlockSize} accepted`, this.offset)
    if (b.length - p < total) return -1
    const trailer = le ? le32(b, p + total - 4) : be32(b, p + total - 4)
    if (trailer !== total) throw this.#error(`Block of type ${type}: trailing length ${trailer} differs from leading length ${total}`, this.offset)
    const end = p + total - 4
    let packet = 0
    switch (type) {
      case PCAPNG_SHB:
        if (total < 28) throw this.#error(`Section header block too short (${total} bytes)`, this.offset)
        this.interfaces = []
        break
      case BLOCK_IDB:
        this.#readIdb(b, p, end)
        break
      case BLOCK_EPB:
      case BLOCK_PB:
        this.#readEpb(b, p, end, type === BLOCK_PB)
        packet = 1
        break
      case BLOCK_SPB:
        this.#readSpb(b, p, end)
        packet = 1
        break
      default:
        break
    }
    this.#pos = p + total
    this.packetsRead += packet
    return packet
  }

  #readIdb (b: Buffer, p: number, end: number): void {
    if (end - p < 16) throw this.#error('Interface description block too short', this.offset)
    const le = this.#le
    const linkType = le ? b.readUInt16LE(p + 8) : b.readUInt16BE(p + 8)
    const snaplen = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12)
    const iface: PcapInterface = { linkType, snaplen, tsDecimals: 6, tsBinary: -1, tsOffset: 0 }
    let o = p + 16
    while (o + 4 <= end) {
      const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o)
      const len = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2)
      if (code === 0) break
      if (o + 4 + len > end) throw this.#error(`Interface option ${code} of ${len} bytes overruns its block`, this.offset)
      if (code === 9 && len >= 1) {
        const v = b[o + 4] as number
        if ((v & 0x80) !== 0) { iface.tsBinary = v & 0x7f; iface.tsDecimals = -1 } else iface.tsDecimals = v
      } else if (code === 14 && len >= 8) {
        const hi = le ? b.readInt32LE(o + 8) : b.readInt32BE(o + 4)
        const lo = le ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 8)
        iface.tsOffset = hi * 4294967296 + lo
      } else if (code === 2) {
        iface.name = b.toString('utf8', o + 4, o + 4 + len)
      }
      o += 4 + ((len + 3) & ~3)
    }
    this.interfaces.push(iface)
  }

  #iface (id: number): PcapInterface {
    const iface = this.interfaces[id]
    if (iface === undefined) throw this.#error(`Packet refers to interface ${id}, but the section describes ${this.interfaces.length}`, this.offset)
    return iface
  }

  #readEpb (b: Buffer, p: number, end: number, obsolete: boolean): void {
    if (end - p < 28) throw this.#error('Packet block too short', this.offset)
    const le = this.#le
    const ifIndex = obsolete ? (le ? le16(b, p + 8) : be16(b, p + 8)) : (le ? le32(b, p + 8) : be32(b, p + 8))
    const tsHi = le ? le32(b, p + 12) : be32(b, p + 12)
    const tsLo = le ? le32(b, p + 16) : be32(b, p + 16)
    const caplen = le ? le32(b, p + 20) : be32(b, p + 20)
    const origLen = le ? le32(b, p + 24) : be32(b, p + 24)
    if (caplen > end - (p + 28)) throw this.#error(`Packet block claims ${caplen} captured bytes but holds ${end - p - 28}`, this.offset)
    if (caplen > this.maxPacketSize) throw this.#error(`Packet block claims ${caplen} captured bytes, more than the ${this.maxPacketSize} accepted`, this.offset)
    const iface = this.#iface(ifIndex)
    const v = this.#view
    v.linkType = iface.linkType; v.caplen = caplen; v.origLen = origLen; v.buf = b; v.offset = p + 28; v.ifIndex = ifIndex
    setTimestamp(v, iface, tsHi, tsLo)
  }

  #readSpb (b: Buffer, p: number, end: number): void {
    if (end - p < 12) throw this.#error('Simple packet block too short', this.offset)
    const iface = this.#iface(0)
    const origLen = this.#le ? le32(b, p + 8) : be32(b, p + 8)
    let caplen = Math.min(origLen, end - (p + 12))
    if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen)
    if (caplen > this.maxPacketSize) throw this.#error(`Simple packet block holds ${caplen} bytes, more than the ${this.maxPacketSize} accepted`, this.offset)
    // SPBs carry no timestamp.
    const v = this.#view
    v.linkType = iface.linkType; v.tsSec = 0; v.tsNsec = 0; v.caplen = caplen; v.origLen = origLen; v.buf = b; v.offset = p + 12; v.ifIndex = 0
  }
}

/** Unsigned 32-bit little-endian at `i` (the caller checked the bounds). */
function le32 (b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16)) + (b[i + 3] as number) * 0x1000000
}

/** Unsigned 32-bit big-endian at `i` (the caller checked the bounds). */
function be32 (b: Uint8Array, i: number): number {
  return (b[i] as number) * 0x1000000 + (((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number))
}

function le16 (b: Uint8Array, i: number): number {
  return (b[i] as number) | ((b[i + 1] as number) << 8)
}

function be16 (b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number)
}

/** Converts a pcapng 64-bit timestamp in interface units to seconds + nanoseconds. */
function setTimestamp (pkt: Pick<PcapPacket, 'tsSec' | 'tsNsec'>, iface: PcapInterface, hi: number, lo: number): void {
  if (iface.tsBinary < 0 && iface.tsDecimals <= 6) {
    // Exact in a double: microseconds since 1970 stay below 2^53 for millennia.
    const units = 10 ** iface.tsDecimals
    const v = hi * 4294967296 + lo
    const sec = Math.floor(v / units)
    pkt.tsSec = sec + iface.tsOffset
    pkt.tsNsec = (v - sec * units) * (1e9 / units)
    return
  }
  const v = (BigInt(hi) << 32n) | BigInt(lo)
  let sec: bigint; let nsec: bigint
  if (iface.tsBinary >= 0) {
    const shift = BigInt(iface.tsBinary)
    sec = v >> shift
    nsec = ((v & ((1n << shift) - 1n)) * 1000000000n) >> shift
  } else {
    const units = 10n ** BigInt(iface.tsDecimals)
    sec = v / units
    nsec = ((v % units) * 1000000000n) / units
  }
  pkt.tsSec = Number(sec) + iface.tsOffset
  pkt.tsNsec = Number(nsec)
}

/** Nanoseconds since the epoch of a packet, exact. */
export function packetTimeNs (p: Pick<PcapPacket, 'tsSec' | 'tsNsec'>): bigint {
  return BigInt(p.tsSec) * 1000000000n + BigInt(p.tsNsec)
}
