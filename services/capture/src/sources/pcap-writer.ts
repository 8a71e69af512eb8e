/**
 * Writes a nanosecond pcap stream (global header, then records), the format the flow/ streaming
 * reader parses: how a namespace worker hands its packets to the agent.
 */

const PCAP_NS_MAGIC = 0xa1b23c4d

export function pcapGlobalHeader (linkType: number, snaplen: number): Buffer {
  const h = Buffer.alloc(24)
  h.writeUInt32LE(PCAP_NS_MAGIC, 0)
  h.writeUInt16LE(2, 4)
  h.writeUInt16LE(4, 6)
  h.writeUInt32LE(snaplen, 16)
  h.writeUInt32LE(linkType, 20)
  return h
}

/** Appends records into one growing chunk, so a burst of packets costs one pipe write. */
export class PcapRecordBatch {
  #buf: Buffer
  #len = 0

  constructor (capacity = 256 * 1024) {
    this.#buf = Buffer.allocUnsafe(capacity)
  }

  get length (): number { return this.#len }

  /** False when the record does not fit: take() first. */
  add (tsSec: number, tsNsec: number, data: Buffer, caplen: number, origLen: number): boolean {
    const need = 16 + caplen
    if (this.#len + need > this.#buf.length) {
      if (this.#len > 0) return false
      this.#buf = Buffer.allocUnsafe(need)
    }
    const b = this.#buf; const o = this.#len
    b.writeUInt32LE(tsSec >>> 0, o)
    b.writeUInt32LE(tsNsec >>> 0, o + 4)
    b.writeUInt32LE(caplen, o + 8)
    b.writeUInt32LE(origLen, o + 12)
    data.copy(b, o + 16, 0, caplen)
    this.#len += need
    return true
  }

  /** The records so far, as a buffer the caller owns. */
  take (): Buffer {
    const out = Buffer.from(this.#buf.subarray(0, this.#len))
    this.#len = 0
    return out
  }
}
