import * as crypto from 'node:crypto'

/**
 * Community ID v1 (corelight/community-id-spec): SHA1 over seed . saddr . daddr . proto . 0 . sport . dport
 * with the smaller (address, port) endpoint first, rendered as `1:` + base64.
 */

/** ICMPv4 type → its counterpart type (request/reply pairs), as the spec takes from Zeek. */
const icmp4Counterpart: ReadonlyMap<number, number> = new Map([
  [8, 0], [0, 8], // echo
  [13, 14], [14, 13], // timestamp
  [15, 16], [16, 15], // info
  [10, 9], // router solicitation → advertisement
  [17, 18], [18, 17] // address mask
])

const icmp6Counterpart: ReadonlyMap<number, number> = new Map([
  [128, 129], [129, 128], // echo
  [133, 134], [134, 133], // router solicitation / advertisement
  [135, 136], [136, 135], // neighbor solicitation / advertisement
  [130, 131], [131, 130], // MLD query / report
  [139, 140], [140, 139], // node information query / reply ("who are you")
  [144, 145], [145, 144] // home agent address discovery
])

export interface CommunityIdTuple {
  proto: number
  /** 4 or 16 bytes, network order. */
  saddr: Uint8Array
  daddr: Uint8Array
  /** Ports for TCP/UDP/SCTP; for ICMP use `icmpPorts` first. Omitted for other protocols. */
  sport?: number
  dport?: number
  /** ICMP one-way messages keep their direction (no endpoint ordering). */
  oneWay?: boolean
  seed?: number
}

/** Maps an ICMP (proto 1) or ICMPv6 (proto 58) type and code to the spec's port equivalents. */
export function icmpPorts (proto: number, type: number, code: number): { sport: number, dport: number, oneWay: boolean } {
  const counterpart = (proto === 58 ? icmp6Counterpart : icmp4Counterpart).get(type)
  if (counterpart === undefined) return { sport: type, dport: code, oneWay: true }
  return { sport: type, dport: counterpart, oneWay: false }
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** One-shot hashing (Node >= 20.12) is much cheaper than a Hash object per flow. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'base64') => string }).hash
const input = Buffer.alloc(2 + 16 + 16 + 2 + 4)

function sha1Base64 (data: Uint8Array): string {
  return oneShotHash !== undefined ? oneShotHash('sha1', data, 'base64') : crypto.createHash('sha1').update(data).digest('base64')
}

/** Community ID v1 of a flow tuple. */
export function communityId (t: CommunityIdTuple): string {
  const hasPorts = t.sport !== undefined && t.dport !== undefined
  let saddr = t.saddr; let daddr = t.daddr
  let sport = t.sport ?? 0; let dport = t.dport ?? 0
  if (t.oneWay !== true) {
    const cmp = compareBytes(saddr, daddr)
    if (cmp > 0 || (cmp === 0 && sport > dport)) {
      saddr = t.daddr; daddr = t.saddr
      sport = t.dport ?? 0; dport = t.sport ?? 0
    }
  }
  const len = 2 + saddr.length + daddr.length + 2 + (hasPorts ? 4 : 0)
  const buf = len <= input.length ? input : Buffer.alloc(len)
  buf.writeUInt16BE((t.seed ?? 0) & 0xffff, 0)
  buf.set(saddr, 2)
  buf.set(daddr, 2 + saddr.length)
  let o = 2 + saddr.length + daddr.length
  buf[o++] = t.proto & 0xff
  buf[o++] = 0
  if (hasPorts) {
    buf.writeUInt16BE(sport & 0xffff, o)
    buf.writeUInt16BE(dport & 0xffff, o + 2)
  }
  return '1:' + sha1Base64(buf.subarray(0, len))
}
